//! Where a PIN comes from when the program that needs it cannot ask: a file (servers, tests),
//! an environment variable, or the desktop's `pinentry` program spoken to over Assuan.
//!
//! ```text
//! file:/run/secrets/jpki-pin     first line of the file
//! env:JPKI_PIN                   the variable's value
//! pinentry                       the `pinentry` on PATH (Debian alternative)
//! pinentry:/usr/bin/pinentry-gnome3
//! ```
//!
//! This crate only fetches text. It does not check a PIN's format, talk to a card or remember
//! anything: the caller applies the PIN law (jpki-card) to what comes back. Values travel in
//! zeroizing buffers and are never part of an error message.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod assuan;

use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Largest PIN file accepted: a PIN is a line, not a document.
const MAX_FILE: u64 = 4096;

/// Where a PIN is read from.
#[derive(Clone, PartialEq, Eq)]
pub enum PinSource {
    /// The first line of a file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A pinentry program (Assuan on stdin/stdout).
    Pinentry(PathBuf),
}

/// What the user is asked: shown by pinentry, ignored by files and variables.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Window title.
    pub title: String,
    /// The explanation (which PIN, tries left), may hold several lines.
    pub description: String,
    /// The label before the entry field.
    pub prompt: String,
    /// Why the previous attempt failed, if it did.
    pub error: Option<String>,
}

/// Why no PIN came back. Never holds the PIN.
#[derive(Debug, thiserror::Error)]
pub enum PinSourceError {
    /// The text cannot be parsed as a pin-source.
    #[error(
        "\"{0}\" is not a pin-source: use file:PATH, env:VARIABLE, pinentry or pinentry:PROGRAM"
    )]
    Syntax(String),
    /// The user cancelled the prompt.
    #[error("the PIN prompt was cancelled")]
    Cancelled,
    /// The source could not deliver.
    #[error("cannot read the PIN from {source_name}: {reason}")]
    Unavailable {
        /// The source as configured (a path or variable name, never a value).
        source_name: String,
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinSource::File(p) => write!(f, "file:{}", p.display()),
            PinSource::Env(v) => write!(f, "env:{v}"),
            PinSource::Pinentry(p) => write!(f, "pinentry:{}", p.display()),
        }
    }
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinSource({self})")
    }
}

impl PinSource {
    /// Parses `file:PATH`, `env:VAR`, `pinentry` or `pinentry:PROGRAM`.
    pub fn parse(s: &str) -> Result<PinSource, PinSourceError> {
        let bad = || PinSourceError::Syntax(s.to_string());
        let s = s.trim();
        if s == "pinentry" {
            return Ok(PinSource::Pinentry(PathBuf::from("pinentry")));
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match scheme {
            "file" => Ok(PinSource::File(PathBuf::from(rest))),
            "env" => Ok(PinSource::Env(rest.to_string())),
            "pinentry" => Ok(PinSource::Pinentry(PathBuf::from(rest))),
            _ => Err(bad()),
        }
    }

    /// Whether a person answers (pinentry) rather than a file or variable: a person can be
    /// asked again after a typo, a file would give the same refused value again.
    pub fn is_interactive(&self) -> bool {
        matches!(self, PinSource::Pinentry(_))
    }

    /// Fetches the PIN (trailing CR/LF removed). Empty values are refused.
    pub fn read(&self, request: &Request) -> Result<Zeroizing<String>, PinSourceError> {
        let fail = |reason: String| PinSourceError::Unavailable {
            source_name: self.to_string(),
            reason,
        };
        let text = match self {
            PinSource::File(path) => read_file(path).map_err(fail)?,
            PinSource::Env(var) => Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| fail("the variable is not set or not text".into()))?,
            ),
            PinSource::Pinentry(program) => {
                assuan::get_pin(program, request).map_err(|e| match e {
                    assuan::Failure::Cancelled => PinSourceError::Cancelled,
                    assuan::Failure::Other(reason) => fail(reason),
                })?
            }
        };
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(fail("it is empty".into()));
        }
        Ok(Zeroizing::new(line.to_string()))
    }
}

fn read_file(path: &std::path::Path) -> Result<Zeroizing<String>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.kind().to_string())?;
    if meta.len() > MAX_FILE {
        return Err("the file is too large to be a PIN file".into());
    }
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| e.kind().to_string())?);
    let text = std::str::from_utf8(&bytes).map_err(|_| "the file is not text".to_string())?;
    Ok(Zeroizing::new(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!(
            PinSource::parse("file:/x").unwrap(),
            PinSource::File("/x".into())
        );
        assert_eq!(
            PinSource::parse("env:V").unwrap(),
            PinSource::Env("V".into())
        );
        assert_eq!(
            PinSource::parse("pinentry").unwrap(),
            PinSource::Pinentry("pinentry".into())
        );
        assert!(PinSource::parse("file:").is_err());
        assert!(PinSource::parse("1234").is_err());
        assert!(PinSource::parse("http:x").is_err());
    }

    #[test]
    fn reads_the_first_line_of_a_file_and_never_an_empty_one() {
        let dir = std::env::temp_dir().join(format!("jpki-pin-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pin");
        std::fs::write(&f, "1234\r\nrest\n").unwrap();
        let src = PinSource::File(f.clone());
        assert_eq!(src.read(&Request::default()).unwrap().as_str(), "1234");
        std::fs::write(&f, "\n").unwrap();
        let e = src.read(&Request::default()).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_never_carry_the_value() {
        let e = PinSource::Env("JPKI_PIN_SOURCE_SURELY_UNSET".into())
            .read(&Request::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("JPKI_PIN_SOURCE_SURELY_UNSET"), "{e}");
    }
}
