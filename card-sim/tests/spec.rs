//! The simulator against the emulator checklist of spec §14, APDU by APDU.

use jpki_card_sim::card::SimOptions;
use jpki_card_sim::{PinId, SimCard, TestPki};
use openssl::hash::{hash, MessageDigest};
use openssl::md::Md;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use std::sync::{Arc, OnceLock};

fn pki() -> Arc<TestPki> {
    static PKI: OnceLock<Arc<TestPki>> = OnceLock::new();
    PKI.get_or_init(|| Arc::new(TestPki::generate_default().unwrap()))
        .clone()
}

fn card() -> SimCard {
    SimCard::with_defaults(pki())
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

/// Sends an APDU given in hex; returns (data, SW as u16).
fn tx(c: &mut SimCard, apdu: &str) -> (Vec<u8>, u16) {
    let r = c.process(&hex(apdu));
    let (d, sw) = r.split_at(r.len() - 2);
    (d.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

const SELECT_JPKI: &str = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";

#[test]
fn selection() {
    let mut c = card();
    assert_eq!(tx(&mut c, "00 A4 00 00").1, 0x6A86, "no MF after reset");
    assert_eq!(tx(&mut c, "00 A4 02 0C 02 00 0A").1, 0x6A82, "no DF yet");
    assert_eq!(
        tx(&mut c, "00 A4 04 0C 0A A0 00 00 03 08 00 00 10 00 00").1,
        0x6A82,
        "foreign AID"
    );
    assert_eq!(tx(&mut c, SELECT_JPKI).1, 0x9000);
    assert_eq!(
        tx(&mut c, "00 A4 00 00").1,
        0x9000,
        "MF select is a no-op in an AP"
    );
    assert_eq!(tx(&mut c, "00 A4 02 0C 02 3F 00").1, 0x6A82);
    assert_eq!(tx(&mut c, "00 A4 02 0C 02 00 99").1, 0x6A82);
    let (fci, sw) = tx(&mut c, "00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01 00");
    assert_eq!(sw, 0x9000);
    assert_eq!(&fci[..4], &[0x6F, 0x0C, 0x84, 0x0A]);
    // Prefix selection (JICSAP).
    assert_eq!(tx(&mut c, "00 A4 04 0C 06 D3 92 F0 00 26 01").1, 0x9000);
}

#[test]
fn read_binary_semantics() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    assert_eq!(tx(&mut c, "00 B0 00 00 04").1, 0x6986, "no current EF");
    tx(&mut c, "00 A4 02 0C 02 00 06");
    let (label, sw) = tx(&mut c, "00 B0 00 00 20");
    assert_eq!(sw, 0x9000);
    assert_eq!(&label[..15], b"JPKIAPICCTOKEN2");
    // Short read at end of file, 6B00 past it.
    let (d, sw) = tx(&mut c, "00 B0 00 90 00");
    assert_eq!((d.len(), sw), (160 - 0x90, 0x9000));
    assert_eq!(tx(&mut c, "00 B0 00 A0 01").1, 0x6B00);
    // Certificate by SFI, header then extended Le for the rest.
    let der = pki().auth_cert.to_der().unwrap();
    let (h, sw) = tx(&mut c, "00 B0 8A 00 04");
    assert_eq!((h.as_slice(), sw), (&der[..4], 0x9000));
    let rest = der.len() - 4;
    let (body, sw) = tx(
        &mut c,
        &format!("00 B0 00 04 00 {:02X} {:02X}", rest >> 8, rest & 0xFF),
    );
    assert_eq!(sw, 0x9000);
    assert_eq!(body, der[4..]);
    // Extended Le 00 00 00 = 65536: whole file with filler.
    let (all, sw) = tx(&mut c, "00 B0 8A 00 00 00 00");
    assert_eq!(sw, 0x9000);
    assert!(all.len() > der.len() && all[der.len()..].iter().all(|b| *b == 0xFF));
    // Protected sign certificate and IEFs.
    assert_eq!(tx(&mut c, "00 B0 81 00 04").1, 0x6982);
    tx(&mut c, "00 A4 02 0C 02 00 17");
    assert_eq!(tx(&mut c, "00 B0 00 00 04").1, 0x6981);
}

#[test]
fn verify_counters_and_change() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, "00 A4 02 0C 02 00 18");
    assert_eq!(tx(&mut c, "00 20 00 80").1, 0x63C3);
    assert_eq!(tx(&mut c, "00 20 00 80 04 30 30 30 30").1, 0x63C2);
    assert_eq!(
        tx(&mut c, "00 20 00 98 04 30 30 30 30").1,
        0x63C1,
        "SFI form"
    );
    assert_eq!(tx(&mut c, "00 20 00 80").1, 0x63C1, "query does not count");
    assert_eq!(
        tx(&mut c, "00 20 00 80 04 30 30 30 30").1,
        0x63C0,
        "exhausting try"
    );
    assert_eq!(tx(&mut c, "00 20 00 80").1, 0x63C0);
    assert_eq!(
        tx(&mut c, "00 20 00 80 04 31 32 33 34").1,
        0x6984,
        "blocked"
    );
    assert_eq!(c.tries(PinId::Auth), 0);
    // The sign password: success resets the counter, CHANGE needs VERIFY first.
    tx(&mut c, "00 A4 02 0C 02 00 1B");
    assert_eq!(tx(&mut c, "00 24 01 80 06 41 42 43 31 32 33").1, 0x6982);
    assert_eq!(tx(&mut c, "00 20 00 80 06 41 42 43 31 32 34").1, 0x63C4);
    assert_eq!(tx(&mut c, "00 20 00 80 06 41 42 43 31 32 33").1, 0x9000);
    assert_eq!(c.tries(PinId::Sign), 5);
    assert_eq!(
        tx(&mut c, "00 20 00 80").1,
        0x9000,
        "verified in this session"
    );
    assert_eq!(tx(&mut c, "00 24 01 80 03 41 42 43").1, 0x6A80, "too short");
    assert_eq!(
        tx(&mut c, "00 24 01 80 06 61 62 63 31 32 33").1,
        0x6A80,
        "lower case"
    );
    assert_eq!(tx(&mut c, "00 24 01 80 07 4E 45 57 50 41 53 53").1, 0x9000);
    // Reset drops the verified state; the new value works.
    c.reset();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, "00 A4 02 0C 02 00 1B");
    assert_eq!(tx(&mut c, "00 20 00 80").1, 0x63C5);
    assert_eq!(tx(&mut c, "00 20 00 80 07 4E 45 57 50 41 53 53").1, 0x9000);
    assert_eq!(c.stats().verifies_of(PinId::Sign), 3);
    assert_eq!(c.stats().verifies_of(PinId::Auth), 4);
}

fn verify_pkcs1(sig: &[u8], digest_info: &[u8]) {
    let rsa = pki().sign_cert.public_key().unwrap().rsa().unwrap();
    let mut out = vec![0; 256];
    let n = rsa.public_decrypt(sig, &mut out, Padding::PKCS1).unwrap();
    assert_eq!(&out[..n], digest_info);
}

#[test]
fn compute_digital_signature_forms() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, "00 A4 02 0C 02 00 1A");
    let msg = b"abc";
    let h = hash(MessageDigest::sha256(), msg).unwrap().to_vec();
    let prefix = hex("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20");
    let di: Vec<u8> = [prefix.clone(), h.clone()].concat();
    let cmd = |p1: u8, p2: u8, data: &[u8]| {
        let mut v = vec![0x80, 0x2A, p1, p2, data.len() as u8];
        v.extend_from_slice(data);
        v.push(0);
        v
    };
    let send = |c: &mut SimCard, v: Vec<u8>| {
        let r = c.process(&v);
        let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
        (r[..r.len() - 2].to_vec(), sw)
    };
    assert_eq!(
        send(&mut c, cmd(0, 0x80, &di)).1,
        0x6982,
        "password not verified"
    );
    tx(&mut c, "00 A4 02 0C 02 00 1B");
    tx(&mut c, "00 20 00 80 06 41 42 43 31 32 33");
    tx(&mut c, "00 A4 02 0C 02 00 1A");
    let (s0, sw) = send(&mut c, cmd(0, 0x80, &di));
    assert_eq!((s0.len(), sw), (256, 0x9000));
    verify_pkcs1(&s0, &di);
    // P2 = 80|SFI gives the same bytes; P1=02 and 03 build the DigestInfo on the card.
    assert_eq!(send(&mut c, cmd(0, 0x9A, &di)).0, s0);
    assert_eq!(send(&mut c, cmd(2, 0x80, &h)).0, s0);
    assert_eq!(send(&mut c, cmd(3, 0x80, msg)).0, s0);
    let (s1, _) = send(&mut c, cmd(1, 0x80, msg));
    verify_pkcs1(&s1, &h);
    // PSS over the hash verifies with the public key.
    let (pss, sw) = send(&mut c, cmd(4, 0x80, &h));
    assert_eq!(sw, 0x9000);
    let pk = pki().sign_cert.public_key().unwrap();
    let mut ctx = PkeyCtx::new(&pk).unwrap();
    ctx.verify_init().unwrap();
    ctx.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
    ctx.set_signature_md(Md::sha256()).unwrap();
    assert!(ctx.verify(&h, &pss).unwrap());
    assert_eq!(send(&mut c, cmd(2, 0x80, &h[..31])).1, 0x6700);
    assert_eq!(send(&mut c, cmd(9, 0x80, &h)).1, 0x6A86);
    assert_eq!(c.stats().signatures, 6);
    // Selecting another application drops the verified password.
    tx(&mut c, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08");
    tx(&mut c, SELECT_JPKI);
    assert_eq!(send(&mut c, cmd(0, 0x9A, &di)).1, 0x6982);
}

#[test]
fn pss_can_be_switched_off() {
    let p = pki();
    let st = SimCard::with_defaults(p.clone()).state().clone();
    let mut c = SimCard::new(
        p,
        st,
        SimOptions {
            pss: false,
            ..SimOptions::default()
        },
    );
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, "00 A4 02 0C 02 00 18");
    tx(&mut c, "00 20 00 80 04 31 32 33 34");
    let mut v = hex("80 2A 04 97 20");
    v.extend([0u8; 32]);
    v.push(0);
    let r = c.process(&v);
    assert_eq!(&r[..], &[0x6A, 0x86]);
}

#[test]
fn class_and_instruction_errors() {
    let mut c = card();
    assert_eq!(
        tx(&mut c, "01 A4 04 0C 01 D3").1,
        0x6881,
        "logical channel 1"
    );
    assert_eq!(
        tx(&mut c, "0C A4 04 0C 01 D3").1,
        0x6882,
        "secure messaging"
    );
    assert_eq!(tx(&mut c, "A0 A4 04 0C 01 D3").1, 0x6E00);
    assert_eq!(tx(&mut c, "00 FE 00 00").1, 0x6D00);
    assert_eq!(tx(&mut c, "00 A4").1, 0x6700, "malformed");
    let (atr, sw) = tx(&mut c, "00 CA 5F 51 00");
    assert_eq!((atr, sw), (hex("E0 00 FF 81 31 FE 45 14"), 0x9000));
    assert_eq!(tx(&mut c, "00 CA 00 42 00").1, 0x6A88);
}

#[test]
fn text_ap_rules() {
    let mut c = card();
    tx(&mut c, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08");
    tx(&mut c, "00 A4 02 0C 02 00 01");
    assert_eq!(tx(&mut c, "00 B0 00 00 11").1, 0x6982);
    // 照合番号A opens the my-number file but not the basic-4 file (spec §8.1).
    tx(&mut c, "00 A4 02 0C 02 00 14");
    let mut v = hex("00 20 00 80 0C");
    v.extend(pki().person.my_number.as_bytes());
    assert_eq!(c.process(&v), vec![0x90, 0x00]);
    let (mn, sw) = tx(&mut c, "00 B0 81 00 11");
    assert_eq!(sw, 0x9000);
    assert_eq!(mn.len(), 17);
    assert_eq!(&mn[..3], &[0xFF, 0x10, 0x0C]);
    assert_eq!(&mn[15..], &[0xFF, 0xFF]);
    assert_eq!(tx(&mut c, "00 B0 82 00 10").1, 0x6982);
}

#[test]
fn the_pki_is_deterministic() {
    let a = TestPki::generate_default().unwrap();
    assert_eq!(
        a.auth_cert.to_der().unwrap(),
        pki().auth_cert.to_der().unwrap()
    );
    assert_eq!(
        a.sign_cert.to_der().unwrap(),
        pki().sign_cert.to_der().unwrap()
    );
}
