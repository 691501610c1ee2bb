//! Where a PIN comes from, for every front door of jpki (the CLI, the ssh agent, the OpenSSL
//! provider, the PKCS#11 module): one reader of files, standard input, variables, terminals and
//! prompt programs, so that all of them have the same limits and the same care with secrets.
//!
//! ```text
//! file:/run/secrets/jpki-pin     first line of the file, read anew each time
//! env:JPKI_PIN                   the variable's value (first line)
//! pinentry                       the `pinentry` on PATH (Debian alternative), over Assuan
//! pinentry:/usr/bin/pinentry-gnome3
//! ```
//!
//! These are the forms [`PinSource::parse`] accepts (configuration files, URIs). Programs build
//! the other sources directly: [`PinSource::Stdin`] (`--pin-file -`), [`PinSource::Terminal`]
//! (a hidden prompt on `/dev/tty`), [`PinSource::Askpass`] (a program that prints the PIN, as
//! OpenSSH runs `SSH_ASKPASS`; [`PinSource::openssh_askpass`] applies OpenSSH's rule).
//!
//! ```
//! use jpki_pin_source::{PinSource, Request};
//!
//! let dir = std::env::temp_dir().join(format!("pin-source-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("pin"), "1234\nignored\n")?;
//! let source = PinSource::parse(&format!("file:{}", dir.join("pin").display()))?;
//! let pin = source.read(&Request::default())?;
//! assert_eq!(pin.as_str(), "1234");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate only fetches text. It does not check a PIN's format, talk to a card, count tries
//! or remember anything: the caller applies the PIN law (jpki-card) to what comes back, and
//! gives the texts a person sees (in the caller's language) in a [`Request`]. Values travel in
//! zeroizing buffers, every source is cut at [`MAX_LEN`] bytes, and no error holds a value or
//! the path of a PIN file (a PIN typed where the path belonged would be shown).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod askpass;
mod assuan;
mod text;
mod tty;

pub use tty::foreground_terminal;

use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Largest input accepted from any source, in bytes: a PIN is a line, not a document.
pub const MAX_LEN: usize = 4096;

/// Where a PIN is read from.
#[derive(Clone, PartialEq, Eq)]
pub enum PinSource {
    /// The first line of a file, read anew at each [`PinSource::read`].
    File(PathBuf),
    /// The first line of standard input (`-` on a command line); only that line is consumed.
    Stdin,
    /// An environment variable.
    Env(String),
    /// A pinentry program (Assuan on its stdin/stdout).
    Pinentry(PathBuf),
    /// A program run with the prompt as its only argument that prints the PIN on its standard
    /// output, as OpenSSH runs `SSH_ASKPASS`. A failing exit status means "cancelled".
    Askpass(PathBuf),
    /// A hidden prompt on the controlling terminal (`/dev/tty`), only while this process is in
    /// the terminal's foreground (reading from the background would stop it).
    Terminal,
}

/// What the user is asked. Prompt programs and the terminal show it; files, standard input and
/// variables ignore it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Window title (pinentry).
    pub title: String,
    /// The explanation (which PIN, tries left), may hold several lines (pinentry).
    pub description: String,
    /// The line before the entry: the terminal's prompt, askpass's argument, pinentry's label.
    pub prompt: String,
    /// Why the previous attempt failed, if it did (pinentry).
    pub error: Option<String>,
}

/// Why no PIN came back. Never holds the PIN, nor the path of a PIN file.
#[derive(Debug, thiserror::Error)]
pub enum PinSourceError {
    /// The text cannot be parsed as a pin-source. The text is not repeated: it may be a PIN.
    #[error(
        "not a pin-source: use file:PATH, env:VARIABLE, pinentry or pinentry:PROGRAM (the value given is not shown: it may be a PIN)"
    )]
    Syntax,
    /// The user cancelled the pinentry prompt.
    #[error("the PIN prompt was cancelled")]
    Cancelled,
    /// A prompt program (askpass) ended with a failure: cancelled, or it could not ask.
    #[error("{source_name} was cancelled or failed ({status}); no PIN")]
    Declined {
        /// [`PinSource::describe`] of the source.
        source_name: String,
        /// The program's exit status, as text.
        status: String,
    },
    /// [`PinSource::Terminal`] without a terminal in whose foreground this process runs.
    #[error(
        "there is no terminal to ask for the PIN on (or this process is not in its foreground)"
    )]
    NoTerminal,
    /// Reading failed in the operating system (open, read, start a program).
    #[error("cannot read the PIN from {source_name}: {source}")]
    Io {
        /// [`PinSource::describe`] of the source.
        source_name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The source gave something that is not a PIN line (too large, not text, empty, unset).
    #[error("cannot read the PIN from {source_name}: {reason}")]
    Unavailable {
        /// [`PinSource::describe`] of the source.
        source_name: String,
        /// What went wrong.
        reason: String,
    },
}

impl PinSourceError {
    /// What went wrong, without the source's name: the OS error's kind for I/O failures
    /// (`entity not found`), else the reason.
    pub fn reason(&self) -> String {
        match self {
            PinSourceError::Io { source, .. } => source.kind().to_string(),
            PinSourceError::Unavailable { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// The configuration form (`file:PATH`, `env:VAR`, `pinentry:PROGRAM`); `-`, `askpass:PROGRAM`
/// and `terminal` for the sources that only programs build.
impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinSource::File(p) => write!(f, "file:{}", p.display()),
            PinSource::Stdin => f.write_str("-"),
            PinSource::Env(v) => write!(f, "env:{v}"),
            PinSource::Pinentry(p) => write!(f, "pinentry:{}", p.display()),
            PinSource::Askpass(p) => write!(f, "askpass:{}", p.display()),
            PinSource::Terminal => f.write_str("terminal"),
        }
    }
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinSource({self})")
    }
}

impl PinSource {
    /// Parses `file:PATH`, `env:VAR`, `pinentry` or `pinentry:PROGRAM`, surrounding blanks
    /// ignored (a configuration line). A variable name cannot hold `=`.
    pub fn parse(s: &str) -> Result<PinSource, PinSourceError> {
        PinSource::parse_exact(s.trim())
    }

    /// As [`PinSource::parse`], every character taken as written (a URI attribute, where a
    /// path may end in a blank).
    pub fn parse_exact(s: &str) -> Result<PinSource, PinSourceError> {
        if s == "pinentry" {
            return Ok(PinSource::Pinentry(PathBuf::from("pinentry")));
        }
        let (scheme, rest) = s.split_once(':').ok_or(PinSourceError::Syntax)?;
        if rest.is_empty() {
            return Err(PinSourceError::Syntax);
        }
        match scheme {
            "file" => Ok(PinSource::File(PathBuf::from(rest))),
            "env" if !rest.contains('=') => Ok(PinSource::Env(rest.to_string())),
            "pinentry" => Ok(PinSource::Pinentry(PathBuf::from(rest))),
            _ => Err(PinSourceError::Syntax),
        }
    }

    /// `SSH_ASKPASS` as OpenSSH uses it: the program when `SSH_ASKPASS` is set and either there
    /// is no terminal to ask on or `SSH_ASKPASS_REQUIRE` is `force` or `prefer`.
    pub fn openssh_askpass() -> Option<PinSource> {
        let program = std::env::var_os("SSH_ASKPASS").filter(|a| !a.is_empty())?;
        let require = std::env::var("SSH_ASKPASS_REQUIRE").unwrap_or_default();
        let wanted = require == "force" || require == "prefer" || !foreground_terminal();
        wanted.then(|| PinSource::Askpass(PathBuf::from(program)))
    }

    /// Whether a person answers (pinentry, askpass, terminal) rather than a file, a pipe or a
    /// variable: a person can be asked again after a typo, a file would give the same refused
    /// value again.
    pub fn is_interactive(&self) -> bool {
        matches!(
            self,
            PinSource::Pinentry(_) | PinSource::Askpass(_) | PinSource::Terminal
        )
    }

    /// Names the source for messages and logs: never a PIN file's path (a PIN typed where the
    /// path belonged would be shown), never a value.
    pub fn describe(&self) -> String {
        match self {
            PinSource::File(_) => "file, path not shown".into(),
            PinSource::Stdin => "standard input".into(),
            PinSource::Env(v) => format!("env:{v}"),
            PinSource::Pinentry(p) => format!("pinentry:{}", p.display()),
            PinSource::Askpass(p) => format!("askpass:{}", p.display()),
            PinSource::Terminal => "the terminal".into(),
        }
    }

    /// Fetches the PIN: the first line, without its line end. An empty line is refused.
    pub fn read(&self, request: &Request) -> Result<Zeroizing<String>, PinSourceError> {
        let line = self.read_line(request)?;
        if line.is_empty() {
            return Err(self.unavailable("it is empty"));
        }
        Ok(line)
    }

    /// As [`PinSource::read`], but an empty line comes back as it is, for callers whose own
    /// format check explains what a PIN must look like.
    pub fn read_line(&self, request: &Request) -> Result<Zeroizing<String>, PinSourceError> {
        let io = |source| PinSourceError::Io {
            source_name: self.describe(),
            source,
        };
        let bytes: Zeroizing<Vec<u8>> = match self {
            PinSource::File(path) => text::read_file(path).map_err(io)?,
            PinSource::Stdin => text::read_stdin_line().map_err(io)?,
            PinSource::Env(var) => match std::env::var(var) {
                Ok(v) => Zeroizing::new(Zeroizing::new(v).as_bytes().to_vec()),
                Err(_) => return Err(self.unavailable("the variable is not set or not text")),
            },
            PinSource::Pinentry(program) => {
                let text = assuan::get_pin(program, request).map_err(|e| match e {
                    assuan::Failure::Cancelled => PinSourceError::Cancelled,
                    assuan::Failure::Other(reason) => self.unavailable(&reason),
                })?;
                Zeroizing::new(text.as_bytes().to_vec())
            }
            PinSource::Askpass(program) => {
                match askpass::run(program, &request.prompt).map_err(io)? {
                    askpass::Answer::Printed(out) => out,
                    askpass::Answer::Failed(status) => {
                        return Err(PinSourceError::Declined {
                            source_name: self.describe(),
                            status,
                        })
                    }
                }
            }
            PinSource::Terminal => tty::prompt(&request.prompt).map_err(|e| match e {
                tty::Failure::NoTerminal => PinSourceError::NoTerminal,
                tty::Failure::Io(e) => io(e),
            })?,
        };
        if bytes.len() > MAX_LEN {
            return Err(self.unavailable(self.too_large()));
        }
        text::first_line(&bytes).ok_or_else(|| self.unavailable(self.not_text()))
    }

    fn unavailable(&self, reason: &str) -> PinSourceError {
        PinSourceError::Unavailable {
            source_name: self.describe(),
            reason: reason.to_string(),
        }
    }

    fn too_large(&self) -> &'static str {
        match self {
            PinSource::File(_) => "the file is too large to be a PIN file",
            _ => "it is too long to be a PIN",
        }
    }

    fn not_text(&self) -> &'static str {
        match self {
            PinSource::File(_) => "the file is not text",
            _ => "it is not text",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_configuration_forms_only() {
        assert_eq!(
            PinSource::parse("file:/x").unwrap(),
            PinSource::File("/x".into())
        );
        assert_eq!(
            PinSource::parse("env:V").unwrap(),
            PinSource::Env("V".into())
        );
        assert_eq!(
            PinSource::parse(" pinentry ").unwrap(),
            PinSource::Pinentry("pinentry".into())
        );
        for bad in [
            "file:",
            "1234",
            "http:x",
            "env:A=B",
            "-",
            "terminal",
            "askpass:/x",
        ] {
            assert!(PinSource::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PinSource::parse_exact("file:/a ").unwrap(),
            PinSource::File("/a ".into())
        );
        assert!(PinSource::parse_exact(" env:X").is_err());
        let shown = PinSource::parse("QZ7PASS93").unwrap_err().to_string();
        assert!(!shown.contains("QZ7PASS93"), "{shown}");
    }

    #[test]
    fn display_round_trips_through_parse() {
        for s in [
            "file:/run/pin",
            "env:JPKI_PIN",
            "pinentry:/usr/bin/pinentry",
        ] {
            assert_eq!(PinSource::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn reads_the_first_line_of_a_file_and_never_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        std::fs::write(&f, "1234\r\nrest\n").unwrap();
        let src = PinSource::File(f.clone());
        assert_eq!(src.read(&Request::default()).unwrap().as_str(), "1234");
        std::fs::write(&f, "\n").unwrap();
        let e = src.read(&Request::default()).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        assert_eq!(src.read_line(&Request::default()).unwrap().as_str(), "");
    }

    #[test]
    fn a_file_over_the_limit_or_not_text_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        std::fs::write(&f, "1".repeat(MAX_LEN + 1)).unwrap();
        let src = PinSource::File(f.clone());
        let e = src.read(&Request::default()).unwrap_err();
        assert_eq!(e.reason(), "the file is too large to be a PIN file");
        std::fs::write(&f, "1".repeat(MAX_LEN)).unwrap();
        assert_eq!(src.read(&Request::default()).unwrap().len(), MAX_LEN);
        std::fs::write(&f, b"12\xff4\n").unwrap();
        let e = src.read(&Request::default()).unwrap_err();
        assert_eq!(e.reason(), "the file is not text");
    }

    #[test]
    fn errors_name_no_file_path_and_no_value() {
        let secret = "QZ7PASS93";
        let src = PinSource::File(format!("/nonexistent/{secret}").into());
        let e = src.read(&Request::default()).unwrap_err();
        assert!(matches!(e, PinSourceError::Io { .. }), "{e:?}");
        assert_eq!(e.reason(), "entity not found");
        assert!(!e.to_string().contains(secret), "{e}");
        assert!(!format!("{e:?}").contains(secret), "{e:?}");
        assert!(e.to_string().contains("path not shown"), "{e}");
    }

    #[test]
    fn an_unset_variable_is_named_and_a_set_one_read() {
        let e = PinSource::Env("JPKI_PIN_SOURCE_SURELY_UNSET".into())
            .read(&Request::default())
            .unwrap_err();
        assert!(
            e.to_string().contains("env:JPKI_PIN_SOURCE_SURELY_UNSET"),
            "{e}"
        );
        assert_eq!(e.reason(), "the variable is not set or not text");
        // PATH is set in every test environment and is never empty.
        let path = std::env::var("PATH").unwrap();
        let got = PinSource::Env("PATH".into())
            .read(&Request::default())
            .unwrap();
        assert_eq!(got.as_str(), path.lines().next().unwrap());
    }

    /// Run by `stdin_gives_its_first_line_and_keeps_the_rest` with a piped standard input.
    #[test]
    #[ignore = "run by stdin_gives_its_first_line_and_keeps_the_rest"]
    fn child_reads_stdin() {
        use std::io::Read;
        let pin = PinSource::Stdin.read(&Request::default()).unwrap();
        let mut rest = String::new();
        std::io::stdin().read_to_string(&mut rest).unwrap();
        println!("PIN=[{}] REST=[{}]", pin.as_str(), rest.escape_default());
    }

    #[test]
    fn stdin_gives_its_first_line_and_keeps_the_rest() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::child_reads_stdin",
                "--ignored",
                "--nocapture",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(b"1234\r\n%PDF-1.7 document\n").unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains(r"PIN=[1234] REST=[%PDF-1.7 document\n]"),
            "{text}"
        );
    }

    #[test]
    fn who_answers() {
        assert!(PinSource::Terminal.is_interactive());
        assert!(PinSource::Askpass("/x".into()).is_interactive());
        assert!(!PinSource::Stdin.is_interactive());
        assert!(!PinSource::File("/x".into()).is_interactive());
        assert_eq!(PinSource::Stdin.describe(), "standard input");
        assert_eq!(PinSource::Terminal.describe(), "the terminal");
    }
}
