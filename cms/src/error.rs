//! The crate's errors: one enum for building (signing, timestamps), one for
//! checking ([`VerifyError`]), so a caller can tell "could not make it" from
//! "it is not valid". Texts are English; a front end that speaks another
//! language matches on the variants.

use crate::sign::SignerError;

/// Building a signature or adding a timestamp failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The signer's (or a chain) certificate cannot be decoded, or its key is not RSA.
    #[error("{0}")]
    Certificate(String),
    /// The `cms` builder refused (an encoding problem).
    #[error("cannot build the CMS structure: {0}")]
    Build(String),
    /// The signer failed; its own error, unchanged (downcast it).
    #[error("{0}")]
    Signer(SignerError),
    /// The signer's signature does not verify with the certificate's key
    /// (a wrong key slot): nothing is returned.
    #[error("the signature does not verify with the signer certificate's key")]
    WrongKey,
    /// The time-stamping authority at `url` failed or answered wrongly.
    #[error("timestamp from {url}: {reason}")]
    Timestamp {
        /// The TSA's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A CMS given to add a timestamp to cannot be decoded or re-encoded.
    #[error("{0}")]
    Structure(String),
}

/// Why a signature is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The content's SHA-256 is not the signed messageDigest.
    #[error(
        "the content's SHA-256 differs from the signed messageDigest: the signed data was changed"
    )]
    DigestMismatch,
    /// The signer certificate does not chain to a trusted CA.
    #[error("the signer certificate does not chain to a CA in {ca}: {reason}")]
    NotChained {
        /// The file of trusted CA certificates.
        ca: String,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The CMS is detached (holds no content) and was checked without the
    /// content it signs.
    #[error("the CMS is detached: the signed content must be given to check it")]
    ContentMissing,
    /// The RFC 3161 timestamp token over the signature does not verify (its
    /// own CMS signature, or its TSA's chain to the trusted TSA CAs).
    #[error("the timestamp token is not valid: {0}")]
    InvalidTimestamp(Box<VerifyError>),
    /// Anything else: what is wrong, in English.
    #[error("{0}")]
    Invalid(String),
}

impl From<String> for VerifyError {
    fn from(s: String) -> Self {
        VerifyError::Invalid(s)
    }
}

impl From<&str> for VerifyError {
    fn from(s: &str) -> Self {
        VerifyError::Invalid(s.to_string())
    }
}
