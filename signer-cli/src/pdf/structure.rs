//! Reading the little of a PDF that signing and verifying need: trailer,
//! catalog, first page, AcroForm and signature fields. lopdf parses; stream
//! data (page contents, images, fonts) is dropped while loading so memory holds
//! the file once plus its dictionaries, not every stream a second time.
//!
//! Refuses: encrypted files (new objects would have to be encrypted, and a
//! signature's /Contents must never be), files whose cross-reference data had
//! to be rebuilt (the /Prev of an update would point at garbage), and files
//! that do not start with `%PDF-` at byte 0 (their offsets are relative to a
//! header elsewhere).

use lopdf::{Document, LoadOptions, Object, ObjectId};

/// A PDF loaded for signing or verifying.
pub struct Pdf {
    /// The parsed dictionaries (streams other than object streams are dropped).
    pub doc: Document,
    /// Whether the last cross-reference section is a stream (else a table).
    pub xref_stream: bool,
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

/// Parses `bytes` (the whole file) for signing; `name` is for messages.
pub fn load(name: &str, bytes: &[u8]) -> Result<Pdf, String> {
    let pdf = load_any(name, bytes)?;
    if let Some(r) = pdf.doc.xref_recovery {
        return Err(format!(
            "{name} has damaged cross-reference data ({r:?}); repair it first, e.g. `qpdf IN OUT`"
        ));
    }
    Ok(pdf)
}

/// Parses `bytes` also when its cross-reference data had to be rebuilt
/// (verification reports that instead of refusing).
pub fn load_any(name: &str, bytes: &[u8]) -> Result<Pdf, String> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(crate::i18n::Msg::NotPdf(name).to_string());
    }
    let doc = Document::load_mem_with_options(bytes, LoadOptions::with_filter(drop_stream_data))
        .map_err(|e| format!("cannot read {name} as a PDF: {e}"))?;
    if doc.encryption_state.is_some() || doc.trailer.has(b"Encrypt") {
        return Err(crate::i18n::Msg::EncryptedPdf(name).to_string());
    }
    if doc.xref_recovery.is_none() && doc.xref_start == 0 || doc.xref_start >= bytes.len() {
        return Err(format!("{name}: cannot locate its cross-reference data"));
    }
    let xref_stream = matches!(
        doc.reference_table.cross_reference_type,
        lopdf::xref::XrefType::CrossReferenceStream
    );
    Ok(Pdf { doc, xref_stream })
}

impl Pdf {
    /// The catalog's id.
    pub fn root_id(&self) -> Result<ObjectId, String> {
        self.doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| "the trailer has no /Root".to_string())
    }

    /// Follows a reference (one level is all PDF allows for these values).
    pub fn deref<'a>(&'a self, o: &'a Object) -> Option<&'a Object> {
        match o {
            Object::Reference(id) => self.doc.get_object(*id).ok(),
            o => Some(o),
        }
    }

    /// The AcroForm's top-level `/Fields` (references), empty if none.
    pub fn fields(&self) -> Vec<Object> {
        let Ok(root) = self
            .root_id()
            .and_then(|r| self.doc.get_dictionary(r).map_err(|e| e.to_string()))
        else {
            return Vec::new();
        };
        root.get(b"AcroForm")
            .ok()
            .and_then(|a| self.deref(a))
            .and_then(|a| a.as_dict().ok())
            .and_then(|a| a.get(b"Fields").ok())
            .and_then(|f| self.deref(f))
            .and_then(|f| f.as_array().ok())
            .cloned()
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
            let Ok(d) = self.doc.get_dictionary(id) else {
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
            let kids = d
                .get(b"Kids")
                .ok()
                .and_then(|k| self.deref(k))
                .and_then(|k| k.as_array().ok());
            // A kid without /T is a widget of this field, not a field.
            let field_kids: Vec<Object> = kids
                .map(|k| {
                    k.iter()
                        .filter(|k| {
                            self.deref(k)
                                .and_then(|k| k.as_dict().ok())
                                .is_some_and(|k| k.has(b"T"))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
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
                let d = self.doc.get_dictionary(id).ok()?;
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
