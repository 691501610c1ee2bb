//! Every signature of a PDF, checked so that the known attacks on PDF
//! signatures fail (signing notes §3):
//!
//! * the ByteRange is `[0 b c d]`, four integers, inside the file, and its
//!   gap is exactly this signature dictionary's own `/Contents` hex string
//!   (found at the dictionary's byte offset), nothing more (signature
//!   wrapping, universal signature forgery);
//! * the bytes after a signed range are counted as later revisions, and the
//!   file is only valid if its last signature covers it to the end (incremental
//!   saving attack);
//! * the CMS: one signer, SHA-256, messageDigest equals the hash of the covered
//!   bytes, RSA signature, ESS certificate hash, key usage, chain to the
//!   trusted CA certificates given.
//!
//! A file is valid only when no signature has a [`Problem`] and no [`Tail`]
//! follows the last valid one; each problem says what is wrong. A shadow
//! attack through an unsigned update is caught as bytes after the last
//! signature; what a later *signed* revision changed is classified (the
//! `revisions` and `changes` modules) and judged by what the signature allows
//! (the `mdp` module: DocMDP, locks). The attack corpus is
//! `tests/tests/pdf_attacks.rs` and `tests/tests/pdf_mdp.rs`.

use super::changes::{level_of, Level, Revision};
use super::mdp::{self, Policy};
use super::reader::{self, Entry, Source};
use super::revisions;
use super::structure::{self, Pdf};
use crate::Error;
use crate::SubFilter;
use jpki_cms::{self as cms_verify, Against, Chain, Timestamp, VerifyError};
use lopdf::{Object, ObjectId};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One signature's findings.
#[derive(Debug, Default, serde::Serialize)]
pub struct SigReport {
    /// Field name.
    pub field: String,
    /// `/SubFilter` as the file names it (`(none)` if absent): see
    /// [`SubFilter`] for the two that are verified.
    pub subfilter: String,
    /// Signer certificate subject.
    pub signer: Option<String>,
    /// signingTime attribute, else `/M`.
    pub time: Option<String>,
    /// The RFC 3161 timestamp over the signature, if any (checked; one that
    /// does not verify is a [`Problem`]).
    #[serde(serialize_with = "timestamp_json")]
    pub timestamp: Option<Timestamp>,
    /// The `/ByteRange`.
    pub byte_range: Option<[u64; 4]>,
    /// Where the signed bytes end.
    pub covered_to: u64,
    /// The trusted CA the chain ends at, if checked.
    pub trusted_ca: Option<String>,
    /// What is wrong, if anything.
    pub problem: Option<Problem>,
    /// What the signature allows later revisions to change.
    pub mdp: Policy,
    /// The highest level of change it allows.
    pub allowed: Level,
    /// The highest level of change made after it.
    pub modification_level: Level,
    /// The later revisions (each covered by a later signature) and what they changed.
    pub later_revisions: Vec<Revision>,
}

/// A timestamp as `{"time", "tsa", "tsa_ca"}`, `tsa_ca` null when the TSA's
/// chain was not checked.
fn timestamp_json<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let Some(t) = t else {
        return s.serialize_none();
    };
    let tsa_ca = match &t.chain {
        Chain::Trusted(ca) => Some(ca),
        Chain::NotChecked => None,
    };
    let mut st = s.serialize_struct("Timestamp", 3)?;
    st.serialize_field("time", &t.time)?;
    st.serialize_field("tsa", &t.tsa)?;
    st.serialize_field("tsa_ca", &tsa_ca)?;
    st.end()
}

/// Why a signature is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The CMS does not verify (messageDigest, signature, chain, …).
    #[error(transparent)]
    Cms(#[from] VerifyError),
    /// What later revisions, covered only by a later signature, changed
    /// beyond what this signature allows (one entry per object: number,
    /// kind, change).
    #[error("a later revision, covered only by a later signature, changed what this signature covers: {} (this signature allows {allowed:?})", .changes.join("; "))]
    LaterRevisionChanged {
        /// The changes not allowed.
        changes: Vec<String>,
        /// The highest level of change the signature allows.
        allowed: Level,
    },
    /// Anything else (ByteRange, /Contents, structure), in English.
    #[error("{0}")]
    Invalid(String),
}

impl From<String> for Problem {
    fn from(s: String) -> Self {
        Problem::Invalid(s)
    }
}

impl From<&str> for Problem {
    fn from(s: &str) -> Self {
        Problem::Invalid(s.to_string())
    }
}

/// As its English text (front ends that translate replace it).
impl serde::Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Bytes after the last valid signature: the file is not valid as signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Tail {
    /// Incremental updates (or other bytes) were appended.
    #[error("{bytes} bytes ({updates} incremental update(s)) were appended after the last valid signature: the document was changed after it was signed")]
    Appended {
        /// How many bytes.
        bytes: u64,
        /// How many `%%EOF` markers they hold.
        updates: usize,
    },
    /// Bytes were appended and the cross-reference data is broken.
    #[error("{bytes} bytes were appended after the last valid signature, and the file's cross-reference data is broken: the document was changed after it was signed")]
    Broken {
        /// How many bytes.
        bytes: u64,
    },
}

/// Every signature of one file, checked.
#[derive(Debug)]
pub struct FileReport {
    /// One report per signed field, in the order their bytes end.
    pub signatures: Vec<SigReport>,
    /// The file's size.
    pub size: u64,
    /// Bytes after the last valid signature, if any.
    pub tail: Option<Tail>,
    /// How many `/ByteRange` entries the file holds: more than
    /// `signatures.len()` means signature dictionaries that no field of
    /// the current revision refers to (not checked).
    pub byte_ranges: usize,
}

/// Checks every signature of one file; `Err` when the file cannot be read at all.
pub fn check_file(
    path: &Path,
    ca: Option<&Path>,
    tsa_ca: Option<&Path>,
    strict: bool,
) -> Result<FileReport, Error> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        name: name.clone(),
        source,
    })?;
    check_source(&name, &file, ca, tsa_ca, strict)
}

/// [`check_file`] on any [`Source`].
pub fn check_source(
    name: &str,
    src: &dyn Source,
    ca: Option<&Path>,
    tsa_ca: Option<&Path>,
    strict: bool,
) -> Result<FileReport, Error> {
    let rd = |e: std::io::Error| format!("cannot read {name}: {e}");
    let pdf = structure::load_any(name, src)?;
    let sigs: Vec<(String, ObjectId, Option<ObjectId>)> = pdf.signature_fields();
    let signed: Vec<_> = sigs.iter().filter(|s| s.2.is_some()).collect();
    let len = src.size();
    let raw_sigs = reader::count_in(src, 0, len, b"/ByteRange").map_err(rd)?;
    if signed.is_empty() && raw_sigs > 0 {
        return Err(Error::SignaturesRemoved {
            name: name.into(),
            count: raw_sigs,
        });
    }
    if signed.is_empty() {
        return Err(Error::NoSignatures { name: name.into() });
    }
    let mut reports: Vec<SigReport> = signed
        .iter()
        .map(|(field, field_id, v)| {
            let mut r = SigReport {
                field: field.clone(),
                ..Default::default()
            };
            if let Some(v) = v {
                r.mdp = mdp::read(&pdf, *field_id, *v);
                r.allowed = r.mdp.allowed(strict);
                if let Err(p) = check_sig(&pdf, src, *v, (ca, tsa_ca), &mut r) {
                    r.problem = Some(p);
                }
            }
            r
        })
        .collect();
    reports.sort_by_key(|r| r.covered_to);
    // The last valid signature must reach the end of the file.
    let last = reports
        .iter()
        .filter(|r| r.problem.is_none())
        .map(|r| r.covered_to)
        .max()
        .unwrap_or(len);
    judge_later_revisions(src, &mut reports, last)?;
    let tail = if last < len {
        Some(if pdf.recovered.is_some() {
            Tail::Broken { bytes: len - last }
        } else {
            let eofs = reader::count_in(src, last, len, b"%%EOF").map_err(rd)?;
            Tail::Appended {
                bytes: len - last,
                updates: eofs,
            }
        })
    } else {
        None
    };
    Ok(FileReport {
        signatures: reports,
        size: len,
        tail,
        byte_ranges: raw_sigs,
    })
}

/// What the revisions between each signature and the last valid one
/// changed (the later signers signed them; this signer did not), judged by
/// what each signature allows. Each step between two valid signatures is
/// compared once.
fn judge_later_revisions(
    src: &dyn Source,
    reports: &mut [SigReport],
    last: u64,
) -> Result<(), String> {
    let mut ends: Vec<(u64, String, Option<String>)> = reports
        .iter()
        .filter(|r| r.problem.is_none() && r.covered_to > 0 && r.covered_to <= last)
        .map(|r| (r.covered_to, r.field.clone(), r.signer.clone()))
        .collect();
    ends.dedup_by_key(|e| e.0);
    let mut steps: Vec<(u64, Result<Revision, String>)> = Vec::new();
    // Revisions are numbered by `%%EOF`s, counted once through the file.
    let eofs = |a, b| reader::count_in(src, a, b, b"%%EOF").map_err(|e| e.to_string());
    let mut before = match ends.first() {
        Some(e) if ends.len() > 1 => eofs(0, e.0)?,
        _ => 0,
    };
    for w in ends.windows(2) {
        let (from, (to, field, signer)) = (w[0].0, &w[1]);
        let rev = reader::Prefix { src, len: *to };
        let first = before + 1;
        before += eofs(from, *to)?;
        let found = revisions::open_revision(&rev).and_then(|now| {
            let changes = revisions::changes(src, from, &now)?;
            Ok(Revision {
                revisions: (first, before),
                signed_in_field: field.clone(),
                signed_by: signer.clone(),
                level: level_of(&changes),
                changes,
            })
        });
        steps.push((from, found));
    }
    for r in reports.iter_mut() {
        if r.problem.is_some() || r.covered_to == 0 || r.covered_to >= last {
            continue;
        }
        for (from, step) in &steps {
            if *from < r.covered_to {
                continue;
            }
            match step {
                Ok(rev) => r.later_revisions.push(rev.clone()),
                Err(e) => {
                    r.problem = Some(e.clone().into());
                    break;
                }
            }
        }
        let all: Vec<_> = r
            .later_revisions
            .iter()
            .flat_map(|v| v.changes.iter().cloned())
            .collect();
        r.modification_level = level_of(&all);
        let bad = r.mdp.violations(&all, r.allowed);
        if r.problem.is_none() && !bad.is_empty() {
            let list: Vec<String> = bad
                .iter()
                .map(|c| match (&c.field, c.level <= r.allowed) {
                    (Some(f), true) => {
                        format!("{} (field {f} is locked by this signature)", c.what)
                    }
                    _ => c.what.clone(),
                })
                .collect();
            r.problem = Some(Problem::LaterRevisionChanged {
                changes: list,
                allowed: r.allowed,
            });
        }
    }
    Ok(())
}

/// `D:YYYYMMDDHHmmSS+hh'mm'` → `YYYY-MM-DD HH:MM:SS +hh:mm` (as given if malformed).
fn pdf_date_text(m: &[u8]) -> String {
    let t = String::from_utf8_lossy(m);
    let d = t.strip_prefix("D:").unwrap_or(&t);
    if d.len() < 14 || !d.as_bytes()[..14].iter().all(u8::is_ascii_digit) {
        return t.into_owned();
    }
    let tz = match d[14..].replace('\'', "").as_str() {
        "" | "Z" => "UTC".to_string(),
        z if z.len() == 5 => format!("{}:{}", &z[..3], &z[3..]),
        z => z.to_string(),
    };
    format!(
        "{}-{}-{} {}:{}:{} {tz}",
        &d[..4],
        &d[4..6],
        &d[6..8],
        &d[8..10],
        &d[10..12],
        &d[12..14]
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// The bytes of the object at `off` up to its `endobj` (at most 64 MiB).
fn object_span(src: &dyn Source, off: u64) -> Result<Vec<u8>, String> {
    let mut window = 1usize << 16;
    loop {
        let buf = reader::read_vec(src, off, window).map_err(|e| e.to_string())?;
        if let Some(e) = find(&buf, b"endobj") {
            return Ok(buf[..e].to_vec());
        }
        if buf.len() < window || window >= 64 << 20 {
            return Err("the signature dictionary's object is not terminated".into());
        }
        window *= 4;
    }
}

/// One signature, in the order of the signing notes §3: its dictionary,
/// the ByteRange, the gap being exactly its /Contents, then the CMS over the
/// covered bytes.
fn check_sig(
    pdf: &Pdf,
    src: &dyn Source,
    sig_id: ObjectId,
    (ca, tsa_ca): (Option<&Path>, Option<&Path>),
    r: &mut SigReport,
) -> Result<(), Problem> {
    let sig = sig_dictionary(pdf, sig_id, r)?;
    let [_, b, c, _] = byte_range(&sig, src.size(), r)?;
    let der = contents_in_gap(pdf, src, sig_id, b, c, r.covered_to)?;
    let digest = covered_digest(src, b, c, r.covered_to)?;
    check_cms(&der, digest, (ca, tsa_ca), r)
}

/// The signature dictionary, its `/SubFilter` (one of the two supported)
/// and claimed time `/M`.
fn sig_dictionary(
    pdf: &Pdf,
    sig_id: ObjectId,
    r: &mut SigReport,
) -> Result<lopdf::Dictionary, String> {
    let sig = pdf
        .dict(sig_id)
        .ok_or("the field's /V is not a signature dictionary")?;
    r.subfilter = sig
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_else(|_| "(none)".into());
    if let Ok(m) = sig.get(b"M").and_then(Object::as_str) {
        r.time = Some(pdf_date_text(m));
    }
    if SubFilter::from_name(&r.subfilter).is_none() {
        return Err(format!(
            "/SubFilter {} is not supported (only {} and {})",
            r.subfilter,
            SubFilter::AdbePkcs7Detached,
            SubFilter::EtsiCadesDetached
        ));
    }
    Ok(sig)
}

/// The ByteRange: exactly four non-negative integers, `[0 b c d]`, inside
/// the file; sets where the signed bytes end.
fn byte_range(sig: &lopdf::Dictionary, len: u64, r: &mut SigReport) -> Result<[u64; 4], String> {
    let br = sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| "/ByteRange is missing or not an array".to_string())?;
    let nums: Vec<u64> = br
        .iter()
        .map(|o| o.as_i64().ok().and_then(|i| u64::try_from(i).ok()))
        .collect::<Option<_>>()
        .ok_or("/ByteRange holds something other than non-negative integers")?;
    let [a, b, c, d] = nums[..] else {
        return Err(format!("/ByteRange has {} numbers, not 4", nums.len()));
    };
    r.byte_range = Some([a, b, c, d]);
    let end = c.checked_add(d).ok_or("/ByteRange overflows")?;
    if a != 0 || b == 0 || c <= b || end > len {
        return Err(format!(
            "/ByteRange [{a} {b} {c} {d}] does not start at 0 or lies outside the file ({len} bytes)"
        ));
    }
    r.covered_to = end;
    Ok([a, b, c, d])
}

/// The gap `b..c` must be exactly this dictionary's `/Contents` hex string,
/// found at the dictionary's own offset; the dictionary must lie inside the
/// signed bytes, which must end a revision. Returns the DER (with padding).
fn contents_in_gap(
    pdf: &Pdf,
    src: &dyn Source,
    sig_id: ObjectId,
    b: u64,
    c: u64,
    end: u64,
) -> Result<Vec<u8>, String> {
    let off = match pdf.entry(sig_id.0) {
        Some(Entry::Normal { offset, .. }) => offset,
        Some(Entry::Compressed { .. }) => {
            return Err("the signature dictionary is inside an object stream, so its /Contents cannot be the excluded gap".into())
        }
        _ => return Err("the signature dictionary has no cross-reference entry".into()),
    };
    let obj = object_span(src, off)?;
    let obj = &obj[..];
    let span_end = off + obj.len() as u64;
    if memchr::memmem::find_iter(obj, b"/Contents").count() != 1 {
        return Err("the signature dictionary does not have exactly one /Contents".into());
    }
    let key = find(obj, b"/Contents").unwrap_or(0) + b"/Contents".len();
    let ws = obj[key..]
        .iter()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    let rel = key + ws;
    if obj.get(rel) != Some(&b'<') {
        return Err("/Contents is not a hex string".into());
    }
    let close = obj[rel..]
        .iter()
        .position(|&c| c == b'>')
        .ok_or("/Contents is not terminated")?;
    let (cs, ce) = (off + rel as u64, off + (rel + close + 1) as u64);
    // A gap that does not contain the /Contents at all was moved elsewhere
    // (signature wrapping): say so rather than call it "wider".
    if c <= cs || b >= ce {
        return Err(format!(
            "the ByteRange gap {b}..{c} is not this signature's /Contents ({cs}..{ce}): the ByteRange was moved"
        ));
    }
    if b < cs || c > ce {
        return Err(format!(
            "the ByteRange leaves out bytes {b}..{c}, more than this signature's /Contents ({cs}..{ce}): unsigned bytes are hidden in the gap"
        ));
    }
    if (b, c) != (cs, ce) {
        return Err(format!(
            "the ByteRange gap {b}..{c} is not this signature's /Contents ({cs}..{ce})"
        ));
    }
    if off >= b || span_end > end {
        return Err("the signature dictionary is not inside the signed bytes".into());
    }
    // The covered range must end a revision.
    let before = end.min(1024);
    let covered_tail =
        reader::read_vec(src, end - before, before as usize).map_err(|e| e.to_string())?;
    if !covered_tail.trim_ascii_end().ends_with(b"%%EOF") {
        return Err("the signed bytes do not end at the end of a revision (%%EOF)".into());
    }
    let hex = &obj[rel + 1..rel + close];
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err("/Contents holds characters other than hex digits".into());
    }
    Ok(hex
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16).unwrap_or(0))
        .collect())
}

/// SHA-256 of the covered bytes `0..b` and `c..end`, read in chunks.
fn covered_digest(src: &dyn Source, b: u64, c: u64, end: u64) -> Result<[u8; 32], String> {
    let mut h = Sha256::new();
    for (from, to) in [(0, b), (c, end)] {
        reader::for_chunks(src, from, to, |chunk| {
            h.update(chunk);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    }
    Ok(h.finalize().into())
}

/// The CMS over the covered bytes: signer, times, ESS attribute for PAdES,
/// and the chain to `ca` if given.
fn check_cms(
    der: &[u8],
    digest: [u8; 32],
    (ca, tsa_ca): (Option<&Path>, Option<&Path>),
    r: &mut SigReport,
) -> Result<(), Problem> {
    let v = cms_verify::verify_with_tsa(der, Against::Detached(digest), ca, tsa_ca)?;
    r.signer = Some(v.signer.clone());
    if let Some(t) = v.signing_time {
        r.time = Some(t);
    }
    r.timestamp = v.timestamp;
    let pades = SubFilter::from_name(&r.subfilter) == Some(SubFilter::EtsiCadesDetached);
    if pades && !v.signing_certificate_v2 {
        return Err("ETSI.CAdES.detached without the signing-certificate-v2 attribute".into());
    }
    if let Chain::Trusted(t) = v.chain {
        r.trusted_ca = Some(t);
    }
    Ok(())
}
