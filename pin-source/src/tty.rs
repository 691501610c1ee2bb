//! The terminal source: a hidden prompt on the controlling terminal (`/dev/tty`, not standard
//! input, which may carry a document), only while this process is in the terminal's
//! foreground: a background process that reads its terminal is stopped by SIGTTIN, and a
//! daemon must say "no terminal" rather than hang.

use zeroize::Zeroizing;

/// Why the terminal gave nothing.
pub(crate) enum Failure {
    NoTerminal,
    Io(std::io::Error),
}

/// Whether `/dev/tty` exists for this process and this process's group is its foreground.
pub fn foreground_terminal() -> bool {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    match rustix::termios::tcgetpgrp(&tty) {
        Ok(pgrp) => pgrp == rustix::process::getpgrp(),
        Err(_) => false,
    }
}

/// Shows `prompt` on the terminal and reads one line with echo off.
pub(crate) fn prompt(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    if !foreground_terminal() {
        return Err(Failure::NoTerminal);
    }
    prompt_with(prompt, rpassword::ConfigBuilder::new().build()).map_err(Failure::Io)
}

/// The prompt and the read, on the terminal or (tests) on the given reader and writer.
fn prompt_with(prompt: &str, config: rpassword::Config) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let typed = Zeroizing::new(rpassword::prompt_password_with_config(prompt, config)?);
    Ok(Zeroizing::new(typed.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PinSource, PinSourceError, Request};
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_prompt_is_shown_and_one_line_read() {
        let shown = Shared::default();
        let config = rpassword::ConfigBuilder::new()
            .input_data(b"1234\nmore\n".to_vec())
            .output_writer(shown.clone())
            .build();
        let got = prompt_with("PIN (3 tries left): ", config).unwrap();
        assert_eq!(crate::text::first_line(&got).unwrap().as_str(), "1234");
        let shown = shown.0.lock().unwrap().clone();
        assert_eq!(String::from_utf8(shown).unwrap(), "PIN (3 tries left): ");
    }

    /// Runs in a child made session leader by `setsid`, so it has no controlling terminal.
    #[test]
    #[ignore = "run by without_a_terminal_the_terminal_source_refuses in a new session"]
    fn child_without_terminal() {
        assert!(!foreground_terminal());
        let e = PinSource::Terminal.read(&Request::default()).unwrap_err();
        assert!(matches!(e, PinSourceError::NoTerminal), "{e:?}");
        println!("CHILD-CHECKED");
    }

    #[test]
    fn without_a_terminal_the_terminal_source_refuses() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("setsid")
            .arg("--wait")
            .arg(exe)
            .args([
                "--exact",
                "tty::tests::child_without_terminal",
                "--ignored",
                "--nocapture",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("setsid (util-linux)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("CHILD-CHECKED"), "{text}");
    }
}
