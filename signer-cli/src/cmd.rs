//! The sub-commands.

use crate::error::CliError;
use crate::i18n::Msg;
use crate::pin_session::last_try;
use crate::secret::{read_new_pin, read_pin};
use crate::{
    CertArgs, CertFormat, CertName, ChangeArgs, Cli, Command, Global, PinCommand, PinName,
};
use jpki_card::{Card, CardError, CertKind, PinKind, PinStatus, ReaderChoice, TokenKind};
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Card(a) => match a.what {
            None => card_info(&cli.global),
            Some(crate::basic4_and_docs::CardCommand::Basic4) => {
                crate::basic4_and_docs::basic4(&cli.global)
            }
        },
        Command::Pin(PinCommand::Status) => pin_status(&cli.global),
        Command::Pin(PinCommand::Change(a)) => pin_change(&cli.global, a),
        Command::Cert(a) => cert(&cli.global, a),
        Command::UriKey(a) => crate::urikey::run(a),
        Command::Ssh(c) => crate::ssh::run(&cli.global, c),
        Command::Cms(c) => crate::cms_cmd::run(&cli.global, c),
        Command::Sign(a) => crate::pdf::sign::run(&cli.global, a),
        Command::Verify(a) => crate::pdf::verify_cmd::run(&cli.global, a),
        Command::Gui(a) => crate::gui::run(&cli.global, a),
        Command::Completions(a) => crate::basic4_and_docs::completions(a),
        Command::Man => crate::basic4_and_docs::man(),
    }
}

fn open(g: &Global) -> Result<Card, CliError> {
    Ok(Card::open(&ReaderChoice::from_env_or(g.reader.as_deref()))?)
}

fn card_info(g: &Global) -> Result<(), CliError> {
    let card = open(g)?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "reader": card.reader_name(),
                "token": token_id(card.token()),
                "description": card.token().to_string(),
            })
        );
    } else {
        println!("{}", Msg::CardReader(card.reader_name()));
        println!("{}", Msg::CardKind(card.token()));
    }
    Ok(())
}

fn token_id(t: &TokenKind) -> &'static str {
    match t {
        TokenKind::MyNumberCard => "JPKIAPICCTOKEN2",
        TokenKind::SmartphoneAndroid => "JPKIAPGPSETOKEN",
        TokenKind::SmartphoneIos => "JPKIAPIOSTOKEN",
        TokenKind::JukiCard => "JPKIAPICCTOKEN",
        _ => "unknown",
    }
}

fn pin_status(g: &Global) -> Result<(), CliError> {
    let mut card = open(g)?;
    // Smartphone tokens have only the JPKI application: their text-AP PIN is unavailable.
    let has_text = card.token() == &TokenKind::MyNumberCard;
    let mut rows = Vec::new();
    let mut first_error = None;
    {
        let mut s = card.session()?;
        for p in [PinKind::Auth, PinKind::Sign, PinKind::Text] {
            if p == PinKind::Text && !has_text {
                rows.push((p, None));
                continue;
            }
            match s.pin_status(p) {
                Ok(st) => rows.push((p, Some(st))),
                // A card that went away ends the command; an application that answers an
                // error leaves the other PINs worth showing.
                Err(e @ (CardError::Unexpected { .. } | CardError::Malformed { .. })) => {
                    tracing::debug!(pin = p.id(), "PIN status unavailable: {e}");
                    first_error.get_or_insert(e);
                    rows.push((p, None));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(e) = first_error {
        if rows.iter().all(|(_, st)| st.is_none()) {
            return Err(e.into());
        }
    }
    if g.json {
        let v: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(p, st)| {
                let tries = st.and_then(PinStatus::tries).map(|t| t.get());
                (
                    p.id().to_string(),
                    serde_json::json!({"tries_left": tries, "max": p.max_tries(), "blocked": tries == Some(0), "available": st.is_some()}),
                )
            })
            .collect();
        println!("{}", serde_json::Value::Object(v));
        return Ok(());
    }
    for (p, st) in rows {
        let line = match st {
            None => Msg::PinUnavailable(p),
            Some(PinStatus::Tries(t)) if t.is_blocked() => Msg::PinBlocked(p),
            Some(PinStatus::Tries(t)) if t.is_last() => Msg::PinLastTry(p),
            Some(PinStatus::Tries(t)) => Msg::PinTries(p, t.get()),
            Some(PinStatus::Verified) => Msg::PinVerified(p),
        };
        println!("{line}");
    }
    Ok(())
}

fn pin_change(g: &Global, a: &ChangeArgs) -> Result<(), CliError> {
    let kind = match a.which {
        PinName::Auth => PinKind::Auth,
        PinName::Sign => PinKind::Sign,
    };
    if a.new_pin_file.is_some() && a.new_pin_file == g.pin_file {
        return Err(CliError::Usage(Msg::SamePinFiles.to_string()));
    }
    let mut card = open(g)?;
    let tries = card.session()?.pin_status(kind)?.tries();
    // Both values are read and checked before the card sees either.
    let old = read_pin(kind, g.pin_file.as_deref(), tries)?;
    let new = read_new_pin(kind, a.new_pin_file.as_deref())?;
    card.session()?.change_pin(&old, &new, last_try(g))?;
    println!("{}", Msg::PinChanged(kind));
    Ok(())
}

fn cert(g: &Global, a: &CertArgs) -> Result<(), CliError> {
    let kind = match a.which {
        CertName::Auth => CertKind::Auth,
        CertName::Sign => CertKind::Sign,
        CertName::AuthCa => CertKind::AuthCa,
        CertName::SignCa => CertKind::SignCa,
    };
    let format = if a.der {
        CertFormat::Der
    } else if a.text {
        CertFormat::Text
    } else if a.pem {
        CertFormat::Pem
    } else {
        a.format
    };
    check_output(a.output.as_deref(), a.force)?;
    if a.output.is_none() && format == CertFormat::Der && std::io::stdout().is_terminal() {
        return Err(CliError::Usage(Msg::DerToTerminal.to_string()));
    }
    let mut card = open(g)?;
    let need_pin = match kind {
        CertKind::Auth if card.token().auth_cert_needs_pin() => Some(PinKind::Auth),
        k => k.needs_pin(),
    };
    let der = {
        // Ask with the tries left in the prompt; the count is read again
        // right before the VERIFY (the policy), so nothing is assumed.
        let mut s = match need_pin {
            Some(p) => {
                let pin = crate::pin_session::ask_pin(&mut card, g, p)?;
                crate::pin_session::unlocked(&mut card, g, &pin)?
            }
            None => card.session()?,
        };
        s.read_cert(kind)?
    };
    let x509 =
        openssl::x509::X509::from_der(der.as_bytes()).map_err(|e| CliError::Cert(e.to_string()))?;
    let bytes = match format {
        CertFormat::Der => der.into_bytes(),
        CertFormat::Pem => x509.to_pem().map_err(|e| CliError::Cert(e.to_string()))?,
        CertFormat::Text => x509.to_text().map_err(|e| CliError::Cert(e.to_string()))?,
    };
    write_output(a.output.as_deref(), &bytes)
}

/// Refuses to overwrite an existing output file unless forced (checked before any card work).
pub(crate) fn check_output(output: Option<&Path>, force: bool) -> Result<(), CliError> {
    match output {
        Some(out) if out.exists() && !force => Err(CliError::Usage(
            Msg::OutputExists(&out.display().to_string()).to_string(),
        )),
        _ => Ok(()),
    }
}

/// Writes to the output file (atomically) or to standard output.
pub(crate) fn write_output(output: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match output {
        Some(p) => write_atomic(p, bytes),
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(|e| CliError::Io {
                what: "cannot write",
                path: "standard output".into(),
                source: e,
            }),
    }
}

/// Writes to a temporary file next to `path`, then renames it into place, so a
/// failure never leaves half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let io = |what, e| CliError::Io {
        what,
        path: path.display().to_string(),
        source: e,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| io("cannot create a file next to", e))?;
    tmp.write_all(bytes).map_err(|e| io("cannot write", e))?;
    tmp.persist(path).map_err(|e| io("cannot write", e.error))?;
    Ok(())
}
