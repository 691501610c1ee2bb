//! The OpenSSL provider end to end: the `openssl` command line with `-provider jpki`, against
//! the simulated card through pcscd, checked by OpenSSL's own verification.
//!
//! The main card is used only with correct PINs (its counters stay as they were); wrong,
//! blocked and last-try cases run on a second simulated card (`SecondSim`).

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::path::Path;
use std::process::{Command, Output};

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

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "command failed:\nstdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
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
    // One VERIFY: at load, where it also opens the sign certificate; the card keeps it for
    // the signature that follows at once.
    assert_eq!(
        after.verifies_of(PinId::Sign) - before.verifies_of(PinId::Sign),
        1
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

/// Issue 7: the APDUs of a fresh `openssl dgst -sign jpki:auth` process, counted by the
/// simulator. One session identifies the card, reads the PIN counter and the certificate
/// (SELECT, token label by SFI, empty VERIFY, 4 READ BINARY — the first by SFI); after the
/// passphrase callback one session presents the PIN (SELECT, empty VERIFY, VERIFY) and leaves
/// it verified; the signature right after is one SIGN. 17 before; OpenSC needs 68.
const DGST_SIGN_APDUS: u64 = 11;

#[test]
fn a_fresh_dgst_sign_process_costs_the_apdu_budget_and_one_verify() {
    let w = work();
    let passin = format!("file:{}", w.s("authpin"));
    let before = main_stats();
    let o = run(openssl()
        .args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin", &passin])
        .args(P)
        .args(["-out", &w.s("sig.bin"), &w.s("doc.txt")]));
    ok(&o);
    let after = main_stats();
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );
    assert_eq!(
        (
            after.apdus - before.apdus,
            after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
            after.signatures - before.signatures,
        ),
        (DGST_SIGN_APDUS, 1, 1),
        "(APDUs, VERIFYs, signatures) of a fresh openssl dgst -sign"
    );
    // The verification kept for the signature ended with it: the card was reset.
    assert!(after.resets > before.resets, "no reset after the signature");
}

/// The PIN verified at load stays on the card only for a moment: a program that signs later
/// (here `openssl dgst` reading its input from a pipe that stays open) finds the card reset
/// by then, and signs the ordinary way — counter, VERIFY with the kept PIN, SIGN.
#[test]
fn a_verification_kept_for_the_signature_ends_when_no_signature_comes() {
    use std::io::Write;
    use std::process::Stdio;
    use std::time::Duration;
    let w = work();
    let passin = format!("file:{}", w.s("authpin"));
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
    let loaded = main_stats();
    wait_until(
        "the card reset that ends the unused verification",
        Duration::from_secs(10),
        || main_stats().resets > loaded.resets,
    );
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
        "the kept PIN is presented again, once"
    );
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
