//! Getting a PIN from the user: a terminal prompt that shows the tries left, or
//! `--pin-file` (`-` = standard input). Never from an argument (it would sit in shell history
//! and `ps`). The reading itself is jpki-pin-source's; this module gives it the CLI's texts and
//! turns its errors into the CLI's messages.

use crate::error::CliError;
use crate::i18n::Msg;
use jpki_card::{AnyPin, PinKind, Tries};
use jpki_pin_source::{PinSource, PinSourceError, Request};
use std::io::IsTerminal;
use std::path::Path;
use zeroize::Zeroizing;

/// The source `--pin-file PATH` names: `-` is standard input.
fn pin_file_source(path: &Path) -> PinSource {
    if path == Path::new("-") {
        PinSource::Stdin
    } else {
        PinSource::File(path.to_path_buf())
    }
}

/// Reads the PIN for `kind`, from `pin_file` or by prompting on the terminal.
/// The format is checked offline here, before anything reaches the card.
pub fn read_pin(
    kind: PinKind,
    pin_file: Option<&Path>,
    tries: Option<Tries>,
) -> Result<AnyPin, CliError> {
    let source = match pin_file {
        Some(p) => pin_file_source(p),
        None if std::io::stdin().is_terminal() => PinSource::Terminal,
        None => return Err(CliError::Usage(Msg::NoTerminal(kind).to_string())),
    };
    let prompt = Msg::PinPrompt(kind, tries.map(|t| t.get())).to_string();
    let raw = read_line(&source, prompt).map_err(|e| match e {
        PinSourceError::NoTerminal => CliError::Usage(Msg::NoTerminal(kind).to_string()),
        e => pin_error(&source, e),
    })?;
    Ok(AnyPin::new(kind, &raw)?)
}

/// Reads a new PIN: from `file`, or on the terminal twice (they must match).
pub fn read_new_pin(kind: PinKind, file: Option<&Path>) -> Result<AnyPin, CliError> {
    if file.is_some() {
        return read_pin(kind, file, None);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(Msg::NoTerminalNew(kind).to_string()));
    }
    let ask = |prompt: Msg| {
        read_line(&PinSource::Terminal, prompt.to_string()).map_err(|e| match e {
            PinSourceError::NoTerminal => CliError::Usage(Msg::NoTerminalNew(kind).to_string()),
            e => pin_error(&PinSource::Terminal, e),
        })
    };
    let a = ask(Msg::NewPinPrompt(kind))?;
    let b = ask(Msg::RepeatPinPrompt(kind))?;
    if *a != *b {
        return Err(CliError::Usage(Msg::NewPinsDiffer.to_string()));
    }
    Ok(AnyPin::new(kind, &a)?)
}

/// The first line of the source; an empty one is left to the card crate's format check, whose
/// message says what the PIN must look like.
fn read_line(source: &PinSource, prompt: String) -> Result<Zeroizing<String>, PinSourceError> {
    source.read_line(&Request {
        prompt,
        ..Request::default()
    })
}

/// How errors name the `--pin-file` file: never by its path, since a PIN typed where the path
/// belonged (`--pin-file 1234`) would be echoed to the terminal and any log.
const PIN_FILE_UNNAMED: &str = "(--pin-file)";

/// A pin-source error as the CLI's file error ("cannot read PIN file (--pin-file): …"), so it
/// is worded and translated like every other file error.
fn pin_error(source: &PinSource, e: PinSourceError) -> CliError {
    let (what, path) = match source {
        PinSource::File(_) => ("cannot read PIN file", PIN_FILE_UNNAMED.to_string()),
        PinSource::Stdin | PinSource::Terminal => ("cannot read", source.describe()),
        PinSource::Askpass(p) => ("cannot run SSH_ASKPASS", p.display().to_string()),
        other => ("cannot read", other.describe()),
    };
    let source = match e {
        PinSourceError::Io { source, .. } => source,
        PinSourceError::Unavailable { reason, .. } => {
            std::io::Error::new(std::io::ErrorKind::InvalidData, reason)
        }
        other => return CliError::Usage(other.to_string()),
    };
    CliError::Io { what, path, source }
}

/// Keeps PINs out of core dumps (and out of other same-user processes' ptrace and
/// /proc/PID/mem): `jpki-sign` may hold a PIN for its whole run (the ssh agent, batch signing).
/// Where the OS refuses, nothing else changes — the PIN buffers are zeroized either way.
pub fn protect_process() {
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        tracing::debug!("could not disable core dumps: {e}");
    }
}

#[cfg(test)]
mod protect_tests {
    #[test]
    fn the_process_is_no_longer_dumpable() {
        super::protect_process();
        assert_eq!(
            rustix::process::dumpable_behavior().ok(),
            Some(rustix::process::DumpableBehavior::NotDumpable)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpki_card::Secret;

    #[test]
    fn a_pin_file_error_names_the_option_not_the_path() {
        let secret = "QZ7PASS93";
        let e = read_pin(PinKind::Sign, Some(Path::new(secret)), None).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.starts_with("cannot read PIN file (--pin-file): "),
            "{shown}"
        );
        assert!(!shown.contains(secret), "{shown}");
    }

    #[test]
    fn a_pin_file_is_read_to_its_first_line_and_checked_offline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "abc123\nsecond line\n").unwrap();
        let pin = read_pin(PinKind::Sign, Some(&f), None).unwrap();
        assert_eq!(pin.bytes(), b"ABC123");
        // Empty: the card crate's format check explains, not a generic "empty".
        std::fs::write(&f, "\n").unwrap();
        let e = read_pin(PinKind::Sign, Some(&f), None).unwrap_err();
        assert!(matches!(e, CliError::Card(_)), "{e:?}");
        // Over the one limit of jpki-pin-source.
        std::fs::write(&f, "A".repeat(jpki_pin_source::MAX_LEN + 1)).unwrap();
        let e = read_pin(PinKind::Sign, Some(&f), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn dash_is_standard_input() {
        assert_eq!(pin_file_source(Path::new("-")), PinSource::Stdin);
        assert_eq!(
            pin_file_source(Path::new("./-")),
            PinSource::File("./-".into())
        );
    }
}
