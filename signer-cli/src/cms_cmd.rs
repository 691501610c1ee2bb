//! `jpki-sign cms sign|verify`: CMS (PKCS#7) signatures of any file, which
//! `openssl cms -verify -binary` accepts. Detached content is hashed while
//! streaming, so its size does not matter; attached content is held in memory.

use crate::error::CliError;
use crate::i18n::{Field, Msg};
use crate::pin_session::{ask_pin, unlocked, CardKeySigner};
use crate::Global;
use clap::{Args, Subcommand, ValueEnum};
use jpki_card::{Card, CertKind, KeyKind, ReaderChoice};
use jpki_cms::{Against, Chain, Content, Profile};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// `jpki-sign cms …`.
#[derive(Subcommand, Debug)]
pub enum CmsCommand {
    /// Sign a file: CMS SignedData, SHA-256, signer and CA certificate embedded.
    Sign(CmsSignArgs),
    /// Verify a CMS signature (exit 6 if it is not valid).
    Verify(CmsVerifyArgs),
}

/// Which key signs.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum KeyName {
    /// The signature key (署名用, sign password).
    Sign,
    /// The user-authentication key (利用者証明用, 4-digit PIN).
    Auth,
}

/// `cms sign`.
#[derive(Args, Debug)]
pub struct CmsSignArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// Leave the content out of the signature (a `.p7s` next to the file).
    #[arg(long)]
    pub detached: bool,
    /// Which key signs.
    #[arg(long, value_enum, default_value = "sign")]
    pub key: KeyName,
    /// PEM output (label CMS) instead of DER.
    #[arg(long)]
    pub pem: bool,
    /// Output file (default: FILE.p7s when detached, FILE.p7m otherwise).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Add an RFC 3161 timestamp from this time-stamping authority (CAdES-T).
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
}

/// `cms verify`.
#[derive(Args, Debug)]
pub struct CmsVerifyArgs {
    /// The signature (DER or PEM).
    pub signature: PathBuf,
    /// The signed file, for a detached signature.
    #[arg(long, value_name = "FILE")]
    pub content: Option<PathBuf>,
    /// Trusted CA certificates (PEM); without it the chain is not checked.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Trusted CA certificates (PEM) of time-stamping authorities; without it
    /// an RFC 3161 timestamp's chain is not checked.
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,
}

/// Runs `cms …`.
pub fn run(g: &Global, c: &CmsCommand) -> Result<(), CliError> {
    match c {
        CmsCommand::Sign(a) => sign(g, a),
        CmsCommand::Verify(a) => verify(g, a),
    }
}

/// Refuses an existing output unless `--force`.
pub fn check_output(out: &Path, force: bool) -> Result<(), CliError> {
    if out.exists() && !force {
        return Err(CliError::Usage(
            Msg::OutputExists(&out.display().to_string()).to_string(),
        ));
    }
    Ok(())
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// SHA-256 of a file, read in 1 MiB chunks.
pub fn hash_file(path: &Path) -> Result<[u8; 32], CliError> {
    let io = |what, e| CliError::Io {
        what,
        path: path.display().to_string(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(|e| io("cannot read", e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| io("cannot read", e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Io {
        what: "cannot read",
        path: path.display().to_string(),
        source: e,
    })
}

fn sign(g: &Global, a: &CmsSignArgs) -> Result<(), CliError> {
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| with_suffix(&a.file, if a.detached { ".p7s" } else { ".p7m" }));
    check_output(&out, a.force)?;
    // The content first: a file that cannot be read must not cost a PIN try.
    let attached;
    let content = if a.detached {
        Content::Detached(hash_file(&a.file)?)
    } else {
        attached = read(&a.file)?;
        Content::Attached(&attached)
    };
    let (key, cert_kind, ca_kind) = match a.key {
        KeyName::Sign => (KeyKind::Sign, CertKind::Sign, CertKind::SignCa),
        KeyName::Auth => (KeyKind::Auth, CertKind::Auth, CertKind::AuthCa),
    };
    let mut card = Card::open(&ReaderChoice::from_env_or(g.reader.as_deref()))?;
    let pin = ask_pin(&mut card, g, key.pin())?;
    let der = {
        let mut s = unlocked(&mut card, g, &pin)?;
        let cert = s.read_cert(cert_kind)?;
        let ca = s.read_cert(ca_kind)?;
        let mut signer = CardKeySigner {
            session: &mut s,
            key,
        };
        jpki_cms::sign(
            &mut signer,
            cert.as_bytes(),
            &[ca.into_bytes()],
            content,
            Profile::CMS,
        )?
    };
    let der = match &a.tsa {
        Some(url) => jpki_cms::add_timestamp(&der, url)?,
        None => der,
    };
    let bytes = if a.pem {
        der::pem::encode_string("CMS", der::pem::LineEnding::LF, &der)
            .map_err(|e| CliError::Document(format!("cannot encode PEM: {e}")))?
            .into_bytes()
    } else {
        der
    };
    crate::cmd::write_atomic(&out, &bytes)?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"output": out.display().to_string()})
        );
    } else {
        println!(
            "{}",
            Msg::CmsSigned(&a.file.display().to_string(), &out.display().to_string())
        );
    }
    Ok(())
}

/// DER, or the DER inside a PEM block (labels CMS and PKCS7).
pub fn der_or_pem(bytes: Vec<u8>) -> Result<Vec<u8>, CliError> {
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
        .map_err(|e| CliError::Document(Msg::MalformedPem(&e.to_string()).to_string()))?;
    if label != "CMS" && label != "PKCS7" {
        return Err(CliError::Document(Msg::PemLabel(label).to_string()));
    }
    Ok(der)
}

fn verify(g: &Global, a: &CmsVerifyArgs) -> Result<(), CliError> {
    for ca in a.ca.iter().chain(&a.tsa_ca) {
        check_ca_file(ca)?;
    }
    let cms = der_or_pem(read(&a.signature)?)?;
    let against = match &a.content {
        Some(c) => Against::Detached(hash_file(c)?),
        None => Against::Attached,
    };
    let v = jpki_cms::verify_with_tsa(&cms, against, a.ca.as_deref(), a.tsa_ca.as_deref())
        .map_err(|e| {
            let why = crate::i18n::verify_error(&e);
            CliError::NotValid(Msg::NotValid(&a.signature.display().to_string(), &why).to_string())
        })?;
    let chain = match &v.chain {
        Chain::Trusted(ca) => Msg::VerifyChainTrusted(ca).to_string(),
        Chain::NotChecked => Msg::VerifyChainNotChecked(false).to_string(),
    };
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "valid": true,
                "signer": v.signer,
                "signing_time": v.signing_time,
                "timestamp": v.timestamp.as_ref().map(|t| Msg::Timestamp(t).to_string()),
                "chain_checked": matches!(v.chain, Chain::Trusted(_)),
            })
        );
        return Ok(());
    }
    println!("{}", Msg::Line(Field::Signer, &v.signer));
    if let Some(t) = &v.signing_time {
        let t = Msg::ClaimedTimeCms(t).to_string();
        println!("{}", Msg::Line(Field::SigningTime, &t));
    }
    if let Some(t) = &v.timestamp {
        let t = Msg::Timestamp(t).to_string();
        println!("{}", Msg::Line(Field::Timestamp, &t));
    }
    let content = Msg::ContentMatches.to_string();
    println!("{}", Msg::Line(Field::Content, &content));
    let sig = Msg::CmsSignatureValid.to_string();
    println!("{}", Msg::Line(Field::Signature, &sig));
    println!("{}", Msg::Line(Field::Certificate, &chain));
    println!("{}", Msg::CmsValid(&a.signature.display().to_string()));
    Ok(())
}

/// Checks before any verification that `--ca FILE` holds PEM certificates, so
/// a mistyped path is a usage error (exit 1), not an invalid signature.
pub fn check_ca_file(ca: &Path) -> Result<(), CliError> {
    let pem = std::fs::read(ca).map_err(|e| CliError::Io {
        what: "cannot read the CA file",
        path: ca.display().to_string(),
        source: e,
    })?;
    match openssl::x509::X509::stack_from_pem(&pem) {
        Ok(v) if !v.is_empty() => Ok(()),
        _ => Err(CliError::Usage(
            Msg::CaNoPem(&ca.display().to_string()).to_string(),
        )),
    }
}
