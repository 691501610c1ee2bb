//! The module's error type and its one conversion to `CK_RV`.
//!
//! Inner code returns [`P11Error`]; only the entry points in `entry.rs` turn it into a return
//! value, through [`P11Error::rv`]. A card error keeps its meaning (wrong PIN, blocked, card
//! pulled); nothing here logs a PIN.

use cryptoki_sys::*;
use jpki_card::CardError;
use jpki_pin_source::PinSourceError;

/// Everything that can fail inside the module.
#[derive(Debug, thiserror::Error)]
pub enum P11Error {
    /// A PKCS#11 condition named by its return value (bad handle, bad arguments, ...).
    #[error("PKCS#11 error 0x{0:x}")]
    Rv(CK_RV),
    /// The card layer refused or failed.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The configured pin-source gave nothing.
    #[error(transparent)]
    PinSource(#[from] PinSourceError),
    /// The card returned a signature that its certificate does not verify.
    #[error("the card's signature does not match its certificate (card swapped?)")]
    BadSignature,
    /// A PIN the card already refused in this process: never sent again.
    #[error("this PIN was already refused by the card; it is not sent again")]
    AlreadyRefused,
}

/// `Result` with [`P11Error`].
pub type Result<T> = std::result::Result<T, P11Error>;

impl P11Error {
    /// The one mapping to PKCS#11 return values.
    pub fn rv(&self) -> CK_RV {
        match self {
            P11Error::Rv(rv) => *rv,
            P11Error::Card(e) => card_rv(e),
            P11Error::PinSource(PinSourceError::Cancelled) => CKR_FUNCTION_CANCELED,
            P11Error::PinSource(_) => CKR_FUNCTION_FAILED,
            P11Error::BadSignature => CKR_DEVICE_ERROR,
            P11Error::AlreadyRefused => CKR_PIN_INCORRECT,
        }
    }
}

fn card_rv(e: &CardError) -> CK_RV {
    match e {
        CardError::BadPinFormat { .. } => CKR_PIN_INVALID,
        CardError::WrongPin { .. } => CKR_PIN_INCORRECT,
        // The last try is treated as locked unless configured otherwise (README: last-try).
        CardError::Blocked { .. } | CardError::LastTryRefused { .. } => CKR_PIN_LOCKED,
        CardError::NotVerified { .. } => CKR_USER_NOT_LOGGED_IN,
        CardError::PssUnsupported => CKR_MECHANISM_INVALID,
        CardError::NoCard { .. } | CardError::NoReaders | CardError::NoReaderMatches { .. } => {
            CKR_TOKEN_NOT_PRESENT
        }
        CardError::NotJpki { .. } | CardError::UnsupportedToken { .. } => CKR_TOKEN_NOT_RECOGNIZED,
        CardError::CardRemoved
        | CardError::ReaderGone { .. }
        | CardError::NoAnswer
        | CardError::CardReset
        | CardError::LostDuringVerify { .. }
        | CardError::LostDuringChange { .. } => CKR_DEVICE_REMOVED,
        _ => CKR_DEVICE_ERROR,
    }
}

/// Shorthand for a PKCS#11 condition.
pub fn rv<T>(rv: CK_RV) -> Result<T> {
    Err(P11Error::Rv(rv))
}
