//! `jpki-sign cms sign|verify` end to end: the simulated card through pcscd,
//! checked by `openssl cms -verify`.

use jpki_card_sim::PinId;
use jpki_tests::pdf::openssl_cms_verify;
use jpki_tests::*;
use std::path::Path;
use std::process::Output;

fn cms_sign(file: &Path, extra: &[&str], secret: &[u8]) -> Output {
    run_with_input(
        jpki_sign_main()
            .args(["cms", "sign"])
            .arg(file)
            .args(extra)
            .args(["--pin-file", "-"]),
        secret,
    )
}

fn cms_verify(sig: &Path, content: Option<&Path>, ca: &Path) -> Output {
    let mut c = jpki_sign();
    c.args(["cms", "verify"]).arg(sig).arg("--ca").arg(ca);
    if let Some(content) = content {
        c.arg("--content").arg(content);
    }
    run(&mut c)
}

#[test]
fn detached_signature_verifies_with_openssl_and_fails_on_changed_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    // Binary content with CR/LF: only `-binary` keeps OpenSSL from canonicalising it.
    std::fs::write(&data, b"line 1\r\nline 2\n\x00\xff binary").unwrap();
    ok(&cms_sign(&data, &["--detached"], b"ABC123\n"));
    let sig = dir.path().join("data.bin.p7s");
    let ca = pki_file("sign-ca.pem");
    let o = openssl_cms_verify(&sig, Some(&data), &ca, false);
    assert!(
        o.status.success() && stderr(&o).contains("CMS Verification successful"),
        "{}",
        stderr(&o)
    );
    ok(&cms_verify(&sig, Some(&data), &ca));
    // The content is detached: it is not in the signature file.
    assert!(!std::fs::read(&sig)
        .unwrap()
        .windows(6)
        .any(|w| w == b"line 1"));

    std::fs::write(&data, b"line 1\r\nline 2\n\x00\xff binarY").unwrap();
    let o = openssl_cms_verify(&sig, Some(&data), &ca, false);
    assert!(!o.status.success(), "openssl accepted changed content");
    let o = cms_verify(&sig, Some(&data), &ca);
    assert_eq!(o.status.code(), Some(6), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("differs from the signed messageDigest"),
        "{}",
        stderr(&o)
    );
    // The wrong CA: the chain check fails.
    let o = cms_verify(&sig, Some(&data), &pki_file("auth-ca.pem"));
    assert_eq!(o.status.code(), Some(6));
}

#[test]
fn attached_pem_signature_verifies_with_openssl_and_returns_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("note.txt");
    std::fs::write(&data, b"attached content\n").unwrap();
    ok(&cms_sign(&data, &["--pem"], b"ABC123\n"));
    let sig = dir.path().join("note.txt.p7m");
    assert!(std::fs::read_to_string(&sig)
        .unwrap()
        .starts_with("-----BEGIN CMS-----"));
    let ca = pki_file("sign-ca.pem");
    let o = openssl_cms_verify(&sig, None, &ca, true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"attached content\n");
    let v = cms_verify(&sig, None, &ca);
    ok(&v);
    assert!(
        stdout(&v).contains("CMS signature is valid."),
        "{}",
        stdout(&v)
    );
}

#[test]
fn the_auth_key_signs_with_the_auth_pin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, b"auth").unwrap();
    let out = dir.path().join("d.der");
    ok(&cms_sign(
        &data,
        &["--detached", "--key", "auth", "-o", out.to_str().unwrap()],
        b"1234\n",
    ));
    let o = openssl_cms_verify(&out, Some(&data), &pki_file("auth-ca.pem"), false);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_wrong_password_costs_one_try_and_writes_nothing() {
    let sim = SecondSim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, b"x").unwrap();
    let o = run_with_input(
        jpki_sign_second()
            .args(["cms", "sign", "--detached"])
            .arg(&data)
            .args(["--pin-file", "-"]),
        b"WRONG1\n",
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("4 tries left"), "{}", stderr(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert!(!dir.path().join("d.txt.p7s").exists());
}

#[test]
fn verifying_a_detached_signature_without_content_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, b"x").unwrap();
    ok(&cms_sign(&data, &["--detached"], b"ABC123\n"));
    let o = run(jpki_sign()
        .args(["cms", "verify"])
        .arg(dir.path().join("d.txt.p7s")));
    assert_eq!(o.status.code(), Some(6));
    assert!(stderr(&o).contains("--content FILE"), "{}", stderr(&o));
}

#[test]
fn a_detached_cms_with_a_timestamp_verifies() {
    let tsa = jpki_tests::pdf::LocalTsa::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, b"timestamped").unwrap();
    ok(&cms_sign(
        &data,
        &["--detached", "--tsa", &tsa.url],
        b"ABC123\n",
    ));
    let sig = dir.path().join("d.txt.p7s");
    let ca = pki_file("sign-ca.pem");
    let o = openssl_cms_verify(&sig, Some(&data), &ca, false);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = cms_verify(&sig, Some(&data), &ca);
    ok(&v);
    assert!(stdout(&v).contains("Timestamp:"), "{}", stdout(&v));
    // The TSA's chain, checked when its CA is given.
    let v = run(jpki_sign()
        .args(["cms", "verify"])
        .arg(&sig)
        .arg("--content")
        .arg(&data)
        .arg("--ca")
        .arg(&ca)
        .arg("--tsa-ca")
        .arg(tsa.cert()));
    ok(&v);
    assert!(
        stdout(&v).contains("chains to trusted TSA CA CN=jpki test TSA"),
        "{}",
        stdout(&v)
    );
}
