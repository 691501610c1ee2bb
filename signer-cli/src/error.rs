//! The CLI's error type and its single conversion to a message and exit code.

use crate::i18n::{self, Lang, Msg};
use jpki_card::CardError;
use std::process::ExitCode;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the card layer (its messages already say what to do).
    #[error(transparent)]
    Card(#[from] CardError),
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// "cannot read", "cannot write" …
        what: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The user must do something differently.
    #[error("{0}")]
    Usage(String),
    /// Certificate data that OpenSSL cannot parse.
    #[error("cannot decode the certificate from the card: {0}")]
    Cert(String),
    /// An input document (PDF, CMS, content) that cannot be used, or a signature that cannot be built.
    #[error("{0}")]
    Document(String),
    /// A signature that did not verify (`verify`, `cms verify`).
    #[error("{0}")]
    NotValid(String),
}

fn code(e: &CliError) -> u8 {
    match e {
        CliError::Card(c) => match c {
            CardError::NoService
            | CardError::NoReaders
            | CardError::NoReaderMatches { .. }
            | CardError::NoCard { .. }
            | CardError::NotJpki { .. }
            | CardError::UnsupportedToken { .. }
            | CardError::ServiceLost
            | CardError::CardRemoved
            | CardError::ReaderGone { .. }
            | CardError::NoAnswer
            | CardError::LostDuringVerify { .. }
            | CardError::LostDuringChange { .. } => 3,
            CardError::BadPinFormat { .. }
            | CardError::WrongPin { .. }
            | CardError::Blocked { .. }
            | CardError::LastTryRefused { .. } => 4,
            _ => 5,
        },
        CliError::Io { .. } | CliError::Usage(_) | CliError::Cert(_) | CliError::Document(_) => 1,
        CliError::NotValid(_) => 6,
    }
}

/// The error's text in `lang`: card and file errors are translated here;
/// the other variants carry text already written in the run's language.
pub fn message(e: &CliError, lang: Lang) -> String {
    match e {
        CliError::Card(c) => i18n::card_error(c, lang),
        CliError::Io { what, path, source } => i18n::io_error(what, path, source, lang),
        other => other.to_string(),
    }
}

/// Prints one line on stderr and returns the exit code.
pub fn report(e: &CliError) -> ExitCode {
    let lang = i18n::lang();
    eprintln!(
        "jpki-sign: {}: {}",
        Msg::ErrorPrefix.text(lang),
        message(e, lang)
    );
    ExitCode::from(code(e))
}
