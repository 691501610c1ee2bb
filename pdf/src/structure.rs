//! Reading the little of a PDF that signing and verifying need: trailer,
//! catalog, the page that gets the widget, AcroForm and signature fields.
//!
//! Objects come from the seeking [`super::reader`] (only the objects asked
//! for are read, so memory stays flat in file size). When that reader refuses
//! a file (cross-reference data it cannot follow), the whole file is loaded
//! by lopdf instead, which repairs what it can: signing then refuses a file
//! whose cross-reference data had to be rebuilt (the /Prev of an update
//! would point at garbage), verifying reports it.
//!
//! Refuses: encrypted files (new objects would have to be encrypted, and a
//! signature's /Contents must never be), and files that do not start with
//! `%PDF-` at byte 0 (their offsets are relative to a header elsewhere).

use crate::reader::{self, Entry, Reader, Source};
use crate::Error;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

/// Where the objects come from.
// One per open file: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Objects<'s> {
    /// Read on demand (the normal case).
    Seek(Reader<'s>),
    /// Loaded whole by lopdf (files the seeking reader refused).
    Whole(Document),
}

/// A PDF opened for signing or verifying.
pub struct Pdf<'s> {
    objects: Objects<'s>,
    /// The newest trailer.
    pub trailer: Dictionary,
    /// Offset of the newest cross-reference section.
    pub xref_start: u64,
    /// Whether the last cross-reference section is a stream (else a table).
    pub xref_stream: bool,
    /// Why lopdf had to rebuild the cross-reference data, if it had to.
    pub recovered: Option<String>,
}

/// Keeps everything except ordinary streams (replaced by null). Object
/// streams must stay: lopdf unpacks the objects in them after this filter.
/// lopdf 0.47 keeps the object as changed in place for top-level objects but
/// the returned one for objects from object streams, so both are set.
fn drop_stream_data(id: ObjectId, obj: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(s) = obj {
        if !s.dict.has_type(b"ObjStm") {
            *obj = Object::Null;
        }
    }
    Some((id, obj.clone()))
}

/// Opens `src` for signing; `name` is for messages.
pub fn load<'s>(name: &str, src: &'s dyn Source) -> Result<Pdf<'s>, Error> {
    let pdf = load_any(name, src)?;
    if let Some(r) = &pdf.recovered {
        return Err(Error::Invalid(format!(
            "{name} has damaged cross-reference data ({r}); repair it first, e.g. `qpdf IN OUT`"
        )));
    }
    Ok(pdf)
}

/// Opens `src` also when its cross-reference data has to be rebuilt
/// (verification reports that instead of refusing).
pub fn load_any<'s>(name: &str, src: &'s dyn Source) -> Result<Pdf<'s>, Error> {
    let head = reader::read_vec(src, 0, 5).map_err(|e| format!("cannot read {name}: {e}"))?;
    if head != b"%PDF-" {
        return Err(Error::NotPdf { name: name.into() });
    }
    let pdf = match Reader::open(src) {
        Ok(r) => Pdf {
            trailer: r.trailer.clone(),
            xref_start: r.xref_start,
            xref_stream: r.xref_stream,
            objects: Objects::Seek(r),
            recovered: None,
        },
        Err(seek_error) => {
            tracing::debug!(%seek_error, "loading the whole file with lopdf");
            whole(name, src)?
        }
    };
    if pdf.trailer.has(b"Encrypt") {
        return Err(Error::Encrypted { name: name.into() });
    }
    Ok(pdf)
}

fn whole<'s>(name: &str, src: &dyn Source) -> Result<Pdf<'s>, Error> {
    let len = usize::try_from(src.size()).map_err(|_| format!("{name} is too large"))?;
    let bytes = reader::read_vec(src, 0, len).map_err(|e| format!("cannot read {name}: {e}"))?;
    let doc = Document::load_mem_with_options(&bytes, LoadOptions::with_filter(drop_stream_data))
        .map_err(|e| format!("cannot read {name} as a PDF: {e}"))?;
    if doc.encryption_state.is_some() || doc.trailer.has(b"Encrypt") {
        return Err(Error::Encrypted { name: name.into() });
    }
    if doc.xref_recovery.is_none() && doc.xref_start == 0 || doc.xref_start >= bytes.len() {
        return Err(Error::Invalid(format!(
            "{name}: cannot locate its cross-reference data"
        )));
    }
    Ok(Pdf {
        trailer: doc.trailer.clone(),
        xref_start: doc.xref_start as u64,
        xref_stream: matches!(
            doc.reference_table.cross_reference_type,
            lopdf::xref::XrefType::CrossReferenceStream
        ),
        recovered: doc.xref_recovery.map(|r| format!("{r:?}")),
        objects: Objects::Whole(doc),
    })
}

impl Pdf<'_> {
    /// Object `id`, if it exists.
    pub fn get(&self, id: ObjectId) -> Option<Object> {
        match &self.objects {
            Objects::Seek(r) => r.object(id).ok(),
            Objects::Whole(d) => d.get_object(id).ok().cloned(),
        }
    }

    /// Object `id` if it is a dictionary.
    pub fn dict(&self, id: ObjectId) -> Option<Dictionary> {
        match self.get(id)? {
            Object::Dictionary(d) => Some(d),
            _ => None,
        }
    }

    /// Where object `n` is, per the newest cross-reference entry.
    pub fn entry(&self, n: u32) -> Option<Entry> {
        match &self.objects {
            Objects::Seek(r) => r.entry(n),
            Objects::Whole(d) => match d.reference_table.get(n)? {
                lopdf::xref::XrefEntry::Normal { offset, generation } => Some(Entry::Normal {
                    offset: u64::from(*offset),
                    gen: *generation,
                }),
                lopdf::xref::XrefEntry::Compressed { container, .. } => Some(Entry::Compressed {
                    container: *container,
                }),
                _ => Some(Entry::Free),
            },
        }
    }

    /// The largest object number in use.
    pub fn max_id(&self) -> u32 {
        match &self.objects {
            Objects::Seek(r) => r.max_id(),
            Objects::Whole(d) => d.max_id,
        }
    }

    /// The catalog's id.
    pub fn root_id(&self) -> Result<ObjectId, String> {
        self.trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| "the trailer has no /Root".to_string())
    }

    /// Follows a reference (one level is all PDF allows for these values).
    pub fn deref(&self, o: &Object) -> Option<Object> {
        match o {
            Object::Reference(id) => self.get(*id),
            o => Some(o.clone()),
        }
    }

    /// `d[key]`, followed if it is a reference, as a dictionary.
    pub fn dict_in(&self, d: &Dictionary, key: &[u8]) -> Option<Dictionary> {
        match self.deref(d.get(key).ok()?)? {
            Object::Dictionary(d) => Some(d),
            _ => None,
        }
    }

    /// `d[key]`, followed if it is a reference, as an array (empty if not one).
    pub fn array_in(&self, d: &Dictionary, key: &[u8]) -> Vec<Object> {
        match d.get(key).ok().and_then(|o| self.deref(o)) {
            Some(Object::Array(a)) => a,
            _ => Vec::new(),
        }
    }

    /// The page tree's root.
    fn pages_root(&self) -> Result<(ObjectId, Dictionary), String> {
        let root = self
            .dict(self.root_id()?)
            .ok_or("its catalog (/Root) is missing or not a dictionary")?;
        let id = root
            .get(b"Pages")
            .and_then(Object::as_reference)
            .map_err(|_| "its catalog has no page tree")?;
        let d = self.dict(id).ok_or("its page tree is missing")?;
        Ok((id, d))
    }

    /// How many pages the page tree says it has.
    pub fn page_count(&self) -> u32 {
        self.pages_root()
            .ok()
            .and_then(|(_, d)| d.get(b"Count").ok()?.as_i64().ok())
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0)
    }

    /// Page `n` (1 = first), found through the page tree's `/Count`s so only
    /// the nodes on the way are read.
    pub fn page(&self, n: u32) -> Result<ObjectId, String> {
        let missing = || format!("it has no page {n} (it has {} page(s))", self.page_count());
        let (mut node, _) = self.pages_root()?;
        let mut left = n.checked_sub(1).ok_or_else(missing)?;
        'descend: for _ in 0..64 {
            let d = self.dict(node).ok_or_else(missing)?;
            for kid in self.array_in(&d, b"Kids") {
                let Object::Reference(kid) = kid else {
                    continue;
                };
                let Some(k) = self.dict(kid) else { continue };
                let is_page = k.get(b"Type").and_then(Object::as_name).ok() == Some(b"Page")
                    || !k.has(b"Kids");
                let count = if is_page {
                    1
                } else {
                    k.get(b"Count")
                        .ok()
                        .and_then(|c| c.as_i64().ok())
                        .and_then(|c| u32::try_from(c).ok())
                        .unwrap_or(0)
                };
                if left < count {
                    if is_page {
                        return Ok(kid);
                    }
                    node = kid;
                    continue 'descend;
                }
                left -= count;
            }
            break;
        }
        Err(missing())
    }

    /// The AcroForm's top-level `/Fields` (references), empty if none.
    pub fn fields(&self) -> Vec<Object> {
        let Some(root) = self.root_id().ok().and_then(|r| self.dict(r)) else {
            return Vec::new();
        };
        self.dict_in(&root, b"AcroForm")
            .map(|af| self.array_in(&af, b"Fields"))
            .unwrap_or_default()
    }

    /// Every terminal field under `/Fields` (through `/Kids`), with its full name.
    pub fn terminal_fields(&self) -> Vec<(String, ObjectId)> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, Object, usize)> = self
            .fields()
            .into_iter()
            .rev()
            .map(|f| (String::new(), f, 0))
            .collect();
        while let Some((prefix, f, depth)) = stack.pop() {
            let Object::Reference(id) = f else { continue };
            let Some(d) = self.dict(id) else {
                continue;
            };
            let part = d
                .get(b"T")
                .ok()
                .and_then(|t| lopdf::decode_text_string(t).ok())
                .unwrap_or_default();
            let name = match (prefix.is_empty(), part.is_empty()) {
                (true, _) => part,
                (false, true) => prefix.clone(),
                (false, false) => format!("{prefix}.{part}"),
            };
            // A kid without /T is a widget of this field, not a field.
            let field_kids: Vec<Object> = self
                .array_in(&d, b"Kids")
                .into_iter()
                .filter(|k| {
                    self.deref(k)
                        .and_then(|k| k.as_dict().ok().map(|k| k.has(b"T")))
                        .unwrap_or(false)
                })
                .collect();
            if field_kids.is_empty() || depth > 32 {
                out.push((name, id));
            } else {
                for k in field_kids.into_iter().rev() {
                    stack.push((name.clone(), k, depth + 1));
                }
            }
        }
        out
    }

    /// Signature fields: (full name, field id, signature dictionary id if signed).
    /// The inherited /FT of a parent is not followed (signature fields are terminal).
    pub fn signature_fields(&self) -> Vec<(String, ObjectId, Option<ObjectId>)> {
        self.terminal_fields()
            .into_iter()
            .filter_map(|(name, id)| {
                let d = self.dict(id)?;
                let ft = d.get(b"FT").ok().and_then(|f| f.as_name().ok());
                if ft != Some(b"Sig".as_slice()) {
                    return None;
                }
                let v = match d.get(b"V") {
                    Ok(Object::Reference(v)) => Some(*v),
                    _ => None,
                };
                Some((name, id, v))
            })
            .collect()
    }
}
