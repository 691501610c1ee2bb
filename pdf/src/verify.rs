//! `jpki-sign verify doc.pdf [--ca FILE]`: every signature of a PDF, checked
//! so that the known attacks on PDF signatures fail (signing notes §3):
//!
//! * the ByteRange is `[0 b c d]`, four integers, inside the file, and its
//!   gap is exactly this signature dictionary's own `/Contents` hex string
//!   (found at the dictionary's byte offset), nothing more (signature
//!   wrapping, universal signature forgery);
//! * the bytes after a signed range are counted as later revisions, and the
//!   file is only valid if its last signature covers it to the end (incremental
//!   saving attack);
//! * the CMS: one signer, SHA-256, messageDigest equals the hash of the covered
//!   bytes, RSA signature, ESS certificate hash, key usage, chain to `--ca`.
//!
//! Exit status 6 when any signature is not valid or bytes follow the last
//! signature; every problem is printed with what is wrong. A shadow attack
//! through an unsigned update is caught as bytes after the last signature;
//! what a later *signed* revision changed is judged by [`super::revisions`]
//! (only the changes that adding signatures makes are accepted). The attack
//! corpus is `tests/tests/pdf_attacks.rs`.

use super::reader::{self, Entry, Source};
use super::revisions;
use super::structure::{self, Pdf};
use crate::cms_verify::{self, Against, Chain};
use crate::exit::CliError;
use crate::i18n::{Field, Msg};
use crate::Global;
use clap::Args;
use lopdf::{Object, ObjectId};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Examples under `jpki-sign verify --help`.
pub const AFTER_HELP: &str = "Examples:
  jpki-sign verify doc-signed.pdf                      every signature, chain not checked
  jpki-sign verify doc-signed.pdf --ca sign-ca.pem     and the chain to the JPKI sign CA
  jpki-sign verify *.pdf --json                        one JSON object per file

A signature is only valid if its bytes are intact; the file is only valid if the last signature
covers it to the end and what later signed revisions changed is what adding signatures changes.
Exit status: 0 all valid; 6 a signature or file not valid (or not readable as a PDF);
1 a bad option, e.g. an unreadable --ca file.";

/// `jpki-sign verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The PDF files.
    #[arg(required = true, value_name = "PDF")]
    pub files: Vec<PathBuf>,
    /// Trusted CA certificates (PEM); without it the chain is not checked.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Trusted CA certificates (PEM) of time-stamping authorities; without it
    /// an RFC 3161 timestamp's chain is not checked.
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,
}

/// One signature's findings.
#[derive(Debug, Default, serde::Serialize)]
pub struct SigReport {
    /// Field name.
    pub field: String,
    /// `/SubFilter`.
    pub subfilter: String,
    /// Signer certificate subject.
    pub signer: Option<String>,
    /// signingTime attribute, else `/M`.
    pub time: Option<String>,
    /// RFC 3161 timestamp, if any.
    pub timestamp: Option<String>,
    /// The `/ByteRange`.
    pub byte_range: Option<[u64; 4]>,
    /// Where the signed bytes end.
    pub covered_to: u64,
    /// The trusted CA the chain ends at, if checked.
    pub trusted_ca: Option<String>,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

/// Runs `verify`.
pub fn run(g: &Global, a: &VerifyArgs) -> Result<(), CliError> {
    for ca in a.ca.iter().chain(&a.tsa_ca) {
        crate::cms_verify::check_ca_file(ca)?;
    }
    let mut failed = Vec::new();
    for f in &a.files {
        let name = f.display().to_string();
        match check_file(f, a.ca.as_deref(), a.tsa_ca.as_deref()) {
            Ok((reports, len, tail_problem)) => {
                print_reports(
                    g,
                    &name,
                    &reports,
                    len,
                    tail_problem.as_deref(),
                    a.ca.is_some(),
                );
                let bad = reports.iter().filter(|r| r.problem.is_some()).count();
                if bad > 0 || tail_problem.is_some() {
                    let first = reports
                        .iter()
                        .find_map(|r| r.problem.clone())
                        .or(tail_problem)
                        .unwrap_or_default();
                    failed.push(Msg::NotValid(&name, &first).to_string());
                }
            }
            Err(e) => {
                if g.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": name, "valid": false, "error": e})
                    );
                }
                failed.push(Msg::NotValid(&name, &e).to_string());
            }
        }
    }
    match failed.len() {
        0 => Ok(()),
        1 => Err(CliError::NotValid(failed.remove(0))),
        n => Err(CliError::NotValid(
            Msg::ManyNotValid(n, &failed[0]).to_string(),
        )),
    }
}

fn print_reports(
    g: &Global,
    name: &str,
    reports: &[SigReport],
    len: u64,
    tail_problem: Option<&str>,
    ca: bool,
) {
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "file": name,
                "valid": tail_problem.is_none() && reports.iter().all(|r| r.problem.is_none()),
                "size": len,
                "signatures": reports,
                "problem": tail_problem,
            })
        );
        return;
    }
    let n = reports.len();
    let line = |f: Field, v: &str| println!("  {}", Msg::Line(f, v));
    for (i, r) in reports.iter().enumerate() {
        println!("{}", Msg::VerifySigHeading(name, i + 1, n, &r.field));
        if let Some(s) = &r.signer {
            line(Field::Signer, s);
        }
        if let Some(t) = &r.time {
            line(Field::SigningTime, &Msg::ClaimedTime(t).to_string());
        }
        if let Some(t) = &r.timestamp {
            line(Field::Timestamp, t);
        }
        line(Field::Type, &r.subfilter);
        if let Some([a, b, c, d]) = r.byte_range {
            let what = if r.problem.is_some() && r.signer.is_none() {
                Msg::SeeBelow
            } else if r.covered_to == len {
                Msg::CoversWholeFile
            } else {
                Msg::CoversRevision
            };
            line(Field::ByteRange, &format!("[{a} {b} {c} {d}]: {what}"));
        }
        if r.covered_to > 0 && r.covered_to < len {
            let later = reports
                .iter()
                .skip(i + 1)
                .filter(|l| l.problem.is_none())
                .map(|l| l.covered_to)
                .max()
                .unwrap_or(r.covered_to);
            let m =
                Msg::Appended(len - r.covered_to, later == len && r.problem.is_none()).to_string();
            line(Field::Changed, &m);
        } else if r.covered_to == len {
            line(Field::Changed, &Msg::NotChanged.to_string());
        }
        match (&r.problem, &r.trusted_ca) {
            (Some(p), _) => line(Field::Result, &Msg::VerifyResultInvalid(p).to_string()),
            (None, Some(ca)) => {
                line(Field::Signature, &Msg::VerifySignatureValid.to_string());
                line(Field::Certificate, &Msg::VerifyChainTrusted(ca).to_string());
                line(Field::Result, &Msg::VerifyResultValid.to_string());
            }
            (None, None) => {
                line(Field::Signature, &Msg::VerifySignatureValid.to_string());
                line(
                    Field::Certificate,
                    &Msg::VerifyChainNotChecked(ca).to_string(),
                );
                line(Field::Result, &Msg::VerifyResultValidNoChain.to_string());
            }
        }
    }
    if let Some(t) = tail_problem {
        println!("{name}: {}", Msg::VerifyResultInvalid(t));
    } else if reports.iter().all(|r| r.problem.is_none()) {
        println!("{}", Msg::VerifyAllValid(name, n));
    }
}

type FileResult = (Vec<SigReport>, u64, Option<String>);

/// Checks every signature of one file; `Err` when the file cannot be read at all.
pub fn check_file(
    path: &Path,
    ca: Option<&Path>,
    tsa_ca: Option<&Path>,
) -> Result<FileResult, String> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| crate::i18n::io_error("cannot read", &name, &e, crate::i18n::lang()))?;
    check_source(&name, &file, ca, tsa_ca)
}

/// [`check_file`] on any [`Source`].
pub fn check_source(
    name: &str,
    src: &dyn Source,
    ca: Option<&Path>,
    tsa_ca: Option<&Path>,
) -> Result<FileResult, String> {
    let rd = |e: std::io::Error| format!("cannot read {name}: {e}");
    let pdf = structure::load_any(name, src)?;
    let sigs: Vec<(String, ObjectId, Option<ObjectId>)> = pdf.signature_fields();
    let signed: Vec<_> = sigs.iter().filter(|s| s.2.is_some()).collect();
    let len = src.size();
    let raw_sigs = reader::count_in(src, 0, len, b"/ByteRange").map_err(rd)?;
    if signed.is_empty() && raw_sigs > 0 {
        return Err(Msg::SignaturesRemoved(name, raw_sigs).to_string());
    }
    if signed.is_empty() {
        return Err(Msg::NoSignatures(name).to_string());
    }
    let mut reports: Vec<SigReport> = signed
        .iter()
        .map(|(field, _, v)| {
            let mut r = SigReport {
                field: field.clone(),
                ..Default::default()
            };
            if let Some(v) = v {
                if let Err(p) = check_sig(&pdf, src, *v, (ca, tsa_ca), &mut r) {
                    r.problem = Some(p);
                }
            }
            r
        })
        .collect();
    reports.sort_by_key(|r| r.covered_to);
    if raw_sigs > reports.len() {
        eprintln!(
            "jpki-sign: note: {name} contains {raw_sigs} /ByteRange entries but {} signature field(s) refer to signatures: the others belong to no field of the current revision and were not checked",
            reports.len()
        );
    }
    // The last valid signature must reach the end of the file.
    let last = reports
        .iter()
        .filter(|r| r.problem.is_none())
        .map(|r| r.covered_to)
        .max()
        .unwrap_or(len);
    // What the revisions between each signature and the last valid one
    // changed (the later signer signed them; this signer did not).
    let later_src = reader::Prefix { src, len: last };
    let mut later = None;
    for r in reports.iter_mut() {
        if r.problem.is_none() && r.covered_to > 0 && r.covered_to < last {
            let found = match later.get_or_insert_with(|| revisions::open_later(&later_src)) {
                Ok(now) => revisions::changes(src, r.covered_to, now),
                Err(e) => Err(e.clone()),
            };
            match found {
                Ok(c) if c.is_empty() => {}
                Ok(c) => r.problem = Some(Msg::LaterRevisionChanged(&c.join("; ")).to_string()),
                Err(e) => r.problem = Some(e),
            }
        }
    }
    let tail = if last < len {
        Some(if pdf.recovered.is_some() {
            Msg::TailBroken(len - last).to_string()
        } else {
            let eofs = reader::count_in(src, last, len, b"%%EOF").map_err(rd)?;
            Msg::TailAppended(len - last, eofs).to_string()
        })
    } else {
        None
    };
    Ok((reports, len, tail))
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

fn check_sig(
    pdf: &Pdf,
    src: &dyn Source,
    sig_id: ObjectId,
    (ca, tsa_ca): (Option<&Path>, Option<&Path>),
    r: &mut SigReport,
) -> Result<(), String> {
    let len = src.size();
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
    if r.subfilter != "adbe.pkcs7.detached" && r.subfilter != "ETSI.CAdES.detached" {
        return Err(format!(
            "/SubFilter {} is not supported (only adbe.pkcs7.detached and ETSI.CAdES.detached)",
            r.subfilter
        ));
    }
    // 1. ByteRange: exactly four non-negative integers, [0 b c d], inside the file.
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
    // 2. The gap must be exactly this dictionary's /Contents, found at its offset.
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
    let der: Vec<u8> = hex
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16).unwrap_or(0))
        .collect();
    // 3. The CMS over the covered bytes.
    let mut h = Sha256::new();
    reader::for_chunks(src, 0, b, |c| {
        h.update(c);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    reader::for_chunks(src, c, end, |c| {
        h.update(c);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let v = cms_verify::verify_with_tsa(&der, Against::Detached(h.finalize().into()), ca, tsa_ca)?;
    r.signer = Some(v.signer.clone());
    if let Some(t) = v.signing_time {
        r.time = Some(t);
    }
    r.timestamp = v.timestamp;
    if r.subfilter == "ETSI.CAdES.detached" && !v.signing_certificate_v2 {
        return Err("ETSI.CAdES.detached without the signing-certificate-v2 attribute".into());
    }
    if let Chain::Trusted(t) = v.chain {
        r.trusted_ca = Some(t);
    }
    Ok(())
}
