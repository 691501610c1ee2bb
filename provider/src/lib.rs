//! `jpki` — an OpenSSL 3 provider that puts the My Number card's two keys behind `jpki:` URIs.
//!
//! ```text
//! openssl cms -sign -provider jpki -provider default -signer jpki:sign -inkey jpki:sign …
//! openssl dgst -sha256 -sign jpki:auth …     curl/nginx: a PEM-URI key file + OPENSSL_CONF
//! ```
//!
//! * [`store`]: the `jpki:` scheme (keys by reference, certificates, listing);
//! * [`keymgmt`]: RSA key objects whose private half stays on the card;
//! * [`signature`]: PKCS#1 v1.5 signatures, DigestInfo built here, padding on the card;
//! * [`decoder`]: PEM files that contain a `jpki:` URI (for programs that want a key file);
//! * [`card_state`]: card connection, PIN prompting and caching — the provider's PIN policy;
//! * [`provider`]: `OSSL_provider_init`, config, upcalls, algorithm tables;
//! * [`ffi`], [`params`]: the hand-written slice of the 3.0 provider ABI.
//!
//! Nothing here panics across the C boundary ([`provider::guard`] at every entry point),
//! nothing is logged that is secret, and no private key material exists in this process.
//! `unsafe` is confined to the FFI edge; each block says why it holds, also inside an
//! `unsafe fn` (`unsafe_op_in_unsafe_fn` is denied: a caller's promise covers no operation).
#![deny(unsafe_op_in_unsafe_fn)]

pub mod card_state;
pub mod decoder;
pub mod error;
pub mod ffi;
pub mod key;
pub mod keymgmt;
pub mod params;
pub mod provider;
pub mod signature;
pub mod store;

use std::ffi::{c_int, c_void};

/// The module entry point OpenSSL looks up after loading `jpki.so`.
///
/// # Safety
/// Called by OpenSSL with its core handle and dispatch tables.
#[no_mangle]
pub unsafe extern "C" fn OSSL_provider_init(
    handle: *const c_void,
    input: *const ffi::Dispatch,
    out: *mut *const ffi::Dispatch,
    provctx: *mut *mut c_void,
) -> c_int {
    // SAFETY: arguments forwarded unchanged from OpenSSL.
    provider::guard(0, || unsafe { provider::init(handle, input, out, provctx) })
}
