//! OpenSSL 3 provider for the JPKI card keys — **not implemented yet**.
//!
//! Issue "OpenSSL 3 provider" fills this crate: a cdylib `jpki.so` with a
//! `jpki:` store, key management, RSA PKCS#1 v1.5 signature and a decoder for
//! PEM-wrapped `jpki:` URIs, built on `jpki-card`. Until then it exports
//! nothing, so no OpenSSL can mistake it for a working provider.
#![forbid(unsafe_code)]
