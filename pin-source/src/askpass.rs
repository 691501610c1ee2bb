//! The askpass source, as OpenSSH runs `SSH_ASKPASS`: the program gets the prompt as its only
//! argument, no standard input, and prints the PIN on its standard output; a failing exit
//! status means the person cancelled (or the program could not ask). Its standard error is
//! the caller's, so a graphical askpass can say what went wrong.

use crate::MAX_LEN;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// What the program did.
pub(crate) enum Answer {
    /// Its output (at most `MAX_LEN + 1` bytes), after a successful exit.
    Printed(Zeroizing<Vec<u8>>),
    /// Its exit status, when it failed.
    Failed(String),
}

/// Runs `program` with `prompt` and collects what it prints.
pub(crate) fn run(program: &Path, prompt: &str) -> std::io::Result<Answer> {
    let mut child = Command::new(program)
        .arg(prompt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut out = Zeroizing::new(Vec::with_capacity(MAX_LEN + 1));
    if let Some(stdout) = child.stdout.take() {
        // `take` consumes the pipe: it is closed before the wait below, so a program that
        // prints on and on gets EPIPE instead of blocking us both.
        let read = stdout.take(MAX_LEN as u64 + 1).read_to_end(&mut out);
        if let Err(e) = read {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Ok(Answer::Failed(status.to_string()));
    }
    Ok(Answer::Printed(out))
}

#[cfg(test)]
mod tests {
    use crate::{PinSource, PinSourceError, Request, MAX_LEN};
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
        let p = dir.join("askpass.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn ask(prompt: &str) -> Request {
        Request {
            prompt: prompt.into(),
            ..Request::default()
        }
    }

    #[test]
    fn the_prompt_is_the_argument_and_the_first_printed_line_the_pin() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let p = script(
            dir.path(),
            &format!(
                "printf '%s' \"$1\" > '{}'\nprintf '1234\\nrest\\n'",
                seen.display()
            ),
        );
        let pin = PinSource::Askpass(p)
            .read(&ask("auth PIN (3 tries left): "))
            .unwrap();
        assert_eq!(pin.as_str(), "1234");
        assert_eq!(
            std::fs::read_to_string(&seen).unwrap(),
            "auth PIN (3 tries left): "
        );
    }

    #[test]
    fn a_failing_exit_is_a_refusal_whatever_it_printed() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(dir.path(), "echo 1234\nexit 1");
        let e = PinSource::Askpass(p.clone()).read(&ask("?")).unwrap_err();
        assert!(matches!(e, PinSourceError::Declined { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(!shown.contains("1234"), "{shown}");
        assert!(shown.contains(&p.display().to_string()), "{shown}");
    }

    #[test]
    fn too_much_output_or_no_program_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(
            dir.path(),
            &format!("head -c {} /dev/zero | tr '\\0' 1", MAX_LEN + 1),
        );
        let e = PinSource::Askpass(p).read(&ask("?")).unwrap_err();
        assert_eq!(e.reason(), "it is too long to be a PIN");
        let e = PinSource::Askpass(dir.path().join("missing"))
            .read(&ask("?"))
            .unwrap_err();
        assert!(matches!(e, PinSourceError::Io { .. }), "{e:?}");
    }
}
