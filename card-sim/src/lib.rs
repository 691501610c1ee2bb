//! A faithful software My Number card for tests.
//!
//! [`SimCard`] implements the JPKI AP and the text AP as spec §14
//! (`shared/spec/jpki-card-protocol.md`) describes them: DF selection by AID,
//! EF selection by FID or short EF id, READ BINARY semantics, PIN counters that
//! persist, COMPUTE DIGITAL SIGNATURE in all P1 forms, CHANGE REFERENCE DATA.
//! [`TestPki`] makes the certificates and keys it carries, deterministically.
//!
//! The `jpki-card-sim` binary puts the card behind real PC/SC through vpcd
//! ([`vpcd`]); the `jpki-card` crate can also drive a `SimCard` in process.
//!
//! This crate depends on nothing of the project but APDU encoding, so that it
//! stays an independent implementation of the card — checked against the spec
//! and against OpenSC's JPKI driver, not against our own client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod card;
pub mod faults;
pub mod files;
pub mod pki;
pub mod state;
pub mod vpcd;

pub use card::{SimCard, SimOptions};
pub use files::Variant;
pub use pki::{Person, TestPki};
pub use state::{CardState, PinId, Stats};
