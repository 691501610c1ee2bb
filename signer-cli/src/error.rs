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

/// The ssh agent's error, converted once: the same wording and exit code as the CLI's own.
impl From<jpki_ssh_agent::Error> for CliError {
    fn from(e: jpki_ssh_agent::Error) -> Self {
        match e {
            jpki_ssh_agent::Error::Card(e) => CliError::Card(e),
            jpki_ssh_agent::Error::Io { what, path, source } => CliError::Io { what, path, source },
            jpki_ssh_agent::Error::Usage(m) => CliError::Usage(m),
            jpki_ssh_agent::Error::Cert(m) => CliError::Cert(m),
        }
    }
}

/// A signature could not be built: the card's own error comes back as
/// itself (its exit code and message), the rest as a document problem.
impl From<jpki_cms::Error> for CliError {
    fn from(e: jpki_cms::Error) -> Self {
        match e {
            jpki_cms::Error::Certificate(m) => CliError::Cert(m),
            jpki_cms::Error::Signer(inner) => match inner.downcast::<CardError>() {
                Ok(card) => CliError::Card(*card),
                Err(other) => CliError::Document(other.to_string()),
            },
            jpki_cms::Error::WrongKey => CliError::Document(Msg::WrongKey.to_string()),
            other => CliError::Document(other.to_string()),
        }
    }
}

/// A PDF that cannot be signed: in the run's language where the CLI has the words.
impl From<jpki_pdf::Error> for CliError {
    fn from(e: jpki_pdf::Error) -> Self {
        match e {
            jpki_pdf::Error::Io { name, source } => CliError::Io {
                what: "cannot read",
                path: name,
                source,
            },
            jpki_pdf::Error::Cms(e) => CliError::from(e),
            other => CliError::Document(i18n::pdf_error(&other)),
        }
    }
}

fn code(e: &CliError) -> u8 {
    match e {
        CliError::Card(c) => match c {
            CardError::NoService
            | CardError::NoReaders
            | CardError::NoReaderMatches { .. }
            | CardError::NoCard { .. }
            | CardError::OnlyVirtualReaders { .. }
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
