//! A card (or a reader, or something pretending to be a card) can answer anything. Every
//! operation against a card that answers with arbitrary bytes must end in a value or an error,
//! never a panic, and must never send a VERIFY after an answer it could not understand as a
//! counter. Bounded (128 cases each) for `make test`; PROPTEST_CASES for longer runs.

use jpki_card::transport::{Reader, Transport};
use jpki_card::{
    AuthPin, Card, CertKind, DigestInfo, HashAlg, KeyKind, LastTry, PinKind, Result, TextPin,
};
use proptest::prelude::*;

/// `PROPTEST_CASES` (as `make fuzz` sets it) or the bounded default of `make test`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
use std::sync::{Arc, Mutex};

/// Answers the first APDUs like a My Number card (so identification passes), then from the
/// script; records every command it got.
struct Scripted {
    answers: Vec<Vec<u8>>,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

struct Tx<'a>(&'a mut Scripted);

impl Transport for Tx<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let mut sent = self.0.sent.lock().unwrap_or_else(|p| p.into_inner());
        let n = sent.len();
        sent.push(apdu.to_vec());
        Ok(match n {
            // SELECT JPKI AP, READ BINARY of the token label by SFI.
            0 => vec![0x90, 0x00],
            1 => {
                let mut v = b"JPKIAPICCTOKEN2".to_vec();
                v.resize(32, b' ');
                v.extend([0x90, 0x00]);
                v
            }
            n => self
                .0
                .answers
                .get(n - 2)
                .cloned()
                .unwrap_or_else(|| vec![0x6F, 0x00]),
        })
    }
    fn mark_verified(&mut self) {}
}

impl Reader for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn begin(&mut self) -> Result<Box<dyn Transport + '_>> {
        Ok(Box::new(Tx(self)))
    }
}

fn answers() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let sw = prop_oneof![
        Just(vec![0x90, 0x00]),
        Just(vec![0x63, 0xC3]),
        Just(vec![0x63, 0xC1]),
        Just(vec![0x63, 0xC0]),
        Just(vec![0x69, 0x84]),
        Just(vec![0x69, 0x82]),
        Just(vec![0x6A, 0x86]),
        Just(vec![0x6A, 0x82]),
        Just(vec![0x62, 0x82]),
        proptest::collection::vec(any::<u8>(), 0..3),
    ];
    let one = prop_oneof![
        sw.clone(),
        (proptest::collection::vec(any::<u8>(), 0..300), sw).prop_map(|(mut d, s)| {
            d.extend(s);
            d
        }),
    ];
    proptest::collection::vec(one, 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(128)))]

    #[test]
    fn arbitrary_answers_never_panic_and_never_provoke_a_blind_verify(script in answers()) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let reader = Scripted { answers: script, sent: sent.clone() };
        let Ok(mut card) = Card::from_reader(Box::new(reader)) else {
            return Ok(());
        };
        let di = DigestInfo::new(HashAlg::Sha256, &[7; 32]).expect("32 bytes");
        if let Ok(mut s) = card.session() {
            let _ = s.pin_status(PinKind::Sign);
            let _ = s.read_cert(CertKind::Auth);
            let _ = s.read_cert(CertKind::SignCa);
            if let Ok(pin) = AuthPin::new("1234") {
                let _ = s.verify(&pin, LastTry::Refuse);
            }
            let _ = s.sign(KeyKind::Auth, &di);
            let _ = s.sign_pss_sha256(KeyKind::Auth, &[7; 32]);
            if let Ok(pin) = TextPin::new("1234") {
                let _ = s.read_basic4(&pin, LastTry::Refuse);
            }
        }
        // The policy: a VERIFY with data only ever follows an empty VERIFY (counter query)
        // for the same PIN reference.
        let sent = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (i, c) in sent.iter().enumerate() {
            if c.len() > 5 && c[1] == 0x20 {
                let prev = &sent[..i];
                let queried = prev.iter().rev().find(|p| p.len() >= 4 && p[1] == 0x20);
                prop_assert!(
                    matches!(queried, Some(q) if q.len() == 4),
                    "VERIFY without a counter query right before it: {:02X?}", sent
                );
            }
        }
    }
}
