//! KEYMGMT for the card's RSA keys, named exactly like the default provider's RSA so that
//! libssl, curl and `EVP_PKEY_eq` take them for RSA keys.
//!
//! Exports the public half (n, e) so the default provider can verify and X.509/CMS code can
//! match key and certificate; **refuses any export that asks for the private half** — that
//! refusal is what makes OpenSSL 3.0 route signing to this provider instead of handing a
//! public-only copy to the default one. Imports only public keys (for key/cert matching).
//! Generation, parameters and private import are not offered.

use crate::ffi::{self, dispatch, Callback, Dispatch, Param, DISPATCH_END};
use crate::key::{Key, RsaPublic};
use crate::params::{locate, locate_const, Builder};
use crate::provider::{guard, Provider};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

/// What OpenSSL holds as "keydata": a key, or nothing yet (after `new`, before `import`).
pub struct KeyData {
    pub prov: Arc<Provider>,
    pub key: Option<Arc<Key>>,
}

/// Borrows key data.
///
/// # Safety
/// `p` is NULL or a `KeyData` this module allocated and OpenSSL has not freed.
pub unsafe fn keydata<'a>(p: *const c_void) -> Option<&'a KeyData> {
    // SAFETY: caller's promise.
    unsafe { (p as *const KeyData).as_ref() }
}

fn into_raw(kd: KeyData) -> *mut c_void {
    Box::into_raw(Box::new(kd)) as *mut c_void
}

unsafe extern "C" fn new(provctx: *mut c_void) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: provctx is ours.
        match unsafe { Provider::from_ctx(provctx) } {
            Some(prov) => into_raw(KeyData { prov, key: None }),
            None => std::ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn load(reference: *const c_void, reference_sz: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        if reference.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: OpenSSL passes the reference bytes our store/decoder emitted, alive during
        // the callback that triggers this load.
        let key = unsafe {
            Key::from_reference(std::slice::from_raw_parts(
                reference as *const u8,
                reference_sz,
            ))
        };
        match key {
            Some(key) => into_raw(KeyData {
                prov: key.prov.clone(),
                key: Some(key),
            }),
            None => std::ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn free(kd: *mut c_void) {
    guard((), || {
        if !kd.is_null() {
            // SAFETY: allocated by into_raw; OpenSSL frees each key data once.
            drop(unsafe { Box::from_raw(kd as *mut KeyData) });
        }
    })
}

unsafe extern "C" fn dup(kd: *const c_void, _selection: c_int) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: OpenSSL's key data.
        match unsafe { keydata(kd) } {
            Some(k) => into_raw(KeyData {
                prov: k.prov.clone(),
                key: k.key.clone(),
            }),
            None => std::ptr::null_mut(),
        }
    })
}

static GETTABLE: [Param; 7] = [
    Param::defn(c"bits", ffi::PARAM_INTEGER),
    Param::defn(c"security-bits", ffi::PARAM_INTEGER),
    Param::defn(c"max-size", ffi::PARAM_INTEGER),
    Param::defn(c"default-digest", ffi::PARAM_UTF8_STRING),
    Param::defn(c"n", ffi::PARAM_UNSIGNED_INTEGER),
    Param::defn(c"e", ffi::PARAM_UNSIGNED_INTEGER),
    Param::END,
];

unsafe extern "C" fn gettable_params(_provctx: *mut c_void) -> *const Param {
    GETTABLE.as_ptr()
}

/// NIST SP 800-57 security strength of an RSA modulus (what OpenSSL reports).
fn security_bits(bits: usize) -> i64 {
    match bits {
        b if b >= 15360 => 256,
        b if b >= 7680 => 192,
        b if b >= 3072 => 128,
        b if b >= 2048 => 112,
        b if b >= 1024 => 80,
        _ => 0,
    }
}

unsafe extern "C" fn get_params(kd: *mut c_void, params: *mut Param) -> c_int {
    guard(0, || {
        // SAFETY: OpenSSL's key data and parameter array.
        let Some(key) = (unsafe { keydata(kd) }).and_then(|k| k.key.as_ref()) else {
            return 0;
        };
        let pubk = &key.public;
        let bits = pubk.bits();
        // SAFETY: OpenSSL's parameter array.
        unsafe {
            let ok = [
                locate(params, c"bits").is_none_or(|p| p.set_int(bits as i64)),
                locate(params, c"security-bits").is_none_or(|p| p.set_int(security_bits(bits))),
                locate(params, c"max-size").is_none_or(|p| p.set_int(bits.div_ceil(8) as i64)),
                locate(params, c"default-digest").is_none_or(|p| p.set_utf8(c"SHA256")),
                locate(params, c"n").is_none_or(|p| p.set_unsigned_be(&pubk.n)),
                locate(params, c"e").is_none_or(|p| p.set_unsigned_be(&pubk.e)),
            ];
            ok.iter().all(|&b| b) as c_int
        }
    })
}

unsafe extern "C" fn query_operation_name(operation_id: c_int) -> *const c_char {
    match operation_id {
        ffi::OP_SIGNATURE => crate::provider::SIGNATURE_NAME.as_ptr(),
        _ => c"RSA".as_ptr(),
    }
}

unsafe extern "C" fn has(kd: *const c_void, selection: c_int) -> c_int {
    guard(0, || {
        // SAFETY: OpenSSL's key data.
        let Some(k) = (unsafe { keydata(kd) }) else {
            return 0;
        };
        let Some(key) = &k.key else {
            // An empty key has nothing but what nobody asked for.
            return (selection & (ffi::SELECT_PRIVATE_KEY | ffi::SELECT_PUBLIC_KEY) == 0) as c_int;
        };
        let mut ok = true;
        if selection & ffi::SELECT_PUBLIC_KEY != 0 {
            ok &= key.public.is_set();
        }
        if selection & ffi::SELECT_PRIVATE_KEY != 0 {
            ok &= key.card.is_some();
        }
        ok as c_int
    })
}

unsafe extern "C" fn validate(_kd: *const c_void, _selection: c_int, _checktype: c_int) -> c_int {
    1
}

unsafe extern "C" fn matches(k1: *const c_void, k2: *const c_void, selection: c_int) -> c_int {
    guard(0, || {
        // SAFETY: OpenSSL's key data.
        let (Some(a), Some(b)) = (unsafe { keydata(k1) }, unsafe { keydata(k2) }) else {
            return 0;
        };
        let (Some(a), Some(b)) = (&a.key, &b.key) else {
            return 0;
        };
        if selection & (ffi::SELECT_PUBLIC_KEY | ffi::SELECT_PRIVATE_KEY) != 0 {
            return (a.public == b.public) as c_int;
        }
        1
    })
}

static PUBLIC_TYPES: [Param; 3] = [
    Param::defn(c"n", ffi::PARAM_UNSIGNED_INTEGER),
    Param::defn(c"e", ffi::PARAM_UNSIGNED_INTEGER),
    Param::END,
];

unsafe extern "C" fn import_types(_selection: c_int) -> *const Param {
    PUBLIC_TYPES.as_ptr()
}

unsafe extern "C" fn export_types(_selection: c_int) -> *const Param {
    PUBLIC_TYPES.as_ptr()
}

unsafe extern "C" fn import(kd: *mut c_void, selection: c_int, params: *const Param) -> c_int {
    guard(0, || {
        if kd.is_null() || selection & ffi::SELECT_PUBLIC_KEY == 0 {
            return 0;
        }
        // SAFETY: OpenSSL's parameter array.
        let (n, e, d) = unsafe {
            (
                locate_const(params, c"n").and_then(|p| p.get_unsigned_be()),
                locate_const(params, c"e").and_then(|p| p.get_unsigned_be()),
                locate_const(params, c"d"),
            )
        };
        if d.is_some() {
            // A software private key has no business in a card provider.
            return 0;
        }
        let (Some(n), Some(e)) = (n, e) else {
            return 0;
        };
        // SAFETY: allocated by `new`; OpenSSL gives us exclusive use during import.
        let k = unsafe { &mut *(kd as *mut KeyData) };
        k.key = Some(Arc::new(Key {
            prov: k.prov.clone(),
            public: RsaPublic { n, e },
            card: None,
        }));
        1
    })
}

unsafe extern "C" fn export(
    kd: *mut c_void,
    selection: c_int,
    cb: Option<Callback>,
    cbarg: *mut c_void,
) -> c_int {
    guard(0, || {
        // SAFETY: OpenSSL's key data.
        let Some(key) = (unsafe { keydata(kd) }).and_then(|k| k.key.as_ref()) else {
            return 0;
        };
        let Some(cb) = cb else { return 0 };
        if selection & ffi::SELECT_PRIVATE_KEY != 0 && key.card.is_some() {
            // The private key is on the card; see the module docs for why this must fail.
            return 0;
        }
        if selection & ffi::SELECT_PUBLIC_KEY == 0 {
            return 0;
        }
        Builder::default()
            .unsigned_be(c"n", &key.public.n)
            .unsigned_be(c"e", &key.public.e)
            // SAFETY: OpenSSL's callback with its own argument; the array lives for the call.
            .with(|arr| unsafe { cb(arr, cbarg) })
    })
}

pub static DISPATCH: [Dispatch; 15] = [
    dispatch!(
        ffi::KEYMGMT_NEW,
        new,
        unsafe extern "C" fn(*mut c_void) -> *mut c_void
    ),
    dispatch!(
        ffi::KEYMGMT_LOAD,
        load,
        unsafe extern "C" fn(*const c_void, usize) -> *mut c_void
    ),
    dispatch!(ffi::KEYMGMT_FREE, free, unsafe extern "C" fn(*mut c_void)),
    dispatch!(
        ffi::KEYMGMT_DUP,
        dup,
        unsafe extern "C" fn(*const c_void, c_int) -> *mut c_void
    ),
    dispatch!(
        ffi::KEYMGMT_GET_PARAMS,
        get_params,
        unsafe extern "C" fn(*mut c_void, *mut Param) -> c_int
    ),
    dispatch!(
        ffi::KEYMGMT_GETTABLE_PARAMS,
        gettable_params,
        unsafe extern "C" fn(*mut c_void) -> *const Param
    ),
    dispatch!(
        ffi::KEYMGMT_QUERY_OPERATION_NAME,
        query_operation_name,
        unsafe extern "C" fn(c_int) -> *const c_char
    ),
    dispatch!(
        ffi::KEYMGMT_HAS,
        has,
        unsafe extern "C" fn(*const c_void, c_int) -> c_int
    ),
    dispatch!(
        ffi::KEYMGMT_VALIDATE,
        validate,
        unsafe extern "C" fn(*const c_void, c_int, c_int) -> c_int
    ),
    dispatch!(
        ffi::KEYMGMT_MATCH,
        matches,
        unsafe extern "C" fn(*const c_void, *const c_void, c_int) -> c_int
    ),
    dispatch!(
        ffi::KEYMGMT_IMPORT,
        import,
        unsafe extern "C" fn(*mut c_void, c_int, *const Param) -> c_int
    ),
    dispatch!(
        ffi::KEYMGMT_IMPORT_TYPES,
        import_types,
        unsafe extern "C" fn(c_int) -> *const Param
    ),
    dispatch!(
        ffi::KEYMGMT_EXPORT,
        export,
        unsafe extern "C" fn(*mut c_void, c_int, Option<Callback>, *mut c_void) -> c_int
    ),
    dispatch!(
        ffi::KEYMGMT_EXPORT_TYPES,
        export_types,
        unsafe extern "C" fn(c_int) -> *const Param
    ),
    DISPATCH_END,
];
