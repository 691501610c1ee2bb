//! STORE for the `jpki:` scheme: `jpki:auth`, `jpki:sign` (key + certificate),
//! `jpki:auth-ca`, `jpki:sign-ca` (certificates), `jpki:` (names of all four, or the public
//! certificates when certificates are asked for).
//!
//! Objects are produced lazily, one per `load`, in an order that honours OpenSSL's `expect`:
//! asking for a certificate never asks for a PIN unless it is the sign certificate (which the
//! card only reveals after the sign password); listing never asks for anything. Keys are
//! handed over as references (never exported), so OpenSSL keeps them in this provider.
//! Refuses unknown URI attributes and PIN values in URIs (see `jpki_uri`).

use crate::card_state::{cert_of, Access, Prompt};
use crate::error::{ProvError, Result};
use crate::ffi::{self, dispatch, Callback, Dispatch, Param, PassphraseCallback, DISPATCH_END};
use crate::key::{CardKey, Key, RsaPublic};
use crate::params::{locate_const, Builder};
use crate::provider::{guard, Provider};
use jpki_card::{CertKind, KeyKind, LastTry, ReaderChoice};
use jpki_uri::{JpkiUri, Object, PinSource};
use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

/// One object still to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Name(Object),
    Cert(CertKind),
    Key(KeyKind),
    PublicKey(KeyKind),
}

struct StoreCtx {
    prov: Arc<Provider>,
    uri: JpkiUri,
    expect: c_int,
    queue: Option<VecDeque<Pending>>,
    eof: bool,
    /// Keys handed out by reference must outlive the load that referenced them.
    keys: Vec<Arc<Key>>,
}

fn key_of(o: Object) -> Option<KeyKind> {
    match o {
        Object::Auth => Some(KeyKind::Auth),
        Object::Sign => Some(KeyKind::Sign),
        _ => None,
    }
}

/// What a URI yields for an `expect` value (0 = anything).
fn plan(object: Object, expect: c_int) -> VecDeque<Pending> {
    use Pending::*;
    let v: Vec<Pending> = match (object, key_of(object)) {
        (Object::All, _) => match expect {
            0 | ffi::STORE_INFO_NAME => {
                [Object::Auth, Object::Sign, Object::AuthCa, Object::SignCa]
                    .into_iter()
                    .map(Name)
                    .collect()
            }
            // Only what needs no PIN: the sign certificate and both keys are left out.
            ffi::STORE_INFO_CERT => vec![
                Cert(CertKind::Auth),
                Cert(CertKind::AuthCa),
                Cert(CertKind::SignCa),
            ],
            ffi::STORE_INFO_PUBKEY => vec![PublicKey(KeyKind::Auth)],
            _ => vec![],
        },
        (_, Some(k)) => match expect {
            0 => vec![Cert(cert_of(k)), Key(k)],
            ffi::STORE_INFO_CERT => vec![Cert(cert_of(k))],
            ffi::STORE_INFO_PKEY => vec![Key(k)],
            ffi::STORE_INFO_PUBKEY => vec![PublicKey(k)],
            _ => vec![],
        },
        (Object::AuthCa, None) if matches!(expect, 0 | ffi::STORE_INFO_CERT) => {
            vec![Cert(CertKind::AuthCa)]
        }
        (Object::SignCa, None) if matches!(expect, 0 | ffi::STORE_INFO_CERT) => {
            vec![Cert(CertKind::SignCa)]
        }
        _ => vec![],
    };
    v.into()
}

/// A URI's settings, with the provider config filling in what the URI does not say.
struct Settings {
    reader: ReaderChoice,
    pin_source: Option<PinSource>,
    last_try: LastTry,
    pss: bool,
    base: String,
}

impl Settings {
    fn new(prov: &Provider, uri: &JpkiUri) -> Settings {
        Settings {
            reader: prov.config.reader_for(uri.reader.as_deref()),
            pin_source: uri
                .pin_source
                .clone()
                .or_else(|| prov.config.pin_source.clone()),
            last_try: if uri.allow_last_try || prov.config.allow_last_try {
                LastTry::Allow
            } else {
                LastTry::Refuse
            },
            pss: uri.pss.unwrap_or(prov.config.pss),
            base: uri.base(),
        }
    }

    fn access(&self, prompt: Option<Prompt>) -> Access<'_> {
        Access {
            pin_source: self.pin_source.as_ref(),
            last_try: self.last_try,
            prompt,
            uri: &self.base,
        }
    }
}

/// Loads a card key (or only its public half): asks for the PIN once per process.
pub fn load_key(
    prov: &Arc<Provider>,
    uri: &JpkiUri,
    kind: KeyKind,
    prompt: Option<Prompt>,
    public_only: bool,
) -> Result<Arc<Key>> {
    let set = Settings::new(prov, uri);
    let access = set.access(prompt);
    if !public_only {
        prov.token.login(&set.reader, kind, &access)?;
    }
    let cert = prov.token.cert(&set.reader, cert_of(kind), &access)?;
    let public = RsaPublic::from_cert(&cert)?;
    let card = (!public_only).then(|| CardKey {
        kind,
        reader: set.reader.clone(),
        pin_source: set.pin_source.clone(),
        last_try: set.last_try,
        pss: set.pss,
        uri: set.base.clone(),
    });
    Ok(Arc::new(Key {
        prov: prov.clone(),
        public,
        card,
    }))
}

/// Hands a key reference to OpenSSL's object callback.
///
/// # Safety
/// `cb`/`arg` are a callback and its argument OpenSSL passed for this load or decode.
pub unsafe fn emit_key(cb: Callback, arg: *mut c_void, key: &Arc<Key>, desc: &str) -> c_int {
    let reference = Key::reference(key);
    Builder::default()
        .int(c"type", ffi::OBJECT_PKEY)
        .utf8(c"data-type", "RSA")
        .octets(c"reference", &reference)
        .utf8(c"desc", desc)
        // SAFETY: OpenSSL's callback and argument; the array lives for the call.
        .with(|arr| unsafe { cb(arr, arg) })
}

fn describe(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Auth => "My Number card: user authentication certificate (jpki:auth)",
        CertKind::Sign => "My Number card: signature certificate (jpki:sign)",
        CertKind::AuthCa => "My Number card: authentication CA certificate (jpki:auth-ca)",
        CertKind::SignCa => "My Number card: signature CA certificate (jpki:sign-ca)",
    }
}

impl StoreCtx {
    fn access_prompt(pw_cb: Option<PassphraseCallback>, pw_arg: *mut c_void) -> Option<Prompt> {
        pw_cb.map(|cb| Prompt { cb, arg: pw_arg })
    }

    /// Hands out the next object; `Ok(None)` when there is none left.
    fn next(
        &mut self,
        cb: Callback,
        cbarg: *mut c_void,
        prompt: Option<Prompt>,
    ) -> Result<Option<c_int>> {
        let expect = self.expect;
        let object = self.uri.object;
        let queue = self.queue.get_or_insert_with(|| plan(object, expect));
        let Some(item) = queue.pop_front() else {
            return Ok(None);
        };
        let r = match item {
            Pending::Name(o) => {
                let name = format!("jpki:{}", o.path());
                let desc = match o {
                    Object::Auth => "authentication key and certificate (4-digit PIN)",
                    Object::Sign => "signature key and certificate (sign password)",
                    Object::AuthCa => "authentication CA certificate",
                    Object::SignCa => "signature CA certificate",
                    Object::All => "all objects",
                };
                Builder::default()
                    .int(c"type", ffi::OBJECT_NAME)
                    .utf8(c"data", &name)
                    .utf8(c"desc", desc)
                    // SAFETY: OpenSSL's callback; the array lives for the call.
                    .with(|arr| unsafe { cb(arr, cbarg) })
            }
            Pending::Cert(kind) => {
                let set = Settings::new(&self.prov, &self.uri);
                let der = self
                    .prov
                    .token
                    .cert(&set.reader, kind, &set.access(prompt))?;
                Builder::default()
                    .int(c"type", ffi::OBJECT_CERT)
                    .utf8(c"data-type", "CERTIFICATE")
                    .octets(c"data", der.as_bytes())
                    .utf8(c"desc", describe(kind))
                    // SAFETY: OpenSSL's callback; the array lives for the call.
                    .with(|arr| unsafe { cb(arr, cbarg) })
            }
            Pending::Key(kind) | Pending::PublicKey(kind) => {
                let public_only = matches!(item, Pending::PublicKey(_));
                let key = load_key(&self.prov, &self.uri, kind, prompt, public_only)?;
                self.keys.push(key.clone());
                let desc = match kind {
                    KeyKind::Auth => "My Number card: user authentication key (jpki:auth)",
                    KeyKind::Sign => "My Number card: signature key (jpki:sign)",
                };
                // SAFETY: the callback OpenSSL passed to this load.
                unsafe { emit_key(cb, cbarg, &key, desc) }
            }
        };
        Ok(Some(r))
    }
}

unsafe extern "C" fn open(provctx: *mut c_void, uri: *const c_char) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: provctx is ours.
        let Some(prov) = (unsafe { Provider::from_ctx(provctx) }) else {
            return std::ptr::null_mut();
        };
        if uri.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: OpenSSL's NUL-terminated URI.
        let text = unsafe { CStr::from_ptr(uri) }.to_string_lossy();
        if !prov.core.companion_loaded() {
            prov.core.raise(&ProvError::NoDefaultProvider);
            return std::ptr::null_mut();
        }
        match JpkiUri::parse(&text) {
            Ok(uri) => Box::into_raw(Box::new(StoreCtx {
                prov,
                uri,
                expect: 0,
                queue: None,
                eof: false,
                keys: Vec::new(),
            })) as *mut c_void,
            Err(e) => {
                prov.core.raise(&ProvError::Uri(e));
                std::ptr::null_mut()
            }
        }
    })
}

static SETTABLE: [Param; 2] = [Param::defn(c"expect", ffi::PARAM_INTEGER), Param::END];

unsafe extern "C" fn settable_ctx_params(_provctx: *mut c_void) -> *const Param {
    SETTABLE.as_ptr()
}

unsafe extern "C" fn set_ctx_params(ctx: *mut c_void, params: *const Param) -> c_int {
    guard(0, || {
        // SAFETY: our StoreCtx.
        let Some(c) = (unsafe { (ctx as *mut StoreCtx).as_mut() }) else {
            return 0;
        };
        // Unknown keys (properties, input-type, subject…) are accepted and ignored: OpenSSL
        // sends some of them to every store.
        // SAFETY: OpenSSL's array.
        if let Some(e) = unsafe { locate_const(params, c"expect").and_then(|p| p.get_i64()) } {
            c.expect = e as c_int;
        }
        1
    })
}

unsafe extern "C" fn load(
    ctx: *mut c_void,
    object_cb: Option<Callback>,
    object_cbarg: *mut c_void,
    pw_cb: Option<PassphraseCallback>,
    pw_cbarg: *mut c_void,
) -> c_int {
    guard(0, || {
        // SAFETY: our StoreCtx.
        let Some(c) = (unsafe { (ctx as *mut StoreCtx).as_mut() }) else {
            return 0;
        };
        let Some(cb) = object_cb else { return 0 };
        if c.eof {
            return 0;
        }
        let prompt = StoreCtx::access_prompt(pw_cb, pw_cbarg);
        match c.next(cb, object_cbarg, prompt) {
            Ok(Some(r)) => {
                if c.queue.as_ref().is_some_and(|q| q.is_empty()) {
                    c.eof = true;
                }
                r
            }
            Ok(None) => {
                c.eof = true;
                1
            }
            Err(e) => {
                // eof after an error, or `openssl` apps loop for ever (they load until eof).
                c.eof = true;
                c.prov.core.raise(&e);
                0
            }
        }
    })
}

unsafe extern "C" fn eof(ctx: *mut c_void) -> c_int {
    guard(1, || {
        // SAFETY: our StoreCtx.
        match unsafe { (ctx as *const StoreCtx).as_ref() } {
            Some(c) => c.eof as c_int,
            None => 1,
        }
    })
}

unsafe extern "C" fn close(ctx: *mut c_void) -> c_int {
    guard(0, || {
        if !ctx.is_null() {
            // SAFETY: allocated by open; closed once.
            drop(unsafe { Box::from_raw(ctx as *mut StoreCtx) });
        }
        1
    })
}

pub static DISPATCH: [Dispatch; 7] = [
    dispatch!(
        ffi::STORE_OPEN,
        open,
        unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void
    ),
    dispatch!(
        ffi::STORE_SETTABLE_CTX_PARAMS,
        settable_ctx_params,
        unsafe extern "C" fn(*mut c_void) -> *const Param
    ),
    dispatch!(
        ffi::STORE_SET_CTX_PARAMS,
        set_ctx_params,
        unsafe extern "C" fn(*mut c_void, *const Param) -> c_int
    ),
    dispatch!(
        ffi::STORE_LOAD,
        load,
        unsafe extern "C" fn(
            *mut c_void,
            Option<Callback>,
            *mut c_void,
            Option<PassphraseCallback>,
            *mut c_void,
        ) -> c_int
    ),
    dispatch!(
        ffi::STORE_EOF,
        eof,
        unsafe extern "C" fn(*mut c_void) -> c_int
    ),
    dispatch!(
        ffi::STORE_CLOSE,
        close,
        unsafe extern "C" fn(*mut c_void) -> c_int
    ),
    DISPATCH_END,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_and_certificates_never_need_a_pin() {
        for p in plan(Object::All, 0)
            .iter()
            .chain(plan(Object::All, ffi::STORE_INFO_CERT).iter())
        {
            assert!(
                !matches!(p, Pending::Key(_) | Pending::Cert(CertKind::Sign)),
                "{p:?} would ask for a PIN"
            );
        }
        assert_eq!(
            plan(Object::Auth, ffi::STORE_INFO_CERT),
            [Pending::Cert(CertKind::Auth)]
        );
        assert_eq!(
            plan(Object::Sign, ffi::STORE_INFO_PKEY),
            [Pending::Key(KeyKind::Sign)]
        );
        assert!(plan(Object::SignCa, ffi::STORE_INFO_PKEY).is_empty());
    }
}
