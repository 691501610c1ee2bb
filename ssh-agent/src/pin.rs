//! Asking for the auth PIN through jpki-pin-source, worded for the agent's log: the prompt
//! says the tries left, the format is checked offline (4 digits) before the card sees it, and
//! no message holds the PIN or a PIN file's path.

use jpki_card::{AuthPin, Tries};
use jpki_pin_source::{PinSource, PinSourceError, Request};

/// Asks once. `name` starts the prompt (the agent's name), `described` names the source.
pub(crate) fn read(
    source: &PinSource,
    described: &str,
    name: &str,
    tries: Option<Tries>,
) -> Result<AuthPin, String> {
    let left = tries.map(|t| format!(" ({t} left)")).unwrap_or_default();
    let prompt = format!("{name}: enter your auth PIN (利用者証明用暗証番号){left}: ");
    let raw = source
        .read_line(&Request {
            prompt,
            ..Request::default()
        })
        .map_err(|e| failure(source, described, e))?;
    AuthPin::new(&raw).map_err(|e| e.to_string())
}

/// The log line for a source that gave no PIN.
fn failure(source: &PinSource, described: &str, e: PinSourceError) -> String {
    match (source, e) {
        (_, PinSourceError::NoTerminal) => "the auth PIN is needed but the agent is not in the foreground of a terminal; set SSH_ASKPASS or pass --pin-file".into(),
        (_, PinSourceError::Declined { status, .. }) => {
            format!("{described} was cancelled or failed ({status}); no PIN, no try spent")
        }
        (PinSource::Askpass(p), PinSourceError::Io { source, .. }) => {
            format!("cannot run SSH_ASKPASS {}: {source}", p.display())
        }
        (_, PinSourceError::Io { source, .. }) => format!("cannot read {described}: {source}"),
        (_, e) => format!("{described}: {}", e.reason()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_file_is_read_each_time_and_checked_offline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        let src = PinSource::File(f.clone());
        let e = read(&src, "the PIN file", "agent", None).unwrap_err();
        assert!(e.starts_with("cannot read the PIN file: "), "{e}");
        assert!(!e.contains(&f.display().to_string()), "{e}");
        std::fs::write(&f, "1234\n").unwrap();
        assert!(read(&src, "the PIN file", "agent", None).is_ok());
        std::fs::write(&f, "12345\n").unwrap();
        assert!(
            read(&src, "the PIN file", "agent", None).is_err(),
            "5 digits never reach the card"
        );
    }

    #[test]
    fn a_cancelled_askpass_is_logged_as_no_try_spent_and_gets_the_tries_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let p = dir.path().join("askpass.sh");
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nprintf '%s' \"$1\" > '{}'\nexit 1\n",
                seen.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = read(
            &PinSource::Askpass(p),
            "SSH_ASKPASS (x)",
            "agent",
            Some(Tries::new(2)),
        )
        .unwrap_err();
        assert!(
            e.starts_with("SSH_ASKPASS (x) was cancelled or failed (")
                && e.ends_with("no PIN, no try spent"),
            "{e}"
        );
        let prompt = std::fs::read_to_string(&seen).unwrap();
        assert!(
            prompt.starts_with("agent: enter your auth PIN") && prompt.contains("2 tries left"),
            "{prompt}"
        );
    }
}
