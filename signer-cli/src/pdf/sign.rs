//! `jpki-sign [sign] a.pdf b.pdf …`: every file is checked and prepared first
//! (a broken or encrypted PDF costs no PIN try), the password is asked once,
//! all files are signed in one card session, then each output is renamed into
//! place. Nothing half-written is ever left: outputs are temporary files in the
//! target directory until complete.
//!
//! Per file, the original bytes are copied to the temporary output and hashed
//! in the same pass; the ByteRange does not depend on the signature, so the
//! update is hashed before the card signs and written once after.

use crate::error::CliError;
use crate::i18n::Msg;
use crate::pin_session::{ask_pin, unlocked, CardKeySigner};
use crate::Global;
use clap::Args;
use jpki_card::{Card, CertKind, KeyKind, PinKind, ReaderChoice};
use jpki_cms::{Content, Profile};
use jpki_pdf::{SigOptions, Source, Stamp, StampFont, SubFilter, Update};
use sha2::{Digest, Sha256};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Bytes reserved for the CMS in `/Contents`: a JPKI sign certificate (≈1.6 KB
/// with name and address), its CA and the signer info need ≈4 KB.
pub const CONTENTS_LEN: usize = SigOptions::DEFAULT_CONTENTS_LEN;

/// Examples under `jpki-sign sign --help`.
pub const AFTER_HELP: &str = "Examples:
  jpki-sign 申請書.pdf                        signs into 申請書-signed.pdf (asks for the sign password)
  jpki-sign a.pdf b.pdf c.pdf                 one password, one card session, three signed files
  jpki-sign doc.pdf --stamp --stamp-image seal.png --reason 承認
                                              a visible signature with your name and a seal image
  jpki-sign doc.pdf --pades --tsa http://tsa.example/  PAdES B-T (with a timestamp)
  jpki-sign verify doc-signed.pdf --ca sign-ca.pem     check it

The original bytes are never changed: the signature is an incremental update, so earlier
signatures stay valid. Outputs are temporary files until every file has been signed, then
renamed into place.";

/// `jpki-sign sign` (also `jpki-sign FILE.pdf …`).
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The PDF files to sign (each gets NAME-signed.pdf next to it).
    #[arg(required = true, value_name = "PDF")]
    pub files: Vec<PathBuf>,
    /// Output file (only with a single input).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
    /// PAdES baseline B-B (ETSI.CAdES.detached, signing-certificate-v2, time in /M only)
    /// instead of the default adbe.pkcs7.detached that MOJ online filing accepts.
    #[arg(long)]
    pub pades: bool,
    /// Reason for signing (/Reason).
    #[arg(long)]
    pub reason: Option<String>,
    /// Where it was signed (/Location).
    #[arg(long)]
    pub location: Option<String>,
    /// Add an RFC 3161 timestamp from this time-stamping authority (with --pades: PAdES B-T).
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
    /// Visible signature: a framed box with the signer's name (from the sign
    /// certificate, in kanji), "digitally signed", the date, the reason and
    /// --stamp-text, and --stamp-image at its left. Default: invisible.
    #[arg(long)]
    pub stamp: bool,
    /// Page of the visible signature (1 = first).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "stamp")]
    pub stamp_page: u32,
    /// Box of the visible signature in points from the page's lower-left corner
    /// (default: 220 × 54 at the bottom right).
    #[arg(long, value_name = "X,Y,W,H", requires = "stamp")]
    pub stamp_rect: Option<String>,
    /// An extra line in the visible signature.
    #[arg(long, value_name = "TEXT", requires = "stamp")]
    pub stamp_text: Option<String>,
    /// An image (PNG or JPEG, e.g. a seal) at the left of the visible signature.
    #[arg(long, value_name = "FILE", requires = "stamp")]
    pub stamp_image: Option<PathBuf>,
    /// Leave the signer's name out of the visible signature.
    #[arg(long, requires = "stamp")]
    pub stamp_no_name: bool,
    /// A TrueType font (.ttf) for Japanese text in the visible signature,
    /// embedded as a subset (default: IPAexGothic if installed, else the
    /// standard HeiseiKakuGo-W5, not embedded).
    #[arg(long, value_name = "FILE", requires = "stamp")]
    pub stamp_font: Option<PathBuf>,
}

struct Prepared {
    input: PathBuf,
    out: PathBuf,
    tmp: tempfile::NamedTempFile,
    update: Update,
    /// The hash state after the original bytes.
    original: Sha256,
    digest: [u8; 32],
}

impl Prepared {
    /// Makes the update again with other options, from the copy of the
    /// original in the temporary output.
    fn rebuild(&mut self, opts: &SigOptions) -> Result<(), CliError> {
        let name = self.input.display().to_string();
        self.update = jpki_pdf::prepare(&name, self.tmp.as_file(), opts)?;
        self.digest = self.update.digest_after(&self.original);
        Ok(())
    }
}

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> CliError + 'p {
    move |e| CliError::Io {
        what,
        path: path.display().to_string(),
        source: e,
    }
}

/// `doc.pdf` → `doc-signed.pdf` in the same directory.
pub fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into());
    input.with_file_name(format!("{stem}-signed.pdf"))
}

/// A PDF date for now, in UTC.
fn pdf_date() -> Result<(String, der::DateTime), CliError> {
    let now = der::DateTime::from_system_time(std::time::SystemTime::now())
        .map_err(|e| CliError::Document(format!("system clock: {e}")))?;
    Ok((
        format!(
            "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
            now.year(),
            now.month(),
            now.day(),
            now.hour(),
            now.minutes(),
            now.seconds()
        ),
        now,
    ))
}

/// Runs `sign`.
pub fn run(g: &Global, a: &SignArgs) -> Result<(), CliError> {
    let outs = outputs(a)?;
    let (date, now) = pdf_date()?;
    let opts = SigOptions {
        subfilter: if a.pades {
            SubFilter::EtsiCadesDetached
        } else {
            SubFilter::AdbePkcs7Detached
        },
        date,
        reason: a.reason.clone(),
        location: a.location.clone(),
        contents_len: CONTENTS_LEN,
        stamp: if a.stamp { Some(stamp(a, &now)?) } else { None },
    };
    let profile = if a.pades {
        Profile::PADES
    } else {
        Profile::CMS
    };

    // 1. Every file parsed, copied and hashed before the card is asked anything.
    let mut prepared = Vec::new();
    for (input, out) in a.files.iter().zip(outs) {
        prepared.push(prepare(input, out, &opts)?);
    }

    // 2. One password, one session, all signatures.
    let mut signed = sign_all(g, &opts, profile, &mut prepared)?;

    // 3. Timestamps (after the card session: the TSA may be slow).
    if let Some(url) = &a.tsa {
        for cms in &mut signed {
            *cms = jpki_cms::add_timestamp(cms, url)?;
        }
    }

    // 4. Finish and rename each output.
    for (p, cms) in prepared.into_iter().zip(signed) {
        finish(g, a.force, p, &cms)?;
    }
    Ok(())
}

/// The output of each input (checked not to exist unless `--force`, and
/// not to be written twice or over an input).
fn outputs(a: &SignArgs) -> Result<Vec<PathBuf>, CliError> {
    if a.output.is_some() && a.files.len() > 1 {
        return Err(CliError::Usage(Msg::OutputWithSeveral.to_string()));
    }
    let outs: Vec<PathBuf> = a
        .files
        .iter()
        .map(|f| a.output.clone().unwrap_or_else(|| default_output(f)))
        .collect();
    for (i, o) in outs.iter().enumerate() {
        crate::cms_cmd::check_output(o, a.force)?;
        if outs[..i].contains(o) || a.files.contains(o) {
            return Err(CliError::Usage(
                Msg::WrittenTwice(&o.display().to_string()).to_string(),
            ));
        }
    }
    Ok(outs)
}

/// The visible signature of `--stamp`, without the signer's name yet (the
/// card gives the certificate out only after the password).
fn stamp(a: &SignArgs, now: &der::DateTime) -> Result<Stamp, CliError> {
    let rect = a
        .stamp_rect
        .as_deref()
        .map(parse_rect)
        .transpose()
        .map_err(CliError::Usage)?;
    // In the language of the run, like the messages: a Japanese
    // filing gets a Japanese stamp.
    let when = jpki_cms::format_time(now);
    let mut lines = match crate::i18n::lang() {
        crate::i18n::Lang::Ja => vec![
            "マイナンバーカードによる電子署名".to_string(),
            format!("日時: {when}"),
        ],
        crate::i18n::Lang::En => vec![
            "Digitally signed with a My Number card".to_string(),
            format!("Date: {when}"),
        ],
    };
    lines.extend(a.reason.as_ref().map(|r| match crate::i18n::lang() {
        crate::i18n::Lang::Ja => format!("理由: {r}"),
        crate::i18n::Lang::En => format!("Reason: {r}"),
    }));
    lines.extend(a.stamp_text.clone());
    let image = a
        .stamp_image
        .as_deref()
        .map(jpki_pdf::load_image)
        .transpose()
        .map_err(|e| CliError::Usage(crate::i18n::pdf_error(&e)))?;
    let font = match &a.stamp_font {
        Some(f) => {
            Some(StampFont::load(f).map_err(|e| CliError::Usage(crate::i18n::pdf_error(&e)))?)
        }
        None => StampFont::find_system(),
    };
    Ok(Stamp {
        font,
        page: a.stamp_page,
        rect,
        lines,
        with_name: !a.stamp_no_name,
        signer: None,
        image,
    })
}

/// Asks the password once and signs every prepared file in one card
/// session; the DER CMS of each.
fn sign_all(
    g: &Global,
    opts: &SigOptions,
    profile: Profile,
    prepared: &mut [Prepared],
) -> Result<Vec<Vec<u8>>, CliError> {
    let mut card = Card::open(&ReaderChoice::from_env_or(g.reader.as_deref()))?;
    let pin = ask_pin(&mut card, g, PinKind::Sign)?;
    let mut s = unlocked(&mut card, g, &pin)?;
    let cert = s.read_cert(CertKind::Sign)?;
    let ca = s.read_cert(CertKind::SignCa)?.into_bytes();
    // The visible signature shows the name in the certificate, which
    // the card only gives out after the password: the updates are made
    // again with it (from the copies, which hold the bytes checked).
    if let Some(stamp) = opts.stamp.as_ref().filter(|s| s.with_name) {
        let mut with_name = stamp.clone();
        with_name.signer = jpki_cms::signer_name(cert.as_bytes());
        let opts = SigOptions {
            stamp: Some(with_name),
            ..opts.clone()
        };
        for p in prepared.iter_mut() {
            p.rebuild(&opts)?;
        }
    }
    let mut signed = Vec::new();
    for p in prepared.iter() {
        let mut signer = CardKeySigner {
            session: &mut s,
            key: KeyKind::Sign,
        };
        let cms = jpki_cms::sign(
            &mut signer,
            cert.as_bytes(),
            std::slice::from_ref(&ca),
            Content::Detached(p.digest),
            profile,
        )?;
        signed.push(cms);
    }
    Ok(signed)
}

/// Fills the CMS in, writes the update after the copied original and renames
/// the temporary file into place; prints what was signed.
fn finish(g: &Global, force: bool, mut p: Prepared, cms: &[u8]) -> Result<(), CliError> {
    p.update.fill(cms).map_err(|e| {
        CliError::Document(format!(
            "{}: {}",
            p.input.display(),
            crate::i18n::pdf_error(&e)
        ))
    })?;
    let f = p.tmp.as_file_mut();
    f.write_all(&p.update.bytes)
        .and_then(|_| f.sync_all())
        .map_err(io("cannot write", &p.out))?;
    let persisted = if force {
        p.tmp.persist(&p.out).map(|_| ())
    } else {
        p.tmp.persist_noclobber(&p.out).map(|_| ())
    };
    persisted.map_err(|e| CliError::Io {
        what: "cannot write",
        path: p.out.display().to_string(),
        source: e.error,
    })?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"input": p.input.display().to_string(), "output": p.out.display().to_string(), "field": p.update.field_name})
        );
    } else {
        println!(
            "{}",
            Msg::PdfSigned(
                &p.input.display().to_string(),
                &p.out.display().to_string(),
                &p.update.field_name
            )
        );
    }
    Ok(())
}

/// Parses `X,Y,W,H`.
fn parse_rect(s: &str) -> Result<[f64; 4], String> {
    let bad = || Msg::BadStampRect(s).to_string();
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match v[..] {
        [x, y, w, h] if w > 0.0 && h > 0.0 && x >= 0.0 && y >= 0.0 => Ok([x, y, w, h]),
        _ => Err(bad()),
    }
}

fn prepare(input: &Path, out: PathBuf, opts: &SigOptions) -> Result<Prepared, CliError> {
    let name = input.display().to_string();
    let file = std::fs::File::open(input).map_err(io("cannot read", input))?;
    let size = file.size();
    let update = jpki_pdf::prepare(&name, &file, opts)?;
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".jpki-sign-")
        .suffix(".pdf.tmp")
        .tempfile_in(dir)
        .map_err(io("cannot create a file next to", &out))?;
    // Copy and hash in one pass, 1 MiB at a time, with a progress bar on a terminal.
    let bar = if std::io::stderr().is_terminal() && size > (8 << 20) {
        let b = indicatif::ProgressBar::new(size);
        b.set_message(name.clone());
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut h = Sha256::new();
    let mut write_error = None;
    jpki_pdf::for_chunks(&file, 0, size, |chunk| {
        h.update(chunk);
        bar.inc(chunk.len() as u64);
        tmp.write_all(chunk).inspect_err(|_| write_error = Some(()))
    })
    .map_err(|e| match write_error {
        Some(()) => io("cannot write", &out)(e),
        None => io("cannot read", input)(e),
    })?;
    bar.finish_and_clear();
    tmp.as_file()
        .sync_data()
        .map_err(io("cannot write", &out))?;
    let digest = update.digest_after(&h);
    Ok(Prepared {
        input: input.to_path_buf(),
        out,
        tmp,
        update,
        original: h,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_rect;

    #[test]
    fn stamp_rect() {
        assert_eq!(
            parse_rect("10,20,100,40").unwrap(),
            [10.0, 20.0, 100.0, 40.0]
        );
        assert!(parse_rect("10,20,0,40").is_err());
        assert!(parse_rect("a,b").is_err());
    }
}
