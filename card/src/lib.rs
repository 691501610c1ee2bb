//! Typed, PIN-safe access to the JPKI application of the Japanese My Number card.
//!
//! ```no_run
//! use jpki_card::{Card, ReaderChoice, KeyKind, LastTry, SignPassword, DigestInfo, HashAlg};
//! # fn main() -> Result<(), jpki_card::CardError> {
//! let mut card = Card::open(&ReaderChoice::Auto)?;
//! let password = SignPassword::new("abc123")?; // upper-cased and checked offline
//! let di = DigestInfo::new(HashAlg::Sha256, &[0u8; 32]).expect("32 bytes");
//! let mut s = card.session()?;          // one PC/SC transaction
//! s.verify(&password, LastTry::Refuse)?; // queries the counter first, never retries
//! let sig = s.sign(KeyKind::Sign, &di)?;
//! # let _ = sig; Ok(()) }
//! ```
//!
//! * [`card`]: finding the reader and card ([`Card::open`]); virtual readers only when named
//!   ([`ReaderChoice::from_env_or`], [`is_virtual_reader`], [`eligible_readers`]);
//! * [`session`]: one transaction's commands (certificates, token, signing);
//! * [`signature_check`]: what the card signs ([`SignInput`]) and the check of its signature
//!   against the certificate's public key ([`check_card_signature`]);
//! * [`verify`]: **the PIN policy** — the only code that sends VERIFY/CHANGE;
//! * [`pin`]: self-validating PIN types and [`Tries`];
//! * [`transport`], [`pcsc`], `virtual_reader`: how APDUs travel, and the APDU trace;
//! * [`text`]: the text AP's 基本4情報.
//!
//! This crate knows nothing of OpenSSL, CMS or PDF, and never logs a PIN or
//! personal data: APDU tracing (`RUST_LOG=jpki_card::apdu=trace`) masks the
//! payload of VERIFY and CHANGE REFERENCE DATA.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod card;
pub mod digest_info;
pub mod error;
pub mod pcsc;
pub mod pin;
pub mod session;
pub mod signature_check;
pub mod text;
mod tlv;
pub mod token;
pub mod transport;
pub mod verify;
#[cfg(feature = "virtual")]
mod virtual_reader;

pub use card::{
    eligible_readers, is_virtual_reader, Card, ReaderChoice, READER_ENV, VIRTUAL_NOTICE_ENV,
};
pub use digest_info::{DigestInfo, HashAlg, Hasher};
pub use error::{CardError, Result};
pub use pin::{AnyPin, AuthPin, LastTry, PinKind, Secret, SignPassword, TextPin, Tries};
pub use session::{CertKind, CertificateDer, KeyKind, RsaSignature, Session, SHORT_APDUS_ENV};
pub use signature_check::{check_card_signature, SignInput, SignatureCheckError};
pub use text::Basic4;
pub use token::TokenKind;
pub use verify::PinStatus;
#[cfg(feature = "virtual")]
pub use virtual_reader::VirtualReader;
