//! The agent's error type: what can stop it from starting or serving. Failures of one request
//! (a wrong PIN, a pulled card) are not errors of the agent: they are logged and the client
//! gets SSH_AGENT_FAILURE.

use jpki_card::CardError;

/// Why the agent cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the card layer (its messages already say what to do).
    #[error(transparent)]
    Card(#[from] CardError),
    /// A file or socket operation of the operating system failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("cannot listen on", …).
        what: &'static str,
        /// The path concerned (a socket or directory, never a PIN file).
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The caller asked for something the agent refuses (a multi-line comment, a path that is
    /// not a stale socket, a token whose auth certificate needs the PIN).
    #[error("{0}")]
    Usage(String),
    /// The auth certificate's key cannot be turned into an OpenSSH key.
    #[error("cannot decode the certificate from the card: {0}")]
    Cert(String),
}
