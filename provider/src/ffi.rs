//! The slice of OpenSSL 3.0's provider ABI this provider uses, written out by hand.
//!
//! `openssl-sys` has no `OSSL_DISPATCH`/`OSSL_ALGORITHM`/`OSSL_CORE_HANDLE` and keeps
//! `OSSL_PARAM`'s fields private; bindgen would need libclang at build time for a few dozen
//! integers and four structs. Every id below was copied from Debian 12's OpenSSL 3.0 headers
//! (`core.h`, `core_dispatch.h`, `core_names.h`, `core_object.h`, `store.h`) and must not use
//! anything newer than 3.0.

use std::ffi::{c_char, c_int, c_void};

/// `OSSL_DISPATCH`: one function of a dispatch table; `{0, None}` ends the table.
#[repr(C)]
pub struct Dispatch {
    pub id: c_int,
    pub f: Option<unsafe extern "C" fn()>,
}
// SAFETY: dispatch tables are immutable statics of function pointers.
unsafe impl Sync for Dispatch {}

/// `OSSL_ALGORITHM`.
#[repr(C)]
pub struct Algorithm {
    pub names: *const c_char,
    pub properties: *const c_char,
    pub implementation: *const Dispatch,
    pub description: *const c_char,
}
// SAFETY: algorithm tables are immutable statics pointing at static strings and tables.
unsafe impl Sync for Algorithm {}

/// `OSSL_ITEM` (reason strings).
#[repr(C)]
pub struct Item {
    pub id: u32,
    pub ptr: *const c_char,
}
// SAFETY: immutable static table of static strings.
unsafe impl Sync for Item {}

/// `OSSL_PARAM`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Param {
    pub key: *const c_char,
    pub data_type: u32,
    pub data: *mut c_void,
    pub data_size: usize,
    pub return_size: usize,
}
// SAFETY: only the immutable static "gettable/settable" descriptor arrays are shared, and
// they point at static strings with no data.
unsafe impl Sync for Param {}

/// `OSSL_PARAM_UNMODIFIED`.
pub const PARAM_UNMODIFIED: usize = usize::MAX;

impl Param {
    /// A descriptor entry (what "gettable"/"settable" arrays list).
    pub const fn defn(key: &'static std::ffi::CStr, data_type: u32) -> Param {
        Param {
            key: key.as_ptr(),
            data_type,
            data: std::ptr::null_mut(),
            data_size: 0,
            return_size: PARAM_UNMODIFIED,
        }
    }

    /// The terminating entry.
    pub const END: Param = Param {
        key: std::ptr::null(),
        data_type: 0,
        data: std::ptr::null_mut(),
        data_size: 0,
        return_size: 0,
    };
}

// OSSL_PARAM data types.
pub const PARAM_INTEGER: u32 = 1;
pub const PARAM_UNSIGNED_INTEGER: u32 = 2;
pub const PARAM_UTF8_STRING: u32 = 4;
pub const PARAM_OCTET_STRING: u32 = 5;
pub const PARAM_UTF8_PTR: u32 = 6;

// Operation ids.
pub const OP_KEYMGMT: c_int = 10;
pub const OP_SIGNATURE: c_int = 12;
pub const OP_DECODER: c_int = 21;
pub const OP_STORE: c_int = 22;

// Core → provider upcalls we pick out of the `in` table.
pub const CORE_GET_PARAMS: c_int = 2;
pub const CORE_GET_LIBCTX: c_int = 4;
pub const CORE_NEW_ERROR: c_int = 5;
pub const CORE_SET_ERROR_DEBUG: c_int = 6;
pub const CORE_VSET_ERROR: c_int = 7;
pub const BIO_READ_EX: c_int = 42;

// Provider functions.
pub const PROVIDER_TEARDOWN: c_int = 1024;
pub const PROVIDER_GETTABLE_PARAMS: c_int = 1025;
pub const PROVIDER_GET_PARAMS: c_int = 1026;
pub const PROVIDER_QUERY_OPERATION: c_int = 1027;
pub const PROVIDER_GET_REASON_STRINGS: c_int = 1029;

// KEYMGMT.
pub const KEYMGMT_NEW: c_int = 1;
pub const KEYMGMT_LOAD: c_int = 8;
pub const KEYMGMT_FREE: c_int = 10;
pub const KEYMGMT_GET_PARAMS: c_int = 11;
pub const KEYMGMT_GETTABLE_PARAMS: c_int = 12;
pub const KEYMGMT_QUERY_OPERATION_NAME: c_int = 20;
pub const KEYMGMT_HAS: c_int = 21;
pub const KEYMGMT_VALIDATE: c_int = 22;
pub const KEYMGMT_MATCH: c_int = 23;
pub const KEYMGMT_IMPORT: c_int = 40;
pub const KEYMGMT_IMPORT_TYPES: c_int = 41;
pub const KEYMGMT_EXPORT: c_int = 42;
pub const KEYMGMT_EXPORT_TYPES: c_int = 43;
pub const KEYMGMT_DUP: c_int = 44;

pub const SELECT_PRIVATE_KEY: c_int = 0x01;
pub const SELECT_PUBLIC_KEY: c_int = 0x02;

// SIGNATURE.
pub const SIGNATURE_NEWCTX: c_int = 1;
pub const SIGNATURE_SIGN_INIT: c_int = 2;
pub const SIGNATURE_SIGN: c_int = 3;
pub const SIGNATURE_DIGEST_SIGN_INIT: c_int = 8;
pub const SIGNATURE_DIGEST_SIGN_UPDATE: c_int = 9;
pub const SIGNATURE_DIGEST_SIGN_FINAL: c_int = 10;
pub const SIGNATURE_DIGEST_SIGN: c_int = 11;
pub const SIGNATURE_FREECTX: c_int = 16;
pub const SIGNATURE_DUPCTX: c_int = 17;
pub const SIGNATURE_GET_CTX_PARAMS: c_int = 18;
pub const SIGNATURE_GETTABLE_CTX_PARAMS: c_int = 19;
pub const SIGNATURE_SET_CTX_PARAMS: c_int = 20;
pub const SIGNATURE_SETTABLE_CTX_PARAMS: c_int = 21;

// DECODER.
pub const DECODER_NEWCTX: c_int = 1;
pub const DECODER_FREECTX: c_int = 2;
pub const DECODER_DOES_SELECTION: c_int = 10;
pub const DECODER_DECODE: c_int = 11;

// STORE.
pub const STORE_OPEN: c_int = 1;
pub const STORE_SETTABLE_CTX_PARAMS: c_int = 3;
pub const STORE_SET_CTX_PARAMS: c_int = 4;
pub const STORE_LOAD: c_int = 5;
pub const STORE_EOF: c_int = 6;
pub const STORE_CLOSE: c_int = 7;

// OSSL_STORE_INFO_* (the `expect` store parameter).
pub const STORE_INFO_NAME: c_int = 1;
pub const STORE_INFO_PUBKEY: c_int = 3;
pub const STORE_INFO_PKEY: c_int = 4;
pub const STORE_INFO_CERT: c_int = 5;

// OSSL_OBJECT_* (the `type` object parameter).
pub const OBJECT_NAME: c_int = 1;
pub const OBJECT_PKEY: c_int = 2;
pub const OBJECT_CERT: c_int = 3;

// RSA padding modes as `pad-mode` integers.
pub const RSA_PKCS1_PADDING: i64 = 1;
pub const RSA_PKCS1_PSS_PADDING: i64 = 6;

/// `OSSL_CALLBACK`.
pub type Callback = unsafe extern "C" fn(params: *const Param, arg: *mut c_void) -> c_int;
/// `OSSL_PASSPHRASE_CALLBACK`.
pub type PassphraseCallback = unsafe extern "C" fn(
    pass: *mut c_char,
    pass_size: usize,
    pass_len: *mut usize,
    params: *const Param,
    arg: *mut c_void,
) -> c_int;

// Upcall signatures.
pub type CoreGetParamsFn = unsafe extern "C" fn(handle: *const c_void, params: *mut Param) -> c_int;
pub type CoreNewErrorFn = unsafe extern "C" fn(handle: *const c_void);
pub type CoreSetErrorDebugFn = unsafe extern "C" fn(
    handle: *const c_void,
    file: *const c_char,
    line: c_int,
    func: *const c_char,
);
/// Opaque: only handed on to the C shim.
pub type CoreVsetErrorFn = unsafe extern "C" fn();
pub type BioReadExFn = unsafe extern "C" fn(
    bio: *mut c_void,
    data: *mut c_void,
    data_len: usize,
    bytes_read: *mut usize,
) -> c_int;

pub type CoreGetLibctxFn = unsafe extern "C" fn(handle: *const c_void) -> *mut c_void;

// libcrypto itself (the host program's copy: one libcrypto.so.3 per process).
#[link(name = "crypto")]
extern "C" {
    pub fn EVP_MD_fetch(
        libctx: *mut c_void,
        name: *const c_char,
        props: *const c_char,
    ) -> *mut c_void;
    pub fn EVP_MD_free(md: *mut c_void);
    pub fn ERR_set_mark() -> c_int;
    pub fn ERR_pop_to_mark() -> c_int;
}

extern "C" {
    /// src/c/err_shim.c
    pub fn jpki_set_error(
        f: CoreVsetErrorFn,
        handle: *const c_void,
        reason: u32,
        message: *const c_char,
    );
}

/// Builds a [`Dispatch`] entry from a typed function (fn-pointer to fn-pointer transmute,
/// which is how C's `(void (*)(void))` casts look in Rust).
macro_rules! dispatch {
    ($id:expr, $f:expr, $t:ty) => {
        $crate::ffi::Dispatch {
            id: $id,
            // SAFETY: OpenSSL casts the pointer back to the type its id prescribes, which is $t.
            f: Some(unsafe { ::std::mem::transmute::<$t, unsafe extern "C" fn()>($f) }),
        }
    };
}
pub(crate) use dispatch;

/// The end of a dispatch table.
pub const DISPATCH_END: Dispatch = Dispatch { id: 0, f: None };
