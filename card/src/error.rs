//! The card layer's error type: each variant says what happened and, in its
//! message, what the user can do. Tries left travel with PIN errors so no
//! caller has to ask the card again.

use crate::pin::{PinKind, Tries};
use crate::token::TokenKind;
use jpki_apdu::StatusWord;

/// Everything that can go wrong talking to a card.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// pcscd is not running or not reachable.
    #[error("cannot reach the PC/SC service (pcscd); start it (e.g. `systemctl start pcscd.socket` or `pcscd`) and try again")]
    NoService,
    /// The connection to pcscd broke during an operation (pcscd stopped or restarted).
    #[error("lost the connection to the PC/SC service (pcscd) during the operation: it stopped or was restarted; retry once it runs again (no PIN try was spent unless reported)")]
    ServiceLost,
    /// PC/SC has no readers at all.
    #[error("no smart-card reader found; connect a reader and try again")]
    NoReaders,
    /// No reader name contains the requested text.
    #[error("no reader matches \"{filter}\"; readers present: {available}")]
    NoReaderMatches {
        /// The requested substring.
        filter: String,
        /// Names of the readers that exist.
        available: String,
    },
    /// Automatic choice found no card in a real reader; the virtual (software) readers that
    /// exist were skipped, because anyone who can reach them can put a card of their own
    /// making there. Name one explicitly to use it.
    #[error("no My Number card found in a real reader; the virtual (software) readers {skipped} were skipped: a card in them is whatever a program made it. To use one on purpose, name it with --reader, reader= or the environment variable JPKI_READER")]
    OnlyVirtualReaders {
        /// The skipped readers' names, quoted and comma-separated.
        skipped: String,
    },
    /// A reader is there but holds no card.
    #[error("no card in reader \"{reader}\"; insert your My Number card and try again")]
    NoCard {
        /// Reader name (or "any reader").
        reader: String,
    },
    /// The card does not carry the JPKI application.
    #[error(
        "the card in reader \"{reader}\" is not a My Number card (it has no JPKI application)"
    )]
    NotJpki {
        /// Reader name.
        reader: String,
    },
    /// A JPKI token this tool refuses (e.g. an old 住基カード).
    #[error("the card in reader \"{reader}\" is {token}, which jpki does not support; use a My Number card (マイナンバーカード)")]
    UnsupportedToken {
        /// Reader name.
        reader: String,
        /// What the card says it is.
        token: TokenKind,
    },
    /// The card went away during an operation.
    #[error("the card was removed or reset during the operation; insert it again and retry (no PIN try was spent unless reported)")]
    CardRemoved,
    /// The reader itself went away (unplugged, or its driver gone).
    #[error("the reader \"{reader}\" disappeared during the operation (unplugged?); plug it in again and retry (no PIN try was spent unless reported)")]
    ReaderGone {
        /// Reader name.
        reader: String,
    },
    /// The reader passed on no answer at all (not even a status word): the card lost
    /// contact or power in the middle of a command.
    #[error("the card was removed or lost contact in the middle of a command (the reader passed on no answer); insert it again and retry (no PIN try was spent unless reported)")]
    NoAnswer,
    /// The card went away after a VERIFY was sent and before its answer came: the card may
    /// have counted the try.
    #[error("the card was removed or lost contact while it was checking the {pin}; if the value was wrong the card may have counted that try, and the tries left show once the card is back (nothing was retried)")]
    LostDuringVerify {
        /// Which PIN.
        pin: PinKind,
    },
    /// The card went away after CHANGE REFERENCE DATA was sent and before its answer came.
    #[error("the card was removed or lost contact while changing the {pin}; the change may or may not have been made: the old and the new value are both possible now")]
    LostDuringChange {
        /// Which PIN.
        pin: PinKind,
    },
    /// A response shorter than the card always gives: the reader dropped bytes.
    #[error("the reader delivered {got} of the {expected} bytes of {what}; some readers (often contactless ones) cannot pass a response of exactly 256 bytes: use another reader")]
    Truncated {
        /// What was read.
        what: &'static str,
        /// Bytes received.
        got: usize,
        /// Bytes the card sends.
        expected: usize,
    },
    /// The card was reset by another program between our commands.
    #[error("another program reset the card during the operation; retry")]
    CardReset,
    /// A PIN in the wrong format, caught before anything was sent.
    #[error("{pin}: {reason} (nothing was sent to the card, no try spent)")]
    BadPinFormat {
        /// Which PIN.
        pin: PinKind,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The card rejected the PIN.
    #[error("wrong {pin}, {left} left")]
    WrongPin {
        /// Which PIN.
        pin: PinKind,
        /// Tries left after this failure (never 0: that is [`CardError::Blocked`]).
        left: Tries,
    },
    /// The PIN is blocked (no tries left).
    #[error("{pin} is blocked (no tries left); only the municipal office can unblock it")]
    Blocked {
        /// Which PIN.
        pin: PinKind,
    },
    /// Only one try is left and the caller did not allow spending it.
    #[error("only 1 try left for the {pin}; refusing to try so the card does not lock. If you are sure, retry with the last-try override (e.g. --force-last-try)")]
    LastTryRefused {
        /// Which PIN.
        pin: PinKind,
    },
    /// An operation needed a PIN that was not verified first (a bug in the caller).
    #[error("the card refused the operation because the {pin} was not verified")]
    NotVerified {
        /// Which PIN.
        pin: PinKind,
    },
    /// A status word we did not expect at this step.
    #[error("the card answered {sw} to {op}; the card may be damaged or not a My Number card")]
    Unexpected {
        /// What we were doing.
        op: &'static str,
        /// What it said.
        sw: StatusWord,
    },
    /// The card refused RSA-PSS (COMPUTE DIGITAL SIGNATURE P1=04).
    #[error("this card does not do RSA-PSS signatures; use PKCS#1 v1.5 (for TLS: cap at TLS 1.2 with RSA+SHA256 signature algorithms)")]
    PssUnsupported,
    /// Data from the card that does not parse.
    #[error("the card returned malformed data for {what}")]
    Malformed {
        /// What we were reading.
        what: &'static str,
    },
    /// Any other PC/SC failure.
    #[error("PC/SC error: {0}")]
    Pcsc(String),
}

impl CardError {
    /// Whether the card went away (removed, lost contact, reset, pcscd gone): the session is
    /// over, and anything learnt through it may be stale.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            CardError::CardRemoved
                | CardError::ReaderGone { .. }
                | CardError::NoAnswer
                | CardError::LostDuringVerify { .. }
                | CardError::LostDuringChange { .. }
                | CardError::CardReset
                | CardError::NoCard { .. }
                | CardError::NoService
                | CardError::ServiceLost
                | CardError::Pcsc(_)
        )
    }
}

/// Result with [`CardError`].
pub type Result<T> = std::result::Result<T, CardError>;
