//! `jpki-sign verify doc.pdf [--ca FILE]`: every signature of PDF files,
//! checked by [`jpki_pdf::verify`] (the attacks it catches are listed there),
//! printed per signature in the run's language or as JSON.
//!
//! Exit status 6 when any signature is not valid or bytes follow the last
//! signature; every problem is printed with what is wrong. The attack corpus
//! is `tests/tests/pdf_attacks.rs`.

use crate::error::CliError;
use crate::i18n::{self, Field, Msg};
use crate::Global;
use clap::Args;
use jpki_pdf::verify::{check_file, FileReport, SigReport};
use jpki_pdf::{Level, Revision};
use std::path::PathBuf;

/// Examples under `jpki-sign verify --help`.
pub const AFTER_HELP: &str = "Examples:
  jpki-sign verify doc-signed.pdf                      every signature, chain not checked
  jpki-sign verify doc-signed.pdf --ca sign-ca.pem     and the chain to the JPKI sign CA
  jpki-sign verify *.pdf --json                        one JSON object per file

A signature is only valid if its bytes are intact and what later signed revisions changed is
what it allows (certification DocMDP P 1: nothing; 2: form filling and signing; 3: also
annotations; a lock dictionary: its fields stay unchanged; an approval signature: form filling,
signing and annotations, the last listed with a warning and refused with --strict). The file is
only valid if the last signature covers it to the end.
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
    /// Refuse annotations added after an approval signature that has no lock
    /// (by default they are allowed, as the PDF standard does, and listed).
    #[arg(long)]
    pub strict: bool,
}

/// Runs `verify`.
pub fn run(g: &Global, a: &VerifyArgs) -> Result<(), CliError> {
    for ca in a.ca.iter().chain(&a.tsa_ca) {
        crate::cms_cmd::check_ca_file(ca)?;
    }
    let mut failed = Vec::new();
    for f in &a.files {
        let name = f.display().to_string();
        match check_file(f, a.ca.as_deref(), a.tsa_ca.as_deref(), a.strict) {
            Ok(report) => {
                note_unreferenced(&name, &report);
                let tail_problem = report.tail.as_ref().map(i18n::pdf_tail);
                let problems: Vec<Option<String>> = report
                    .signatures
                    .iter()
                    .map(|r| r.problem.as_ref().map(i18n::pdf_problem))
                    .collect();
                print_reports(
                    g,
                    &name,
                    &report,
                    &problems,
                    tail_problem.as_deref(),
                    a.ca.is_some(),
                );
                let bad = problems.iter().filter(|p| p.is_some()).count();
                if bad > 0 || tail_problem.is_some() {
                    let first = problems
                        .iter()
                        .find_map(|p| p.clone())
                        .or(tail_problem)
                        .unwrap_or_default();
                    failed.push(Msg::NotValid(&name, &first).to_string());
                }
            }
            Err(e) => {
                if g.json {
                    // English for scripts, as every --json value.
                    println!(
                        "{}",
                        serde_json::json!({"file": name, "valid": false, "error": e.to_string()})
                    );
                }
                let e = i18n::pdf_error(&e);
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

/// Signature dictionaries that no field of the current revision refers to
/// were not checked: a note on stderr.
fn note_unreferenced(name: &str, report: &FileReport) {
    let (raw_sigs, n) = (report.byte_ranges, report.signatures.len());
    if raw_sigs > n {
        eprintln!("{}", Msg::UnreferencedByteRanges(name, raw_sigs, n));
    }
}

/// A report as JSON, with its problem and timestamp in the run's language.
fn report_json(r: &SigReport, problem: &Option<String>) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("problem".into(), serde_json::json!(problem));
        let timestamp = r.timestamp.as_ref().map(|t| Msg::Timestamp(t).to_string());
        o.insert("timestamp".into(), serde_json::json!(timestamp));
    }
    v
}

fn print_reports(
    g: &Global,
    name: &str,
    report: &FileReport,
    problems: &[Option<String>],
    tail_problem: Option<&str>,
    ca: bool,
) {
    let (reports, len) = (&report.signatures, report.size);
    if g.json {
        let signatures: Vec<serde_json::Value> = reports
            .iter()
            .zip(problems)
            .map(|(r, p)| report_json(r, p))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "file": name,
                "valid": tail_problem.is_none() && reports.iter().all(|r| r.problem.is_none()),
                "size": len,
                "signatures": signatures,
                "problem": tail_problem,
            })
        );
        return;
    }
    let n = reports.len();
    let line = |f: Field, v: &str| println!("  {}", Msg::Line(f, v));
    for (i, (r, problem)) in reports.iter().zip(problems).enumerate() {
        println!("{}", Msg::VerifySigHeading(name, i + 1, n, &r.field));
        if let Some(s) = &r.signer {
            line(Field::Signer, s);
        }
        if let Some(t) = &r.time {
            line(Field::SigningTime, &Msg::ClaimedTime(t).to_string());
        }
        if let Some(t) = &r.timestamp {
            line(Field::Timestamp, &Msg::Timestamp(t).to_string());
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
            for rev in &r.later_revisions {
                line(Field::Changed, &revision_line(r, rev));
            }
        } else if r.covered_to == len {
            line(Field::Changed, &Msg::NotChanged.to_string());
        }
        if r.signer.is_some() {
            line(
                Field::Permissions,
                &Msg::Allows(r.allowed, r.mdp.docmdp, r.mdp.lock.as_ref()).to_string(),
            );
        }
        if r.problem.is_none()
            && r.mdp.docmdp.is_none()
            && r.modification_level == Level::Annotations
        {
            line(Field::Warning, &Msg::AnnotationsAfterSigning.to_string());
        }
        match (problem, &r.trusted_ca) {
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

/// One line on what a later revision changed, and whether `r` allows it.
fn revision_line(r: &SigReport, rev: &Revision) -> String {
    let mut kinds = Vec::new();
    for level in [
        Level::Other,
        Level::Annotations,
        Level::FormFill,
        Level::Signing,
        Level::Dss,
    ] {
        let of_level: Vec<_> = rev.changes.iter().filter(|c| c.level == level).collect();
        if of_level.is_empty() {
            continue;
        }
        let mut names: Vec<String> = of_level
            .iter()
            .map(|c| match (level, &c.field) {
                (Level::FormFill, Some(f)) => f.clone(),
                _ => i18n::change(&c.what, i18n::lang()),
            })
            .collect();
        names.dedup();
        kinds.push(Msg::ChangeKind(level, &names.join(", ")).to_string());
    }
    if kinds.is_empty() {
        kinds.push(Msg::ChangeKind(Level::None, "").to_string());
    }
    let ok = r.mdp.violations(&rev.changes, r.allowed).is_empty();
    Msg::RevisionChanges(
        rev.revisions,
        rev.signed_by.as_deref().unwrap_or("?"),
        &rev.signed_in_field,
        &kinds.join("; "),
        ok,
    )
    .to_string()
}
