//! What the revisions after a signature changed, when a later signature
//! covers them: the "shadow" class of attacks (Mainka et al.) done by, or
//! slipped past, a later signer. The bytes an earlier signer signed are
//! intact, but what a viewer shows may not be what they saw.
//!
//! Two revisions (the file up to one signature's ByteRange end, and up to a
//! later one's) are opened with the seeking reader, and every object whose
//! cross-reference entry differs is compared and given a
//! [`Level`](super::changes::Level): validation data (the catalog's `/DSS`,
//! `/Metadata`, `/Extensions`, `/Version`, the information dictionary, DSS/VRI
//! dictionaries, xref and object streams); signing (new signature fields and
//! widgets in the form's `/Fields` and a page's `/Annots`, an empty signature
//! field getting its `/V` and appearance, the form's `/SigFlags`, `/DR`, `/DA`,
//! `/NeedAppearances`); form filling (an existing field's `/V`, `/AS` and its
//! widgets' appearances); annotations (created, changed or deleted, widgets
//! excepted); anything else — a content stream, a page's resources or contents,
//! a font or XObject, another catalog entry, a new non-signature field, an
//! existing signature, a deleted object — is "other", named by object number
//! and kind. Which levels a signature allows is [`super::mdp`]'s question.
//!
//! Refuses to judge what it cannot read: if either revision's
//! cross-reference data cannot be followed, that is the answer.

use super::changes::{acroform_id, is_plain_annotation, Change, FieldIndex, Level};
use super::reader::{for_chunks, Entry, Prefix, Reader, Source};
use lopdf::{Dictionary, Object, ObjectId};
use sha2::{Digest, Sha256};

/// Keys of the catalog that validation data (DSS, metadata) may change.
/// (`/Version`: writers raise it, e.g. to 1.7 for a PAdES signature.)
const CATALOG_DSS: &[&[u8]] = &[b"DSS", b"Metadata", b"Extensions", b"Version"];
/// Keys of the interactive form dictionary that adding a signature may change.
const ACROFORM_OK: &[&[u8]] = &[b"Fields", b"SigFlags", b"DR", b"DA", b"NeedAppearances"];
/// Keys of a signature field (and its widget) that signing it may change.
const SIG_FIELD_OK: &[&[u8]] = &[b"V", b"AP", b"AS", b"F"];
/// Keys of another form field (and its widgets) that filling it in may change.
const FIELD_FILL_OK: &[&[u8]] = &[b"V", b"AP", b"AS"];
/// The most objects compared, so a hostile file cannot make this slow.
const MAX_OBJECTS: u32 = 5_000_000;
/// The most changes listed per comparison.
const MAX_CHANGES: usize = 50;

/// A revision of the file (the file up to `len`), opened for comparison.
pub fn open_revision<'s>(rev: &'s Prefix<'s>) -> Result<Reader<'s>, String> {
    Reader::open(rev)
        .map_err(|e| format!("the later revision's cross-reference data cannot be read ({e}), so its changes cannot be checked"))
}

/// Every object that differs between the revision ending at `signed_end`
/// and the later revision `now` ([`open_revision`]), each with its level.
pub fn changes(src: &dyn Source, signed_end: u64, now: &Reader) -> Result<Vec<Change>, String> {
    let then_src = Prefix {
        src,
        len: signed_end,
    };
    let then = Reader::open(&then_src)
        .map_err(|e| format!("the signed revision's cross-reference data cannot be read ({e}), so later changes cannot be checked"))?;
    let cmp = Compare {
        then: &then,
        now,
        info: now.trailer.get(b"Info").and_then(Object::as_reference).ok(),
        acroform: acroform_id(now),
        form_then: FieldIndex::of(&then),
        form_now: FieldIndex::of(now),
    };
    let mut out = Vec::new();
    let top = then.max_id().max(now.max_id()).min(MAX_OBJECTS);
    for n in 1..=top {
        let (a, b) = (then.entry(n), now.entry(n));
        if a == b {
            continue;
        }
        let old_id = match a {
            Some(Entry::Normal { gen, .. }) => (n, gen),
            Some(Entry::Compressed { .. }) => (n, 0),
            // A new object: harmless unless something old now refers to it,
            // which the comparison of that old object judges.
            Some(Entry::Free) | None => continue,
        };
        let new_id = match b {
            Some(Entry::Normal { gen, .. }) => (n, gen),
            Some(Entry::Compressed { .. }) => (n, 0),
            Some(Entry::Free) | None => {
                out.push(cmp.deleted(n, old_id));
                continue;
            }
        };
        match (then.object(old_id), now.object(new_id)) {
            (Ok(old), Ok(new)) => out.extend(cmp.judge(n, &old, &new)?),
            (Err(e), _) | (_, Err(e)) => out.push(Change::new(
                n,
                Level::Other,
                format!("object {n} cannot be read ({e})"),
            )),
        }
        if out.len() >= MAX_CHANGES {
            out.push(Change::new(0, Level::None, "(more changes not listed)"));
            break;
        }
    }
    Ok(out)
}

struct Compare<'r, 's> {
    then: &'r Reader<'s>,
    now: &'r Reader<'s>,
    info: Option<ObjectId>,
    acroform: Option<ObjectId>,
    form_then: FieldIndex,
    form_now: FieldIndex,
}

fn name_of(d: &Dictionary, key: &[u8]) -> Option<String> {
    d.get(key)
        .and_then(Object::as_name)
        .ok()
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

/// Keys whose values differ between `a` and `b`.
fn changed_keys(a: &Dictionary, b: &Dictionary) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = a
        .iter()
        .chain(b.iter())
        .map(|(k, _)| k.clone())
        .filter(|k| a.get(k).ok() != b.get(k).ok())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn key_list(keys: &[Vec<u8>]) -> String {
    keys.iter()
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The keys of `keys` that are not in `ok`.
fn others(keys: &[Vec<u8>], ok: &[&[u8]]) -> Vec<Vec<u8>> {
    keys.iter()
        .filter(|k| !ok.contains(&k.as_slice()))
        .cloned()
        .collect()
}

/// Which list an array entry was added to or removed from (for messages).
#[derive(Clone, Copy)]
enum ListOf {
    Annots(u32),
    Fields,
    Array(u32),
}

impl std::fmt::Display for ListOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListOf::Annots(n) => write!(f, "the annotations of page object {n}"),
            ListOf::Fields => f.write_str("the form's fields"),
            ListOf::Array(n) => write!(f, "the array in object {n}"),
        }
    }
}

impl Compare<'_, '_> {
    /// The changes from `old` to `new` (none if they are the same).
    fn judge(&self, n: u32, old: &Object, new: &Object) -> Result<Vec<Change>, String> {
        Ok(match (old, new) {
            (Object::Stream(a), Object::Stream(b)) => {
                if a.dict == b.dict && self.same_data(a, b)? {
                    return Ok(Vec::new());
                }
                let kind = stream_kind(&b.dict);
                match kind.as_str() {
                    "/XRef" | "/ObjStm" => Vec::new(),
                    "/Metadata" | "/Metadata /XML" => {
                        vec![Change::new(n, Level::Dss, format!("metadata stream {n}"))]
                    }
                    _ => vec![self.stream_change(n, &kind)],
                }
            }
            (Object::Dictionary(a), Object::Dictionary(b)) => self.judge_dict(n, a, b),
            (Object::Array(a), Object::Array(b)) => self.list_changes(n, ListOf::Array(n), a, b),
            (a, b) if a == b => Vec::new(),
            _ => vec![Change::new(
                n,
                Level::Other,
                format!("object {n} was replaced by a different kind of object"),
            )],
        })
    }

    /// A stream whose bytes changed: a widget's appearance (form filling or
    /// signing) or anything else (content, XObject, font: other).
    fn stream_change(&self, n: u32, kind: &str) -> Change {
        match self.form_now.appearances.get(&n) {
            Some(f) if f.is_sig() => Change::new(
                n,
                Level::Signing,
                format!("the appearance of signature field {}", f.name),
            ),
            Some(f) if self.form_then.appearances.contains_key(&n) => Change::new(
                n,
                Level::FormFill,
                format!("the appearance of field {} (object {n})", f.name),
            )
            .of_field(Some(f.name.clone())),
            _ => Change::new(n, Level::Other, format!("object {n} ({kind}) was replaced")),
        }
    }

    /// Object `n` (`old_id` in the signed revision) is gone.
    fn deleted(&self, n: u32, old_id: ObjectId) -> Change {
        match self.then.object(old_id) {
            Ok(Object::Dictionary(d)) if is_plain_annotation(&d) => Change::new(
                n,
                Level::Annotations,
                format!(
                    "annotation /{} (object {n}) was deleted",
                    name_of(&d, b"Subtype").unwrap_or_default()
                ),
            ),
            _ => Change::new(n, Level::Other, format!("object {n} was deleted")),
        }
    }

    fn judge_dict(&self, n: u32, a: &Dictionary, b: &Dictionary) -> Vec<Change> {
        let keys = changed_keys(a, b);
        if keys.is_empty() {
            return Vec::new();
        }
        let one = |level, what: String| vec![Change::new(n, level, what)];
        if self.info.is_some_and(|i| i.0 == n) {
            return one(Level::Dss, "the document information dictionary".into());
        }
        let ty = name_of(b, b"Type");
        match ty.as_deref() {
            Some("Catalog") => self.catalog(n, &keys),
            Some("Page") => {
                let bad = others(&keys, &[b"Annots"]);
                if !bad.is_empty() {
                    return one(
                        Level::Other,
                        format!("page object {n}: {} changed", key_list(&bad)),
                    );
                }
                let old = self.array(self.then, a.get(b"Annots").ok());
                let new = self.array(self.now, b.get(b"Annots").ok());
                self.list_changes(n, ListOf::Annots(n), &old, &new)
            }
            Some("DSS") | Some("VRI") => one(Level::Dss, format!("validation data (object {n})")),
            Some("Sig") | Some("DocTimeStamp") => one(
                Level::Other,
                format!("signature dictionary {n} was changed"),
            ),
            _ if self.acroform.is_some_and(|f| f.0 == n) || b.has(b"Fields") => {
                let bad = others(&keys, ACROFORM_OK);
                if !bad.is_empty() {
                    return one(
                        Level::Other,
                        format!("the form's {} changed", key_list(&bad)),
                    );
                }
                let old = self.array(self.then, a.get(b"Fields").ok());
                let new = self.array(self.now, b.get(b"Fields").ok());
                let mut out = self.list_changes(n, ListOf::Fields, &old, &new);
                if keys.iter().any(|k| k != b"Fields") {
                    out.push(Change::new(n, Level::Signing, "the form's settings"));
                }
                out
            }
            _ => self.field_or_other(n, a, b, &keys),
        }
    }

    /// The catalog: the form and validation data may change, nothing else.
    fn catalog(&self, n: u32, keys: &[Vec<u8>]) -> Vec<Change> {
        let mut ok: Vec<&[u8]> = CATALOG_DSS.to_vec();
        ok.push(b"AcroForm");
        let bad = others(keys, &ok);
        if !bad.is_empty() {
            return vec![Change::new(
                n,
                Level::Other,
                format!("the catalog's {} changed", key_list(&bad)),
            )];
        }
        let level = if keys.iter().any(|k| k == b"AcroForm") {
            Level::Signing
        } else {
            Level::Dss
        };
        vec![Change::new(
            n,
            level,
            format!("the catalog's {}", key_list(keys)),
        )]
    }

    /// A changed dictionary that is not a catalog, page, form or signature:
    /// a form field or widget, an annotation, or something else.
    fn field_or_other(
        &self,
        n: u32,
        a: &Dictionary,
        b: &Dictionary,
        keys: &[Vec<u8>],
    ) -> Vec<Change> {
        let field = self.form_now.field(n).cloned().or_else(|| {
            self.is_sig_field_dict(b)
                .then(|| super::changes::FieldInfo {
                    name: format!("(object {n})"),
                    ft: Some("Sig".into()),
                })
        });
        let change = match field {
            Some(f) if f.is_sig() => {
                if a.has(b"V") && keys.iter().any(|k| k == b"V") {
                    Change::new(
                        n,
                        Level::Other,
                        format!("the signature in field object {n} was replaced"),
                    )
                } else if let bad @ [_, ..] = &others(keys, SIG_FIELD_OK)[..] {
                    Change::new(
                        n,
                        Level::Other,
                        format!("signature field object {n}: {} changed", key_list(bad)),
                    )
                } else {
                    let level = self.sig_level(b);
                    Change::new(n, level, format!("signature field {} signed", f.name))
                        .of_field(Some(f.name))
                }
            }
            Some(f) if self.form_then.field(n).is_some() => {
                let bad = others(keys, FIELD_FILL_OK);
                if bad.is_empty() {
                    Change::new(
                        n,
                        Level::FormFill,
                        format!("field {} filled in (object {n})", f.name),
                    )
                    .of_field(Some(f.name))
                } else {
                    Change::new(
                        n,
                        Level::Other,
                        format!(
                            "object {n} (form field {}) changed: {}",
                            f.name,
                            key_list(&bad)
                        ),
                    )
                    .of_field(Some(f.name))
                }
            }
            _ if is_plain_annotation(b) && is_plain_annotation(a) => Change::new(
                n,
                Level::Annotations,
                format!(
                    "annotation /{} (object {n}) changed: {}",
                    name_of(b, b"Subtype").unwrap_or_default(),
                    key_list(keys)
                ),
            ),
            _ => {
                let what = match (
                    name_of(b, b"Type"),
                    name_of(b, b"Subtype"),
                    name_of(b, b"FT"),
                ) {
                    (t, Some(s), _) if t.is_none() || t.as_deref() == Some("Annot") => {
                        format!("annotation /{s}")
                    }
                    (_, _, Some(ft)) => format!("form field /{ft}"),
                    (Some(t), _, _) => format!("/{t}"),
                    _ => "dictionary".into(),
                };
                Change::new(
                    n,
                    Level::Other,
                    format!("object {n} ({what}) changed: {}", key_list(keys)),
                )
            }
        };
        vec![change]
    }

    /// Signing (or a document timestamp, which is validation data) by the
    /// signature field or widget `d`.
    fn sig_level(&self, d: &Dictionary) -> Level {
        let v = match d.get(b"V") {
            Ok(Object::Reference(id)) => self.now.object(*id).ok(),
            _ => None,
        };
        match v {
            Some(Object::Dictionary(v))
                if name_of(&v, b"Type").as_deref() == Some("DocTimeStamp") =>
            {
                Level::Dss
            }
            _ => Level::Signing,
        }
    }

    /// An array value as the given revision resolves it.
    fn array(&self, r: &Reader, o: Option<&Object>) -> Vec<Object> {
        match o {
            Some(Object::Array(a)) => a.clone(),
            Some(Object::Reference(id)) => match r.object(*id) {
                Ok(Object::Array(a)) => a,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The changes of a list of fields or annotations: entries added
    /// (signature fields: signing; annotations: annotations; anything else:
    /// other) and removed (annotations: annotations; anything else: other).
    fn list_changes(&self, n: u32, list: ListOf, old: &[Object], new: &[Object]) -> Vec<Change> {
        let mut out = Vec::new();
        for gone in old.iter().filter(|o| !new.contains(o)) {
            let d = self.dict_of(self.then, gone);
            out.push(match d {
                Some(d) if is_plain_annotation(&d) => Change::new(
                    n,
                    Level::Annotations,
                    format!(
                        "{list} lost annotation /{} ({})",
                        name_of(&d, b"Subtype").unwrap_or_default(),
                        short(gone)
                    ),
                ),
                _ => Change::new(
                    n,
                    Level::Other,
                    format!("{list} lost an entry ({})", short(gone)),
                ),
            });
        }
        for added in new.iter().filter(|o| !old.contains(o)) {
            let Some(d) = self.dict_of(self.now, added) else {
                out.push(Change::new(
                    n,
                    Level::Other,
                    format!("{list} gained {} (not a dictionary)", short(added)),
                ));
                continue;
            };
            let kind = name_of(&d, b"Subtype")
                .or_else(|| name_of(&d, b"FT"))
                .map(|s| format!("/{s}"))
                .unwrap_or_else(|| "an object".into());
            out.push(if self.is_sig_field_dict(&d) {
                Change::new(
                    n,
                    self.sig_level(&d),
                    format!("{list} gained a signature field ({})", short(added)),
                )
            } else if is_plain_annotation(&d) {
                Change::new(
                    n,
                    Level::Annotations,
                    format!("{list} gained {kind} ({}), an annotation", short(added)),
                )
            } else {
                Change::new(
                    n,
                    Level::Other,
                    format!(
                        "{list} gained {kind} ({}), which is not a signature field",
                        short(added)
                    ),
                )
            });
        }
        out
    }

    fn dict_of(&self, r: &Reader, o: &Object) -> Option<Dictionary> {
        match o {
            Object::Reference(id) => match r.object(*id) {
                Ok(Object::Dictionary(d)) => Some(d),
                _ => None,
            },
            Object::Dictionary(d) => Some(d.clone()),
            _ => None,
        }
    }

    /// A signature field or its widget (`/FT /Sig` here or on a parent).
    fn is_sig_field_dict(&self, d: &Dictionary) -> bool {
        let mut d = d.clone();
        for _ in 0..8 {
            if name_of(&d, b"FT").as_deref() == Some("Sig") {
                return true;
            }
            match d.get(b"Parent").and_then(Object::as_reference) {
                Ok(p) => match self.now.object(p) {
                    Ok(Object::Dictionary(p)) => d = p,
                    _ => return false,
                },
                Err(_) => return false,
            }
        }
        false
    }

    /// Whether two streams hold the same bytes (hashed in chunks).
    fn same_data(&self, a: &lopdf::Stream, b: &lopdf::Stream) -> Result<bool, String> {
        let hash = |r: &Reader, s: &lopdf::Stream| -> Result<[u8; 32], String> {
            let at = s.start_position.unwrap_or(0) as u64;
            let len = r.stream_len(&s.dict, at)?;
            let mut h = Sha256::new();
            for_chunks(r.source(), at, at + len, |c| {
                h.update(c);
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            Ok(h.finalize().into())
        };
        Ok(hash(self.then, a)? == hash(self.now, b)?)
    }
}

fn stream_kind(d: &Dictionary) -> String {
    match (name_of(d, b"Type"), name_of(d, b"Subtype")) {
        (Some(t), Some(s)) => format!("/{t} /{s}"),
        (Some(t), None) => format!("/{t}"),
        (None, Some(s)) => format!("/{s} stream"),
        (None, None) => "a content stream".into(),
    }
}

fn short(o: &Object) -> String {
    match o {
        Object::Reference((n, g)) => format!("{n} {g} R"),
        Object::Dictionary(_) => "a dictionary".into(),
        _ => "a value".into(),
    }
}
