//! What the revisions after a signature changed, when a later signature
//! covers them: the "shadow" class of attacks (Mainka et al.) done by, or
//! slipped past, a later signer. The bytes an earlier signer signed are
//! intact, but what a viewer shows may not be what they saw.
//!
//! The document as signed (the file up to the signature's ByteRange end) and
//! the document as the last valid signature covers it are opened with the
//! seeking reader, and every object whose cross-reference entry differs is
//! compared. Allowed are the changes that adding signatures makes (what
//! `jpki-sign` itself and other signers write): new objects; the catalog's
//! `/AcroForm`, `/DSS`, `/Metadata`, `/Extensions`, `/Version`; the form's `/Fields` (only
//! new signature fields), `/SigFlags`, `/DR`, `/DA`, `/NeedAppearances`; a
//! page's `/Annots` (only new signature widgets); an unsigned signature field
//! getting its `/V` and appearance; the document information dictionary,
//! XMP metadata, DSS/VRI dictionaries and cross-reference/object streams.
//! Anything else — a content stream, a page's resources or contents, another
//! annotation, a form field's value, an existing signature, a deleted object —
//! is reported, named by object number and kind.
//!
//! Refuses to judge what it cannot read: if either revision's
//! cross-reference data cannot be followed, that is the answer.

use super::reader::{for_chunks, Entry, Prefix, Reader, Source};
use lopdf::{Dictionary, Object, ObjectId};
use sha2::{Digest, Sha256};

/// Keys of the catalog that adding a signature may change.
/// (`/Version`: writers raise it, e.g. to 1.7 for a PAdES signature.)
const CATALOG_OK: &[&[u8]] = &[b"AcroForm", b"DSS", b"Metadata", b"Extensions", b"Version"];
/// Keys of the interactive form dictionary that adding a signature may change.
const ACROFORM_OK: &[&[u8]] = &[b"Fields", b"SigFlags", b"DR", b"DA", b"NeedAppearances"];
/// Keys of a signature field (and its widget) that signing it may change.
const SIG_FIELD_OK: &[&[u8]] = &[b"V", b"AP", b"AS", b"F"];
/// The most objects compared, so a hostile file cannot make this slow.
const MAX_OBJECTS: u32 = 5_000_000;

/// The revision the signatures are compared with (the file as the last
/// valid signature covers it), opened once for all of them.
pub fn open_later<'s>(later: &'s Prefix<'s>) -> Result<Reader<'s>, String> {
    Reader::open(later)
        .map_err(|e| format!("the later revision's cross-reference data cannot be read ({e}), so its changes cannot be checked"))
}

/// The changes between the revision ending at `signed_end` and the later
/// revision `now` ([`open_later`]) that adding signatures does not explain;
/// each names the object and what kind of change it is.
pub fn changes(src: &dyn Source, signed_end: u64, now: &Reader) -> Result<Vec<String>, String> {
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
                out.push(format!("object {n} was deleted"));
                continue;
            }
        };
        let old = then.object(old_id);
        let new = now.object(new_id);
        match (old, new) {
            (Ok(old), Ok(new)) => {
                if let Some(c) = cmp.judge(n, &old, &new)? {
                    out.push(c);
                }
            }
            (Err(e), _) | (_, Err(e)) => out.push(format!("object {n} cannot be read ({e})")),
        }
        if out.len() >= 20 {
            out.push("(more changes not listed)".into());
            break;
        }
    }
    Ok(out)
}

fn acroform_id(r: &Reader) -> Option<ObjectId> {
    let root = r.trailer.get(b"Root").and_then(Object::as_reference).ok()?;
    match r.object(root).ok()? {
        Object::Dictionary(d) => d.get(b"AcroForm").and_then(Object::as_reference).ok(),
        _ => None,
    }
}

struct Compare<'r, 's> {
    then: &'r Reader<'s>,
    now: &'r Reader<'s>,
    info: Option<ObjectId>,
    acroform: Option<ObjectId>,
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

impl Compare<'_, '_> {
    /// `None` when the change from `old` to `new` is one that adding a
    /// signature makes (or no change at all), else what changed.
    fn judge(&self, n: u32, old: &Object, new: &Object) -> Result<Option<String>, String> {
        match (old, new) {
            (Object::Stream(a), Object::Stream(b)) => {
                if a.dict == b.dict && self.same_data(a, b)? {
                    return Ok(None);
                }
                let kind = stream_kind(&b.dict);
                if matches!(kind.as_str(), "/XRef" | "/ObjStm" | "/Metadata") {
                    return Ok(None);
                }
                Ok(Some(format!("object {n} ({kind}) was replaced")))
            }
            (Object::Dictionary(a), Object::Dictionary(b)) => Ok(self.judge_dict(n, a, b)),
            (Object::Array(a), Object::Array(b)) => Ok(self
                .only_signatures_added(a, b)
                .err()
                .map(|e| format!("the array in object {n} {e}"))),
            (a, b) if a == b => Ok(None),
            _ => Ok(Some(format!(
                "object {n} was replaced by a different kind of object"
            ))),
        }
    }

    fn judge_dict(&self, n: u32, a: &Dictionary, b: &Dictionary) -> Option<String> {
        let keys = changed_keys(a, b);
        if keys.is_empty() {
            return None;
        }
        let ty = name_of(b, b"Type");
        let others = |ok: &[&[u8]]| -> Vec<Vec<u8>> {
            keys.iter()
                .filter(|k| !ok.contains(&k.as_slice()))
                .cloned()
                .collect()
        };
        if self.info.is_some_and(|i| i.0 == n) {
            return None;
        }
        match ty.as_deref() {
            Some("Catalog") => {
                let bad = others(CATALOG_OK);
                (!bad.is_empty()).then(|| format!("the catalog's {} changed", key_list(&bad)))
            }
            Some("Page") => {
                let bad = others(&[b"Annots"]);
                if !bad.is_empty() {
                    return Some(format!("page object {n}: {} changed", key_list(&bad)));
                }
                let old = self.array(self.then, a.get(b"Annots").ok());
                let new = self.array(self.now, b.get(b"Annots").ok());
                self.only_signatures_added(&old, &new)
                    .err()
                    .map(|e| format!("the annotations of page object {n} {e}"))
            }
            Some("DSS") | Some("VRI") => None,
            Some("Sig") | Some("DocTimeStamp") => {
                Some(format!("signature dictionary {n} was changed"))
            }
            _ if self.acroform.is_some_and(|f| f.0 == n) || b.has(b"Fields") => {
                let bad = others(ACROFORM_OK);
                if !bad.is_empty() {
                    return Some(format!("the form's {} changed", key_list(&bad)));
                }
                let old = self.array(self.then, a.get(b"Fields").ok());
                let new = self.array(self.now, b.get(b"Fields").ok());
                self.only_signatures_added(&old, &new)
                    .err()
                    .map(|e| format!("the form's fields {e}"))
            }
            _ if self.is_sig_field_dict(b) => {
                if a.has(b"V") && keys.iter().any(|k| k == b"V") {
                    return Some(format!("the signature in field object {n} was replaced"));
                }
                let bad = others(SIG_FIELD_OK);
                (!bad.is_empty())
                    .then(|| format!("signature field object {n}: {} changed", key_list(&bad)))
            }
            _ => {
                let what = match (ty, name_of(b, b"Subtype"), name_of(b, b"FT")) {
                    (_, Some(s), _)
                        if b.get(b"Type").is_err()
                            || name_of(b, b"Type").as_deref() == Some("Annot") =>
                    {
                        format!("annotation /{s}")
                    }
                    (_, _, Some(ft)) => format!("form field /{ft}"),
                    (Some(t), _, _) => format!("/{t}"),
                    _ => "dictionary".into(),
                };
                Some(format!("object {n} ({what}) changed: {}", key_list(&keys)))
            }
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

    /// `Ok` if `new` is `old` plus references to signature fields/widgets.
    fn only_signatures_added(&self, old: &[Object], new: &[Object]) -> Result<(), String> {
        if let Some(gone) = old.iter().find(|o| !new.contains(o)) {
            return Err(format!("lost an entry ({})", short(gone)));
        }
        for added in new.iter().filter(|o| !old.contains(o)) {
            let d = match added {
                Object::Reference(id) => match self.now.object(*id) {
                    Ok(Object::Dictionary(d)) => d,
                    _ => return Err(format!("gained {} (not a dictionary)", short(added))),
                },
                Object::Dictionary(d) => d.clone(),
                o => return Err(format!("gained {}", short(o))),
            };
            if !self.is_sig_field_dict(&d) {
                let kind = name_of(&d, b"Subtype")
                    .or_else(|| name_of(&d, b"FT"))
                    .map(|s| format!("/{s}"))
                    .unwrap_or_else(|| "an object".into());
                return Err(format!(
                    "gained {kind} ({}), which is not a signature field",
                    short(added)
                ));
            }
        }
        Ok(())
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
