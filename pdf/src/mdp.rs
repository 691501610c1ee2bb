//! What a signature allows later revisions to change (ISO 32000-2 §12.8.2):
//! the DocMDP permission of a certification signature (`/P` 1: no changes,
//! 2: form filling and signing, 3: also annotations), the lock dictionary of
//! its field (`/Lock`: `/Action /All|/Include|/Exclude`, `/Fields`, and in PDF
//! 2.0 a `/P` with the DocMDP meaning) and the FieldMDP transform in the
//! signature dictionary's `/Reference` (the same lock, as signed).
//!
//! An approval signature with neither allows form filling and signing, and
//! annotations unless checked strictly (`strict` of `verify::check_file`;
//! the standard puts no restriction on annotations: they are listed, and a
//! stricter reader can refuse them). Validation data
//! (DSS, document timestamps) is always allowed, also after P 1, as PAdES
//! (ETSI EN 319 142-1 §5.4) requires.
//!
//! Refuses nothing itself: [`Policy::violations`] lists what goes beyond the
//! allowance, the caller fails the signature. An unreadable `/P` (not 1, 2
//! or 3) counts as 1, the strictest.

use super::changes::{Change, Level};
use super::structure::Pdf;
use lopdf::{Dictionary, Object, ObjectId};

/// Which fields a lock dictionary or FieldMDP transform protects.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lock {
    /// Every field.
    All,
    /// The fields named (full names).
    Include(Vec<String>),
    /// Every field except those named.
    Exclude(Vec<String>),
}

impl Lock {
    /// Whether field `name` (or a field under it) is locked.
    pub fn locks(&self, name: &str) -> bool {
        let named = |list: &[String]| {
            list.iter().any(|l| {
                name == l
                    || name
                        .strip_prefix(l.as_str())
                        .is_some_and(|r| r.starts_with('.'))
            })
        };
        match self {
            Lock::All => true,
            Lock::Include(l) => named(l),
            Lock::Exclude(l) => !named(l),
        }
    }
}

/// What one signature allows later revisions to change.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    /// DocMDP `/P` of a certification signature.
    pub docmdp: Option<u8>,
    /// The fields its lock or FieldMDP transform protects.
    pub lock: Option<Lock>,
    /// The `/P` of its lock dictionary (PDF 2.0).
    pub lock_p: Option<u8>,
}

fn name_of(d: &Dictionary, key: &[u8]) -> Option<Vec<u8>> {
    d.get(key)
        .and_then(Object::as_name)
        .ok()
        .map(<[u8]>::to_vec)
}

/// `/P` as 1, 2 or 3 (anything else: 1).
fn perm(o: Option<&Object>) -> Option<u8> {
    let p = o?.as_i64().ok();
    Some(match p {
        Some(2) => 2,
        Some(3) => 3,
        _ => 1,
    })
}

/// A lock from a dictionary with `/Action` and `/Fields`.
fn lock_of(pdf: &Pdf, d: &Dictionary) -> Option<Lock> {
    let fields = || -> Vec<String> {
        pdf.array_in(d, b"Fields")
            .iter()
            .filter_map(|f| lopdf::decode_text_string(f).ok())
            .collect()
    };
    match name_of(d, b"Action")?.as_slice() {
        b"All" => Some(Lock::All),
        b"Include" => Some(Lock::Include(fields())),
        b"Exclude" => Some(Lock::Exclude(fields())),
        _ => Some(Lock::All),
    }
}

/// The policy of the signature `sig` in field `field`, as the file now reads.
pub fn read(pdf: &Pdf, field: ObjectId, sig: ObjectId) -> Policy {
    let mut p = Policy::default();
    if let Some(s) = pdf.dict(sig) {
        for r in pdf.array_in(&s, b"Reference") {
            let Some(Object::Dictionary(r)) = pdf.deref(&r) else {
                continue;
            };
            let params = pdf.dict_in(&r, b"TransformParams").unwrap_or_default();
            match name_of(&r, b"TransformMethod").as_deref() {
                // A DocMDP transform without /P means 2 (ISO 32000-1 table 254).
                Some(b"DocMDP") => p.docmdp = perm(params.get(b"P").ok()).or(Some(2)),
                Some(b"FieldMDP") => p.lock = lock_of(pdf, &params),
                _ => {}
            }
        }
    }
    if let Some(lock) = pdf.dict(field).and_then(|f| pdf.dict_in(&f, b"Lock")) {
        if p.lock.is_none() {
            p.lock = lock_of(pdf, &lock);
        }
        p.lock_p = perm(lock.get(b"P").ok());
    }
    p
}

impl Policy {
    /// The highest level of change this signature allows.
    pub fn allowed(&self, strict: bool) -> Level {
        let level = |p: u8| match p {
            1 => Level::Dss,
            2 => Level::FormFill,
            _ => Level::Annotations,
        };
        let given = [self.docmdp, self.lock_p]
            .into_iter()
            .flatten()
            .map(level)
            .min();
        match given {
            Some(l) => l,
            None if strict => Level::FormFill,
            None => Level::Annotations,
        }
    }

    /// The changes (made after this signature) that it does not allow: a
    /// level above `allowed` ([`Policy::allowed`]), or a locked field changed.
    pub fn violations<'c>(&self, changes: &'c [Change], allowed: Level) -> Vec<&'c Change> {
        changes
            .iter()
            .filter(|c| {
                c.level > allowed
                    || c.level >= Level::Signing
                        && c.field
                            .as_deref()
                            .zip(self.lock.as_ref())
                            .is_some_and(|(f, l)| l.locks(f))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_p_and_the_strict_reading() {
        let p = |docmdp, lock_p| Policy {
            docmdp,
            lock: None,
            lock_p,
        };
        assert_eq!(p(Some(1), None).allowed(false), Level::Dss);
        assert_eq!(p(Some(2), None).allowed(false), Level::FormFill);
        assert_eq!(p(Some(3), None).allowed(true), Level::Annotations);
        assert_eq!(p(None, None).allowed(false), Level::Annotations);
        assert_eq!(p(None, None).allowed(true), Level::FormFill);
        assert_eq!(p(Some(3), Some(1)).allowed(false), Level::Dss);
    }

    #[test]
    fn locks_name_fields_and_their_children() {
        let inc = Lock::Include(vec!["Name".into()]);
        assert!(inc.locks("Name") && inc.locks("Name.first"));
        assert!(!inc.locks("Names") && !inc.locks("Date"));
        let exc = Lock::Exclude(vec!["Name".into()]);
        assert!(!exc.locks("Name") && exc.locks("Date"));
        let pol = Policy {
            docmdp: None,
            lock: Some(inc),
            lock_p: None,
        };
        let fill = |f: &str| Change::new(7, Level::FormFill, "x").of_field(Some(f.into()));
        let changes = [fill("Name"), fill("Date")];
        let v = pol.violations(&changes, pol.allowed(false));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field.as_deref(), Some("Name"));
    }
}
