//! The PKCS#11 module called directly through its function list, the way a careless or
//! hostile consumer would: NULL pointers, unknown handles, short buffers, attribute templates
//! with wrong lengths, calls out of order, `C_Finalize` with sessions open, and many threads
//! at once. Every case must return the right `CK_RV` and never crash; a signature made under
//! all this must still verify, and cost one VERIFY.

use cryptoki_sys::*;
use jpki_card_sim::PinId;
use jpki_tests::*;
use std::ptr::null_mut;

struct Module {
    f: &'static CK_FUNCTION_LIST,
    _lib: libloading::Library,
}

/// Calls a function of the list (all are present: checked by `load`).
macro_rules! call {
    ($m:expr, $f:ident($($a:expr),* $(,)?)) => {
        // SAFETY: a function of the module's list, called with the arguments under test; the
        // module is the thing being tested for robustness against them.
        unsafe { ($m.f.$f.expect(stringify!($f)))($($a),*) }
    };
}

fn load(reader: &str) -> Module {
    // The module reads its settings at C_Initialize; tests run one at a time.
    std::env::set_var("JPKI_READER", reader);
    std::env::set_var("JPKI_PKCS11_CONF", "/nonexistent");
    // SAFETY: loading the module under test; its initialisers are Rust statics only.
    let lib = unsafe { libloading::Library::new(bin("libjpki_pkcs11.so")) }.expect("dlopen");
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    // SAFETY: the exported entry point with its C signature.
    let rv = unsafe {
        let get: libloading::Symbol<unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV> =
            lib.get(b"C_GetFunctionList").expect("C_GetFunctionList");
        get(&mut list)
    };
    assert_eq!(rv, CKR_OK);
    // SAFETY: the module hands out a pointer to a static list.
    let f = unsafe { list.as_ref() }.expect("function list");
    assert_eq!((f.version.major, f.version.minor), (2, 40));
    Module { f, _lib: lib }
}

fn init(m: &Module) {
    let rv = call!(m, C_Initialize(null_mut()));
    assert!(
        rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED,
        "0x{rv:x}"
    );
}

fn open(m: &Module, slot: CK_SLOT_ID) -> CK_SESSION_HANDLE {
    let mut h = 0;
    let rv = call!(
        m,
        C_OpenSession(slot, CKF_SERIAL_SESSION, null_mut(), None, &mut h)
    );
    assert_eq!(rv, CKR_OK);
    h
}

fn login(m: &Module, h: CK_SESSION_HANDLE, pin: &str) -> CK_RV {
    let mut pin = pin.as_bytes().to_vec();
    call!(
        m,
        C_Login(h, CKU_USER, pin.as_mut_ptr(), pin.len() as CK_ULONG)
    )
}

/// Auth slot handles: certificate 1, public key 2, private key 3, CA 4 (README).
const AUTH_CERT: CK_OBJECT_HANDLE = 1;
const AUTH_KEY: CK_OBJECT_HANDLE = 3;

#[test]
fn arguments_out_of_order_null_or_unknown_give_the_right_return_values() {
    let m = load(MAIN_READER);
    let _ = call!(m, C_Finalize(null_mut()));
    let mut n: CK_ULONG = 0;
    assert_eq!(
        call!(m, C_GetSlotList(CK_TRUE, null_mut(), &mut n)),
        CKR_CRYPTOKI_NOT_INITIALIZED
    );
    let args = |reserved: *mut std::ffi::c_void| CK_C_INITIALIZE_ARGS {
        CreateMutex: None,
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags: CKF_OS_LOCKING_OK,
        pReserved: reserved,
    };
    let mut junk = 0u8;
    let junk = &mut junk as *mut u8 as *mut std::ffi::c_void;
    let mut bad = args(junk);
    let a = &mut bad as *mut CK_C_INITIALIZE_ARGS as *mut std::ffi::c_void;
    assert_eq!(call!(m, C_Initialize(a)), CKR_ARGUMENTS_BAD);
    let mut good = args(null_mut());
    let a = &mut good as *mut CK_C_INITIALIZE_ARGS as *mut std::ffi::c_void;
    assert_eq!(call!(m, C_Initialize(a)), CKR_OK);
    assert_eq!(
        call!(m, C_Initialize(null_mut())),
        CKR_CRYPTOKI_ALREADY_INITIALIZED
    );
    assert_eq!(call!(m, C_Finalize(junk)), CKR_ARGUMENTS_BAD);

    assert_eq!(call!(m, C_GetInfo(null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(
        call!(m, C_GetSlotList(CK_TRUE, null_mut(), null_mut())),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(call!(m, C_GetSlotList(CK_TRUE, null_mut(), &mut n)), CKR_OK);
    assert_eq!(n, 2);
    let mut slots = [0 as CK_SLOT_ID; 1];
    let mut one: CK_ULONG = 1;
    assert_eq!(
        call!(m, C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut one)),
        CKR_BUFFER_TOO_SMALL
    );
    assert_eq!(one, 2);
    assert_eq!(call!(m, C_GetSlotInfo(7, null_mut())), CKR_SLOT_ID_INVALID);
    assert_eq!(call!(m, C_GetSlotInfo(0, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(m, C_GetTokenInfo(0, null_mut())), CKR_ARGUMENTS_BAD);
    let mut info = CK_TOKEN_INFO::default();
    assert_eq!(call!(m, C_GetTokenInfo(9, &mut info)), CKR_SLOT_ID_INVALID);
    let mut h = 0;
    assert_eq!(
        call!(m, C_OpenSession(0, 0, null_mut(), None, &mut h)),
        CKR_SESSION_PARALLEL_NOT_SUPPORTED
    );
    assert_eq!(
        call!(
            m,
            C_OpenSession(0, CKF_SERIAL_SESSION, null_mut(), None, null_mut())
        ),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(call!(m, C_CloseSession(4242)), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(login(&m, 4242, "1234"), CKR_SESSION_HANDLE_INVALID);

    let h = open(&m, 0);
    // Login: no PIN and no pin-source; an empty or short PIN never reaches the card.
    assert_eq!(
        call!(m, C_Login(h, CKU_USER, null_mut(), 0)),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(login(&m, h, ""), CKR_PIN_LEN_RANGE);
    assert_eq!(login(&m, h, "12a4"), CKR_PIN_INVALID);
    assert_eq!(call!(m, C_Logout(h)), CKR_USER_NOT_LOGGED_IN);
    assert_eq!(
        call!(m, C_Login(h, 77, null_mut(), 0)),
        CKR_USER_TYPE_INVALID
    );

    // Attributes: NULL template, unknown object, the private key before login.
    assert_eq!(
        call!(m, C_GetAttributeValue(h, AUTH_CERT, null_mut(), 1)),
        CKR_ARGUMENTS_BAD
    );
    let mut a = [CK_ATTRIBUTE {
        type_: CKA_VALUE,
        pValue: null_mut(),
        ulValueLen: 0,
    }];
    assert_eq!(
        call!(m, C_GetAttributeValue(h, 999, a.as_mut_ptr(), 1)),
        CKR_OBJECT_HANDLE_INVALID
    );
    assert_eq!(
        call!(m, C_GetAttributeValue(h, AUTH_KEY, a.as_mut_ptr(), 1)),
        CKR_OBJECT_HANDLE_INVALID
    );
    assert_eq!(
        call!(m, C_GetAttributeValue(h, 5, a.as_mut_ptr(), 1)),
        CKR_OBJECT_HANDLE_INVALID,
        "sign token's object from an auth session"
    );
    // Two-call convention and partial failure.
    let mut class: CK_ULONG = 0;
    let mut a = [
        CK_ATTRIBUTE {
            type_: CKA_VALUE,
            pValue: null_mut(),
            ulValueLen: 0,
        },
        CK_ATTRIBUTE {
            type_: 0x7fff_0001,
            pValue: null_mut(),
            ulValueLen: 0,
        },
        CK_ATTRIBUTE {
            type_: CKA_CLASS,
            pValue: &mut class as *mut _ as *mut _,
            ulValueLen: 8,
        },
    ];
    assert_eq!(
        call!(m, C_GetAttributeValue(h, AUTH_CERT, a.as_mut_ptr(), 3)),
        CKR_ATTRIBUTE_TYPE_INVALID
    );
    let der_len = a[0].ulValueLen;
    assert!(der_len > 500 && der_len < 4096, "{der_len}");
    assert_eq!(a[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_eq!(class, CKO_CERTIFICATE);
    let mut small = [0u8; 16];
    let mut a = [CK_ATTRIBUTE {
        type_: CKA_VALUE,
        pValue: small.as_mut_ptr() as *mut _,
        ulValueLen: 16,
    }];
    assert_eq!(
        call!(m, C_GetAttributeValue(h, AUTH_CERT, a.as_mut_ptr(), 1)),
        CKR_BUFFER_TOO_SMALL
    );
    assert_eq!(a[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    // A template whose value pointer is NULL with a length.
    let mut t = [CK_ATTRIBUTE {
        type_: CKA_CLASS,
        pValue: null_mut(),
        ulValueLen: 8,
    }];
    assert_eq!(
        call!(m, C_FindObjectsInit(h, t.as_mut_ptr(), 1)),
        CKR_ARGUMENTS_BAD
    );
    let mut found = [0 as CK_OBJECT_HANDLE; 4];
    assert_eq!(
        call!(m, C_FindObjects(h, found.as_mut_ptr(), 4, &mut n)),
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(
        call!(m, C_FindObjectsFinal(h)),
        CKR_OPERATION_NOT_INITIALIZED
    );
    // A CKA_CLASS of the wrong width matches nothing rather than reading past it.
    let mut short: u8 = CKO_CERTIFICATE as u8;
    let mut t = [CK_ATTRIBUTE {
        type_: CKA_CLASS,
        pValue: &mut short as *mut u8 as *mut _,
        ulValueLen: 1,
    }];
    assert_eq!(call!(m, C_FindObjectsInit(h, t.as_mut_ptr(), 1)), CKR_OK);
    assert_eq!(
        call!(m, C_FindObjectsInit(h, t.as_mut_ptr(), 1)),
        CKR_OPERATION_ACTIVE
    );
    assert_eq!(
        call!(m, C_FindObjects(h, null_mut(), 4, &mut n)),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(
        call!(m, C_FindObjects(h, found.as_mut_ptr(), 4, &mut n)),
        CKR_OK
    );
    assert_eq!(n, 0);
    assert_eq!(call!(m, C_FindObjectsFinal(h)), CKR_OK);

    // Lengths far beyond the caller's buffers: refused or left unread, never followed.
    let mut class = CKO_CERTIFICATE;
    let mut huge = [CK_ATTRIBUTE {
        type_: CKA_CLASS,
        pValue: &mut class as *mut CK_ULONG as *mut _,
        ulValueLen: 1 << 30,
    }];
    assert_eq!(call!(m, C_FindObjectsInit(h, huge.as_mut_ptr(), 1)), CKR_OK);
    assert_eq!(
        call!(m, C_FindObjects(h, found.as_mut_ptr(), 4, &mut n)),
        CKR_OK
    );
    assert_eq!(n, 0, "a CKA_CLASS of 1 GiB matches nothing");
    assert_eq!(call!(m, C_FindObjectsFinal(h)), CKR_OK);
    huge[0].type_ = CKA_LABEL;
    huge[0].ulValueLen = 1 << 40;
    assert_eq!(call!(m, C_FindObjectsInit(h, huge.as_mut_ptr(), 1)), CKR_OK);
    assert_eq!(
        call!(m, C_FindObjects(h, found.as_mut_ptr(), 4, &mut n)),
        CKR_OK
    );
    assert_eq!(n, 0);
    assert_eq!(call!(m, C_FindObjectsFinal(h)), CKR_OK);
    assert_eq!(
        call!(m, C_FindObjectsInit(h, huge.as_mut_ptr(), 1 << 40)),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(
        call!(
            m,
            C_GetAttributeValue(h, AUTH_CERT, huge.as_mut_ptr(), 1 << 40)
        ),
        CKR_ARGUMENTS_BAD
    );
    let mut pin = *b"1234";
    assert_eq!(
        call!(m, C_Login(h, CKU_USER, pin.as_mut_ptr(), 1 << 40)),
        CKR_PIN_LEN_RANGE
    );

    // Signing out of order or with the wrong things.
    let mut sig = [0u8; 512];
    let mut len: CK_ULONG = 512;
    let mut data = [0u8; 4];
    assert_eq!(
        call!(
            m,
            C_Sign(h, data.as_mut_ptr(), 4, sig.as_mut_ptr(), &mut len)
        ),
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(
        call!(m, C_SignInit(h, null_mut(), AUTH_KEY)),
        CKR_ARGUMENTS_BAD
    );
    let mut mech = CK_MECHANISM {
        mechanism: CKM_SHA256_RSA_PKCS,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(
        call!(m, C_SignInit(h, &mut mech, AUTH_KEY)),
        CKR_USER_NOT_LOGGED_IN
    );
    assert_eq!(
        call!(m, C_SignInit(h, &mut mech, AUTH_CERT)),
        CKR_KEY_FUNCTION_NOT_PERMITTED
    );
    assert_eq!(
        call!(m, C_SignInit(h, &mut mech, 77)),
        CKR_KEY_HANDLE_INVALID
    );
    let mut des = CK_MECHANISM {
        mechanism: CKM_DES3_CBC,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(login(&m, h, "1234"), CKR_OK);
    assert_eq!(login(&m, h, "1234"), CKR_USER_ALREADY_LOGGED_IN);
    assert_eq!(
        call!(m, C_SignInit(h, &mut des, AUTH_KEY)),
        CKR_MECHANISM_INVALID
    );
    let mut pss = CK_MECHANISM {
        mechanism: CKM_RSA_PKCS_PSS,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(
        call!(m, C_SignInit(h, &mut pss, AUTH_KEY)),
        CKR_MECHANISM_INVALID,
        "PSS is off by default"
    );
    // CKM_RSA_PKCS takes only a DigestInfo.
    let mut raw = CK_MECHANISM {
        mechanism: CKM_RSA_PKCS,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(call!(m, C_SignInit(h, &mut raw, AUTH_KEY)), CKR_OK);
    assert_eq!(
        call!(
            m,
            C_Sign(h, data.as_mut_ptr(), 4, sig.as_mut_ptr(), &mut len)
        ),
        CKR_DATA_INVALID
    );

    // Two-call C_Sign: the length query and a short buffer touch no card.
    let before = main_stats();
    assert_eq!(call!(m, C_SignInit(h, &mut mech, AUTH_KEY)), CKR_OK);
    assert_eq!(
        call!(m, C_SignInit(h, &mut mech, AUTH_KEY)),
        CKR_OPERATION_ACTIVE
    );
    let mut msg = b"two-call".to_vec();
    let mut need: CK_ULONG = 0;
    assert_eq!(
        call!(
            m,
            C_Sign(
                h,
                msg.as_mut_ptr(),
                msg.len() as CK_ULONG,
                null_mut(),
                &mut need
            )
        ),
        CKR_OK
    );
    assert_eq!(need, 256);
    let mut short_len: CK_ULONG = 10;
    assert_eq!(
        call!(
            m,
            C_Sign(
                h,
                msg.as_mut_ptr(),
                msg.len() as CK_ULONG,
                sig.as_mut_ptr(),
                &mut short_len
            )
        ),
        CKR_BUFFER_TOO_SMALL
    );
    assert_eq!(short_len, 256);
    assert_eq!(main_stats().apdus, before.apdus);
    assert_eq!(
        call!(
            m,
            C_Sign(
                h,
                msg.as_mut_ptr(),
                msg.len() as CK_ULONG,
                sig.as_mut_ptr(),
                null_mut()
            )
        ),
        CKR_ARGUMENTS_BAD
    );
    let mut len: CK_ULONG = 512;
    assert_eq!(
        call!(
            m,
            C_Sign(
                h,
                msg.as_mut_ptr(),
                msg.len() as CK_ULONG,
                sig.as_mut_ptr(),
                &mut len
            )
        ),
        CKR_OK
    );
    assert_eq!(len, 256);
    assert_eq!(
        main_stats().verifies_of(PinId::Auth),
        before.verifies_of(PinId::Auth) + 1
    );
    let s = Scratch::new();
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &s.write("m", &msg),
        &s.write("s", &sig[..256]),
    );
    assert_eq!(
        call!(
            m,
            C_Sign(
                h,
                msg.as_mut_ptr(),
                msg.len() as CK_ULONG,
                sig.as_mut_ptr(),
                &mut len
            )
        ),
        CKR_OPERATION_NOT_INITIALIZED
    );

    // Unsupported functions answer, whatever their arguments.
    assert_eq!(
        call!(m, C_GenerateRandom(h, null_mut(), 10)),
        CKR_RANDOM_NO_RNG
    );
    assert_eq!(
        call!(m, C_DestroyObject(h, AUTH_KEY)),
        CKR_FUNCTION_NOT_SUPPORTED
    );
    assert_eq!(
        call!(m, C_EncryptInit(h, null_mut(), 0)),
        CKR_FUNCTION_NOT_SUPPORTED
    );

    // C_Finalize with the session open; afterwards nothing answers but C_Initialize.
    assert_eq!(call!(m, C_Finalize(null_mut())), CKR_OK);
    assert_eq!(call!(m, C_CloseSession(h)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(
        call!(m, C_Finalize(null_mut())),
        CKR_CRYPTOKI_NOT_INITIALIZED
    );
}

#[test]
fn threads_share_one_login_and_every_signature_costs_one_verify() {
    let m = load(MAIN_READER);
    init(&m);
    let h = open(&m, 0);
    assert_eq!(login(&m, h, "1234"), CKR_OK);
    let before = main_stats();
    const THREADS: usize = 4;
    const EACH: usize = 3;
    let sigs: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let m = &m;
                scope.spawn(move || {
                    let h = open(m, 0);
                    let mut out = Vec::new();
                    for i in 0..EACH {
                        let mut msg = format!("thread {t} message {i}").into_bytes();
                        let mut mech = CK_MECHANISM {
                            mechanism: CKM_SHA256_RSA_PKCS,
                            pParameter: null_mut(),
                            ulParameterLen: 0,
                        };
                        assert_eq!(call!(m, C_SignInit(h, &mut mech, AUTH_KEY)), CKR_OK);
                        let mut sig = vec![0u8; 256];
                        let mut len: CK_ULONG = 256;
                        assert_eq!(
                            call!(
                                m,
                                C_Sign(
                                    h,
                                    msg.as_mut_ptr(),
                                    msg.len() as CK_ULONG,
                                    sig.as_mut_ptr(),
                                    &mut len
                                )
                            ),
                            CKR_OK
                        );
                        out.push((msg, sig));
                    }
                    assert_eq!(call!(m, C_CloseSession(h)), CKR_OK);
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("thread"))
            .collect()
    });
    let after = main_stats();
    assert_eq!(
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        (THREADS * EACH) as u64
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
    let s = Scratch::new();
    for (i, (msg, sig)) in sigs.iter().enumerate() {
        assert_openssl_verifies_sha256(
            &pki_file("auth.pem"),
            &s.write(&format!("m{i}"), msg),
            &s.write(&format!("s{i}"), sig),
        );
    }
    // Closing the token's last session logs it out.
    assert_eq!(call!(m, C_CloseSession(h)), CKR_OK);
    let h = open(&m, 0);
    let mut mech = CK_MECHANISM {
        mechanism: CKM_SHA256_RSA_PKCS,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(
        call!(m, C_SignInit(h, &mut mech, AUTH_KEY)),
        CKR_USER_NOT_LOGGED_IN
    );
    assert_eq!(call!(m, C_Finalize(null_mut())), CKR_OK);
}

/// Signs one message on the auth key through `m` in a new session (already logged in or not).
fn sign_once(m: &Module, h: CK_SESSION_HANDLE) -> CK_RV {
    let mut mech = CK_MECHANISM {
        mechanism: CKM_SHA256_RSA_PKCS,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    let rv = call!(m, C_SignInit(h, &mut mech, AUTH_KEY));
    if rv != CKR_OK {
        return rv;
    }
    let mut msg = b"after fork".to_vec();
    let mut sig = [0u8; 256];
    let mut len: CK_ULONG = 256;
    call!(
        m,
        C_Sign(
            h,
            msg.as_mut_ptr(),
            msg.len() as CK_ULONG,
            sig.as_mut_ptr(),
            &mut len
        )
    )
}

#[test]
fn a_forked_child_must_initialize_again_and_both_processes_keep_working() {
    let m = load(MAIN_READER);
    init(&m);
    let h = open(&m, 0);
    assert_eq!(login(&m, h, "1234"), CKR_OK);
    let before = main_stats();
    // SAFETY: the child only calls the module and then _exit()s; no other thread of this test
    // process is inside the module (tests run one at a time).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // Child: the parent's state is not ours. Exit codes say which step failed.
        let mut code = 0;
        let mut n: CK_ULONG = 0;
        if call!(m, C_GetSlotList(CK_TRUE, null_mut(), &mut n)) != CKR_CRYPTOKI_NOT_INITIALIZED {
            code = 10;
        } else if call!(m, C_Initialize(null_mut())) != CKR_OK {
            code = 11;
        } else {
            let mut h2 = 0;
            if call!(
                m,
                C_OpenSession(0, CKF_SERIAL_SESSION, null_mut(), None, &mut h2)
            ) != CKR_OK
            {
                code = 12;
            } else if sign_once(&m, h2) != CKR_USER_NOT_LOGGED_IN {
                code = 13; // the parent's login must not carry over
            } else if login(&m, h2, "1234") != CKR_OK {
                code = 14;
            } else if sign_once(&m, h2) != CKR_OK {
                code = 15;
            } else if call!(m, C_Finalize(null_mut())) != CKR_OK {
                code = 16;
            }
        }
        // SAFETY: leave the forked test process without running the harness's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for the child just forked.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child did not exit normally");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child failed at step code");
    // The parent's connection and login survived the child.
    assert_eq!(sign_once(&m, h), CKR_OK);
    let after = main_stats();
    // Child: login + signature; parent: signature.
    assert_eq!(
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        3
    );
    assert_eq!(after.signatures - before.signatures, 2);
    assert_eq!(call!(m, C_Finalize(null_mut())), CKR_OK);
}

fn token_present(m: &Module, slot: CK_SLOT_ID) -> bool {
    let mut info = CK_SLOT_INFO::default();
    assert_eq!(call!(m, C_GetSlotInfo(slot, &mut info)), CKR_OK);
    info.flags & CKF_TOKEN_PRESENT != 0
}

#[test]
fn a_pulled_card_shows_in_slot_info_and_events_and_ends_sessions_and_login() {
    let mut sim = SecondSim::start(&[]);
    let m = load(SECOND_READER);
    init(&m);
    let mut slot: CK_SLOT_ID = 99;
    // The first poll only records the state.
    assert_eq!(
        call!(m, C_WaitForSlotEvent(CKF_DONT_BLOCK, &mut slot, null_mut())),
        CKR_NO_EVENT
    );
    let h = open(&m, 0);
    assert_eq!(login(&m, h, "1234"), CKR_OK);
    assert!(token_present(&m, 0) && token_present(&m, 1));

    sim.pull_card();
    assert!(!token_present(&m, 0));
    let mut n: CK_ULONG = 9;
    assert_eq!(call!(m, C_GetSlotList(CK_TRUE, null_mut(), &mut n)), CKR_OK);
    assert_eq!(n, 0);
    assert_eq!(
        call!(m, C_GetSlotList(CK_FALSE, null_mut(), &mut n)),
        CKR_OK
    );
    assert_eq!(n, 2);
    let mut info = CK_TOKEN_INFO::default();
    assert_eq!(
        call!(m, C_GetTokenInfo(0, &mut info)),
        CKR_TOKEN_NOT_PRESENT
    );
    assert_eq!(
        call!(m, C_WaitForSlotEvent(CKF_DONT_BLOCK, &mut slot, null_mut())),
        CKR_OK
    );
    assert_eq!(slot, 0);
    assert_eq!(
        call!(m, C_WaitForSlotEvent(CKF_DONT_BLOCK, &mut slot, null_mut())),
        CKR_OK
    );
    assert_eq!(slot, 1);
    assert_eq!(
        call!(m, C_WaitForSlotEvent(CKF_DONT_BLOCK, &mut slot, null_mut())),
        CKR_NO_EVENT
    );
    // The session belonged to the card that went away.
    assert_eq!(sign_once(&m, h), CKR_SESSION_HANDLE_INVALID);

    sim.insert();
    assert!(token_present(&m, 0));
    assert_eq!(
        call!(m, C_WaitForSlotEvent(CKF_DONT_BLOCK, &mut slot, null_mut())),
        CKR_OK
    );
    // A new session on the new insertion is not logged in: the next card may be another's.
    let h = open(&m, 0);
    assert_eq!(sign_once(&m, h), CKR_USER_NOT_LOGGED_IN);
    assert_eq!(login(&m, h, "1234"), CKR_OK);
    assert_eq!(sign_once(&m, h), CKR_OK);
    assert_eq!(sim.stats().failed_verifies.get(&PinId::Auth), None);
    assert_eq!(call!(m, C_Finalize(null_mut())), CKR_OK);
}

#[test]
fn rsa_pss_is_offered_only_when_configured_and_openssl_verifies_it() {
    let m = load(MAIN_READER);
    // The module reads its settings at C_Initialize.
    std::env::set_var("JPKI_PKCS11_PSS", "yes");
    init(&m);
    std::env::remove_var("JPKI_PKCS11_PSS");
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(m, C_GetMechanismList(0, null_mut(), &mut n)), CKR_OK);
    let mut mechs = vec![0 as CK_MECHANISM_TYPE; n as usize];
    assert_eq!(
        call!(m, C_GetMechanismList(0, mechs.as_mut_ptr(), &mut n)),
        CKR_OK
    );
    assert!(mechs.contains(&CKM_RSA_PKCS_PSS), "{mechs:x?}");
    let h = open(&m, 0);
    assert_eq!(login(&m, h, "1234"), CKR_OK);
    let mut params = CK_RSA_PKCS_PSS_PARAMS {
        hashAlg: CKM_SHA256,
        mgf: CKG_MGF1_SHA256,
        sLen: 32,
    };
    let mut mech = CK_MECHANISM {
        mechanism: CKM_SHA256_RSA_PKCS_PSS,
        pParameter: &mut params as *mut _ as *mut _,
        ulParameterLen: std::mem::size_of::<CK_RSA_PKCS_PSS_PARAMS>() as CK_ULONG,
    };
    assert_eq!(call!(m, C_SignInit(h, &mut mech, AUTH_KEY)), CKR_OK);
    // Multi-part: two updates, then the final.
    let (mut a, mut b) = (b"pss ".to_vec(), b"message".to_vec());
    assert_eq!(
        call!(m, C_SignUpdate(h, a.as_mut_ptr(), a.len() as CK_ULONG)),
        CKR_OK
    );
    assert_eq!(
        call!(m, C_SignUpdate(h, b.as_mut_ptr(), b.len() as CK_ULONG)),
        CKR_OK
    );
    let mut sig = [0u8; 256];
    let mut len: CK_ULONG = 256;
    assert_eq!(call!(m, C_SignFinal(h, sig.as_mut_ptr(), &mut len)), CKR_OK);
    let s = Scratch::new();
    let data = s.write("m", b"pss message");
    let sigf = s.write("s", &sig);
    let pubkey = s.path("pub.pem");
    ok(&run(std::process::Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(pki_file("auth.pem"))
        .arg("-out")
        .arg(&pubkey)));
    let o = run(std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss"])
        .args(["-sigopt", "rsa_pss_saltlen:32", "-verify"])
        .arg(&pubkey)
        .arg("-signature")
        .arg(&sigf)
        .arg(&data));
    assert_eq!(stdout(&o).trim(), "Verified OK", "{}", stderr(&o));
    // Other PSS parameters than the card's mode are refused up front.
    let mut salt20 = CK_RSA_PKCS_PSS_PARAMS { sLen: 20, ..params };
    let mut mech = CK_MECHANISM {
        pParameter: &mut salt20 as *mut _ as *mut _,
        ..mech
    };
    assert_eq!(
        call!(m, C_SignInit(h, &mut mech, AUTH_KEY)),
        CKR_MECHANISM_PARAM_INVALID
    );
    assert_eq!(call!(m, C_Finalize(null_mut())), CKR_OK);
}

#[test]
fn pkcs11_3_interface_calls_hand_out_the_same_function_list() {
    let m = load(MAIN_READER);
    // SAFETY: the module under test; symbols looked up with their C signatures.
    let (list_fn, get_fn) = unsafe {
        let list: libloading::Symbol<
            unsafe extern "C" fn(*mut CK_INTERFACE, *mut CK_ULONG) -> CK_RV,
        > = m
            ._lib
            .get(b"C_GetInterfaceList")
            .expect("C_GetInterfaceList");
        let get: libloading::Symbol<
            unsafe extern "C" fn(
                *mut CK_UTF8CHAR,
                *mut CK_VERSION,
                *mut *mut CK_INTERFACE,
                CK_FLAGS,
            ) -> CK_RV,
        > = m._lib.get(b"C_GetInterface").expect("C_GetInterface");
        (*list, *get)
    };
    let mut n: CK_ULONG = 0;
    // SAFETY: as above; NULL list = count query.
    assert_eq!(unsafe { list_fn(null_mut(), &mut n) }, CKR_OK);
    assert_eq!(n, 1);
    let mut iface: *mut CK_INTERFACE = null_mut();
    // SAFETY: as above.
    assert_eq!(
        unsafe { get_fn(null_mut(), null_mut(), &mut iface, 0) },
        CKR_OK
    );
    // SAFETY: the module returned a pointer to its static interface.
    let iface = unsafe { iface.as_ref() }.expect("interface");
    assert_eq!(
        iface.pFunctionList as *const CK_FUNCTION_LIST,
        m.f as *const CK_FUNCTION_LIST
    );
    // SAFETY: a NUL-terminated static name.
    let name = unsafe { std::ffi::CStr::from_ptr(iface.pInterfaceName as *const std::ffi::c_char) };
    assert_eq!(name.to_bytes(), b"PKCS 11");
    let mut v3 = CK_VERSION { major: 3, minor: 0 };
    let mut other: *mut CK_INTERFACE = null_mut();
    // SAFETY: as above.
    assert_eq!(
        unsafe { get_fn(null_mut(), &mut v3, &mut other, 0) },
        CKR_ARGUMENTS_BAD
    );
    // SAFETY: as above; NULL output.
    assert_eq!(
        unsafe { get_fn(null_mut(), null_mut(), null_mut(), 0) },
        CKR_ARGUMENTS_BAD
    );
}
