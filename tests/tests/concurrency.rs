//! Many signers on one card at once: separate processes (the CLI and `openssl` through the
//! provider, mixed) and threads inside one process sharing one provider key. PC/SC
//! transactions must keep each process's APDU sequence whole; nobody may lose a PIN try.

use jpki_card_sim::{CardState, PinId};
use jpki_tests::*;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;
use std::process::{Command, Stdio};

const P: [&str; 4] = ["-provider", "jpki", "-provider", "default"];

fn sim_tries(pin: PinId) -> u8 {
    let state = CardState::load(&sim_dir().join("state.json")).expect("state.json");
    state.pins.get(&pin).map(|p| p.tries).expect("pin")
}

#[test]
fn eight_processes_at_once_all_succeed_and_spend_no_try() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, b"concurrent signing\n").expect("doc");
    let pin = dir.path().join("pin");
    std::fs::write(&pin, b"1234\n").expect("pin");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, b"ABC123\n").expect("pw");
    let before = main_stats();
    let (auth_before, sign_before) = (sim_tries(PinId::Auth), sim_tries(PinId::Sign));

    let mut children = Vec::new();
    for i in 0..8 {
        let child = if i % 2 == 0 {
            let sig = dir.path().join(format!("sig{i}.bin"));
            openssl()
                .args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin"])
                .arg(format!("file:{}", pin.display()))
                .args(P)
                .arg("-out")
                .arg(&sig)
                .arg(&doc)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        } else {
            Command::new(bin("jpki-sign"))
                .args(["--reader", MAIN_READER, "--pin-file"])
                .arg(&pw)
                .args(["cert", "sign", "--pem", "-o"])
                .arg(dir.path().join(format!("sign{i}.pem")))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        };
        children.push(child.expect("spawn"));
    }
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().expect("wait");
        assert!(
            o.status.success(),
            "process {i} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    for i in (0..8).step_by(2) {
        assert_openssl_verifies_sha256(
            &pki_file("auth.pem"),
            &doc,
            &dir.path().join(format!("sig{i}.bin")),
        );
    }
    let expected = std::fs::read(pki_file("sign.pem")).expect("sign.pem");
    for i in (1..8).step_by(2) {
        let got = std::fs::read(dir.path().join(format!("sign{i}.pem"))).expect("sign cert");
        assert_eq!(
            got, expected,
            "process {i} read a whole, correct certificate"
        );
    }
    let after = main_stats();
    assert_eq!(
        after.failed_verifies, before.failed_verifies,
        "no VERIFY failed"
    );
    assert_eq!(
        (sim_tries(PinId::Auth), sim_tries(PinId::Sign)),
        (auth_before, sign_before)
    );
    assert_eq!(after.signatures - before.signatures, 4);
}

#[test]
fn threads_share_one_provider_key() {
    let _providers = load_providers();
    let dir = tempfile::tempdir().expect("tempdir");
    let key_pem = dir.path().join("key.pem");
    let o = run(Command::new(bin("jpki-sign"))
        .arg("uri-key")
        .arg("jpki:auth")
        .arg("-o")
        .arg(&key_pem));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = main_stats();
    // PEM_read_bio_PrivateKey → the provider's decoder → the card key; the PIN through the
    // passphrase callback, once.
    let pem = std::fs::read(&key_pem).expect("key.pem");
    let key = PKey::private_key_from_pem_passphrase(&pem, b"1234").expect("card key from PEM-URI");
    let cert =
        X509::from_pem(&std::fs::read(pki_file("auth.pem")).expect("auth.pem")).expect("cert");
    let public = cert.public_key().expect("public key");
    assert!(
        key.public_eq(&public),
        "the card key matches its certificate"
    );
    std::thread::scope(|s| {
        for t in 0..8 {
            let key = &key;
            let public = &public;
            s.spawn(move || {
                let data = format!("thread {t}");
                let mut signer = Signer::new(MessageDigest::sha256(), key).expect("signer");
                signer.update(data.as_bytes()).expect("update");
                let sig = signer.sign_to_vec().expect("card signature");
                let mut v = Verifier::new(MessageDigest::sha256(), public).expect("verifier");
                v.update(data.as_bytes()).expect("update");
                assert!(v.verify(&sig).expect("verify"), "thread {t}");
            });
        }
    });
    let after = main_stats();
    assert_eq!(after.signatures - before.signatures, 8);
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        9,
        "one VERIFY at load, then one per signature session"
    );
}
