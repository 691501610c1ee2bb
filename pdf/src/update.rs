//! The incremental update that adds one signature to a PDF (ISO 32000-1
//! §7.5.6, §12.8): appended after the original bytes, which stay untouched.
//!
//! It re-emits the catalog (only when the AcroForm is new or direct in it),
//! the first page with the widget added to `/Annots`, the AcroForm with the new
//! field in `/Fields` and `/SigFlags 3`, and adds the field-widget (invisible,
//! `/Rect [0 0 0 0]`) and the signature dictionary, then a cross-reference
//! section in the original's style (table + trailer, or an uncompressed xref
//! stream) with `/Prev`.
//!
//! Written by hand around `lopdf::Writer::write_object` rather than with
//! `lopdf::IncrementalDocument`: the signature needs the exact byte offsets of
//! `/Contents` and `/ByteRange`, which lopdf does not report, and a parse-back
//! search would cost another copy of the file.
//!
//! Refuses: a file certified with DocMDP P=1 (no changes allowed), a file
//! without pages.

use lopdf::{Dictionary, Object, ObjectId, StringFormat, Writer};

use crate::stamp::Stamp;
use crate::structure::Pdf;
use crate::subfilter::SubFilter;
use crate::Error;

/// What goes into the signature dictionary.
#[derive(Clone)]
pub struct SigOptions {
    /// `/SubFilter`: how the CMS is to be read.
    pub subfilter: SubFilter,
    /// `/M`, a PDF date string `D:YYYYMMDDHHmmSSZ`.
    pub date: String,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// Bytes reserved for the DER CMS (the hex string is twice as long).
    pub contents_len: usize,
    /// A visible signature; `None` = invisible on page 1.
    pub stamp: Option<Stamp>,
}

impl SigOptions {
    /// Room for a CMS with a 2048-bit signer certificate carrying name and
    /// address (≈1.6 KB), its CA, the signer info and a timestamp token.
    pub const DEFAULT_CONTENTS_LEN: usize = 16384;

    /// An invisible `adbe.pkcs7.detached` signature dated `date` (a PDF date,
    /// `D:YYYYMMDDHHmmSSZ`), without reason or location.
    pub fn new(date: impl Into<String>) -> SigOptions {
        SigOptions {
            subfilter: SubFilter::AdbePkcs7Detached,
            date: date.into(),
            reason: None,
            location: None,
            contents_len: Self::DEFAULT_CONTENTS_LEN,
            stamp: None,
        }
    }
}

/// The update, ready except for the hex CMS in `/Contents`.
pub struct Update {
    /// The bytes to append (with `/Contents` all zeros).
    pub bytes: Vec<u8>,
    /// Offset in `bytes` of the `<` opening `/Contents`.
    pub contents_start: usize,
    /// Offset in `bytes` just after the `>` closing `/Contents`.
    pub contents_end: usize,
    /// The new signature field's name.
    pub field_name: String,
}

impl Update {
    /// The SHA-256 the signature covers: `original` holds the hash state after
    /// the original file's bytes (hashed by the caller while it copies them),
    /// to which this update's bytes around `/Contents` are added.
    pub fn digest_after(&self, original: &sha2::Sha256) -> [u8; 32] {
        use sha2::Digest;
        let mut h = original.clone();
        h.update(&self.bytes[..self.contents_start]);
        h.update(&self.bytes[self.contents_end..]);
        h.finalize().into()
    }

    /// Writes the DER CMS into the reserved `/Contents` (hex, zero-padded).
    pub fn fill(&mut self, cms: &[u8]) -> Result<(), Error> {
        let room = (self.contents_end - self.contents_start - 2) / 2;
        if cms.len() > room {
            return Err(Error::Invalid(format!(
                "the signature ({} bytes) does not fit the {room} bytes reserved for it",
                cms.len()
            )));
        }
        let hex: Vec<u8> = cms
            .iter()
            .flat_map(|b| {
                let h = format!("{b:02x}");
                h.into_bytes()
            })
            .collect();
        let at = self.contents_start + 1;
        self.bytes[at..at + hex.len()].copy_from_slice(&hex);
        Ok(())
    }
}

fn ser(o: &Object) -> Vec<u8> {
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = Writer::write_object(&mut v, o);
    v
}

fn array_of(pdf: &Pdf, o: Option<&Object>) -> Vec<Object> {
    match o.and_then(|o| pdf.deref(o)) {
        Some(Object::Array(a)) => a,
        _ => Vec::new(),
    }
}

/// Refuses files whose certification signature forbids any change (DocMDP P=1).
fn check_docmdp(pdf: &Pdf, catalog: &Dictionary) -> Result<(), String> {
    let sig = pdf
        .dict_in(catalog, b"Perms")
        .and_then(|p| pdf.dict_in(&p, b"DocMDP"));
    let Some(sig) = sig else { return Ok(()) };
    for r in array_of(pdf, sig.get(b"Reference").ok()) {
        let p = match pdf.deref(&r) {
            Some(Object::Dictionary(r)) => Some(r),
            _ => None,
        }
        .filter(|r| {
            r.get(b"TransformMethod")
                .and_then(Object::as_name)
                .is_ok_and(|m| m == b"DocMDP")
        })
        .and_then(|r| pdf.dict_in(&r, b"TransformParams"))
        .and_then(|t| t.get(b"P").ok().and_then(|p| p.as_i64().ok()));
        if p == Some(1) {
            return Err(
                "it is certified with \"no changes allowed\" (DocMDP P=1); a new signature would break that certification".into(),
            );
        }
    }
    Ok(())
}

/// Object numbers for the new objects, from the file's `/Size` on.
struct Ids {
    next: u32,
}

impl Ids {
    fn after(pdf: &Pdf) -> Ids {
        let size = pdf
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0)
            .max(pdf.max_id() + 1);
        Ids { next: size }
    }

    fn alloc(&mut self) -> ObjectId {
        let id = (self.next, 0);
        self.next += 1;
        id
    }
}

/// Numbered object bodies of the update.
type Objects = Vec<(ObjectId, Vec<u8>)>;

/// Builds the update for a file of `base` bytes (`ends_with_eol`: whether its
/// last byte is CR or LF).
pub(crate) fn build(
    pdf: &Pdf,
    base: u64,
    ends_with_eol: bool,
    opts: &SigOptions,
) -> Result<Update, String> {
    let mut ids = Ids::after(pdf);
    let root_id = pdf.root_id()?;
    let catalog = pdf
        .dict(root_id)
        .ok_or("its catalog (/Root) is missing or not a dictionary")?;
    check_docmdp(pdf, &catalog)?;
    let page_no = opts.stamp.as_ref().map_or(1, |s| s.page);
    let page_id = pdf.page(page_no)?;
    let page = pdf
        .dict(page_id)
        .ok_or("its first page is not a dictionary")?;
    let sig_id = ids.alloc();
    let widget_id = ids.alloc();
    let field_name = unused_field_name(pdf);

    let mut out = form_with_field(pdf, root_id, catalog, widget_id, &mut ids)?;
    out.push((page_id, page_with_widget(pdf, page, widget_id)));
    let widget = Widget {
        id: widget_id,
        field_name: &field_name,
        sig_id,
        page_id,
    };
    out.extend(widget.objects(pdf, opts.stamp.as_ref(), &mut ids));
    let (sig_body, contents_in_sig, br_in_sig) = signature_dictionary(opts);
    out.push((sig_id, sig_body));

    // Objects in id order, then the cross-reference section.
    out.sort_by_key(|(id, _)| *id);
    let mut bytes: Vec<u8> = Vec::new();
    if !ends_with_eol {
        bytes.push(b'\n');
    }
    let mut offsets = write_objects(&mut bytes, base, &out);
    let sig_body_at = usize::try_from(offset_of(&offsets, sig_id) - base).unwrap_or(0)
        + format!("{} {} obj\n", sig_id.0, sig_id.1).len();
    let xref_at = base + bytes.len() as u64;
    let trailer = trailer_keys(pdf);
    if pdf.xref_stream {
        let xs_id = ids.alloc();
        offsets.push((xs_id, xref_at));
        write_xref_stream(&mut bytes, xs_id, &offsets, trailer, ids.next, xref_at);
    } else {
        write_xref_table(&mut bytes, &offsets, trailer, ids.next);
    }
    bytes.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());

    let contents_start = sig_body_at + contents_in_sig;
    let contents_end = contents_start + opts.contents_len * 2 + 2;
    patch_byte_range(
        &mut bytes,
        base,
        sig_body_at + br_in_sig,
        contents_start,
        contents_end,
    );
    Ok(Update {
        bytes,
        contents_start,
        contents_end,
        field_name,
    })
}

/// A field name not used yet: `Signature1`, `Signature2`, …
fn unused_field_name(pdf: &Pdf) -> String {
    let used: Vec<String> = pdf.terminal_fields().into_iter().map(|(n, _)| n).collect();
    (1..)
        .map(|i| format!("Signature{i}"))
        .find(|n| !used.contains(n))
        .unwrap_or_else(|| "Signature".into())
}

/// The AcroForm with the new field in `/Fields` and `/SigFlags 3`: updated
/// in place (its own object, or inside the catalog), or new (then the catalog
/// is re-emitted to point at it).
fn form_with_field(
    pdf: &Pdf,
    root_id: ObjectId,
    mut catalog: Dictionary,
    widget_id: ObjectId,
    ids: &mut Ids,
) -> Result<Objects, String> {
    let add_field = |af: &mut Dictionary| {
        let mut fields = array_of(pdf, af.get(b"Fields").ok());
        fields.push(Object::Reference(widget_id));
        af.set("Fields", Object::Array(fields));
        af.set("SigFlags", Object::Integer(3));
    };
    let mut out = Vec::new();
    match catalog.get(b"AcroForm") {
        Ok(Object::Reference(af_id)) => {
            let af_id = *af_id;
            let mut af = pdf.dict(af_id).ok_or("its /AcroForm is not a dictionary")?;
            add_field(&mut af);
            out.push((af_id, ser(&Object::Dictionary(af))));
        }
        Ok(Object::Dictionary(af)) => {
            let mut af = af.clone();
            add_field(&mut af);
            catalog.set("AcroForm", Object::Dictionary(af));
            out.push((root_id, ser(&Object::Dictionary(catalog))));
        }
        _ => {
            let af_id = ids.alloc();
            let mut af = Dictionary::new();
            add_field(&mut af);
            out.push((af_id, ser(&Object::Dictionary(af))));
            catalog.set("AcroForm", Object::Reference(af_id));
            out.push((root_id, ser(&Object::Dictionary(catalog))));
        }
    }
    Ok(out)
}

/// The page with the widget in `/Annots` (viewers show widgets from there).
fn page_with_widget(pdf: &Pdf, mut page: Dictionary, widget_id: ObjectId) -> Vec<u8> {
    let mut annots = array_of(pdf, page.get(b"Annots").ok());
    annots.push(Object::Reference(widget_id));
    page.set("Annots", Object::Array(annots));
    ser(&Object::Dictionary(page))
}

/// The new signature field, merged with its widget annotation.
struct Widget<'n> {
    id: ObjectId,
    field_name: &'n str,
    sig_id: ObjectId,
    page_id: ObjectId,
}

impl Widget<'_> {
    /// Field and widget in one dictionary (printed, locked), invisible or
    /// with the stamp's appearance objects after it.
    fn objects(&self, pdf: &Pdf, stamp: Option<&Stamp>, ids: &mut Ids) -> Objects {
        let mut w = Dictionary::new();
        w.set("Type", Object::Name(b"Annot".to_vec()));
        w.set("Subtype", Object::Name(b"Widget".to_vec()));
        w.set("FT", Object::Name(b"Sig".to_vec()));
        w.set("T", lopdf::text_string(self.field_name));
        w.set("V", Object::Reference(self.sig_id));
        w.set("F", Object::Integer(132));
        let mut appearance = Vec::new();
        match stamp {
            None => w.set(
                "Rect",
                Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
            ),
            Some(stamp) => {
                let media = media_box(pdf, self.page_id);
                let r = crate::stamp::rect_on(stamp, media);
                w.set(
                    "Rect",
                    Object::Array(r.iter().map(|v| Object::Real(*v as f32)).collect()),
                );
                appearance =
                    crate::stamp::objects(stamp, r[2] - r[0], r[3] - r[1], &mut || ids.alloc());
                if let Some((ap_id, _)) = appearance.first() {
                    let mut ap = Dictionary::new();
                    ap.set("N", Object::Reference(*ap_id));
                    w.set("AP", Object::Dictionary(ap));
                }
            }
        }
        w.set("P", Object::Reference(self.page_id));
        let mut out = appearance;
        out.push((self.id, ser(&Object::Dictionary(w))));
        out
    }
}

/// The signature dictionary, written by hand to know where `/Contents` (all
/// zeros) and `/ByteRange` (blank, patched at the end) are: the body and
/// those two offsets in it.
fn signature_dictionary(opts: &SigOptions) -> (Vec<u8>, usize, usize) {
    let mut s = b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/".to_vec();
    s.extend_from_slice(opts.subfilter.as_str().as_bytes());
    s.extend_from_slice(b"/M");
    s.extend(ser(&Object::String(
        opts.date.clone().into_bytes(),
        StringFormat::Literal,
    )));
    if let Some(r) = &opts.reason {
        s.extend_from_slice(b"/Reason");
        s.extend(ser(&lopdf::text_string(r)));
    }
    if let Some(l) = &opts.location {
        s.extend_from_slice(b"/Location");
        s.extend(ser(&lopdf::text_string(l)));
    }
    s.extend_from_slice(b"/Contents");
    let contents_in_sig = s.len();
    s.push(b'<');
    s.extend(std::iter::repeat_n(b'0', opts.contents_len * 2));
    s.push(b'>');
    s.extend_from_slice(b"/ByteRange");
    let br_in_sig = s.len();
    // [0 b c d] with up to 20 digits each, space-padded: patched at the end.
    s.extend(std::iter::repeat_n(b' ', BR_WIDTH));
    s.extend_from_slice(b">>");
    (s, contents_in_sig, br_in_sig)
}

/// Appends `objs` (sorted) as `N G obj … endobj`; their offsets in the file.
fn write_objects(
    bytes: &mut Vec<u8>,
    base: u64,
    objs: &[(ObjectId, Vec<u8>)],
) -> Vec<(ObjectId, u64)> {
    let mut offsets = Vec::new();
    for (id, body) in objs {
        offsets.push((*id, base + bytes.len() as u64));
        bytes.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(b"\nendobj\n");
    }
    offsets
}

fn offset_of(offsets: &[(ObjectId, u64)], id: ObjectId) -> u64 {
    offsets
        .iter()
        .find(|(i, _)| *i == id)
        .map_or(0, |(_, o)| *o)
}

/// The new trailer's `/Root`, `/Info`, `/ID` (from the old one) and `/Prev`.
fn trailer_keys(pdf: &Pdf) -> Dictionary {
    let mut trailer = Dictionary::new();
    for k in [b"Root".as_slice(), b"Info", b"ID"] {
        if let Ok(v) = pdf.trailer.get(k) {
            trailer.set(k.to_vec(), v.clone());
        }
    }
    trailer.set("Prev", Object::Integer(pdf.xref_start as i64));
    trailer
}

/// An uncompressed cross-reference stream (for files whose last section is one).
fn write_xref_stream(
    bytes: &mut Vec<u8>,
    xs_id: ObjectId,
    offsets: &[(ObjectId, u64)],
    mut trailer: Dictionary,
    size: u32,
    xref_at: u64,
) {
    let wide = xref_at > u32::MAX as u64;
    let ow = if wide { 8 } else { 4 };
    let mut data = Vec::new();
    for (id, off) in offsets {
        data.push(1u8);
        data.extend_from_slice(&off.to_be_bytes()[8 - ow..]);
        data.extend_from_slice(&id.1.to_be_bytes());
    }
    let mut index = Vec::new();
    for (start, count) in runs(offsets) {
        index.push(Object::Integer(start as i64));
        index.push(Object::Integer(count as i64));
    }
    trailer.set("Type", Object::Name(b"XRef".to_vec()));
    trailer.set("Size", Object::Integer(size as i64));
    trailer.set(
        "W",
        Object::Array(vec![1.into(), (ow as i64).into(), 2.into()]),
    );
    trailer.set("Index", Object::Array(index));
    trailer.set("Length", Object::Integer(data.len() as i64));
    bytes.extend_from_slice(format!("{} 0 obj\n", xs_id.0).as_bytes());
    bytes.extend(ser(&Object::Dictionary(trailer)));
    bytes.extend_from_slice(b"\nstream\n");
    bytes.extend_from_slice(&data);
    bytes.extend_from_slice(b"\nendstream\nendobj\n");
}

/// A classic cross-reference table and trailer.
fn write_xref_table(
    bytes: &mut Vec<u8>,
    offsets: &[(ObjectId, u64)],
    mut trailer: Dictionary,
    size: u32,
) {
    bytes.extend_from_slice(b"xref\n");
    let mut i = 0;
    for (start, count) in runs(offsets) {
        bytes.extend_from_slice(format!("{start} {count}\n").as_bytes());
        for (id, off) in &offsets[i..i + count] {
            bytes.extend_from_slice(format!("{off:010} {:05} n\r\n", id.1).as_bytes());
        }
        i += count;
    }
    trailer.set("Size", Object::Integer(size as i64));
    bytes.extend_from_slice(b"trailer\n");
    bytes.extend(ser(&Object::Dictionary(trailer)));
    bytes.push(b'\n');
}

/// Writes `[0 b c d]` into the blank `/ByteRange` at `at`: everything but
/// `/Contents` (`contents_start..contents_end` in `bytes`, which start at `base`).
fn patch_byte_range(
    bytes: &mut [u8],
    base: u64,
    at: usize,
    contents_start: usize,
    contents_end: usize,
) {
    let total = base + bytes.len() as u64;
    let b = base + contents_start as u64;
    let c = base + contents_end as u64;
    let text = format!("[0 {b} {c} {}]", total - c);
    bytes[at..at + text.len()].copy_from_slice(text.as_bytes());
}

/// The page's `/MediaBox` (inherited through `/Parent`), default A4.
fn media_box(pdf: &Pdf, page: ObjectId) -> [f64; 4] {
    let mut id = Some(page);
    for _ in 0..32 {
        let Some(d) = id.and_then(|i| pdf.dict(i)) else {
            break;
        };
        let a = array_of(pdf, d.get(b"MediaBox").ok());
        if !a.is_empty() {
            let v: Vec<f64> = a
                .iter()
                .filter_map(|n| pdf.deref(n).and_then(|n| n.as_float().ok()))
                .map(f64::from)
                .collect();
            if let [x0, y0, x1, y1] = v[..] {
                return [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)];
            }
        }
        id = d.get(b"Parent").and_then(Object::as_reference).ok();
    }
    [0.0, 0.0, 595.0, 842.0]
}

/// Room for `[0 b c d]` with 20-digit numbers.
const BR_WIDTH: usize = 3 * 21 + 4;

/// Runs of consecutive object numbers: (first, count).
fn runs(sorted: &[(ObjectId, u64)]) -> Vec<(u32, usize)> {
    let mut r: Vec<(u32, usize)> = Vec::new();
    for (id, _) in sorted {
        match r.last_mut() {
            Some((s, n)) if *s + *n as u32 == id.0 => *n += 1,
            _ => r.push((id.0, 1)),
        }
    }
    r
}
