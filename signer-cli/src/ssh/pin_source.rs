//! Where the agent gets the auth PIN: `--pin-file`, `SSH_ASKPASS`, or the
//! terminal — chosen once at start-up, asked whenever the agent holds no PIN
//! (the first signature, and again after a wrong PIN or a pulled card).
//!
//! `SSH_ASKPASS` is used as OpenSSH uses it: when it is set and there is no
//! terminal to ask on, or when `SSH_ASKPASS_REQUIRE` is `force` or `prefer`.

use crate::error::CliError;
use crate::secret::PIN_FILE_UNNAMED;
use jpki_card::{AuthPin, Tries};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// A way to ask for the PIN.
#[derive(Debug, Clone)]
pub enum PinSource {
    /// First line of a file, read anew each time the agent needs the PIN.
    File(PathBuf),
    /// An `SSH_ASKPASS` program: prompt as argument, PIN on its stdout.
    Askpass(PathBuf),
    /// The controlling terminal (`/dev/tty`).
    Terminal,
}

impl PinSource {
    /// Chooses the source from `--pin-file` and the environment.
    pub fn choose(pin_file: Option<&PathBuf>) -> Result<PinSource, CliError> {
        if let Some(p) = pin_file {
            if p.as_os_str() == "-" {
                return Err(CliError::Usage(
                    "the agent reads its PIN file each time it needs the PIN; pass a file path, not `-`".into(),
                ));
            }
            return Ok(PinSource::File(p.clone()));
        }
        let askpass = std::env::var_os("SSH_ASKPASS")
            .filter(|a| !a.is_empty())
            .map(PathBuf::from);
        let require = std::env::var("SSH_ASKPASS_REQUIRE").unwrap_or_default();
        let terminal = foreground_terminal();
        match askpass {
            Some(a) if require == "force" || require == "prefer" || !terminal => {
                Ok(PinSource::Askpass(a))
            }
            _ if terminal => Ok(PinSource::Terminal),
            _ => Err(CliError::Usage(
                "the agent needs a way to ask for the auth PIN: pass --pin-file FILE, set SSH_ASKPASS, or start it on a terminal".into(),
            )),
        }
    }

    /// Says where the PIN comes from, for log lines (never the PIN).
    pub fn describe(&self) -> String {
        match self {
            // Never the path: a PIN typed where the path belonged would land in the log.
            PinSource::File(_) => "the PIN file given with --pin-file".into(),
            PinSource::Askpass(p) => format!("SSH_ASKPASS ({})", p.display()),
            PinSource::Terminal => "the terminal".into(),
        }
    }

    /// Asks once. The format is checked offline (4 digits) before the card sees it.
    pub fn read(&self, tries: Option<Tries>) -> Result<AuthPin, CliError> {
        let left = tries.map(|t| format!(" ({t} left)")).unwrap_or_default();
        let prompt =
            format!("jpki-sign ssh agent: enter your auth PIN (利用者証明用暗証番号){left}: ");
        let raw: Zeroizing<String> = match self {
            PinSource::File(p) => {
                let all = Zeroizing::new(std::fs::read_to_string(p).map_err(|e| CliError::Io {
                    what: "cannot read PIN file",
                    path: PIN_FILE_UNNAMED.into(),
                    source: e,
                })?);
                Zeroizing::new(all.lines().next().unwrap_or("").to_string())
            }
            PinSource::Askpass(prog) => askpass(prog, &prompt)?,
            PinSource::Terminal => {
                if !foreground_terminal() {
                    return Err(CliError::Usage(
                        "the auth PIN is needed but the agent is not in the foreground of a terminal; set SSH_ASKPASS or pass --pin-file".into(),
                    ));
                }
                Zeroizing::new(
                    rpassword::prompt_password(prompt).map_err(|e| CliError::Io {
                        what: "cannot read",
                        path: "the terminal".into(),
                        source: e,
                    })?,
                )
            }
        };
        Ok(AuthPin::new(raw.trim_end_matches(['\r', '\n']))?)
    }
}

/// Runs the askpass program; its whole output stays in zeroizing buffers.
fn askpass(prog: &std::path::Path, prompt: &str) -> Result<Zeroizing<String>, CliError> {
    let io = |e| CliError::Io {
        what: "cannot run SSH_ASKPASS",
        path: prog.display().to_string(),
        source: e,
    };
    let mut child = Command::new(prog)
        .arg(prompt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io)?;
    let mut out = Zeroizing::new(Vec::new());
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut out).map_err(io)?;
    }
    let status = child.wait().map_err(io)?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "SSH_ASKPASS ({}) was cancelled or failed ({status}); no PIN, no try spent",
            prog.display()
        )));
    }
    let text = std::str::from_utf8(&out)
        .map_err(|_| CliError::Usage("SSH_ASKPASS printed something that is not text".into()))?;
    Ok(Zeroizing::new(
        text.lines().next().unwrap_or("").to_string(),
    ))
}

/// Whether `/dev/tty` exists for us and we are its foreground process group
/// (reading it from the background would stop the agent with SIGTTIN).
fn foreground_terminal() -> bool {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    match rustix::termios::tcgetpgrp(&tty) {
        Ok(pgrp) => pgrp == rustix::process::getpgrp(),
        Err(_) => false,
    }
}
