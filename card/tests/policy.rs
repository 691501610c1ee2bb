//! The PIN policy and card operations against the simulated card in process.
//! The simulator counts every VERIFY, so these tests prove how many tries each
//! call really spends.

use jpki_card::{
    AuthPin, Card, CardError, CertKind, DigestInfo, HashAlg, KeyKind, LastTry, PinKind, PinStatus,
    SignPassword, TextPin, TokenKind, VirtualReader,
};
use jpki_card_sim::card::SimOptions;
use jpki_card_sim::{CardState, PinId, SimCard, TestPki, Variant};
use openssl::hash::{hash, MessageDigest};
use openssl::sign::Verifier;
use openssl::x509::X509;
use std::sync::{Arc, Mutex, OnceLock};

fn pki() -> Arc<TestPki> {
    static PKI: OnceLock<Arc<TestPki>> = OnceLock::new();
    PKI.get_or_init(|| Arc::new(TestPki::generate_default().expect("test PKI")))
        .clone()
}

fn sim_with(opts: SimOptions, tweak: impl FnOnce(&mut CardState)) -> Arc<Mutex<SimCard>> {
    let pki = pki();
    let mut st = CardState::new(
        "1234",
        "ABC123",
        "1234",
        &pki.person.my_number,
        "90010120349999",
    );
    tweak(&mut st);
    Arc::new(Mutex::new(SimCard::new(pki, st, opts)))
}

fn sim() -> Arc<Mutex<SimCard>> {
    sim_with(SimOptions::default(), |_| {})
}

fn open(sim: &Arc<Mutex<SimCard>>) -> Card {
    Card::open_virtual(VirtualReader::new(sim.clone())).expect("card opens")
}

fn verifies(sim: &Arc<Mutex<SimCard>>, pin: PinId) -> u64 {
    sim.lock().unwrap().stats().verifies_of(pin)
}

fn tries(sim: &Arc<Mutex<SimCard>>, pin: PinId) -> u8 {
    sim.lock().unwrap().tries(pin)
}

fn auth(p: &str) -> AuthPin {
    AuthPin::new(p).unwrap()
}

#[test]
fn status_query_spends_nothing() {
    let s = sim();
    let mut card = open(&s);
    assert_eq!(card.token(), &TokenKind::MyNumberCard);
    let mut sess = card.session().unwrap();
    let st = sess.pin_status(PinKind::Auth).unwrap();
    assert_eq!(st.tries().map(|t| t.get()), Some(3));
    let st = sess.pin_status(PinKind::Sign).unwrap();
    assert_eq!(st.tries().map(|t| t.get()), Some(5));
    let st = sess.pin_status(PinKind::Text).unwrap();
    assert_eq!(st.tries().map(|t| t.get()), Some(3));
    drop(sess);
    for pin in [PinId::Auth, PinId::Sign, PinId::Text] {
        assert_eq!(verifies(&s, pin), 0);
    }
    assert_eq!(tries(&s, PinId::Auth), 3);
}

#[test]
fn wrong_pin_costs_exactly_one_try_and_says_how_many_are_left() {
    let s = sim();
    let mut card = open(&s);
    let e = card
        .session()
        .unwrap()
        .verify(&auth("9999"), LastTry::Refuse)
        .unwrap_err();
    assert!(matches!(e, CardError::WrongPin { pin: PinKind::Auth, left } if left.get() == 2));
    assert_eq!(
        e.to_string(),
        "wrong auth PIN (利用者証明用暗証番号), 2 tries left"
    );
    assert_eq!(verifies(&s, PinId::Auth), 1);
    assert_eq!(tries(&s, PinId::Auth), 2);
}

#[test]
fn last_try_is_refused_unless_forced_and_blocked_pin_is_never_sent() {
    let s = sim();
    let mut card = open(&s);
    for left in [2, 1] {
        let e = card
            .session()
            .unwrap()
            .verify(&auth("0000"), LastTry::Refuse)
            .unwrap_err();
        assert!(
            matches!(e, CardError::WrongPin { left: l, .. } if l.get() == left),
            "{e}"
        );
    }
    // One try left: refused, even with the right PIN, and nothing is sent.
    let e = card
        .session()
        .unwrap()
        .verify(&auth("1234"), LastTry::Refuse)
        .unwrap_err();
    assert!(
        matches!(e, CardError::LastTryRefused { pin: PinKind::Auth }),
        "{e}"
    );
    assert!(e.to_string().contains("only 1 try left"), "{e}");
    assert_eq!(verifies(&s, PinId::Auth), 2);
    // Forced: the third wrong PIN blocks it.
    let e = card
        .session()
        .unwrap()
        .verify(&auth("0000"), LastTry::Allow)
        .unwrap_err();
    assert!(
        matches!(e, CardError::Blocked { pin: PinKind::Auth }),
        "{e}"
    );
    assert_eq!(tries(&s, PinId::Auth), 0);
    assert_eq!(verifies(&s, PinId::Auth), 3);
    // Blocked: even the right PIN is not presented.
    let e = card
        .session()
        .unwrap()
        .verify(&auth("1234"), LastTry::Allow)
        .unwrap_err();
    assert!(matches!(e, CardError::Blocked { .. }), "{e}");
    assert!(e.to_string().contains("blocked"), "{e}");
    assert_eq!(verifies(&s, PinId::Auth), 3);
    let st = card.session().unwrap().pin_status(PinKind::Auth).unwrap();
    assert_eq!(st, PinStatus::Tries(jpki_card::Tries::new(0)));
}

#[test]
fn correct_pin_resets_the_counter() {
    let s = sim();
    let mut card = open(&s);
    let _ = card
        .session()
        .unwrap()
        .verify(&auth("0000"), LastTry::Refuse);
    assert_eq!(tries(&s, PinId::Auth), 2);
    card.session()
        .unwrap()
        .verify(&auth("1234"), LastTry::Refuse)
        .unwrap();
    assert_eq!(tries(&s, PinId::Auth), 3);
    assert_eq!(verifies(&s, PinId::Auth), 2);
}

#[test]
fn lower_case_sign_password_is_upper_cased_before_it_is_sent() {
    let s = sim();
    let mut card = open(&s);
    let pw = SignPassword::new("abc123").unwrap();
    card.session()
        .unwrap()
        .verify(&pw, LastTry::Refuse)
        .unwrap();
    assert_eq!(tries(&s, PinId::Sign), 5);
    assert_eq!(verifies(&s, PinId::Sign), 1);
}

fn verify_sig(cert: &X509, data: &[u8], sig: &[u8]) -> bool {
    let key = cert.public_key().unwrap();
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.update(data).unwrap();
    v.verify(sig).unwrap()
}

#[test]
fn signatures_of_both_keys_verify_with_their_certificates() {
    let s = sim();
    let mut card = open(&s);
    let data = b"jpki test document";
    let di = DigestInfo::new(
        HashAlg::Sha256,
        &hash(MessageDigest::sha256(), data).unwrap(),
    )
    .unwrap();
    let mut sess = card.session().unwrap();
    sess.verify(&auth("1234"), LastTry::Refuse).unwrap();
    let sig = sess.sign(KeyKind::Auth, &di).unwrap();
    let cert = X509::from_der(sess.read_cert(CertKind::Auth).unwrap().as_bytes()).unwrap();
    assert!(verify_sig(&cert, data, sig.as_bytes()));
    drop(sess);
    let mut sess = card.session().unwrap();
    sess.verify(&SignPassword::new("ABC123").unwrap(), LastTry::Refuse)
        .unwrap();
    // One VERIFY, many signatures (batch signing).
    let sig1 = sess.sign(KeyKind::Sign, &di).unwrap();
    let sig2 = sess.sign(KeyKind::Sign, &di).unwrap();
    assert_eq!(sig1, sig2, "PKCS#1 v1.5 is deterministic");
    let cert = X509::from_der(sess.read_cert(CertKind::Sign).unwrap().as_bytes()).unwrap();
    assert!(verify_sig(&cert, data, sig1.as_bytes()));
    assert!(!verify_sig(&cert, b"another document", sig1.as_bytes()));
    drop(sess);
    assert_eq!(verifies(&s, PinId::Sign), 1);
}

#[test]
fn pss_sha256_verifies_where_the_card_does_it_and_is_named_where_not() {
    let data = b"tls transcript";
    let h = hash(MessageDigest::sha256(), data).unwrap();
    let digest: [u8; 32] = h.as_ref().try_into().unwrap();
    let s = sim();
    let mut card = open(&s);
    let mut sess = card.session().unwrap();
    sess.verify(&auth("1234"), LastTry::Refuse).unwrap();
    let sig = sess.sign_pss_sha256(KeyKind::Auth, &digest).unwrap();
    let cert = X509::from_der(sess.read_cert(CertKind::Auth).unwrap().as_bytes()).unwrap();
    drop(sess);
    let key = cert.public_key().unwrap();
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
    v.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
        .unwrap();
    v.update(data).unwrap();
    assert!(v.verify(sig.as_bytes()).unwrap());

    let s = sim_with(
        SimOptions {
            pss: false,
            ..SimOptions::default()
        },
        |_| {},
    );
    let mut card = open(&s);
    let mut sess = card.session().unwrap();
    sess.verify(&auth("1234"), LastTry::Refuse).unwrap();
    assert!(matches!(
        sess.sign_pss_sha256(KeyKind::Auth, &digest),
        Err(CardError::PssUnsupported)
    ));
}

#[test]
fn certificates_equal_the_test_pki() {
    let s = sim();
    let mut card = open(&s);
    let p = pki();
    let mut sess = card.session().unwrap();
    for (kind, cert) in [
        (CertKind::Auth, &p.auth_cert),
        (CertKind::AuthCa, &p.auth_ca),
        (CertKind::SignCa, &p.sign_ca),
    ] {
        assert_eq!(
            sess.read_cert(kind).unwrap().as_bytes(),
            cert.to_der().unwrap(),
            "{kind:?}"
        );
    }
    // The sign certificate needs the password; no try is spent finding that out.
    let e = sess.read_cert(CertKind::Sign).unwrap_err();
    assert!(
        matches!(e, CardError::NotVerified { pin: PinKind::Sign }),
        "{e}"
    );
    sess.verify(&SignPassword::new("ABC123").unwrap(), LastTry::Refuse)
        .unwrap();
    assert_eq!(
        sess.read_cert(CertKind::Sign).unwrap().as_bytes(),
        p.sign_cert.to_der().unwrap()
    );
}

#[test]
fn verified_state_does_not_outlive_the_session() {
    let s = sim();
    let mut card = open(&s);
    card.session()
        .unwrap()
        .verify(&auth("1234"), LastTry::Refuse)
        .unwrap();
    let di = DigestInfo::new(HashAlg::Sha256, &[1; 32]).unwrap();
    let e = card
        .session()
        .unwrap()
        .sign(KeyKind::Auth, &di)
        .unwrap_err();
    assert!(
        matches!(e, CardError::NotVerified { pin: PinKind::Auth }),
        "{e}"
    );
}

#[test]
fn change_pin_then_old_fails_new_works() {
    let s = sim();
    let mut card = open(&s);
    card.session()
        .unwrap()
        .change_pin(&auth("1234"), &auth("4321"), LastTry::Refuse)
        .unwrap();
    let e = card
        .session()
        .unwrap()
        .verify(&auth("1234"), LastTry::Refuse)
        .unwrap_err();
    assert!(matches!(e, CardError::WrongPin { .. }));
    card.session()
        .unwrap()
        .verify(&auth("4321"), LastTry::Refuse)
        .unwrap();
    // A wrong old PIN costs one try and changes nothing.
    let e = card
        .session()
        .unwrap()
        .change_pin(&auth("0000"), &auth("5555"), LastTry::Refuse)
        .unwrap_err();
    assert!(matches!(e, CardError::WrongPin { .. }));
    card.session()
        .unwrap()
        .verify(&auth("4321"), LastTry::Refuse)
        .unwrap();
}

#[test]
fn basic4_needs_the_text_pin() {
    let s = sim();
    let mut card = open(&s);
    let b4 = card
        .session()
        .unwrap()
        .read_basic4(&TextPin::new("1234").unwrap(), LastTry::Refuse)
        .unwrap();
    assert_eq!(b4.name, pki().person.name);
    assert_eq!(b4.birth, "19900101");
    let e = card
        .session()
        .unwrap()
        .read_basic4(&TextPin::new("1111").unwrap(), LastTry::Refuse)
        .unwrap_err();
    assert!(
        matches!(
            e,
            CardError::WrongPin {
                pin: PinKind::Text,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn cards_that_answer_90_00_to_a_query_after_success_still_work() {
    for ok in [true, false] {
        let s = sim_with(
            SimOptions {
                verified_query_ok: ok,
                ..SimOptions::default()
            },
            |_| {},
        );
        let mut card = open(&s);
        let mut sess = card.session().unwrap();
        sess.verify(&auth("1234"), LastTry::Refuse).unwrap();
        let st = sess.pin_status(PinKind::Auth).unwrap();
        if ok {
            assert_eq!(st, PinStatus::Verified);
        } else {
            assert_eq!(st.tries().map(|t| t.get()), Some(3));
        }
        sess.verify(&auth("1234"), LastTry::Refuse).unwrap();
    }
}

#[test]
fn foreign_and_old_cards_are_refused_clearly() {
    let juki = sim_with(
        SimOptions {
            variant: Variant::JukiCard,
            ..SimOptions::default()
        },
        |_| {},
    );
    let e = Card::open_virtual(VirtualReader::new(juki)).unwrap_err();
    assert!(
        matches!(
            e,
            CardError::UnsupportedToken {
                token: TokenKind::JukiCard,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("Juki"), "{e}");
    let foreign = sim_with(
        SimOptions {
            variant: Variant::Foreign,
            ..SimOptions::default()
        },
        |_| {},
    );
    let e = Card::open_virtual(VirtualReader::new(foreign)).unwrap_err();
    assert!(matches!(e, CardError::NotJpki { .. }), "{e}");
    assert!(e.to_string().contains("not a My Number card"), "{e}");
}

#[test]
fn blocked_at_start_is_reported_without_a_verify() {
    let s = sim_with(SimOptions::default(), |st| {
        st.pins.get_mut(&PinId::Sign).unwrap().tries = 0;
    });
    let mut card = open(&s);
    let e = card
        .session()
        .unwrap()
        .verify(&SignPassword::new("ABC123").unwrap(), LastTry::Allow)
        .unwrap_err();
    assert!(
        matches!(e, CardError::Blocked { pin: PinKind::Sign }),
        "{e}"
    );
    assert_eq!(verifies(&s, PinId::Sign), 0);
}

#[test]
fn a_certificate_is_two_reads_and_the_short_path_gives_the_same_bytes() {
    // The first short READ BINARY (by SFI) carries the DER header; the rest comes in one
    // extended READ BINARY (spec §5), whatever the certificate's size.
    let s = sim();
    let mut card = open(&s);
    let mut sess = card.session().unwrap();
    let der = sess.read_cert(CertKind::Auth).unwrap();
    drop(sess);
    // A new session selects the application first: 1 + 2.
    let before = card.trace().apdus;
    let mut sess = card.session().unwrap();
    let again = sess.read_cert(CertKind::AuthCa).unwrap();
    drop(sess);
    assert_eq!(card.trace().apdus - before, 3);
    assert!(der.as_bytes().len() > 2 * 255 && again.as_bytes().len() > 255);
    // The same certificate read in short chunks only (what a reader without extended
    // APDUs gets, see the fault tests) is byte for byte the same.
    let mut short = open(&s);
    short.use_short_apdus_only();
    let before = short.trace().apdus;
    let mut sess = short.session().unwrap();
    let chunked = sess.read_cert(CertKind::Auth).unwrap();
    drop(sess);
    assert_eq!(chunked.as_bytes(), der.as_bytes());
    let chunks = der.as_bytes().len().div_ceil(255) as u64;
    assert_eq!(short.trace().apdus - before, 1 + chunks);
}

#[test]
fn first_signature_apdu_budget() {
    // SELECT AP, counter query (by SFI), VERIFY (by SFI), SIGN (key by SFI); then 1 per
    // further signature in the same session.
    let s = sim();
    let mut card = open(&s);
    let before = card.trace().apdus;
    let di = DigestInfo::new(HashAlg::Sha256, &[1; 32]).unwrap();
    let mut sess = card.session().unwrap();
    sess.verify(&auth("1234"), LastTry::Refuse).unwrap();
    sess.sign(KeyKind::Auth, &di).unwrap();
    sess.sign(KeyKind::Auth, &di).unwrap();
    drop(sess);
    assert_eq!(card.trace().apdus - before, 5);
    assert_eq!(s.lock().unwrap().stats().signatures, 2);
}
