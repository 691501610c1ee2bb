//! The provider instance: what `OSSL_provider_init` builds, the upcalls it keeps, the settings
//! from its openssl.cnf section, and the algorithm tables it answers queries with.
//!
//! One [`Provider`] per `OSSL_LIB_CTX` that loads the module; everything mutable lives under
//! it (the card connection and PIN cache in [`crate::card_state::Token`]), nothing in statics except
//! immutable tables.

use crate::card_state::Token;
use crate::error::{ProvError, Reason, REASON_STRINGS};
use crate::ffi::{self, dispatch, Algorithm, Dispatch, Param, DISPATCH_END};
use crate::params::locate;
use jpki_card::ReaderChoice;
use jpki_uri::PinSource;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Arc;

/// Upcalls into libcrypto, picked out of the `in` dispatch table.
pub struct Core {
    handle: *const c_void,
    get_params: Option<ffi::CoreGetParamsFn>,
    get_libctx: Option<ffi::CoreGetLibctxFn>,
    new_error: Option<ffi::CoreNewErrorFn>,
    set_error_debug: Option<ffi::CoreSetErrorDebugFn>,
    vset_error: Option<ffi::CoreVsetErrorFn>,
    bio_read_ex: Option<ffi::BioReadExFn>,
    /// Also print PIN errors on stderr (config `pin-errors = stderr|queue`).
    pin_errors_to_stderr: bool,
}

// SAFETY: the core handle and upcalls are valid for the provider's lifetime and OpenSSL's
// upcalls are thread-safe (they act on the calling thread's error queue).
unsafe impl Send for Core {}
// SAFETY: as above; Core is never mutated after init.
unsafe impl Sync for Core {}

impl Core {
    /// Reads the upcalls we use from the core's dispatch table.
    ///
    /// # Safety
    /// `input` is the `in` table OpenSSL passed to `OSSL_provider_init`.
    unsafe fn from_dispatch(handle: *const c_void, input: *const Dispatch) -> Core {
        let mut core = Core {
            handle,
            get_params: None,
            get_libctx: None,
            new_error: None,
            set_error_debug: None,
            vset_error: None,
            bio_read_ex: None,
            pin_errors_to_stderr: true,
        };
        let mut d = input;
        // SAFETY: the table ends with id 0; each function has the type its id prescribes.
        unsafe {
            while !d.is_null() && (*d).id != 0 {
                let f = (*d).f;
                match (*d).id {
                    ffi::CORE_GET_PARAMS => {
                        core.get_params =
                            f.map(|f| std::mem::transmute::<_, ffi::CoreGetParamsFn>(f))
                    }
                    ffi::CORE_GET_LIBCTX => {
                        core.get_libctx =
                            f.map(|f| std::mem::transmute::<_, ffi::CoreGetLibctxFn>(f))
                    }
                    ffi::CORE_NEW_ERROR => {
                        core.new_error = f.map(|f| std::mem::transmute::<_, ffi::CoreNewErrorFn>(f))
                    }
                    ffi::CORE_SET_ERROR_DEBUG => {
                        core.set_error_debug =
                            f.map(|f| std::mem::transmute::<_, ffi::CoreSetErrorDebugFn>(f))
                    }
                    ffi::CORE_VSET_ERROR => core.vset_error = f,
                    ffi::BIO_READ_EX => {
                        core.bio_read_ex = f.map(|f| std::mem::transmute::<_, ffi::BioReadExFn>(f))
                    }
                    _ => {}
                }
                d = d.add(1);
            }
        }
        core
    }

    /// Puts `err` on the calling thread's OpenSSL error queue.
    #[track_caller]
    pub fn raise(&self, err: &ProvError) {
        let (Some(new_error), Some(vset)) = (self.new_error, self.vset_error) else {
            return;
        };
        let loc = std::panic::Location::caller();
        let msg = format!("jpki: {err}").replace('\0', " ");
        let msg = CString::new(msg).unwrap_or_default();
        let file = CString::new(loc.file()).unwrap_or_default();
        tracing::debug!(target: "jpki_provider", "error: {err}");
        // Many programs (curl 7.88 among them) report "unable to set private key file" and drop
        // OpenSSL's error queue; a card owner must still learn that a PIN try was spent.
        if self.pin_errors_to_stderr
            && matches!(
                err.reason(),
                Reason::WrongPin | Reason::PinBlocked | Reason::LastTry | Reason::NoPin
            )
        {
            eprintln!("jpki: {err}");
        }
        // SAFETY: upcalls from the core's own table, called with its handle and valid strings.
        unsafe {
            new_error(self.handle);
            if let Some(dbg) = self.set_error_debug {
                dbg(
                    self.handle,
                    file.as_ptr(),
                    loc.line() as c_int,
                    c"jpki".as_ptr(),
                );
            }
            ffi::jpki_set_error(vset, self.handle, err.reason() as u32, msg.as_ptr());
        }
    }

    /// Reads up to `max` bytes from a core BIO (what decoders are handed).
    ///
    /// # Safety
    /// `bio` is the `OSSL_CORE_BIO` OpenSSL passed to the decoder.
    pub unsafe fn read_bio(&self, bio: *mut c_void, max: usize) -> Option<Vec<u8>> {
        let read = self.bio_read_ex?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() <= max {
            let mut n = 0usize;
            // SAFETY: buf is writable for its length; bio is the caller's.
            let ok = unsafe { read(bio, buf.as_mut_ptr() as *mut c_void, buf.len(), &mut n) };
            if ok == 0 || n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n.min(buf.len())]);
        }
        Some(out)
    }

    /// Whether some provider in our library context offers SHA-256 — in practice, whether
    /// `default` is loaded beside us. Without it OpenSSL cannot decode the card's certificates
    /// or hash for CMS, and fails later with errors that do not say why.
    pub fn companion_loaded(&self) -> bool {
        let Some(get) = self.get_libctx else {
            return true;
        };
        // SAFETY: the core's upcall with its handle; EVP_MD_fetch/free on that library context.
        unsafe {
            let libctx = get(self.handle);
            ffi::ERR_set_mark();
            let md = ffi::EVP_MD_fetch(libctx, c"SHA256".as_ptr(), std::ptr::null());
            // The failed fetch's own error says nothing the user can act on.
            ffi::ERR_pop_to_mark();
            if md.is_null() {
                return false;
            }
            ffi::EVP_MD_free(md);
        }
        true
    }

    /// A `key = value` of this provider's openssl.cnf section.
    fn config_value(&self, key: &'static CStr) -> Option<String> {
        let get = self.get_params?;
        let mut value: *const c_char = std::ptr::null();
        let mut params = [
            Param {
                key: key.as_ptr(),
                data_type: ffi::PARAM_UTF8_PTR,
                data: &mut value as *mut *const c_char as *mut c_void,
                data_size: std::mem::size_of::<*const c_char>(),
                return_size: ffi::PARAM_UNMODIFIED,
            },
            Param::END,
        ];
        // SAFETY: a valid two-entry array; the core writes a pointer into `value`.
        let ok = unsafe { get(self.handle, params.as_mut_ptr()) };
        if ok == 0 || value.is_null() {
            return None;
        }
        // SAFETY: the core returns a NUL-terminated string owned by the config.
        let s = unsafe { CStr::from_ptr(value) };
        s.to_str().ok().map(str::to_owned)
    }
}

/// Settings from the provider's openssl.cnf section (see conf/jpki.cnf).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `reader = TEXT`: reader-name substring for URIs that do not say.
    pub reader: Option<String>,
    /// `pin-source = file:/path | env:NAME`: PIN for URIs that do not say.
    pub pin_source: Option<PinSource>,
    /// `last-try = allow`: may spend the very last PIN try.
    pub allow_last_try: bool,
    /// `pss = card`: answer RSA-PSS requests (TLS 1.3) with the card's PSS mode (spec §7.2,
    /// [O]: not confirmed on every card, so it is off unless asked for, and every PSS signature
    /// is checked against the public key).
    pub pss: bool,
    /// `protect-process = yes | no` (default yes): once the provider holds a PIN, make the
    /// host process non-dumpable (prctl PR_SET_DUMPABLE 0): no core dumps, no same-user
    /// ptrace or /proc/PID/mem of the program that holds the PIN.
    pub protect_process: bool,
}

impl Config {
    fn read(core: &Core) -> Result<Config, ProvError> {
        let mut c = Config {
            reader: core.config_value(c"reader").filter(|s| !s.is_empty()),
            protect_process: true,
            ..Config::default()
        };
        if let Some(v) = core.config_value(c"protect-process") {
            c.protect_process = match v.as_str() {
                "yes" => true,
                "no" => false,
                _ => {
                    return Err(ProvError::Config(
                        "protect-process must be \"yes\" (no core dumps or ptrace of a program while the provider holds a PIN; the default) or \"no\" (leave the program's dumpability alone)",
                    ))
                }
            };
        }
        if let Some(p) = core.config_value(c"pin-source") {
            c.pin_source = Some(jpki_uri::parse_pin_source(&p)?);
        }
        if let Some(v) = core.config_value(c"pss") {
            c.pss = match v.as_str() {
                "card" => true,
                "refuse" => false,
                _ => return Err(ProvError::Uri(jpki_uri::UriError::BadPss)),
            };
        }
        if let Some(v) = core.config_value(c"last-try") {
            c.allow_last_try = match v.as_str() {
                "allow" => true,
                "refuse" => false,
                _ => return Err(ProvError::Uri(jpki_uri::UriError::BadLastTry)),
            };
        }
        Ok(c)
    }

    /// The reader for a URI that may name one.
    pub fn reader_for(&self, uri_reader: Option<&str>) -> ReaderChoice {
        ReaderChoice::from_env_or(uri_reader.or(self.reader.as_deref()))
    }
}

/// The provider context (`provctx`).
pub struct Provider {
    pub core: Core,
    pub config: Config,
    pub token: Token,
}

impl Provider {
    /// Borrows the provider behind a `provctx` pointer.
    ///
    /// # Safety
    /// `provctx` is NULL or a pointer returned by [`init`] and not yet torn down.
    pub unsafe fn from_ctx(provctx: *mut c_void) -> Option<Arc<Provider>> {
        if provctx.is_null() {
            return None;
        }
        let ptr = provctx as *const Provider;
        // SAFETY: provctx came from Arc::into_raw in init; bump the count for the clone.
        unsafe {
            Arc::increment_strong_count(ptr);
            Some(Arc::from_raw(ptr))
        }
    }
}

/// Runs `f` at an `extern "C"` boundary: a panic becomes `fallback`, never unwinds into C.
pub fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// `OSSL_provider_init`'s body.
///
/// # Safety
/// Arguments as OpenSSL passes them.
pub unsafe fn init(
    handle: *const c_void,
    input: *const Dispatch,
    out: *mut *const Dispatch,
    provctx: *mut *mut c_void,
) -> c_int {
    if out.is_null() || provctx.is_null() {
        return 0;
    }
    if let Ok(filter) = std::env::var("JPKI_LOG") {
        // Best effort: the host program may have its own subscriber.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    // SAFETY: forwarded from OpenSSL.
    let mut core = unsafe { Core::from_dispatch(handle, input) };
    match core.config_value(c"pin-errors").as_deref() {
        None | Some("stderr") => {}
        Some("queue") => core.pin_errors_to_stderr = false,
        Some(_) => {
            core.raise(&ProvError::Config(
                "pin-errors must be \"stderr\" (also print PIN errors) or \"queue\" (only OpenSSL's error queue)",
            ));
            return 0;
        }
    }
    let config = match Config::read(&core) {
        Ok(c) => c,
        Err(e) => {
            core.raise(&e);
            return 0;
        }
    };
    let token = Token::new(config.protect_process);
    let prov = Arc::new(Provider {
        core,
        config,
        token,
    });
    // SAFETY: out/provctx checked non-NULL above.
    unsafe {
        *out = PROVIDER_DISPATCH.as_ptr();
        *provctx = Arc::into_raw(prov) as *mut c_void;
    }
    1
}

unsafe extern "C" fn teardown(provctx: *mut c_void) {
    guard((), || {
        if !provctx.is_null() {
            // SAFETY: the reference init handed out; released exactly once here.
            drop(unsafe { Arc::from_raw(provctx as *const Provider) });
        }
    })
}

static PROVIDER_GETTABLE: [Param; 5] = [
    Param::defn(c"name", ffi::PARAM_UTF8_PTR),
    Param::defn(c"version", ffi::PARAM_UTF8_PTR),
    Param::defn(c"buildinfo", ffi::PARAM_UTF8_PTR),
    Param::defn(c"status", ffi::PARAM_INTEGER),
    Param::END,
];

unsafe extern "C" fn gettable_params(_provctx: *mut c_void) -> *const Param {
    PROVIDER_GETTABLE.as_ptr()
}

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => c"unknown",
    };

unsafe extern "C" fn get_params(_provctx: *mut c_void, params: *mut Param) -> c_int {
    guard(0, || {
        // SAFETY: OpenSSL's parameter array.
        unsafe {
            if let Some(p) = locate(params, c"name") {
                if !p.set_utf8(c"jpki: My Number card (JPKI) provider") {
                    return 0;
                }
            }
            if let Some(p) = locate(params, c"version") {
                if !p.set_utf8(VERSION) {
                    return 0;
                }
            }
            if let Some(p) = locate(params, c"buildinfo") {
                if !p.set_utf8(VERSION) {
                    return 0;
                }
            }
            if let Some(p) = locate(params, c"status") {
                if !p.set_int(1) {
                    return 0;
                }
            }
        }
        1
    })
}

/// The names every RSA implementation must carry to be taken for RSA by libssl, curl and
/// `EVP_PKEY_eq` (the default provider's `PROV_NAMES_RSA`).
pub const RSA_NAMES: &CStr = c"RSA:rsaEncryption:1.2.840.113549.1.1.1";

static KEYMGMT_ALGS: [Algorithm; 2] = [
    Algorithm {
        names: RSA_NAMES.as_ptr(),
        properties: c"provider=jpki".as_ptr(),
        implementation: crate::keymgmt::DISPATCH.as_ptr(),
        description: c"My Number card RSA keys".as_ptr(),
    },
    ALGORITHM_END,
];

/// The signature algorithm's own name. Not "RSA": with both providers loaded, OpenSSL fetches
/// a signature implementation by name from whichever provider offers it, and would then route
/// *verification* with ordinary RSA keys (a TLS server's key) here, where there is none. Card
/// keys reach it because the keymgmt names it in `query_operation_name`.
pub const SIGNATURE_NAME: &CStr = c"JPKI-RSA";

static SIGNATURE_ALGS: [Algorithm; 2] = [
    Algorithm {
        names: SIGNATURE_NAME.as_ptr(),
        properties: c"provider=jpki".as_ptr(),
        implementation: crate::signature::DISPATCH.as_ptr(),
        description: c"RSA PKCS#1 v1.5 signatures made by the My Number card".as_ptr(),
    },
    ALGORITHM_END,
];

static DECODER_ALGS: [Algorithm; 3] = [
    Algorithm {
        names: c"DER".as_ptr(),
        properties: c"provider=jpki,input=pem".as_ptr(),
        implementation: crate::decoder::PEM_DISPATCH.as_ptr(),
        description: c"PEM file holding a jpki: URI (JPKI PROVIDER URI) to DER".as_ptr(),
    },
    Algorithm {
        names: RSA_NAMES.as_ptr(),
        properties: c"provider=jpki,input=der,structure=jpki-uri".as_ptr(),
        implementation: crate::decoder::DISPATCH.as_ptr(),
        description: c"jpki: URI (DER) to the My Number card key it names".as_ptr(),
    },
    ALGORITHM_END,
];

static STORE_ALGS: [Algorithm; 2] = [
    Algorithm {
        names: c"jpki".as_ptr(),
        properties: c"provider=jpki".as_ptr(),
        implementation: crate::store::DISPATCH.as_ptr(),
        description: c"My Number card objects: jpki:auth, jpki:sign, jpki:auth-ca, jpki:sign-ca"
            .as_ptr(),
    },
    ALGORITHM_END,
];

const ALGORITHM_END: Algorithm = Algorithm {
    names: std::ptr::null(),
    properties: std::ptr::null(),
    implementation: std::ptr::null(),
    description: std::ptr::null(),
};

unsafe extern "C" fn query_operation(
    _provctx: *mut c_void,
    operation_id: c_int,
    no_store: *mut c_int,
) -> *const Algorithm {
    if !no_store.is_null() {
        // SAFETY: OpenSSL's out-parameter.
        unsafe { *no_store = 0 };
    }
    match operation_id {
        ffi::OP_KEYMGMT => KEYMGMT_ALGS.as_ptr(),
        ffi::OP_SIGNATURE => SIGNATURE_ALGS.as_ptr(),
        ffi::OP_DECODER => DECODER_ALGS.as_ptr(),
        ffi::OP_STORE => STORE_ALGS.as_ptr(),
        _ => std::ptr::null(),
    }
}

unsafe extern "C" fn reason_strings(_provctx: *mut c_void) -> *const ffi::Item {
    REASON_STRINGS.as_ptr()
}

static PROVIDER_DISPATCH: [Dispatch; 6] = [
    dispatch!(
        ffi::PROVIDER_TEARDOWN,
        teardown,
        unsafe extern "C" fn(*mut c_void)
    ),
    dispatch!(
        ffi::PROVIDER_GETTABLE_PARAMS,
        gettable_params,
        unsafe extern "C" fn(*mut c_void) -> *const Param
    ),
    dispatch!(
        ffi::PROVIDER_GET_PARAMS,
        get_params,
        unsafe extern "C" fn(*mut c_void, *mut Param) -> c_int
    ),
    dispatch!(
        ffi::PROVIDER_QUERY_OPERATION,
        query_operation,
        unsafe extern "C" fn(*mut c_void, c_int, *mut c_int) -> *const Algorithm
    ),
    dispatch!(
        ffi::PROVIDER_GET_REASON_STRINGS,
        reason_strings,
        unsafe extern "C" fn(*mut c_void) -> *const ffi::Item
    ),
    DISPATCH_END,
];
