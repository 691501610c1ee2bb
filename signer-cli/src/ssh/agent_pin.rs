//! Where the agent gets the auth PIN — `--pin-file`, `SSH_ASKPASS`, or the terminal — chosen
//! once at start-up and asked whenever the agent holds no PIN (the first signature, and again
//! after a wrong PIN or a pulled card). The reading is jpki-pin-source's; this module chooses
//! the source, words the prompt and the log lines, and checks the format offline.
//!
//! `SSH_ASKPASS` is used as OpenSSH uses it: when it is set and there is no terminal to ask on,
//! or when `SSH_ASKPASS_REQUIRE` is `force` or `prefer`.

use crate::error::CliError;
use crate::secret::PIN_FILE_UNNAMED;
use jpki_card::{AuthPin, Tries};
use jpki_pin_source::{foreground_terminal, PinSource, PinSourceError, Request};
use std::path::PathBuf;

/// Chooses the source from `--pin-file` and the environment. A file is read anew each time the
/// agent needs the PIN, so `-` (standard input, readable once) is refused.
pub fn choose(pin_file: Option<&PathBuf>) -> Result<PinSource, CliError> {
    if let Some(p) = pin_file {
        if p.as_os_str() == "-" {
            return Err(CliError::Usage(
                "the agent reads its PIN file each time it needs the PIN; pass a file path, not `-`".into(),
            ));
        }
        return Ok(PinSource::File(p.clone()));
    }
    if let Some(askpass) = PinSource::openssh_askpass() {
        return Ok(askpass);
    }
    if foreground_terminal() {
        return Ok(PinSource::Terminal);
    }
    Err(CliError::Usage(
        "the agent needs a way to ask for the auth PIN: pass --pin-file FILE, set SSH_ASKPASS, or start it on a terminal".into(),
    ))
}

/// Says where the PIN comes from, for log lines (never the PIN, never the file's path: a PIN
/// typed where the path belonged would land in the log).
pub fn describe(source: &PinSource) -> String {
    match source {
        PinSource::File(_) => "the PIN file given with --pin-file".into(),
        PinSource::Askpass(p) => format!("SSH_ASKPASS ({})", p.display()),
        other => other.describe(),
    }
}

/// Asks once. The format is checked offline (4 digits) before the card sees it.
pub fn read(source: &PinSource, tries: Option<Tries>) -> Result<AuthPin, String> {
    let left = tries.map(|t| format!(" ({t} left)")).unwrap_or_default();
    let prompt = format!("jpki-sign ssh agent: enter your auth PIN (利用者証明用暗証番号){left}: ");
    let raw = source
        .read_line(&Request {
            prompt,
            ..Request::default()
        })
        .map_err(|e| failure(source, e))?;
    AuthPin::new(&raw).map_err(|e| e.to_string())
}

/// The log line for a source that gave no PIN.
fn failure(source: &PinSource, e: PinSourceError) -> String {
    match (source, e) {
        (_, PinSourceError::NoTerminal) => "the auth PIN is needed but the agent is not in the foreground of a terminal; set SSH_ASKPASS or pass --pin-file".into(),
        (_, PinSourceError::Declined { status, .. }) => format!(
            "{} was cancelled or failed ({status}); no PIN, no try spent",
            describe(source)
        ),
        (PinSource::File(_), PinSourceError::Io { source, .. }) => {
            format!("cannot read PIN file {PIN_FILE_UNNAMED}: {source}")
        }
        (PinSource::Askpass(p), PinSourceError::Io { source, .. }) => {
            format!("cannot run SSH_ASKPASS {}: {source}", p.display())
        }
        (PinSource::Terminal, PinSourceError::Io { source, .. }) => {
            format!("cannot read the terminal: {source}")
        }
        (_, e) => format!("{}: {}", describe(source), e.reason()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_file_is_read_each_time_and_checked_offline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        let src = choose(Some(&f)).unwrap();
        assert_eq!(describe(&src), "the PIN file given with --pin-file");
        let e = read(&src, None).unwrap_err();
        assert!(e.starts_with("cannot read PIN file (--pin-file): "), "{e}");
        std::fs::write(&f, "1234\n").unwrap();
        assert!(read(&src, None).is_ok());
        std::fs::write(&f, "12345\n").unwrap();
        assert!(read(&src, None).is_err(), "5 digits never reach the card");
        assert!(choose(Some(&PathBuf::from("-"))).is_err());
    }
}
