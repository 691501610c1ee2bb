//! `libjpki-pkcs11.so`: a PKCS#11 2.40 module for the two RSA keys of the My Number card, over
//! jpki-card and its PIN law — for the programs that reach smart cards only through PKCS#11
//! (Firefox, Chromium, Thunderbird and LibreOffice through NSS, OpenSSH, GnuTLS, Java,
//! python-pkcs11/pyHanko, OpenSC's tools).
//!
//! * [`config`]: the settings (file + environment), the module's stable interface;
//! * [`module`]: slots, tokens, sessions, login, search and signing, in safe Rust;
//! * [`token`]: the card connection, what was read from it, the refused PINs;
//! * [`object`]: the objects of a token and their attributes;
//! * [`mechanism`]: the signature mechanisms; [`cert`]: certificates and the signature check;
//! * `entry`, `functions`, `unsupported`: the C ABI — the only `unsafe` code.
//!
//! It refuses to be a second card layer (every APDU goes through jpki-card), to keep a PIN
//! verified on the card beyond one operation, to send a PIN twice after the card refused it,
//! to sign anything but a hash (DigestInfo), and to write anything to the card.

#![deny(unsafe_op_in_unsafe_fn)]
pub mod cert;
pub mod config;
mod entry;
pub mod error;
mod functions;
pub mod mechanism;
pub mod module;
pub mod object;
pub mod token;
mod unsupported;
