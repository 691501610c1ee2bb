//! The function list handed out by `C_GetFunctionList` (PKCS#11 2.40), and the 3.0
//! interface calls that hand out the same list as interface "PKCS 11" version 2.40.

#![allow(non_snake_case)]

use crate::entry::{self, guard_rv};
use crate::unsupported;
use cryptoki_sys::*;

static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: CK_VERSION {
        major: 2,
        minor: 40,
    },
    C_Initialize: Some(entry::C_Initialize),
    C_Finalize: Some(entry::C_Finalize),
    C_GetInfo: Some(entry::C_GetInfo),
    C_GetFunctionList: Some(entry::C_GetFunctionList),
    C_GetSlotList: Some(entry::C_GetSlotList),
    C_GetSlotInfo: Some(entry::C_GetSlotInfo),
    C_GetTokenInfo: Some(entry::C_GetTokenInfo),
    C_GetMechanismList: Some(entry::C_GetMechanismList),
    C_GetMechanismInfo: Some(entry::C_GetMechanismInfo),
    C_InitToken: Some(unsupported::C_InitToken),
    C_InitPIN: Some(unsupported::C_InitPIN),
    C_SetPIN: Some(unsupported::C_SetPIN),
    C_OpenSession: Some(entry::C_OpenSession),
    C_CloseSession: Some(entry::C_CloseSession),
    C_CloseAllSessions: Some(entry::C_CloseAllSessions),
    C_GetSessionInfo: Some(entry::C_GetSessionInfo),
    C_GetOperationState: Some(unsupported::C_GetOperationState),
    C_SetOperationState: Some(unsupported::C_SetOperationState),
    C_Login: Some(entry::C_Login),
    C_Logout: Some(entry::C_Logout),
    C_CreateObject: Some(unsupported::C_CreateObject),
    C_CopyObject: Some(unsupported::C_CopyObject),
    C_DestroyObject: Some(unsupported::C_DestroyObject),
    C_GetObjectSize: Some(entry::C_GetObjectSize),
    C_GetAttributeValue: Some(entry::C_GetAttributeValue),
    C_SetAttributeValue: Some(unsupported::C_SetAttributeValue),
    C_FindObjectsInit: Some(entry::C_FindObjectsInit),
    C_FindObjects: Some(entry::C_FindObjects),
    C_FindObjectsFinal: Some(entry::C_FindObjectsFinal),
    C_EncryptInit: Some(unsupported::C_EncryptInit),
    C_Encrypt: Some(unsupported::C_Encrypt),
    C_EncryptUpdate: Some(unsupported::C_EncryptUpdate),
    C_EncryptFinal: Some(unsupported::C_EncryptFinal),
    C_DecryptInit: Some(unsupported::C_DecryptInit),
    C_Decrypt: Some(unsupported::C_Decrypt),
    C_DecryptUpdate: Some(unsupported::C_DecryptUpdate),
    C_DecryptFinal: Some(unsupported::C_DecryptFinal),
    C_DigestInit: Some(unsupported::C_DigestInit),
    C_Digest: Some(unsupported::C_Digest),
    C_DigestUpdate: Some(unsupported::C_DigestUpdate),
    C_DigestKey: Some(unsupported::C_DigestKey),
    C_DigestFinal: Some(unsupported::C_DigestFinal),
    C_SignInit: Some(entry::C_SignInit),
    C_Sign: Some(entry::C_Sign),
    C_SignUpdate: Some(entry::C_SignUpdate),
    C_SignFinal: Some(entry::C_SignFinal),
    C_SignRecoverInit: Some(unsupported::C_SignRecoverInit),
    C_SignRecover: Some(unsupported::C_SignRecover),
    C_VerifyInit: Some(unsupported::C_VerifyInit),
    C_Verify: Some(unsupported::C_Verify),
    C_VerifyUpdate: Some(unsupported::C_VerifyUpdate),
    C_VerifyFinal: Some(unsupported::C_VerifyFinal),
    C_VerifyRecoverInit: Some(unsupported::C_VerifyRecoverInit),
    C_VerifyRecover: Some(unsupported::C_VerifyRecover),
    C_DigestEncryptUpdate: Some(unsupported::C_DigestEncryptUpdate),
    C_DecryptDigestUpdate: Some(unsupported::C_DecryptDigestUpdate),
    C_SignEncryptUpdate: Some(unsupported::C_SignEncryptUpdate),
    C_DecryptVerifyUpdate: Some(unsupported::C_DecryptVerifyUpdate),
    C_GenerateKey: Some(unsupported::C_GenerateKey),
    C_GenerateKeyPair: Some(unsupported::C_GenerateKeyPair),
    C_WrapKey: Some(unsupported::C_WrapKey),
    C_UnwrapKey: Some(unsupported::C_UnwrapKey),
    C_DeriveKey: Some(unsupported::C_DeriveKey),
    C_SeedRandom: Some(unsupported::C_SeedRandom),
    C_GenerateRandom: Some(unsupported::C_GenerateRandom),
    C_GetFunctionStatus: Some(unsupported::C_GetFunctionStatus),
    C_CancelFunction: Some(unsupported::C_CancelFunction),
    C_WaitForSlotEvent: Some(entry::C_WaitForSlotEvent),
};

/// The list as the C API hands it out. Consumers only read it.
pub fn list() -> *mut CK_FUNCTION_LIST {
    std::ptr::addr_of!(FUNCTION_LIST) as *mut CK_FUNCTION_LIST
}

static NAME: &[u8] = b"PKCS 11\0";

#[no_mangle]
pub extern "C" fn C_GetInterfaceList(list: *mut CK_INTERFACE, count: *mut CK_ULONG) -> CK_RV {
    // SAFETY: the caller's buffer and count, per the two-call convention.
    guard_rv(|| unsafe { entry::two_call(&[INTERFACE.0], list, count) })
}

#[no_mangle]
pub extern "C" fn C_GetInterface(
    name: *mut CK_UTF8CHAR,
    version: *mut CK_VERSION,
    iface: *mut *mut CK_INTERFACE,
    _flags: CK_FLAGS,
) -> CK_RV {
    guard_rv(|| {
        if !name.is_null() {
            // SAFETY: a NUL-terminated name by the caller's contract.
            let n = unsafe { std::ffi::CStr::from_ptr(name as *const std::os::raw::c_char) };
            if n.to_bytes() != &NAME[..NAME.len() - 1] {
                return Ok(CKR_ARGUMENTS_BAD);
            }
        }
        // SAFETY: NULL or the caller's CK_VERSION.
        if let Some(v) = unsafe { version.as_ref() } {
            if (v.major, v.minor) != (2, 40) {
                return Ok(CKR_ARGUMENTS_BAD);
            }
        }
        // SAFETY: NULL or the caller's pointer slot.
        let slot =
            unsafe { iface.as_mut() }.ok_or(crate::error::P11Error::Rv(CKR_ARGUMENTS_BAD))?;
        *slot = std::ptr::addr_of!(INTERFACE.0) as *mut CK_INTERFACE;
        Ok(CKR_OK)
    })
}

struct Shared(CK_INTERFACE);
// SAFETY: the interface only points at immutable statics (a name and the function list).
unsafe impl Sync for Shared {}

static INTERFACE: Shared = Shared(CK_INTERFACE {
    pInterfaceName: NAME.as_ptr() as *mut CK_CHAR,
    pFunctionList: std::ptr::addr_of!(FUNCTION_LIST) as *mut std::os::raw::c_void,
    flags: 0,
});
