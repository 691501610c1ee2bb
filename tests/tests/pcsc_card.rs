//! The card crate over real PC/SC (pcscd + vpcd + simulator).

use jpki_card::{
    AuthPin, Card, CardError, CertKind, DigestInfo, HashAlg, KeyKind, LastTry, PinKind,
    ReaderChoice, SignPassword,
};
use jpki_card_sim::PinId;
use jpki_tests::*;
use openssl::hash::{hash, MessageDigest};

fn main_card() -> Card {
    Card::open(&ReaderChoice::Named(MAIN_READER.into())).expect("main simulated card")
}

fn pem_to_der(path: &std::path::Path) -> Vec<u8> {
    let pem = std::fs::read(path).unwrap();
    openssl::x509::X509::from_pem(&pem)
        .unwrap()
        .to_der()
        .unwrap()
}

#[test]
fn certificates_read_over_pcsc_equal_the_test_pki() {
    let mut card = main_card();
    let mut s = card.session().unwrap();
    for (kind, file) in [
        (CertKind::Auth, "auth.pem"),
        (CertKind::AuthCa, "auth-ca.pem"),
        (CertKind::SignCa, "sign-ca.pem"),
    ] {
        assert_eq!(
            s.read_cert(kind).unwrap().as_bytes(),
            pem_to_der(&pki_file(file)),
            "{file}"
        );
    }
}

/// The simulated card sits in a virtual reader: the automatic choice skips it (and says why),
/// the explicit one — `JPKI_READER`, set by with-sim.sh — finds it.
#[test]
fn auto_reader_choice_skips_the_virtual_reader_an_explicit_one_finds_it() {
    let e = Card::open(&ReaderChoice::Auto).unwrap_err();
    assert!(
        matches!(&e, jpki_card::CardError::OnlyVirtualReaders { skipped } if skipped.contains(MAIN_READER)),
        "{e}"
    );
    assert!(jpki_card::eligible_readers(&ReaderChoice::Auto)
        .unwrap()
        .is_empty());
    assert_eq!(
        std::env::var(jpki_card::READER_ENV).as_deref(),
        Ok(MAIN_READER),
        "scripts/with-sim.sh names the simulator's reader"
    );
    let card = Card::open(&ReaderChoice::from_env_or(None)).unwrap();
    assert_eq!(card.reader_name(), MAIN_READER);
    assert_eq!(
        jpki_card::eligible_readers(&ReaderChoice::from_env_or(None)).unwrap(),
        vec![MAIN_READER.to_string()]
    );
}

/// Signs `data` with `key` on the card and checks the signature with the
/// `openssl` command line against the certificate's public key.
fn sign_and_verify_with_openssl(
    card: &mut Card,
    key: KeyKind,
    cert: &str,
    pin: &dyn jpki_card::Secret,
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"signed over PC/SC\n").unwrap();
    let digest = hash(MessageDigest::sha256(), &std::fs::read(&data).unwrap()).unwrap();
    let di = DigestInfo::new(HashAlg::Sha256, &digest).unwrap();
    let sig = {
        let mut s = card.session().unwrap();
        s.verify(pin, LastTry::Refuse).unwrap();
        s.sign(key, &di).unwrap()
    };
    let sig_path = dir.path().join("sig.bin");
    std::fs::write(&sig_path, sig.as_bytes()).unwrap();
    assert_openssl_verifies_sha256(&pki_file(cert), &data, &sig_path);
}

#[test]
fn signatures_of_both_keys_verify_with_openssl() {
    let mut card = main_card();
    sign_and_verify_with_openssl(
        &mut card,
        KeyKind::Auth,
        "auth.pem",
        &AuthPin::new("1234").unwrap(),
    );
    sign_and_verify_with_openssl(
        &mut card,
        KeyKind::Sign,
        "sign.pem",
        &SignPassword::new("ABC123").unwrap(),
    );
}

#[test]
fn pin_counters_over_pcsc() {
    let sim = SecondSim::start(&[]);
    let mut card = Card::open(&ReaderChoice::Named(SECOND_READER.into())).unwrap();
    // A status query spends nothing.
    let st = card.session().unwrap().pin_status(PinKind::Auth).unwrap();
    assert_eq!(st.tries().map(|t| t.get()), Some(3));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
    assert!(sim.stats().queries.get(&PinId::Auth).copied().unwrap_or(0) >= 1);
    // A wrong PIN costs exactly one try and says how many are left.
    let wrong = AuthPin::new("9999").unwrap();
    let e = card
        .session()
        .unwrap()
        .verify(&wrong, LastTry::Refuse)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "wrong auth PIN (利用者証明用暗証番号), 2 tries left"
    );
    assert_eq!(sim.tries(PinId::Auth), 2);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
    // The right PIN resets the counter.
    card.session()
        .unwrap()
        .verify(&AuthPin::new("1234").unwrap(), LastTry::Refuse)
        .unwrap();
    assert_eq!(sim.tries(PinId::Auth), 3);
    // Three wrong PINs block it — the third only when forced.
    for _ in 0..2 {
        let _ = card.session().unwrap().verify(&wrong, LastTry::Refuse);
    }
    let e = card
        .session()
        .unwrap()
        .verify(&wrong, LastTry::Refuse)
        .unwrap_err();
    assert!(matches!(e, CardError::LastTryRefused { .. }), "{e}");
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 4);
    let e = card
        .session()
        .unwrap()
        .verify(&wrong, LastTry::Allow)
        .unwrap_err();
    assert!(
        matches!(e, CardError::Blocked { pin: PinKind::Auth }),
        "{e}"
    );
    assert_eq!(sim.tries(PinId::Auth), 0);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 5);
    // Blocked: nothing more is sent, even the right PIN.
    let e = card
        .session()
        .unwrap()
        .verify(&AuthPin::new("1234").unwrap(), LastTry::Allow)
        .unwrap_err();
    assert!(matches!(e, CardError::Blocked { .. }), "{e}");
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 5);
}

#[test]
fn counters_survive_a_power_cycle() {
    // Non-volatile counters (spec §6.3): a wrong password is remembered across power cycles.
    let mut sim = SecondSim::start(&[]);
    let mut card = Card::open(&ReaderChoice::Named(SECOND_READER.into())).unwrap();
    let _ = card
        .session()
        .unwrap()
        .verify(&SignPassword::new("WRONG1").unwrap(), LastTry::Refuse);
    assert_eq!(sim.tries(PinId::Sign), 4);
    drop(card);
    sim.restart();
    let mut card = Card::open(&ReaderChoice::Named(SECOND_READER.into())).unwrap();
    let st = card.session().unwrap().pin_status(PinKind::Sign).unwrap();
    assert_eq!(st.tries().map(|t| t.get()), Some(4));
}
