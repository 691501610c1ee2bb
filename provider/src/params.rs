//! Reading and writing `OSSL_PARAM` arrays, with OpenSSL's own rules (see
//! `crypto/params.c`): a NULL `data` means "tell me the size", strings are counted without the
//! NUL, integers are native-endian of the caller's size, big numbers are unsigned native-endian.
//!
//! Done here in Rust rather than through libcrypto's `OSSL_PARAM_*` functions so the provider
//! does not need to link libcrypto at all (it is loaded into whichever libcrypto loads it).
//! Every function that dereferences a caller's array is `unsafe`: the caller vouches for it.

use crate::ffi::{
    Param, PARAM_INTEGER, PARAM_OCTET_STRING, PARAM_UNSIGNED_INTEGER, PARAM_UTF8_PTR,
    PARAM_UTF8_STRING,
};
use std::ffi::{c_char, c_int, c_void, CStr};

/// Finds `key` in a NULL-key-terminated array.
///
/// # Safety
/// `params` is NULL or a valid `OSSL_PARAM` array that outlives `'a`.
pub unsafe fn locate<'a>(params: *mut Param, key: &CStr) -> Option<&'a mut Param> {
    if params.is_null() {
        return None;
    }
    let mut p = params;
    // SAFETY: the array is terminated by an entry with a NULL key (caller's promise).
    unsafe {
        while !(*p).key.is_null() {
            if CStr::from_ptr((*p).key) == key {
                return Some(&mut *p);
            }
            p = p.add(1);
        }
    }
    None
}

/// [`locate`] for a read-only array.
///
/// # Safety
/// As [`locate`].
pub unsafe fn locate_const<'a>(params: *const Param, key: &CStr) -> Option<&'a Param> {
    // SAFETY: forwarded; the result is only read.
    unsafe { locate(params as *mut Param, key).map(|p| &*p) }
}

impl Param {
    /// An integer (signed or unsigned, any size up to 8 bytes).
    ///
    /// # Safety
    /// `data` points at `data_size` readable bytes.
    pub unsafe fn get_i64(&self) -> Option<i64> {
        if self.data.is_null() {
            return None;
        }
        // SAFETY: size checked against the type read.
        unsafe {
            match (self.data_type, self.data_size) {
                (PARAM_INTEGER, 4) => Some(i64::from(*(self.data as *const i32))),
                (PARAM_INTEGER, 8) => Some(*(self.data as *const i64)),
                (PARAM_UNSIGNED_INTEGER, 4) => Some(i64::from(*(self.data as *const u32))),
                (PARAM_UNSIGNED_INTEGER, 8) => i64::try_from(*(self.data as *const u64)).ok(),
                _ => None,
            }
        }
    }

    /// A UTF-8 string (inline or by pointer).
    ///
    /// # Safety
    /// `data` is valid for its type and size for `'a`.
    pub unsafe fn get_utf8<'a>(&self) -> Option<&'a str> {
        if self.data.is_null() {
            return None;
        }
        // SAFETY: caller's promise about data/data_size.
        let bytes: &[u8] = unsafe {
            match self.data_type {
                PARAM_UTF8_STRING => {
                    let b = std::slice::from_raw_parts(self.data as *const u8, self.data_size);
                    // Some callers count the NUL, some do not.
                    b.split(|&c| c == 0).next().unwrap_or(b)
                }
                PARAM_UTF8_PTR => {
                    let ptr = *(self.data as *const *const c_char);
                    if ptr.is_null() {
                        return None;
                    }
                    CStr::from_ptr(ptr).to_bytes()
                }
                _ => return None,
            }
        };
        std::str::from_utf8(bytes).ok()
    }

    /// An unsigned big number as big-endian bytes without leading zeros.
    ///
    /// # Safety
    /// `data` points at `data_size` readable bytes.
    pub unsafe fn get_unsigned_be(&self) -> Option<Vec<u8>> {
        if self.data.is_null() || self.data_type != PARAM_UNSIGNED_INTEGER {
            return None;
        }
        // SAFETY: caller's promise.
        let native = unsafe { std::slice::from_raw_parts(self.data as *const u8, self.data_size) };
        let mut be = native.to_vec();
        if cfg!(target_endian = "little") {
            be.reverse();
        }
        let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
        Some(be.split_off(first))
    }

    /// Sets an integer of whatever size the caller asked for.
    ///
    /// # Safety
    /// `data` is NULL or points at `data_size` writable bytes.
    pub unsafe fn set_int(&mut self, v: i64) -> bool {
        self.return_size = if self.data_size == 4 { 4 } else { 8 };
        if self.data.is_null() {
            return true;
        }
        // SAFETY: size checked against the type written.
        unsafe {
            match (self.data_type, self.data_size) {
                (PARAM_INTEGER, 4) => match i32::try_from(v) {
                    Ok(x) => *(self.data as *mut i32) = x,
                    Err(_) => return false,
                },
                (PARAM_INTEGER, 8) => *(self.data as *mut i64) = v,
                (PARAM_UNSIGNED_INTEGER, 4) => match u32::try_from(v) {
                    Ok(x) => *(self.data as *mut u32) = x,
                    Err(_) => return false,
                },
                (PARAM_UNSIGNED_INTEGER, 8) => match u64::try_from(v) {
                    Ok(x) => *(self.data as *mut u64) = x,
                    Err(_) => return false,
                },
                _ => return false,
            }
        }
        true
    }

    /// Sets a UTF-8 string: copied for `UTF8_STRING`, pointed at for `UTF8_PTR` (then `s`
    /// must live as long as the caller looks at it: only pass `'static` strings there).
    ///
    /// # Safety
    /// `data` is NULL or valid for the declared type and size.
    pub unsafe fn set_utf8(&mut self, s: &'static CStr) -> bool {
        let bytes = s.to_bytes();
        self.return_size = bytes.len();
        if self.data.is_null() {
            return true;
        }
        // SAFETY: sizes checked before writing.
        unsafe {
            match self.data_type {
                PARAM_UTF8_STRING => {
                    if self.data_size < bytes.len() {
                        return false;
                    }
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        self.data as *mut u8,
                        bytes.len(),
                    );
                    if bytes.len() < self.data_size {
                        *(self.data as *mut u8).add(bytes.len()) = 0;
                    }
                    true
                }
                PARAM_UTF8_PTR => {
                    *(self.data as *mut *const c_char) = s.as_ptr();
                    true
                }
                _ => false,
            }
        }
    }

    /// Sets an octet string (copied).
    ///
    /// # Safety
    /// `data` is NULL or points at `data_size` writable bytes.
    pub unsafe fn set_octets(&mut self, b: &[u8]) -> bool {
        self.return_size = b.len();
        if self.data.is_null() {
            return true;
        }
        if self.data_type != PARAM_OCTET_STRING || self.data_size < b.len() {
            return false;
        }
        // SAFETY: size checked.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.data as *mut u8, b.len()) };
        true
    }

    /// Sets an unsigned big number given big-endian.
    ///
    /// # Safety
    /// `data` is NULL or points at `data_size` writable bytes.
    pub unsafe fn set_unsigned_be(&mut self, be: &[u8]) -> bool {
        self.return_size = be.len();
        if self.data.is_null() {
            return true;
        }
        if self.data_type != PARAM_UNSIGNED_INTEGER || self.data_size < be.len() {
            return false;
        }
        let mut native = vec![0u8; self.data_size];
        native[self.data_size - be.len()..].copy_from_slice(be);
        if cfg!(target_endian = "little") {
            native.reverse();
        }
        // SAFETY: size checked.
        unsafe {
            std::ptr::copy_nonoverlapping(native.as_ptr(), self.data as *mut u8, native.len())
        };
        self.return_size = self.data_size;
        true
    }
}

/// An `OSSL_PARAM` array we hand to a callback, owning everything it points at.
#[derive(Default)]
pub struct Builder {
    keys: Vec<&'static CStr>,
    values: Vec<(u32, Box<[u8]>, usize)>,
}

impl Builder {
    /// An `int` parameter.
    pub fn int(mut self, key: &'static CStr, v: c_int) -> Self {
        self.keys.push(key);
        let bytes: Box<[u8]> = v.to_ne_bytes().into();
        self.values.push((PARAM_INTEGER, bytes, 4));
        self
    }

    /// A UTF-8 string parameter.
    pub fn utf8(mut self, key: &'static CStr, s: &str) -> Self {
        self.keys.push(key);
        let mut bytes = s.as_bytes().to_vec();
        let len = bytes.len();
        bytes.push(0);
        self.values.push((PARAM_UTF8_STRING, bytes.into(), len));
        self
    }

    /// An octet-string parameter.
    pub fn octets(mut self, key: &'static CStr, b: &[u8]) -> Self {
        self.keys.push(key);
        self.values.push((PARAM_OCTET_STRING, b.into(), b.len()));
        self
    }

    /// An unsigned big number from big-endian bytes.
    pub fn unsigned_be(mut self, key: &'static CStr, be: &[u8]) -> Self {
        self.keys.push(key);
        let mut native = be.to_vec();
        if cfg!(target_endian = "little") {
            native.reverse();
        }
        let len = native.len();
        self.values
            .push((PARAM_UNSIGNED_INTEGER, native.into(), len));
        self
    }

    /// Calls `f` with the array; the array and its data live until `f` returns.
    pub fn with<R>(mut self, f: impl FnOnce(*const Param) -> R) -> R {
        let mut arr: Vec<Param> = self
            .keys
            .iter()
            .zip(self.values.iter_mut())
            .map(|(k, (t, data, size))| Param {
                key: k.as_ptr(),
                data_type: *t,
                data: data.as_mut_ptr() as *mut c_void,
                data_size: *size,
                return_size: crate::ffi::PARAM_UNMODIFIED,
            })
            .collect();
        arr.push(Param::END);
        f(arr.as_ptr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_built_array() {
        Builder::default()
            .int(c"expect", 4)
            .utf8(c"digest", "SHA256")
            .unsigned_be(c"n", &[0x01, 0x00, 0x01])
            .with(|arr| {
                // SAFETY: `arr` is the builder's own array, alive in this closure.
                unsafe {
                    assert_eq!(
                        locate_const(arr, c"expect").and_then(|p| p.get_i64()),
                        Some(4)
                    );
                    assert_eq!(
                        locate_const(arr, c"digest").and_then(|p| p.get_utf8()),
                        Some("SHA256")
                    );
                    assert_eq!(
                        locate_const(arr, c"n").and_then(|p| p.get_unsigned_be()),
                        Some(vec![1, 0, 1])
                    );
                    assert!(locate_const(arr, c"missing").is_none());
                }
            });
    }

    #[test]
    fn setters_answer_size_queries_and_refuse_short_buffers() {
        let mut p = Param::defn(c"n", PARAM_UNSIGNED_INTEGER);
        // SAFETY: data is NULL (size query) then points at our own buffers.
        unsafe {
            assert!(p.set_unsigned_be(&[0xAB; 256]));
            assert_eq!(p.return_size, 256);
            let mut small = [0u8; 8];
            p.data = small.as_mut_ptr() as *mut c_void;
            p.data_size = small.len();
            assert!(!p.set_unsigned_be(&[0xAB; 256]));
            let mut buf = [0u8; 16];
            let mut s = Param::defn(c"digest", PARAM_UTF8_STRING);
            s.data = buf.as_mut_ptr() as *mut c_void;
            s.data_size = buf.len();
            assert!(s.set_utf8(c"SHA256"));
            assert_eq!(&buf[..7], b"SHA256\0");
            let mut i: i32 = 0;
            let mut n = Param::defn(c"bits", PARAM_INTEGER);
            n.data = &mut i as *mut i32 as *mut c_void;
            n.data_size = 4;
            assert!(n.set_int(2048));
            assert_eq!(i, 2048);
        }
    }
}
