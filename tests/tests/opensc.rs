//! OpenSC's own JPKI driver must accept the simulator unchanged: it is the
//! independent client that keeps the simulator honest.

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::process::Command;

const MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

#[test]
fn opensc_tool_names_a_jpki_card() {
    let o = run(Command::new("opensc-tool").args(["--reader", "0", "--name"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "jpki");
}

#[test]
fn pkcs15_tool_lists_certificates_and_pins() {
    let o = run(Command::new("pkcs15-tool").args(["--reader", "0", "--list-certificates"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for label in [
        "User Authentication Certificate",
        "Digital Signature Certificate",
        "User Authentication Certificate CA",
        "Digital Signature Certificate CA",
    ] {
        assert!(
            out.contains(&format!("[{label}]")),
            "{label} missing in:\n{out}"
        );
    }
    let o = run(Command::new("pkcs15-tool").args(["--reader", "0", "--list-pins"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("User Authentication PIN"), "{out}");
    assert!(out.contains("Digital Signature PIN"), "{out}");
    assert!(out.contains("Tries left     : 3"), "{out}");
    assert!(out.contains("Tries left     : 5"), "{out}");
    assert!(out.contains("min_len:6, max_len:16"), "{out}");
}

#[test]
fn pkcs15_tool_reads_the_auth_certificate_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auth.pem");
    let o = run(Command::new("pkcs15-tool")
        .args(["--reader", "0", "--read-certificate", "01", "--output"])
        .arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let a = openssl::x509::X509::from_pem(&std::fs::read(&out).unwrap()).unwrap();
    let b = openssl::x509::X509::from_pem(&std::fs::read(pki_file("auth.pem")).unwrap()).unwrap();
    assert_eq!(a.to_der().unwrap(), b.to_der().unwrap());
}

#[test]
fn pkcs11_tool_signs_and_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, b"signed by OpenSC through the JPKI driver\n").unwrap();
    let sig = dir.path().join("sig");
    let before = main_stats().verifies_of(PinId::Auth);
    let o = run(Command::new("pkcs11-tool")
        .args([
            "--module",
            MODULE,
            "--slot-index",
            "0",
            "--login",
            "--pin",
            "1234",
        ])
        .args([
            "--sign",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
            "-i",
        ])
        .arg(&data)
        .arg("-o")
        .arg(&sig));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // OpenSC presented the PIN once.
    assert_eq!(main_stats().verifies_of(PinId::Auth), before + 1);
    assert_openssl_verifies_sha256(&pki_file("auth.pem"), &data, &sig);
}
