//! The OpenSSL provider end to end: the `openssl` command line with `-provider jpki`, against
//! the simulated card through pcscd, checked by OpenSSL's own verification.
//!
//! The main card is used only with correct PINs (its counters stay as they were); wrong,
//! blocked and last-try cases run on a second simulated card (`SecondSim`).

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::path::Path;
use std::process::Command;

const P: [&str; 4] = ["-provider", "jpki", "-provider", "default"];
const SECOND: &str = "reader=Virtual%20PCD%2000%2001";

/// A scratch directory with a document and the simulator's PIN files.
fn work() -> Scratch {
    let w = Scratch::new();
    w.write("doc.txt", b"jpki provider test document\n");
    w.write("authpin", b"1234\n");
    w.write("signpw", b"abc123\n");
    w
}

/// `openssl cms -sign` of doc.txt with the sign key, DER, binary.
fn cms_sign(w: &Scratch, providers: &[&str], signer: &str, out: &str) -> Command {
    let mut c = openssl();
    c.args(["cms", "-sign"])
        .args(providers)
        .args(["-in", &w.s("doc.txt"), "-binary", "-signer", signer])
        .args(["-inkey", "jpki:sign", "-outform", "DER", "-out", &w.s(out)]);
    c
}

fn cms_verify(w: &Scratch, p7s: &str, detached: bool) {
    let mut c = Command::new("openssl");
    c.args(["cms", "-verify", "-CAfile"])
        .arg(pki_file("sign-ca.pem"))
        .args([
            "-inform",
            "DER",
            "-in",
            &w.s(p7s),
            "-binary",
            "-out",
            &w.s("verified.txt"),
        ]);
    if detached {
        c.args(["-content", &w.s("doc.txt")]);
    }
    let o = run(&mut c);
    assert!(
        stderr(&o).contains("Verification successful"),
        "openssl cms -verify: {}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(w.path("verified.txt")).expect("verified content"),
        std::fs::read(w.path("doc.txt")).expect("doc")
    );
}

fn pubkey_of_cert(cert: &Path) -> String {
    let o = run(Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(cert));
    ok(&o);
    stdout(&o)
}

#[test]
fn cms_sign_as_the_issue_types_it_detached_and_attached() {
    let w = work();
    let before = main_stats();
    // -signer jpki:sign is loaded before -inkey and without -passin (apps/cms.c), so OpenSSL
    // asks for the password itself: on a terminal the user types it once; here, without one,
    // OpenSSL's prompt reads standard input. The key load then reuses the verified password.
    let o = run_with_input(
        cms_sign(&w, &P, "jpki:sign", "doc.p7s")
            .args(["-passin", &format!("file:{}", w.s("signpw"))]),
        b"abc123\n",
    );
    ok(&o);
    let prompts = stderr(&o)
        .matches("Enter pass phrase for jpki:sign")
        .count();
    assert_eq!(prompts, 1, "one prompt per key per process: {}", stderr(&o));
    assert!(
        stderr(&o).contains("tries left"),
        "prompt shows the tries left: {}",
        stderr(&o)
    );
    cms_verify(&w, "doc.p7s", true);
    let after = main_stats();
    // One VERIFY to read the sign certificate (load), one before the signature: no session
    // leaves the card verified for the next.
    assert_eq!(
        after.verifies_of(PinId::Sign) - before.verifies_of(PinId::Sign),
        2
    );
    assert_eq!(after.signatures - before.signatures, 1);

    // Attached, with the password from a pin-source: no prompt, nothing on stdin.
    let signer = format!("jpki:sign?pin-source=file:{}", w.s("signpw"));
    let o = run(cms_sign(&w, &P, &signer, "attached.p7s").arg("-nodetach"));
    ok(&o);
    assert!(!stderr(&o).contains("Enter pass phrase"), "{}", stderr(&o));
    cms_verify(&w, "attached.p7s", false);
}

#[test]
fn without_the_default_provider_the_error_says_what_to_add() {
    let w = work();
    let o = run(&mut cms_sign(
        &w,
        &["-provider", "jpki"],
        "jpki:sign",
        "doc.p7s",
    ));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("add `-provider default` after `-provider jpki`"),
        "{}",
        stderr(&o)
    );
    assert!(
        !w.path("doc.p7s").exists()
            || std::fs::metadata(w.path("doc.p7s"))
                .map(|m| m.len())
                .unwrap_or(0)
                == 0
    );
}

#[test]
fn storeutl_lists_objects_without_asking_for_a_pin() {
    let before = main_stats();
    let o = run(openssl().args(["storeutl"]).args(P).arg("jpki:"));
    ok(&o);
    let out = stdout(&o);
    for name in ["jpki:auth", "jpki:sign", "jpki:auth-ca", "jpki:sign-ca"] {
        assert!(
            out.contains(&format!("Name: {name}\n")),
            "{name} missing:\n{out}"
        );
    }
    let o = run(openssl().args(["storeutl", "-certs"]).args(P).arg("jpki:"));
    ok(&o);
    assert_eq!(
        stdout(&o).matches("-----BEGIN CERTIFICATE-----").count(),
        3,
        "{}",
        stdout(&o)
    );
    let o = run(openssl()
        .args(["storeutl", "-certs", "-noout", "-text"])
        .args(P)
        .arg("jpki:auth-ca"));
    ok(&o);
    let after = main_stats();
    assert_eq!(after.verifies, before.verifies, "listing spent no VERIFY");
    assert!(!stderr(&o).contains("pass phrase"));
}

#[test]
fn dgst_and_pkeyutl_signatures_verify_with_the_certificate() {
    let w = work();
    let passin = format!("file:{}", w.s("authpin"));
    let o = run(openssl()
        .args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin", &passin])
        .args(P)
        .args(["-out", &w.s("sig.bin"), &w.s("doc.txt")]));
    ok(&o);
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );

    // Sign-a-digest form: the provider builds the DigestInfo for the digest named.
    let o = run(Command::new("openssl").args([
        "dgst",
        "-sha384",
        "-binary",
        "-out",
        &w.s("h.bin"),
        &w.s("doc.txt"),
    ]));
    ok(&o);
    let o = run(openssl()
        .args([
            "pkeyutl",
            "-sign",
            "-inkey",
            "jpki:auth",
            "-passin",
            &passin,
        ])
        .args(P)
        .args([
            "-pkeyopt",
            "digest:sha384",
            "-in",
            &w.s("h.bin"),
            "-out",
            &w.s("p.sig"),
        ]));
    ok(&o);
    let o = run(Command::new("openssl")
        .args(["pkeyutl", "-verify", "-certin", "-inkey"])
        .arg(pki_file("auth.pem"))
        .args([
            "-pkeyopt",
            "digest:sha384",
            "-in",
            &w.s("h.bin"),
            "-sigfile",
            &w.s("p.sig"),
        ]));
    assert!(
        stdout(&o).contains("Signature Verified Successfully"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );

    // Raw bytes without a digest are refused with a message, not signed.
    let o = run(openssl()
        .args([
            "pkeyutl",
            "-sign",
            "-inkey",
            "jpki:auth",
            "-passin",
            &passin,
        ])
        .args(P)
        .args(["-in", &w.s("doc.txt"), "-out", &w.s("raw.sig")]));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the card signs digests"),
        "{}",
        stderr(&o)
    );
}

/// Issue 7: the APDUs of a fresh `openssl dgst -sign jpki:auth -passin …` process, counted by
/// the simulator (17 before the economies; OpenSC needs 68):
/// * the session that identifies the card also reads the PIN counter and the certificate:
///   SELECT, token label, empty VERIFY, 2 READ BINARY (the first by SFI with a short Le, the
///   rest with one extended Le) = 5;
/// * after the passphrase callback, the load's VERIFY (a wrong PIN fails at key load): SELECT,
///   empty VERIFY, VERIFY = 3, then a card reset;
/// * the signature: SELECT, empty VERIFY, VERIFY, SIGN = 4, then a card reset.
const DGST_SIGN_APDUS: u64 = 12;
/// The same with `?pin-source=file:…`: the PIN is read and verified in the first session
/// (its own counter read right before the VERIFY: 5 + 2), then the signature session (4).
const DGST_SIGN_PIN_SOURCE_APDUS: u64 = 11;

/// (APDUs, counter reads, VERIFYs, signatures, resets) of the auth PIN between two stats.
fn auth_costs(before: &jpki_card_sim::Stats, after: &jpki_card_sim::Stats) -> [u64; 5] {
    let queries = |s: &jpki_card_sim::Stats| s.queries.get(&PinId::Auth).copied().unwrap_or(0);
    [
        after.apdus - before.apdus,
        queries(after) - queries(before),
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        after.signatures - before.signatures,
        after.resets - before.resets,
    ]
}

#[test]
fn a_fresh_dgst_sign_process_costs_the_apdu_budget_and_resets_after_each_verify() {
    let w = work();
    let passin = format!("file:{}", w.s("authpin"));
    let uri_with_source = format!("jpki:auth?pin-source=file:{}", w.s("authpin"));
    let cases: [(&str, &[&str], u64); 2] = [
        ("jpki:auth", &["-passin", &passin], DGST_SIGN_APDUS),
        (&uri_with_source, &[], DGST_SIGN_PIN_SOURCE_APDUS),
    ];
    for (key, extra, apdus) in cases {
        let before = main_stats();
        let o = run(openssl()
            .args(["dgst", "-sha256", "-sign", key])
            .args(extra)
            .args(P)
            .args(["-out", &w.s("sig.bin"), &w.s("doc.txt")]));
        ok(&o);
        let after = main_stats();
        assert_openssl_verifies_sha256(
            &pki_file("auth.pem"),
            &w.path("doc.txt"),
            &w.path("sig.bin"),
        );
        let [n, queries, verifies, signatures, resets] = auth_costs(&before, &after);
        assert_eq!(
            (n, verifies, signatures),
            (apdus, 2, 1),
            "(APDUs, VERIFYs, signatures) of a fresh openssl dgst -sign {key} {extra:?}"
        );
        // A counter read before the prompt, and one right before each VERIFY in its session
        // (design.md's PIN policy; with a pin-source the first two share a session).
        assert_eq!(
            queries, 3,
            "counter reads of openssl dgst -sign {key} {extra:?}"
        );
        // Each session that verified (the load's, the signature's) ended with a reset.
        assert!(
            resets >= verifies,
            "{resets} card resets for {verifies} VERIFY sessions ({key} {extra:?})"
        );
    }
}

/// design.md: "reset/deselect when done so a verified state does not outlive the operation".
/// `openssl dgst` reading its input from a pipe that stays open has loaded the key (PIN
/// verified) but not signed yet: in that gap another program on the reader finds the card
/// reset and a bare COMPUTE DIGITAL SIGNATURE (no SELECT, no VERIFY) refused. The signature
/// then presents the PIN again in its own session (counter, VERIFY, SIGN).
#[test]
fn no_verified_state_outlives_the_key_load_session() {
    use std::io::Write;
    use std::process::Stdio;
    use std::time::Duration;
    let w = work();
    let passin = format!("file:{}", w.s("authpin"));
    // Connected before the load, so pcscd tells this handle about a reset made meanwhile.
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("pcsc context");
    let reader = std::ffi::CString::new(MAIN_READER).expect("reader name");
    let mut probe = ctx
        .connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .expect("connect to the main reader");
    let before = main_stats();
    let mut child = openssl()
        .args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin", &passin])
        .args(P)
        .args(["-out", &w.s("sig.bin")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    wait_until(
        "the PIN verified at key load",
        Duration::from_secs(10),
        || main_stats().verifies_of(PinId::Auth) > before.verifies_of(PinId::Auth),
    );
    // COMPUTE DIGITAL SIGNATURE with the auth key by SFI (17) over a SHA-256 DigestInfo.
    let mut sign = vec![0x80, 0x2A, 0x00, 0x97, 0x33];
    sign.extend_from_slice(&[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ]);
    sign.extend_from_slice(&[0x5a; 32]);
    sign.push(0x00);
    let mut buf = [0u8; 300];
    // Our transaction starts once the load's has ended; pcscd then reports the reset it made.
    let mut reset_seen = false;
    let sw = loop {
        let attempt = probe.transaction().and_then(|tx| {
            let r = tx.transmit(&sign, &mut buf).map(|r| r.to_vec());
            let _ = tx.end(pcsc::Disposition::LeaveCard);
            r
        });
        match attempt {
            Ok(r) => break r[r.len().saturating_sub(2)..].to_vec(),
            Err(pcsc::Error::ResetCard) if !reset_seen => {
                reset_seen = true;
                probe
                    .reconnect(
                        pcsc::ShareMode::Shared,
                        pcsc::Protocols::ANY,
                        pcsc::Disposition::LeaveCard,
                    )
                    .expect("reconnect after the reset");
            }
            Err(e) => panic!("probe: {e}"),
        }
    };
    assert!(
        reset_seen,
        "the key load's VERIFY session did not end with a card reset"
    );
    assert_ne!(
        sw,
        [0x90, 0x00],
        "a bare SIGN from another program succeeded after the key load"
    );
    drop(probe);
    let probed = main_stats();
    assert_eq!(probed.signatures, before.signatures, "the probe signed");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(&std::fs::read(w.path("doc.txt")).expect("doc"))
        .expect("write stdin");
    drop(stdin);
    let o = child.wait_with_output().expect("wait");
    ok(&o);
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );
    let after = main_stats();
    assert_eq!(
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        2,
        "the PIN kept in memory is presented again, once"
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(after.signatures - before.signatures, 1);
}

#[test]
fn req_makes_a_csr_that_verifies_and_carries_the_card_key() {
    let w = work();
    let o = run(openssl()
        .args(["req", "-new", "-key", "jpki:auth", "-subj", "/CN=test"])
        .args(P)
        .args([
            "-passin",
            &format!("file:{}", w.s("authpin")),
            "-out",
            &w.s("req.pem"),
        ]));
    ok(&o);
    let o = run(Command::new("openssl").args(["req", "-verify", "-noout", "-in", &w.s("req.pem")]));
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("verify OK"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = run(Command::new("openssl").args(["req", "-pubkey", "-noout", "-in", &w.s("req.pem")]));
    ok(&o);
    assert_eq!(stdout(&o), pubkey_of_cert(&pki_file("auth.pem")));
}

#[test]
fn pem_uri_key_file_works_as_inkey_with_the_conf_fragment() {
    let w = work();
    let o =
        run(Command::new(bin("jpki-sign")).args(["uri-key", "jpki:auth", "-o", &w.s("key.pem")]));
    ok(&o);
    let pem = std::fs::read_to_string(w.path("key.pem")).expect("key.pem");
    assert!(
        pem.starts_with("-----BEGIN JPKI PROVIDER URI-----"),
        "{pem}"
    );
    let conf = conf_file("jpki.cnf");
    let o = run(Command::new("openssl")
        .env("OPENSSL_CONF", &conf)
        .env("OPENSSL_MODULES", provider_modules())
        .args([
            "dgst",
            "-sha256",
            "-sign",
            &w.s("key.pem"),
            "-passin",
            &format!("file:{}", w.s("authpin")),
        ])
        .args(["-out", &w.s("sig.bin"), &w.s("doc.txt")]));
    ok(&o);
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );
    // The same file read as a key by a program that uses PEM_read_bio_PrivateKey-style
    // decoding (openssl pkey) gives the card's public key.
    let o = run(Command::new("openssl")
        .env("OPENSSL_CONF", &conf)
        .env("OPENSSL_MODULES", provider_modules())
        .args([
            "pkey",
            "-pubout",
            "-in",
            &w.s("key.pem"),
            "-passin",
            &format!("file:{}", w.s("authpin")),
        ]));
    ok(&o);
    assert_eq!(stdout(&o), pubkey_of_cert(&pki_file("auth.pem")));
    // An ordinary key file still works with the provider active.
    let o = run(Command::new("openssl").args([
        "genpkey",
        "-algorithm",
        "RSA",
        "-out",
        &w.s("soft.pem"),
    ]));
    ok(&o);
    let o = run(Command::new("openssl")
        .env("OPENSSL_CONF", &conf)
        .env("OPENSSL_MODULES", provider_modules())
        .args([
            "dgst",
            "-sha256",
            "-sign",
            &w.s("soft.pem"),
            "-out",
            &w.s("soft.sig"),
            &w.s("doc.txt"),
        ]));
    ok(&o);
}

#[test]
fn wrong_pin_costs_exactly_one_try_and_says_so() {
    let sim = SecondSim::start(&[]);
    let w = work();
    std::fs::write(w.path("bad"), b"9876\n").expect("write");
    let o = run(openssl()
        .args(["dgst", "-sha256", "-sign", &format!("jpki:auth?{SECOND}")])
        .args(P)
        .args([
            "-passin",
            &format!("file:{}", w.s("bad")),
            "-out",
            &w.s("sig.bin"),
            &w.s("doc.txt"),
        ]));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("jpki: wrong auth PIN"), "{err}");
    assert!(err.contains("2 tries left"), "{err}");
    assert!(
        !err.contains("9876"),
        "the PIN must not appear in errors: {err}"
    );
    assert_eq!(sim.tries(PinId::Auth), 2);
    assert_eq!(
        sim.stats().verifies_of(PinId::Auth),
        1,
        "exactly one VERIFY for one typed PIN"
    );
}

#[test]
fn blocked_pin_is_never_presented() {
    let sim = SecondSim::start(&["--sign-tries", "0"]);
    let w = work();
    let o = run(openssl()
        .args(["pkey", "-pubout", "-in", &format!("jpki:sign?{SECOND}")])
        .args(P)
        .args(["-passin", &format!("file:{}", w.s("signpw"))]));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("sign password (署名用パスワード) is blocked"),
        "{err}"
    );
    assert!(err.contains("municipal office"), "{err}");
    assert_eq!(
        sim.stats().verifies_of(PinId::Sign),
        0,
        "no VERIFY sent to a blocked PIN"
    );
}

#[test]
fn last_try_is_refused_unless_allowed_in_the_uri() {
    let sim = SecondSim::start(&["--auth-tries", "1"]);
    let w = work();
    let passin = format!("file:{}", w.s("authpin"));
    let o = run(openssl()
        .args(["dgst", "-sha256", "-sign", &format!("jpki:auth?{SECOND}")])
        .args(P)
        .args(["-passin", &passin, "-out", &w.s("sig.bin"), &w.s("doc.txt")]));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("only 1 try left"), "{err}");
    assert!(
        err.contains("last-try=allow"),
        "says how to override: {err}"
    );
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
    assert_eq!(sim.tries(PinId::Auth), 1);

    let o = run(openssl()
        .args([
            "dgst",
            "-sha256",
            "-sign",
            &format!("jpki:auth?{SECOND}&last-try=allow"),
        ])
        .args(P)
        .args(["-passin", &passin, "-out", &w.s("sig.bin"), &w.s("doc.txt")]));
    ok(&o);
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );
    assert_eq!(
        sim.tries(PinId::Auth),
        3,
        "a correct PIN resets the counter"
    );
}

#[test]
fn malformed_password_and_no_pin_are_refused_before_the_card() {
    let sim = SecondSim::start(&[]);
    let w = work();
    std::fs::write(w.path("short"), b"ab\n").expect("write");
    let o = run(openssl()
        .args(["pkey", "-pubout", "-in", &format!("jpki:sign?{SECOND}")])
        .args(P)
        .args(["-passin", &format!("file:{}", w.s("short"))]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no try spent"), "{}", stderr(&o));
    // No terminal, nothing on stdin, no -passin: a clear message, not a hang or a bare code.
    let o = run(openssl()
        .args(["pkey", "-pubout", "-in", &format!("jpki:sign?{SECOND}")])
        .args(P));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no sign password (署名用パスワード) given"),
        "{}",
        stderr(&o)
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
    assert_eq!(sim.tries(PinId::Sign), 5);
}

#[test]
fn make_install_puts_the_module_where_openssl_looks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dest = tempfile::tempdir().expect("tempdir");
    let o = run(Command::new("make")
        .arg("-C")
        .arg(&root)
        .arg("install-files")
        .arg(format!("DESTDIR={}", dest.path().display()))
        .arg("PROFILE=dev"));
    ok(&o);
    let v = run(Command::new("openssl").args(["version", "-m"]));
    let modulesdir = stdout(&v)
        .split('"')
        .nth(1)
        .expect("MODULESDIR in `openssl version -m`")
        .to_string();
    let staged = dest.path().join(modulesdir.trim_start_matches('/'));
    assert!(staged.join("jpki.so").exists(), "{}", staged.display());
    assert!(dest.path().join("etc/jpki/jpki.cnf").exists());
    // `-provider jpki` finds it by name alone in that directory.
    let o = run(Command::new("openssl")
        .env("OPENSSL_MODULES", &staged)
        .args(["list", "-providers", "-provider", "jpki"]));
    ok(&o);
    assert!(
        stdout(&o).contains("My Number card (JPKI) provider"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("status: active"), "{}", stdout(&o));
}
