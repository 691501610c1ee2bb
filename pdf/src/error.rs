//! The crate's error: what makes a file unusable for signing or checking.
//! Texts are English; a front end that speaks another language matches on
//! the variants (the names of files are the caller's, for its messages).

/// A PDF that cannot be signed or checked, or a signature that cannot be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not start with `%PDF-`.
    #[error("{name} is not a PDF file (it does not start with %PDF-)")]
    NotPdf {
        /// The file, as the caller named it.
        name: String,
    },
    /// The file is encrypted (new objects would have to be encrypted too).
    #[error("{name} is encrypted; encrypted PDFs cannot be signed (decrypt it first)")]
    Encrypted {
        /// The file.
        name: String,
    },
    /// The file cannot be read.
    #[error("cannot read {name}: {source}")]
    Io {
        /// The file.
        name: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The PDF is readable but a signature cannot be added to it (certified
    /// "no changes", no such page, …).
    #[error("cannot sign {name}: {reason}")]
    CannotSign {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
    /// A file with no signature to check.
    #[error("{name} has no signatures")]
    NoSignatures {
        /// The file.
        name: String,
    },
    /// Signature dictionaries that no field of the current revision refers to.
    #[error("{name} contains {count} signature dictionar(y/ies), but no signature field of the current revision refers to one: a later revision removed the signatures")]
    SignaturesRemoved {
        /// The file.
        name: String,
        /// How many `/ByteRange`s the file holds.
        count: usize,
    },
    /// Building the CMS failed (the signer's error inside).
    #[error(transparent)]
    Cms(#[from] jpki_cms::Error),
    /// Anything else that is wrong with the file or an input (a stamp image,
    /// a font), in English.
    #[error("{0}")]
    Invalid(String),
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Invalid(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::Invalid(s.to_string())
    }
}
