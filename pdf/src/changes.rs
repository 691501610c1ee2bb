//! How far a change made after a signature goes: the modification levels of
//! the PDF standard's modification detection (ISO 32000-2 §12.8.2.2, DocMDP
//! `/P` 1, 2, 3), as pyHanko's difference analysis names them too.
//!
//! [`super::revisions`] compares two revisions object by object and gives
//! every change one [`Level`]; [`super::mdp`] decides from a signature's
//! DocMDP and lock dictionaries which levels it allows. This module only
//! holds the vocabulary and the field index the comparison uses to know
//! which objects are form fields, widgets and their appearance streams.
//!
//! It refuses to guess: an object that is not recognised as one of the
//! allowed kinds of change is [`Level::Other`].

use super::reader::Reader;
use lopdf::{Dictionary, Object, ObjectId};
use std::collections::HashMap;

/// How far a change goes, from nothing to anything (ordered).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Nothing changed (or only bytes that show nothing: xref and object streams).
    #[default]
    None,
    /// Validation data: the DSS, document timestamps, document metadata.
    Dss,
    /// New signature fields, an empty signature field signed.
    Signing,
    /// The value of an existing form field and its widgets' appearances.
    FormFill,
    /// Annotations (not widgets) created, changed or deleted.
    Annotations,
    /// Anything else: content, pages, resources, fonts, optional content,
    /// catalog entries, new non-signature fields, deleted objects.
    Other,
}

/// One object that differs between two revisions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// The object number.
    pub object: u32,
    /// How far the change goes.
    pub level: Level,
    /// What changed, in English terms (object number and kind).
    pub what: String,
    /// The full name of the form field it belongs to, if it does (and the
    /// field existed before): what lock dictionaries name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Change {
    /// A change of `level` to object `n`.
    pub fn new(n: u32, level: Level, what: impl Into<String>) -> Change {
        Change {
            object: n,
            level,
            what: what.into(),
            field: None,
        }
    }

    /// The same change, belonging to field `name`.
    pub fn of_field(mut self, name: Option<String>) -> Change {
        self.field = name;
        self
    }
}

/// What the incremental updates up to one later signature changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Revision {
    /// The first and last revision it spans (1 = the original file, counted
    /// by `%%EOF`; the last is the one the later signature signed).
    pub revisions: (usize, usize),
    /// The field of the signature that covers it.
    pub signed_in_field: String,
    /// That signature's signer.
    pub signed_by: Option<String>,
    /// The highest level of its changes.
    pub level: Level,
    /// Every object that differs from the revision before.
    pub changes: Vec<Change>,
}

/// The highest level among `changes` ([`Level::None`] if there are none).
pub fn level_of(changes: &[Change]) -> Level {
    changes.iter().map(|c| c.level).max().unwrap_or(Level::None)
}

/// A form field or widget as the interactive form reaches it.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// The field's full name (`parent.child`).
    pub name: String,
    /// Its field type, inherited from parents (`Sig`, `Tx`, `Btn`, `Ch`).
    pub ft: Option<String>,
}

impl FieldInfo {
    /// A signature field (or its widget).
    pub fn is_sig(&self) -> bool {
        self.ft.as_deref() == Some("Sig")
    }
}

/// The form of one revision: every field and widget dictionary reachable
/// from `/AcroForm /Fields`, and every appearance stream of their widgets.
#[derive(Debug, Default)]
pub struct FieldIndex {
    /// Field and widget dictionaries by object number.
    pub dicts: HashMap<u32, FieldInfo>,
    /// Appearance streams (and appearance state dictionaries) by object number.
    pub appearances: HashMap<u32, FieldInfo>,
}

/// The most field and widget dictionaries indexed (a hostile form cannot make this slow).
const MAX_FIELDS: usize = 100_000;

fn name_of(d: &Dictionary, key: &[u8]) -> Option<String> {
    d.get(key)
        .and_then(Object::as_name)
        .ok()
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

impl FieldIndex {
    /// Walks `r`'s form (through `/Kids`, at most 32 levels deep).
    pub fn of(r: &Reader) -> FieldIndex {
        let mut ix = FieldIndex::default();
        let Some(form) = acroform(r) else {
            return ix;
        };
        let fields = match form.get(b"Fields") {
            Ok(Object::Array(a)) => a.clone(),
            Ok(Object::Reference(id)) => match r.object(*id) {
                Ok(Object::Array(a)) => a,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let mut stack: Vec<(Object, String, Option<String>, usize)> = fields
            .into_iter()
            .rev()
            .map(|f| (f, String::new(), None, 0))
            .collect();
        while let Some((f, prefix, inherited_ft, depth)) = stack.pop() {
            let Object::Reference(id) = f else { continue };
            if ix.dicts.len() >= MAX_FIELDS || ix.dicts.contains_key(&id.0) || depth > 32 {
                continue;
            }
            let Ok(Object::Dictionary(d)) = r.object(id) else {
                continue;
            };
            let part = d
                .get(b"T")
                .ok()
                .and_then(|t| lopdf::decode_text_string(t).ok());
            let name = match part {
                Some(p) if !prefix.is_empty() => format!("{prefix}.{p}"),
                Some(p) => p,
                None => prefix,
            };
            let info = FieldInfo {
                name: name.clone(),
                ft: name_of(&d, b"FT").or(inherited_ft),
            };
            ix.add_appearances(r, &d, &info);
            if let Ok(Object::Array(kids)) = d.get(b"Kids") {
                for k in kids.iter().rev() {
                    stack.push((k.clone(), name.clone(), info.ft.clone(), depth + 1));
                }
            }
            ix.dicts.insert(id.0, info);
        }
        ix
    }

    /// Records the streams of `d`'s `/AP` (`/N`, `/R`, `/D`, each a stream
    /// or a dictionary of appearance states) as belonging to `info`.
    fn add_appearances(&mut self, r: &Reader, d: &Dictionary, info: &FieldInfo) {
        let ap = match d.get(b"AP") {
            Ok(Object::Dictionary(ap)) => ap.clone(),
            Ok(Object::Reference(id)) => {
                self.appearances.insert(id.0, info.clone());
                match r.object(*id) {
                    Ok(Object::Dictionary(ap)) => ap,
                    _ => return,
                }
            }
            _ => return,
        };
        for (_, v) in ap.iter() {
            let Object::Reference(id) = v else { continue };
            self.appearances.insert(id.0, info.clone());
            if let Ok(Object::Dictionary(states)) = r.object(*id) {
                for (_, s) in states.iter() {
                    if let Object::Reference(s) = s {
                        self.appearances.insert(s.0, info.clone());
                    }
                }
            }
        }
    }

    /// The field `id` is (or is a widget of), if it is in the form.
    pub fn field(&self, id: u32) -> Option<&FieldInfo> {
        self.dicts.get(&id)
    }
}

/// The catalog's interactive form dictionary.
pub fn acroform(r: &Reader) -> Option<Dictionary> {
    let root = r.trailer.get(b"Root").and_then(Object::as_reference).ok()?;
    let Object::Dictionary(cat) = r.object(root).ok()? else {
        return None;
    };
    match cat.get(b"AcroForm").ok()? {
        Object::Dictionary(d) => Some(d.clone()),
        Object::Reference(id) => match r.object(*id).ok()? {
            Object::Dictionary(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

/// The catalog's interactive form dictionary's id, if it is an indirect object.
pub fn acroform_id(r: &Reader) -> Option<ObjectId> {
    let root = r.trailer.get(b"Root").and_then(Object::as_reference).ok()?;
    match r.object(root).ok()? {
        Object::Dictionary(d) => d.get(b"AcroForm").and_then(Object::as_reference).ok(),
        _ => None,
    }
}

/// Whether `d` is an annotation other than a widget (`/Subtype`, and
/// `/Type /Annot` or no `/Type`).
pub fn is_plain_annotation(d: &Dictionary) -> bool {
    let ty = name_of(d, b"Type");
    let sub = name_of(d, b"Subtype");
    matches!(ty.as_deref(), None | Some("Annot"))
        && d.has(b"Rect")
        && sub.is_some_and(|s| s != "Widget")
}
