//! DECODER for PEM-URI key files (`-----BEGIN JPKI PROVIDER URI-----`, see `jpki_uri::pem_uri`).
//!
//! Programs that only take a key *file* (nginx 1.22 `ssl_certificate_key`, curl 7.88 `--key`,
//! `openssl … -inkey key.pem`) read it with `PEM_read_bio_PrivateKey`, which asks every active
//! provider's decoders. This one recognises its own label, loads the card key the file names
//! (PIN through the program's passphrase callback: `ssl_password_file`, `--pass`, `-passin`, or
//! a pin-source in the URI/config) and hands OpenSSL a key reference.
//!
//! Two decoders, the way pkcs11-provider splits its own (OpenSSL builds chains by type):
//! * [`PEM_DISPATCH`] `DER ← PEM`: unwraps our PEM label into DER with data-structure
//!   `jpki-uri`. This is what lets `openssl -inkey key.pem` work: the `file:` store only chains
//!   decoders that end in DER, then decodes that DER again for a key, reaching …
//! * [`DISPATCH`] `RSA ← DER (structure jpki-uri)`: reads the URI and loads the card key.
//!
//! Any other input is answered "not mine, carry on" (return 1 with no object), so ordinary key
//! files keep working with the provider active. Only private keys are produced.

use crate::card_state::Prompt;
use crate::error::ProvError;
use crate::ffi::{self, dispatch, Callback, Dispatch, PassphraseCallback, DISPATCH_END};
use crate::params::Builder;
use crate::provider::{guard, Provider};
use crate::store::{emit_key, load_key};
use jpki_card::KeyKind;
use jpki_uri::pem_uri::{self, PemUriError};
use jpki_uri::Object;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

struct DecoderCtx {
    prov: Arc<Provider>,
}

unsafe extern "C" fn newctx(provctx: *mut c_void) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: provctx is ours.
        match unsafe { Provider::from_ctx(provctx) } {
            Some(prov) => Box::into_raw(Box::new(DecoderCtx { prov })) as *mut c_void,
            None => std::ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn freectx(ctx: *mut c_void) {
    guard((), || {
        if !ctx.is_null() {
            // SAFETY: allocated by newctx, freed once.
            drop(unsafe { Box::from_raw(ctx as *mut DecoderCtx) });
        }
    })
}

unsafe extern "C" fn does_selection(_provctx: *mut c_void, selection: c_int) -> c_int {
    // Key pairs (or "anything"): a card key is always a private key with its public half.
    (selection == 0 || selection & (ffi::SELECT_PRIVATE_KEY | ffi::SELECT_PUBLIC_KEY) != 0) as c_int
}

/// The `data-structure` name of our DER (also in the der→key decoder's properties).
pub const STRUCTURE: &str = "jpki-uri";

/// The common start of both decoders: our context, OpenSSL's callback and the input bytes,
/// then `f`; unreadable or oversized input is "not ours" (1), a missing context an error (0).
///
/// Only called with the arguments OpenSSL passed to `decode` (private for that reason).
fn with_input(
    ctx: *mut c_void,
    cin: *mut c_void,
    data_cb: Option<Callback>,
    f: impl FnOnce(&DecoderCtx, Callback, &[u8]) -> c_int,
) -> c_int {
    guard(0, || {
        // SAFETY: `ctx` is the DecoderCtx our newctx made for this decoder.
        let Some(c) = (unsafe { (ctx as *const DecoderCtx).as_ref() }) else {
            return 0;
        };
        let Some(cb) = data_cb else { return 0 };
        // SAFETY: the core BIO OpenSSL handed this decoder.
        match unsafe { c.prov.core.read_bio(cin, pem_uri::MAX_LEN) } {
            Some(input) if input.len() <= pem_uri::MAX_LEN => f(c, cb, &input),
            _ => 1,
        }
    })
}

unsafe extern "C" fn decode_pem(
    ctx: *mut c_void,
    cin: *mut c_void,
    _selection: c_int,
    data_cb: Option<Callback>,
    data_cbarg: *mut c_void,
    _pw_cb: Option<PassphraseCallback>,
    _pw_cbarg: *mut c_void,
) -> c_int {
    with_input(ctx, cin, data_cb, |c, cb, input| {
        match pem_uri::pem_to_der(input) {
            Ok(der) => Builder::default()
                .octets(c"data", &der)
                .utf8(c"data-structure", STRUCTURE)
                // SAFETY: OpenSSL's callback; the array lives for the call.
                .with(|arr| unsafe { cb(arr, data_cbarg) }),
            // Not ours: let the other decoders try.
            Err(PemUriError::NotOurs) => 1,
            Err(e) => {
                c.prov.core.raise(&ProvError::PemUri(e));
                0
            }
        }
    })
}

unsafe extern "C" fn decode(
    ctx: *mut c_void,
    cin: *mut c_void,
    _selection: c_int,
    data_cb: Option<Callback>,
    data_cbarg: *mut c_void,
    pw_cb: Option<PassphraseCallback>,
    pw_cbarg: *mut c_void,
) -> c_int {
    with_input(ctx, cin, data_cb, |c, cb, input| {
        let uri = match pem_uri::decode_der(input) {
            Ok(u) => u,
            Err(PemUriError::NotOurs) => return 1,
            Err(e) => {
                c.prov.core.raise(&ProvError::PemUri(e));
                return 0;
            }
        };
        let kind = match uri.object {
            Object::Auth => KeyKind::Auth,
            Object::Sign => KeyKind::Sign,
            _ => {
                c.prov.core.raise(&ProvError::NotAvailable(format!(
                    "the key file names {}, which is not a key (use jpki:auth or jpki:sign)",
                    uri.base()
                )));
                return 0;
            }
        };
        let prompt = pw_cb.map(|cb| Prompt { cb, arg: pw_cbarg });
        match load_key(&c.prov, &uri, kind, prompt, false) {
            Ok(key) => {
                let desc = format!("My Number card key {}", uri.base());
                // SAFETY: the callback OpenSSL passed to this decode; `key` stays alive until
                // it (and the key load it triggers) returns.
                unsafe { emit_key(cb, data_cbarg, &key, &desc) }
            }
            Err(e) => {
                c.prov.core.raise(&e);
                0
            }
        }
    })
}

type DecodeFn = unsafe extern "C" fn(
    *mut c_void,
    *mut c_void,
    c_int,
    Option<Callback>,
    *mut c_void,
    Option<PassphraseCallback>,
    *mut c_void,
) -> c_int;

/// A decoder's dispatch table: the context functions both decoders share,
/// and its own `decode`.
macro_rules! decoder_dispatch {
    ($decode:ident) => {
        [
            dispatch!(
                ffi::DECODER_NEWCTX,
                newctx,
                unsafe extern "C" fn(*mut c_void) -> *mut c_void
            ),
            dispatch!(
                ffi::DECODER_FREECTX,
                freectx,
                unsafe extern "C" fn(*mut c_void)
            ),
            dispatch!(
                ffi::DECODER_DOES_SELECTION,
                does_selection,
                unsafe extern "C" fn(*mut c_void, c_int) -> c_int
            ),
            dispatch!(ffi::DECODER_DECODE, $decode, DecodeFn),
            DISPATCH_END,
        ]
    };
}

pub static PEM_DISPATCH: [Dispatch; 5] = decoder_dispatch!(decode_pem);

pub static DISPATCH: [Dispatch; 5] = decoder_dispatch!(decode);
