//! SIGNATURE: RSA PKCS#1 v1.5 made by the card.
//!
//! The DigestInfo is built here (`jpki_card::DigestInfo`) and padded and signed on the card.
//! Both forms OpenSSL uses are offered: sign-a-digest (`EVP_PKEY_sign`, `openssl pkeyutl`) and
//! digest-and-sign (`EVP_DigestSign*`: `openssl dgst|req|cms`, X.509, TLS). Hashing is done
//! here with RustCrypto's SHA implementations so it does not depend on which other providers
//! are loaded.
//!
//! RSA-PSS only when enabled (`pss = card`): the card's PSS mode is unconfirmed (spec §7.2
//! [O]), SHA-256 with a 32-byte salt only, and each PSS signature is verified before it is
//! returned. Refuses: raw RSA, PSS when not enabled, digests
//! other than SHA-1/224/256/384/512, verification (that is the default provider's job, with
//! the exported public key). `digest_sign_init` never touches the card: libssl calls it as a
//! probe for every signature algorithm it considers.

use crate::error::{ProvError, Result};
use crate::ffi::{self, dispatch, Dispatch, Param, DISPATCH_END};
use crate::key::Key;
use crate::keymgmt::keydata;
use crate::params::{locate, locate_const};
use crate::provider::{guard, Provider};
use jpki_card::{DigestInfo, HashAlg, Hasher, SignInput};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

/// The card's signature size for a 2048-bit key; the real value comes from the key.
const FALLBACK_SIG_LEN: usize = 256;

/// Parses an OpenSSL digest name (`SHA256`, `SHA2-256`, `sha-256`, an OID, …).
pub fn hash_alg(name: &str) -> Option<HashAlg> {
    let n: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match n.as_str() {
        "SHA1" | "1.3.14.3.2.26" => HashAlg::Sha1,
        "SHA224" | "SHA2224" | "2.16.840.1.101.3.4.2.4" => HashAlg::Sha224,
        "SHA256" | "SHA2256" | "2.16.840.1.101.3.4.2.1" => HashAlg::Sha256,
        "SHA384" | "SHA2384" | "2.16.840.1.101.3.4.2.2" => HashAlg::Sha384,
        "SHA512" | "SHA2512" | "2.16.840.1.101.3.4.2.3" => HashAlg::Sha512,
        _ => return None,
    })
}

fn alg_name(alg: HashAlg) -> &'static CStr {
    match alg {
        HashAlg::Sha1 => c"SHA1",
        HashAlg::Sha224 => c"SHA2-224",
        HashAlg::Sha256 => c"SHA2-256",
        HashAlg::Sha384 => c"SHA2-384",
        HashAlg::Sha512 => c"SHA2-512",
    }
}

/// DER `AlgorithmIdentifier { shaXWithRSAEncryption, NULL }` for CMS, X.509 and requests.
pub fn algorithm_id(alg: HashAlg) -> [u8; 15] {
    let last = match alg {
        HashAlg::Sha1 => 0x05,
        HashAlg::Sha224 => 0x0e,
        HashAlg::Sha256 => 0x0b,
        HashAlg::Sha384 => 0x0c,
        HashAlg::Sha512 => 0x0d,
    };
    [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last, 0x05, 0x00,
    ]
}

/// A signature operation context.
#[derive(Clone)]
struct SigCtx {
    prov: Arc<Provider>,
    key: Option<Arc<Key>>,
    /// Set by `digest_sign_init` or the `digest` parameter; `None` = caller gives DigestInfos.
    alg: Option<HashAlg>,
    hasher: Option<Hasher>,
    /// RSA-PSS asked for (and allowed: `pss = card`).
    pss: bool,
}

impl SigCtx {
    fn key(&self) -> Result<&Arc<Key>> {
        self.key
            .as_ref()
            .ok_or(ProvError::Internal("signature context without a key"))
    }

    fn sig_len(&self) -> usize {
        match &self.key {
            Some(k) if k.public.is_set() => k.public.bits().div_ceil(8),
            _ => FALLBACK_SIG_LEN,
        }
    }

    /// What the card signs for a finished hash of `alg`.
    fn input_for_hash(&self, alg: HashAlg, hash: &[u8]) -> Result<SignInput> {
        if self.pss {
            let h: [u8; 32] = match (alg, hash.try_into()) {
                (HashAlg::Sha256, Ok(h)) => h,
                _ => {
                    return Err(ProvError::PaddingUnsupported {
                        what: format!("RSA-PSS with {alg:?} (the card does PSS over SHA-256 only)"),
                    })
                }
            };
            return Ok(SignInput::PssSha256(h));
        }
        DigestInfo::new(alg, hash)
            .map(SignInput::Pkcs1)
            .map_err(|e| ProvError::BadInput(e.to_string()))
    }

    /// Signs a finished hash on the card (PKCS#1 v1.5 DigestInfo, or PSS when asked).
    fn sign_hash(&self, alg: HashAlg, hash: &[u8]) -> Result<Vec<u8>> {
        self.key()?.sign(&self.input_for_hash(alg, hash)?)
    }

    /// `sign()` input: a digest of the configured algorithm, or (no algorithm) a DigestInfo.
    fn sign_input(&self, tbs: &[u8]) -> Result<SignInput> {
        if let Some(alg) = self.alg {
            return self.input_for_hash(alg, tbs);
        }
        self.digest_info_for(tbs).map(SignInput::Pkcs1)
    }

    fn digest_info_for(&self, tbs: &[u8]) -> Result<DigestInfo> {
        match self.alg {
            Some(alg) => DigestInfo::new(alg, tbs).map_err(|e| ProvError::BadInput(e.to_string())),
            None => DigestInfo::from_der(tbs).ok_or_else(|| {
                ProvError::BadInput(format!(
                    "the card signs digests: give the digest algorithm (e.g. -pkeyopt digest:sha256) or a DER DigestInfo, not {} raw bytes",
                    tbs.len()
                ))
            }),
        }
    }

    fn set_params(&mut self, params: *const Param) -> Result<()> {
        // SAFETY: OpenSSL's parameter array (NULL allowed).
        unsafe {
            if let Some(p) = locate_const(params, c"digest") {
                let name = p
                    .get_utf8()
                    .ok_or(ProvError::Internal("digest parameter is not text"))?;
                let alg = hash_alg(name).ok_or_else(|| ProvError::Digest(name.to_string()))?;
                if self.hasher.is_some() && self.alg != Some(alg) {
                    self.hasher = Some(Hasher::new(alg));
                }
                self.alg = Some(alg);
            }
            if let Some(p) = locate_const(params, c"pad-mode") {
                let mode = match (p.get_i64(), p.get_utf8()) {
                    (Some(ffi::RSA_PKCS1_PADDING), _) => Some(false),
                    (Some(ffi::RSA_PKCS1_PSS_PADDING), _) => Some(true),
                    (None, Some(s)) if s.eq_ignore_ascii_case("pkcs1") => Some(false),
                    (None, Some(s)) if s.eq_ignore_ascii_case("pss") => Some(true),
                    _ => None,
                };
                match mode {
                    Some(false) => self.pss = false,
                    Some(true) if self.key.as_ref().is_some_and(|k| k.pss_allowed()) => self.pss = true,
                    Some(true) => {
                        return Err(ProvError::PaddingUnsupported {
                            what: "RSA-PSS (it is off: the card's PSS mode is enabled with pss = card in the jpki provider section or ?pss=card in the URI)".into(),
                        })
                    }
                    None => {
                        let what = match (p.get_i64(), p.get_utf8()) {
                            (Some(3), _) => "raw RSA (no padding)".to_string(),
                            (Some(m), _) => format!("RSA padding mode {m}"),
                            (None, Some(s)) => format!("RSA padding \"{s}\""),
                            _ => "that RSA padding".to_string(),
                        };
                        return Err(ProvError::PaddingUnsupported { what });
                    }
                }
            }
            if let Some(p) = locate_const(params, c"saltlen") {
                // The card's PSS salt is as long as the SHA-256 hash.
                let ok = self.pss
                    && match (p.get_i64(), p.get_utf8()) {
                        (Some(n), _) => n == -1 || n == 32,
                        (None, Some(s)) => s == "digest" || s == "32",
                        _ => false,
                    };
                if !ok {
                    return Err(ProvError::PaddingUnsupported {
                        what: "an RSA-PSS salt length other than the digest length (32)".into(),
                    });
                }
            }
            if let Some(p) = locate_const(params, c"mgf1-digest") {
                let ok = self.pss && p.get_utf8().and_then(hash_alg) == Some(HashAlg::Sha256);
                if !ok {
                    return Err(ProvError::PaddingUnsupported {
                        what: "RSA-PSS with MGF1 other than SHA-256".into(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Runs a context operation; errors go to OpenSSL's queue.
fn with_ctx(ctx: *mut c_void, f: impl FnOnce(&mut SigCtx) -> Result<()>) -> c_int {
    guard(0, || {
        // SAFETY: a SigCtx allocated by newctx/dupctx, exclusively ours during the call.
        let Some(c) = (unsafe { (ctx as *mut SigCtx).as_mut() }) else {
            return 0;
        };
        match f(c) {
            Ok(()) => 1,
            Err(e) => {
                c.prov.core.raise(&e);
                0
            }
        }
    })
}

/// Writes a signature (or just its size when `sig` is NULL).
///
/// # Safety
/// `sig` is NULL or writable for `sigsize`; `siglen` is writable.
unsafe fn emit(
    sig_len: usize,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
    make: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<()> {
    if siglen.is_null() {
        return Err(ProvError::Internal("no signature length pointer"));
    }
    if sig.is_null() {
        // SAFETY: checked non-NULL.
        unsafe { *siglen = sig_len };
        return Ok(());
    }
    if sigsize < sig_len {
        return Err(ProvError::Internal("signature buffer too small"));
    }
    let s = make()?;
    if s.len() > sigsize {
        return Err(ProvError::Internal("signature buffer too small"));
    }
    // SAFETY: sizes checked.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), sig, s.len());
        *siglen = s.len();
    }
    Ok(())
}

fn take_key(c: &mut SigCtx, provkey: *mut c_void) -> Result<()> {
    // SAFETY: OpenSSL hands back key data our keymgmt made.
    let key = unsafe { keydata(provkey) }
        .and_then(|k| k.key.clone())
        .ok_or(ProvError::Internal("no key"))?;
    if key.card.is_none() {
        return Err(ProvError::NotAvailable(
            "this is a public key only; sign with jpki:auth or jpki:sign loaded as a private key"
                .into(),
        ));
    }
    c.key = Some(key);
    Ok(())
}

unsafe extern "C" fn newctx(provctx: *mut c_void, _propq: *const c_char) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: provctx is ours.
        match unsafe { Provider::from_ctx(provctx) } {
            Some(prov) => Box::into_raw(Box::new(SigCtx {
                prov,
                key: None,
                alg: None,
                hasher: None,
                pss: false,
            })) as *mut c_void,
            None => std::ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn freectx(ctx: *mut c_void) {
    guard((), || {
        if !ctx.is_null() {
            // SAFETY: allocated by newctx/dupctx, freed once.
            drop(unsafe { Box::from_raw(ctx as *mut SigCtx) });
        }
    })
}

unsafe extern "C" fn dupctx(ctx: *mut c_void) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: a live SigCtx.
        match unsafe { (ctx as *const SigCtx).as_ref() } {
            Some(c) => Box::into_raw(Box::new(c.clone())) as *mut c_void,
            None => std::ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn sign_init(
    ctx: *mut c_void,
    provkey: *mut c_void,
    params: *const Param,
) -> c_int {
    with_ctx(ctx, |c| {
        take_key(c, provkey)?;
        c.hasher = None;
        c.pss = false;
        c.set_params(params)
    })
}

unsafe extern "C" fn sign(
    ctx: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    with_ctx(ctx, |c| {
        // SAFETY: OpenSSL's buffers.
        unsafe {
            emit(c.sig_len(), sig, siglen, sigsize, || {
                if tbs.is_null() {
                    return Err(ProvError::Internal("nothing to sign"));
                }
                let data = std::slice::from_raw_parts(tbs, tbslen);
                let input = c.sign_input(data)?;
                c.key()?.sign(&input)
            })
        }
    })
}

unsafe extern "C" fn digest_sign_init(
    ctx: *mut c_void,
    mdname: *const c_char,
    provkey: *mut c_void,
    params: *const Param,
) -> c_int {
    with_ctx(ctx, |c| {
        if !provkey.is_null() {
            take_key(c, provkey)?;
        }
        let alg = if mdname.is_null() {
            HashAlg::Sha256
        } else {
            // SAFETY: OpenSSL's NUL-terminated name.
            let name = unsafe { CStr::from_ptr(mdname) }.to_string_lossy();
            hash_alg(&name).ok_or_else(|| ProvError::Digest(name.into_owned()))?
        };
        c.alg = Some(alg);
        c.hasher = Some(Hasher::new(alg));
        c.pss = false;
        c.set_params(params)
    })
}

unsafe extern "C" fn digest_sign_update(
    ctx: *mut c_void,
    data: *const u8,
    datalen: usize,
) -> c_int {
    with_ctx(ctx, |c| {
        let h = c
            .hasher
            .as_mut()
            .ok_or(ProvError::Internal("digest_sign_update before init"))?;
        if datalen > 0 {
            if data.is_null() {
                return Err(ProvError::Internal("no data"));
            }
            // SAFETY: OpenSSL's buffer.
            h.update(unsafe { std::slice::from_raw_parts(data, datalen) });
        }
        Ok(())
    })
}

unsafe extern "C" fn digest_sign_final(
    ctx: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
) -> c_int {
    with_ctx(ctx, |c| {
        // SAFETY: OpenSSL's buffers.
        unsafe {
            emit(c.sig_len(), sig, siglen, sigsize, || {
                let alg = c.alg.ok_or(ProvError::Internal("no digest"))?;
                let h = c
                    .hasher
                    .take()
                    .ok_or(ProvError::Internal("digest_sign_final before init"))?;
                c.sign_hash(alg, &h.finish())
            })
        }
    })
}

unsafe extern "C" fn digest_sign(
    ctx: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    with_ctx(ctx, |c| {
        // SAFETY: OpenSSL's buffers.
        unsafe {
            emit(c.sig_len(), sig, siglen, sigsize, || {
                let alg = c.alg.unwrap_or(HashAlg::Sha256);
                let mut h = Hasher::new(alg);
                if tbslen > 0 {
                    if tbs.is_null() {
                        return Err(ProvError::Internal("nothing to sign"));
                    }
                    h.update(std::slice::from_raw_parts(tbs, tbslen));
                }
                c.sign_hash(alg, &h.finish())
            })
        }
    })
}

static GETTABLE: [Param; 4] = [
    Param::defn(c"algorithm-id", ffi::PARAM_OCTET_STRING),
    Param::defn(c"digest", ffi::PARAM_UTF8_STRING),
    Param::defn(c"pad-mode", ffi::PARAM_INTEGER),
    Param::END,
];

static SETTABLE: [Param; 6] = [
    Param::defn(c"digest", ffi::PARAM_UTF8_STRING),
    Param::defn(c"properties", ffi::PARAM_UTF8_STRING),
    Param::defn(c"pad-mode", ffi::PARAM_INTEGER),
    Param::defn(c"saltlen", ffi::PARAM_INTEGER),
    Param::defn(c"mgf1-digest", ffi::PARAM_UTF8_STRING),
    Param::END,
];

unsafe extern "C" fn gettable_ctx_params(_ctx: *mut c_void, _provctx: *mut c_void) -> *const Param {
    GETTABLE.as_ptr()
}

unsafe extern "C" fn settable_ctx_params(_ctx: *mut c_void, _provctx: *mut c_void) -> *const Param {
    SETTABLE.as_ptr()
}

unsafe extern "C" fn get_ctx_params(ctx: *mut c_void, params: *mut Param) -> c_int {
    with_ctx(ctx, |c| {
        // SAFETY: OpenSSL's parameter array.
        unsafe {
            // RSA-PSS AlgorithmIdentifiers (for X.509/CMS) are not offered: PSS is for TLS.
            if let Some(p) = locate(params, c"algorithm-id").filter(|_| !c.pss) {
                let alg = c.alg.unwrap_or(HashAlg::Sha256);
                if !p.set_octets(&algorithm_id(alg)) {
                    return Err(ProvError::Internal("algorithm-id buffer"));
                }
            }
            if let Some(p) = locate(params, c"digest") {
                if let Some(alg) = c.alg {
                    if !p.set_utf8(alg_name(alg)) {
                        return Err(ProvError::Internal("digest buffer"));
                    }
                }
            }
            if let Some(p) = locate(params, c"pad-mode") {
                let mode = if c.pss {
                    ffi::RSA_PKCS1_PSS_PADDING
                } else {
                    ffi::RSA_PKCS1_PADDING
                };
                if !p.set_int(mode) {
                    return Err(ProvError::Internal("pad-mode buffer"));
                }
            }
        }
        Ok(())
    })
}

unsafe extern "C" fn set_ctx_params(ctx: *mut c_void, params: *const Param) -> c_int {
    with_ctx(ctx, |c| c.set_params(params))
}

pub static DISPATCH: [Dispatch; 14] = [
    dispatch!(
        ffi::SIGNATURE_NEWCTX,
        newctx,
        unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void
    ),
    dispatch!(
        ffi::SIGNATURE_FREECTX,
        freectx,
        unsafe extern "C" fn(*mut c_void)
    ),
    dispatch!(
        ffi::SIGNATURE_DUPCTX,
        dupctx,
        unsafe extern "C" fn(*mut c_void) -> *mut c_void
    ),
    dispatch!(
        ffi::SIGNATURE_SIGN_INIT,
        sign_init,
        unsafe extern "C" fn(*mut c_void, *mut c_void, *const Param) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_SIGN,
        sign,
        unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize, *const u8, usize) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_DIGEST_SIGN_INIT,
        digest_sign_init,
        unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void, *const Param) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_DIGEST_SIGN_UPDATE,
        digest_sign_update,
        unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_DIGEST_SIGN_FINAL,
        digest_sign_final,
        unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_DIGEST_SIGN,
        digest_sign,
        unsafe extern "C" fn(*mut c_void, *mut u8, *mut usize, usize, *const u8, usize) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_GET_CTX_PARAMS,
        get_ctx_params,
        unsafe extern "C" fn(*mut c_void, *mut Param) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_GETTABLE_CTX_PARAMS,
        gettable_ctx_params,
        unsafe extern "C" fn(*mut c_void, *mut c_void) -> *const Param
    ),
    dispatch!(
        ffi::SIGNATURE_SET_CTX_PARAMS,
        set_ctx_params,
        unsafe extern "C" fn(*mut c_void, *const Param) -> c_int
    ),
    dispatch!(
        ffi::SIGNATURE_SETTABLE_CTX_PARAMS,
        settable_ctx_params,
        unsafe extern "C" fn(*mut c_void, *mut c_void) -> *const Param
    ),
    DISPATCH_END,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names_and_algorithm_ids() {
        assert_eq!(hash_alg("SHA2-256"), Some(HashAlg::Sha256));
        assert_eq!(hash_alg("sha256"), Some(HashAlg::Sha256));
        assert_eq!(hash_alg("SHA-1"), Some(HashAlg::Sha1));
        assert_eq!(hash_alg("2.16.840.1.101.3.4.2.3"), Some(HashAlg::Sha512));
        assert_eq!(hash_alg("MD5"), None);
        assert_eq!(hash_alg("SHA3-256"), None);
        assert_eq!(algorithm_id(HashAlg::Sha256)[12], 0x0b);
    }
}
