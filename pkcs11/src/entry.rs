//! The C entry points: the only place with `unsafe`. Each one checks its pointers, converts
//! them to Rust values, calls [`crate::module`], and writes results back; the body runs in
//! [`guard`], so a panic becomes `CKR_GENERAL_ERROR` instead of unwinding into C, and an
//! error becomes its `CK_RV` through [`crate::error::P11Error::rv`] (one mapping).

#![allow(non_snake_case)]

use crate::error::{rv, P11Error, Result};
use crate::module::{self, SignOutput, Slot};
use crate::object::Value;
use cryptoki_sys::*;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The panic boundary and the one error conversion of every entry point.
pub(crate) fn guard_rv(f: impl FnOnce() -> Result<CK_RV>) -> CK_RV {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(rv)) => rv,
        Ok(Err(e)) => e.rv(),
        Err(_) => CKR_GENERAL_ERROR,
    }
}

/// Largest element count believed for a caller's array (templates, handles, slots).
const MAX_ELEMENTS: usize = 1 << 16;

/// Longest PIN read from a caller: the sign password has 16 characters; a longer "PIN" is
/// refused by its length, unread.
const MAX_PIN_LEN: CK_ULONG = 256;

/// A caller's output pointer, or `CKR_ARGUMENTS_BAD`.
///
/// # Safety
/// `p` is NULL or points to a writable `T` for the duration of the call (PKCS#11 contract).
unsafe fn out<'a, T>(p: *mut T) -> Result<&'a mut T> {
    // SAFETY: non-NULL pointers are valid for writes by the caller's contract.
    unsafe { p.as_mut() }.ok_or(P11Error::Rv(CKR_ARGUMENTS_BAD))
}

/// A caller's input buffer; NULL is only accepted with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes (PKCS#11 contract).
unsafe fn bytes<'a>(p: *const u8, len: CK_ULONG) -> Result<&'a [u8]> {
    let len = usize::try_from(len).map_err(|_| P11Error::Rv(CKR_ARGUMENTS_BAD))?;
    if len > isize::MAX as usize {
        return rv(CKR_ARGUMENTS_BAD);
    }
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            rv(CKR_ARGUMENTS_BAD)
        };
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A caller's array of `len` elements; NULL only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` initialised, writable `T`s (PKCS#11 contract).
unsafe fn array<'a, T>(p: *mut T, len: CK_ULONG) -> Result<&'a mut [T]> {
    let len = usize::try_from(len).map_err(|_| P11Error::Rv(CKR_ARGUMENTS_BAD))?;
    // No template, handle or slot array here is anywhere near this long: a count like it is
    // a caller's mistake, and believing it would read or write far past its memory.
    if len > MAX_ELEMENTS {
        return rv(CKR_ARGUMENTS_BAD);
    }
    if p.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            rv(CKR_ARGUMENTS_BAD)
        };
    }
    // SAFETY: non-NULL, and the caller guarantees `len` elements.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// Writes `items` with the two-call convention: NULL buffer → count only; too small →
/// `CKR_BUFFER_TOO_SMALL` and the count.
///
/// # Safety
/// `buf` is NULL or holds `*count` writable elements; `count` as for [`out`].
pub(crate) unsafe fn two_call<T: Copy>(
    items: &[T],
    buf: *mut T,
    count: *mut CK_ULONG,
) -> Result<CK_RV> {
    // SAFETY: as documented on this function.
    let count = unsafe { out(count) }?;
    let n = items.len() as CK_ULONG;
    if buf.is_null() {
        *count = n;
        return Ok(CKR_OK);
    }
    if *count < n {
        *count = n;
        return Ok(CKR_BUFFER_TOO_SMALL);
    }
    // SAFETY: `buf` holds at least `*count >= n` elements.
    let dst = unsafe { array(buf, n) }?;
    dst.copy_from_slice(items);
    *count = n;
    Ok(CKR_OK)
}

/// Space-padded fixed text field; cuts at a UTF-8 character boundary.
fn pad<const N: usize>(text: &str) -> [u8; N] {
    let mut f = [b' '; N];
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    f[..end].copy_from_slice(&text.as_bytes()[..end]);
    f
}

const VERSION: CK_VERSION = CK_VERSION { major: 0, minor: 1 };

#[no_mangle]
pub extern "C" fn C_Initialize(args: *mut c_void) -> CK_RV {
    guard_rv(|| {
        let args = args as *mut CK_C_INITIALIZE_ARGS;
        // SAFETY: NULL or the caller's CK_C_INITIALIZE_ARGS.
        if let Some(a) = unsafe { args.as_ref() } {
            if !a.pReserved.is_null() {
                return rv(CKR_ARGUMENTS_BAD);
            }
            let fns = [
                a.CreateMutex.is_some(),
                a.DestroyMutex.is_some(),
                a.LockMutex.is_some(),
                a.UnlockMutex.is_some(),
            ];
            if fns.iter().any(|f| *f) && !fns.iter().all(|f| *f) {
                return rv(CKR_ARGUMENTS_BAD);
            }
            // Only OS locks here: a caller that offers its own and forbids OS locking loses.
            if fns[0] && a.flags & CKF_OS_LOCKING_OK == 0 {
                return rv(CKR_CANT_LOCK);
            }
        }
        module::initialize().map(|()| CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_Finalize(reserved: *mut c_void) -> CK_RV {
    guard_rv(|| {
        if !reserved.is_null() {
            return rv(CKR_ARGUMENTS_BAD);
        }
        module::finalize().map(|()| CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_GetInfo(info: *mut CK_INFO) -> CK_RV {
    guard_rv(|| {
        module::with(|_| Ok(()))?;
        // SAFETY: NULL or the caller's CK_INFO.
        let info = unsafe { out(info) }?;
        *info = CK_INFO {
            cryptokiVersion: CK_VERSION {
                major: 2,
                minor: 40,
            },
            manufacturerID: pad("jpki"),
            flags: 0,
            libraryDescription: pad("JPKI My Number card (jpki)"),
            libraryVersion: VERSION,
        };
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_GetSlotList(
    token_present: CK_BBOOL,
    list: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        let slots = module::with(|m| Ok(m.slot_list(token_present != CK_FALSE)))?;
        // SAFETY: the caller's buffer and count, per the two-call convention.
        unsafe { two_call(&slots, list, count) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    guard_rv(|| {
        let slot = Slot::from_id(slot)?;
        let present = module::with(|m| m.slot_present(slot))?;
        // SAFETY: NULL or the caller's CK_SLOT_INFO.
        let info = unsafe { out(info) }?;
        let desc = match slot.key {
            jpki_card::KeyKind::Auth => "JPKI 利用者証明用 (auth key)",
            jpki_card::KeyKind::Sign => "JPKI 署名用 (sign key)",
        };
        *info = CK_SLOT_INFO {
            slotDescription: pad(desc),
            manufacturerID: pad("jpki"),
            flags: CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | if present { CKF_TOKEN_PRESENT } else { 0 },
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
        };
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_GetTokenInfo(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) -> CK_RV {
    guard_rv(|| {
        if info.is_null() {
            return rv(CKR_ARGUMENTS_BAD);
        }
        let t = module::with(|m| m.token_info(Slot::from_id(slot)?))?;
        // SAFETY: non-NULL (checked above), the caller's CK_TOKEN_INFO.
        let info = unsafe { out(info) }?;
        *info = CK_TOKEN_INFO {
            label: pad(&t.label),
            manufacturerID: pad("J-LIS (jpki)"),
            model: pad("My Number card"),
            serialNumber: pad(&t.serial),
            flags: t.flags,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: t.sessions,
            ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
            ulRwSessionCount: t.rw_sessions,
            ulMaxPinLen: t.max_pin,
            ulMinPinLen: t.min_pin,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
            utcTime: [b' '; 16],
        };
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_GetMechanismList(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        let slot = Slot::from_id(slot)?;
        let mechs = module::with(|m| m.require_slot(slot).map(|()| m.mechanisms()))?;
        // SAFETY: the caller's buffer and count, per the two-call convention.
        unsafe { two_call(&mechs, list, count) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    mech: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    guard_rv(|| {
        let slot = Slot::from_id(slot)?;
        let mechs = module::with(|m| m.require_slot(slot).map(|()| m.mechanisms()))?;
        if !mechs.contains(&mech) {
            return rv(CKR_MECHANISM_INVALID);
        }
        // SAFETY: NULL or the caller's CK_MECHANISM_INFO.
        let info = unsafe { out(info) }?;
        *info = CK_MECHANISM_INFO {
            ulMinKeySize: 2048,
            ulMaxKeySize: 2048,
            flags: CKF_HW | CKF_SIGN,
        };
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _app: *mut c_void,
    _notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    guard_rv(|| {
        let slot = Slot::from_id(slot)?;
        if session.is_null() {
            return rv(CKR_ARGUMENTS_BAD);
        }
        let h = module::with(|m| m.open_session(slot, flags))?;
        // SAFETY: non-NULL (checked above), the caller's handle.
        *unsafe { out(session) }? = h;
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_CloseSession(session: CK_SESSION_HANDLE) -> CK_RV {
    guard_rv(|| module::with(|m| m.close_session(session)).map(|()| CKR_OK))
}

#[no_mangle]
pub extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    guard_rv(|| {
        let slot = Slot::from_id(slot)?;
        module::with(|m| m.close_all(slot).map(|()| CKR_OK))
    })
}

#[no_mangle]
pub extern "C" fn C_GetSessionInfo(
    session: CK_SESSION_HANDLE,
    info: *mut CK_SESSION_INFO,
) -> CK_RV {
    guard_rv(|| {
        let (slot, state, flags) = module::with(|m| m.session_info(session))?;
        // SAFETY: NULL or the caller's CK_SESSION_INFO.
        let info = unsafe { out(info) }?;
        *info = CK_SESSION_INFO {
            slotID: slot,
            state,
            flags,
            ulDeviceError: 0,
        };
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_Login(
    session: CK_SESSION_HANDLE,
    user: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    len: CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        let pin = if pin.is_null() {
            None
        } else if len > MAX_PIN_LEN {
            return rv(CKR_PIN_LEN_RANGE);
        } else {
            // SAFETY: non-NULL, `len` bytes by the caller's contract.
            Some(unsafe { bytes(pin, len) }?)
        };
        module::with(|m| m.login(session, user, pin)).map(|()| CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_Logout(session: CK_SESSION_HANDLE) -> CK_RV {
    guard_rv(|| module::with(|m| m.logout(session)).map(|()| CKR_OK))
}

#[no_mangle]
pub extern "C" fn C_GetObjectSize(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    size: *mut CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        module::with(|m| m.attributes(session, object, &[]))?;
        // SAFETY: NULL or the caller's CK_ULONG.
        *unsafe { out(size) }? = CK_UNAVAILABLE_INFORMATION;
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_GetAttributeValue(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        if template.is_null() {
            return rv(CKR_ARGUMENTS_BAD);
        }
        // SAFETY: non-NULL, `count` attributes by the caller's contract.
        let template = unsafe { array(template, count) }?;
        let types: Vec<CK_ATTRIBUTE_TYPE> = template.iter().map(|a| a.type_).collect();
        let values = module::with(|m| m.attributes(session, object, &types))?;
        let mut result = CKR_OK;
        for (a, v) in template.iter_mut().zip(values) {
            let v = match v {
                Value::Bytes(v) => v,
                Value::Invalid => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    result = CKR_ATTRIBUTE_TYPE_INVALID;
                    continue;
                }
                Value::Sensitive => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    result = CKR_ATTRIBUTE_SENSITIVE;
                    continue;
                }
            };
            if a.pValue.is_null() {
                a.ulValueLen = v.len() as CK_ULONG;
            } else if (a.ulValueLen as usize) < v.len() {
                a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                result = CKR_BUFFER_TOO_SMALL;
            } else {
                // SAFETY: the caller's buffer holds ulValueLen >= v.len() bytes.
                let dst = unsafe { array(a.pValue as *mut u8, v.len() as CK_ULONG) }?;
                dst.copy_from_slice(&v);
                a.ulValueLen = v.len() as CK_ULONG;
            }
        }
        Ok(result)
    })
}

#[no_mangle]
pub extern "C" fn C_FindObjectsInit(
    session: CK_SESSION_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        // SAFETY: NULL with count 0, or `count` attributes by the caller's contract.
        let template = unsafe { array(template, count) }?;
        let mut wanted = Vec::with_capacity(template.len());
        for a in template.iter() {
            if !crate::object::search_len_plausible(a.type_, a.ulValueLen) {
                wanted.push((a.type_, None));
                continue;
            }
            // SAFETY: the attribute's value pointer and length, as the caller gave them
            // (a length no attribute could have was not read, above).
            let v = unsafe { bytes(a.pValue as *const u8, a.ulValueLen) }?;
            wanted.push((a.type_, Some(v.to_vec())));
        }
        module::with(|m| m.find_init(session, &wanted)).map(|()| CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_FindObjects(
    session: CK_SESSION_HANDLE,
    objects: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        if objects.is_null() || count.is_null() {
            return rv(CKR_ARGUMENTS_BAD);
        }
        let max = usize::try_from(max).map_err(|_| P11Error::Rv(CKR_ARGUMENTS_BAD))?;
        let found = module::with(|m| m.find(session, max))?;
        // SAFETY: non-NULL, room for `max >= found.len()` handles by the caller's contract.
        let dst = unsafe { array(objects, found.len() as CK_ULONG) }?;
        dst.copy_from_slice(&found);
        // SAFETY: non-NULL (checked above), the caller's count.
        *unsafe { out(count) }? = found.len() as CK_ULONG;
        Ok(CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_FindObjectsFinal(session: CK_SESSION_HANDLE) -> CK_RV {
    guard_rv(|| module::with(|m| m.find_final(session)).map(|()| CKR_OK))
}

#[no_mangle]
pub extern "C" fn C_SignInit(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard_rv(|| {
        // SAFETY: NULL or the caller's CK_MECHANISM.
        let mech = unsafe { mech.as_ref() }.ok_or(P11Error::Rv(CKR_ARGUMENTS_BAD))?;
        let pss = if mech.pParameter.is_null() {
            None
        } else if mech.ulParameterLen as usize == std::mem::size_of::<CK_RSA_PKCS_PSS_PARAMS>() {
            // SAFETY: a parameter of exactly the PSS parameter struct's size, as the caller
            // gave it; read unaligned in case the caller's buffer is not aligned.
            Some(unsafe {
                std::ptr::read_unaligned(mech.pParameter as *const CK_RSA_PKCS_PSS_PARAMS)
            })
        } else {
            return rv(CKR_MECHANISM_PARAM_INVALID);
        };
        module::with(|m| m.sign_init(session, mech.mechanism, pss.as_ref(), key)).map(|()| CKR_OK)
    })
}

/// Writes a signature with the two-call convention.
///
/// # Safety
/// `sig` is NULL or holds `*len` writable bytes; `len` is NULL or writable.
unsafe fn sign_out(
    session: CK_SESSION_HANDLE,
    data: Option<&[u8]>,
    sig: *mut CK_BYTE,
    len: *mut CK_ULONG,
) -> Result<CK_RV> {
    // SAFETY: as documented on this function.
    let len = unsafe { out(len) }?;
    let cap = (!sig.is_null()).then_some(*len as usize);
    match module::with(|m| m.sign(session, data, cap))? {
        SignOutput::Length(n) => {
            *len = n as CK_ULONG;
            Ok(CKR_OK)
        }
        SignOutput::TooSmall(n) => {
            *len = n as CK_ULONG;
            Ok(CKR_BUFFER_TOO_SMALL)
        }
        SignOutput::Signature(s) => {
            // SAFETY: `sig` is non-NULL here and holds `*len >= s.len()` bytes.
            let dst = unsafe { array(sig, s.len() as CK_ULONG) }?;
            dst.copy_from_slice(&s);
            *len = s.len() as CK_ULONG;
            Ok(CKR_OK)
        }
    }
}

#[no_mangle]
pub extern "C" fn C_Sign(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    sig: *mut CK_BYTE,
    sig_len: *mut CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        // SAFETY: `data_len` bytes at `data` by the caller's contract.
        let data = unsafe { bytes(data, data_len) }?;
        // SAFETY: the caller's output buffer and length.
        unsafe { sign_out(session, Some(data), sig, sig_len) }
    })
}

#[no_mangle]
pub extern "C" fn C_SignUpdate(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    guard_rv(|| {
        // SAFETY: `len` bytes at `part` by the caller's contract.
        let part = unsafe { bytes(part, len) }?;
        module::with(|m| m.sign_update(session, part)).map(|()| CKR_OK)
    })
}

#[no_mangle]
pub extern "C" fn C_SignFinal(
    session: CK_SESSION_HANDLE,
    sig: *mut CK_BYTE,
    len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: the caller's output buffer and length.
    guard_rv(|| unsafe { sign_out(session, None, sig, len) })
}

#[no_mangle]
pub extern "C" fn C_WaitForSlotEvent(
    flags: CK_FLAGS,
    slot: *mut CK_SLOT_ID,
    reserved: *mut c_void,
) -> CK_RV {
    guard_rv(|| {
        if slot.is_null() || !reserved.is_null() {
            return rv(CKR_ARGUMENTS_BAD);
        }
        loop {
            // The lock is not held between polls: other threads go on using the module.
            if let Some(s) = module::with(|m| Ok(m.slot_event()))? {
                // SAFETY: non-NULL (checked above), the caller's slot id.
                *unsafe { out(slot) }? = s;
                return Ok(CKR_OK);
            }
            if flags & CKF_DONT_BLOCK != 0 {
                return Ok(CKR_NO_EVENT);
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    })
}

#[no_mangle]
pub extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    guard_rv(|| {
        // SAFETY: NULL or the caller's pointer slot.
        *unsafe { out(list) }? = crate::functions::list();
        Ok(CKR_OK)
    })
}
