//! The card's applications and elementary files, with their access rules
//! (spec §2, §4, §8–§10).
//!
//! Only what some client reads or uses is filled with content; files whose
//! contents no source documents are present (so SELECT answers `90 00`) with
//! `FF` filler.

use crate::pki::{Person, TestPki};
use crate::state::PinId;
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;

/// An application (DF) the card knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Df {
    /// 公的個人認証AP.
    Jpki,
    /// 券面事項入力補助AP.
    Text,
    /// 券面事項確認AP.
    Visual,
    /// 共通AP.
    Common,
    /// 住基AP.
    Juki,
}

impl Df {
    /// The DF name (AID).
    pub fn aid(self) -> &'static [u8] {
        match self {
            Df::Jpki => &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
            Df::Text => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
            Df::Visual => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
            Df::Common => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00],
            Df::Juki => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01],
        }
    }
}

/// A key on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyId {
    /// JPKI auth key, IEF 0017.
    Auth,
    /// JPKI sign key, IEF 001A.
    Sign,
}

impl KeyId {
    /// The PIN that opens the key.
    pub fn pin(self) -> PinId {
        match self {
            KeyId::Auth => PinId::Auth,
            KeyId::Sign => PinId::Sign,
        }
    }
}

/// What sits behind a file identifier.
#[derive(Debug, Clone)]
pub enum Ef {
    /// A transparent EF; readable when any of `open_by` is verified (empty = free).
    Binary {
        /// Contents including filler.
        data: Vec<u8>,
        /// PINs any one of which opens it.
        open_by: Vec<PinId>,
    },
    /// A PIN IEF.
    Pin(PinId),
    /// A private-key IEF.
    Key(KeyId),
    /// An IEF nobody documents (key references we do not model).
    Opaque,
}

/// One DF's files, by FID.
#[derive(Debug, Clone, Default)]
pub struct FileSystem {
    files: Vec<(Df, u16, Ef)>,
}

/// The card variant, as told apart by token EF 0006 (spec §1, §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `JPKIAPICCTOKEN2`: physical My Number card, all APs.
    MyNumberCard,
    /// `JPKIAPICCTOKEN`: old 住基カード, JPKI AP only.
    JukiCard,
    /// `JPKIAPGPSETOKEN`: Android smartphone certificate, JPKI AP only, auth cert needs the PIN.
    Smartphone,
    /// A smart card that is not a JPKI card at all (no JPKI AP).
    Foreign,
}

impl Variant {
    /// Token label in EF 0006.
    pub fn token(self) -> &'static str {
        match self {
            Variant::MyNumberCard => "JPKIAPICCTOKEN2",
            Variant::JukiCard => "JPKIAPICCTOKEN",
            Variant::Smartphone => "JPKIAPGPSETOKEN",
            Variant::Foreign => "",
        }
    }

    /// Which DFs exist.
    pub fn has(self, df: Df) -> bool {
        match self {
            Variant::MyNumberCard => true,
            Variant::JukiCard | Variant::Smartphone => df == Df::Jpki,
            Variant::Foreign => false,
        }
    }

    /// The contact ATR (spec §1); a generic one for a foreign card.
    pub fn atr(self) -> &'static [u8] {
        match self {
            Variant::Foreign => &[0x3B, 0x02, 0x14, 0x50],
            _ => &[0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14],
        }
    }
}

fn with_filler(mut der: Vec<u8>, size: usize) -> Vec<u8> {
    // Real EFs are larger than the certificate they hold; the rest is FF (spec §5).
    if der.len() < size {
        der.resize(size, 0xFF);
    }
    der
}

fn token_info(label: &str) -> Vec<u8> {
    // CK_TOKEN_INFO layout of spec §4: labels padded with spaces, integers big-endian.
    fn padded(s: &str, n: usize) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(n, b' ');
        v
    }
    let mut t = Vec::with_capacity(160);
    t.extend(padded(label, 32));
    t.extend(padded("JPKI-SIMULATOR", 32));
    t.extend(padded("SIM", 16));
    t.extend(padded("0000000000000001", 16));
    t.extend([0x00, 0x00, 0x04, 0x0D]); // flags
    for v in [1u32, 0, 1, 0, 16, 6] {
        t.extend(v.to_be_bytes());
    }
    for _ in 0..4 {
        t.extend([0xFF; 4]);
    }
    t.extend(b"03");
    t.extend(b"01");
    t.extend(padded("2025010100000000", 16));
    t
}

/// BER length octets (short, 81, 82 forms).
pub(crate) fn ber_len(n: usize) -> Vec<u8> {
    match n {
        0..=127 => vec![n as u8],
        128..=255 => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut v = tag.to_vec();
    v.extend(ber_len(value.len()));
    v.extend_from_slice(value);
    v
}

/// EF 0002 of the text AP: `FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth, DF25 sex }`
/// with offsets counted from the first byte of the EF to each field's tag (spec §8.3).
pub fn basic4_ef(p: &Person) -> Vec<u8> {
    let fields = [
        tlv(&[0xDF, 0x22], p.name.as_bytes()),
        tlv(&[0xDF, 0x23], p.address.as_bytes()),
        tlv(&[0xDF, 0x24], p.birth.as_bytes()),
        tlv(&[0xDF, 0x25], p.sex.to_string().as_bytes()),
    ];
    let body_len = 11 + fields.iter().map(Vec::len).sum::<usize>();
    let header = 2 + ber_len(body_len).len();
    let mut offsets = Vec::new();
    let mut pos = header + 11;
    for f in &fields {
        offsets.extend((pos as u16).to_be_bytes());
        pos += f.len();
    }
    let mut body = tlv(&[0xDF, 0x21], &offsets);
    for f in &fields {
        body.extend(f);
    }
    tlv(&[0xFF, 0x20], &body)
}

fn my_number_ef(p: &Person) -> Vec<u8> {
    let mut v = tlv(&[0xFF, 0x10], p.my_number.as_bytes());
    v.extend([0xFF, 0xFF]);
    v
}

fn sign_sha256(key: &PKey<Private>, data: &[u8]) -> Vec<u8> {
    // Only fails on a broken key, which generate() would already have rejected.
    Signer::new(MessageDigest::sha256(), key)
        .and_then(|mut s| s.sign_oneshot_to_vec(data))
        .unwrap_or_else(|_| vec![0; 256])
}

/// EF 0003: hashes of EF 0001 and of EF 0002's fields, signed (spec §8.4).
fn integrity_ef(my_number: &[u8], basic4: &[u8], key: &PKey<Private>) -> Vec<u8> {
    let sha = |d: &[u8]| hash(MessageDigest::sha256(), d).map(|h| h.to_vec());
    let h1 = sha(my_number).unwrap_or_default();
    // Coverage: from the DF22 tag to the end of the FF20 value.
    let start = basic4
        .windows(2)
        .position(|w| w == [0xDF, 0x22])
        .unwrap_or(0);
    let h2 = sha(&basic4[start..]).unwrap_or_default();
    let mut signed = tlv(&[0xDF, 0x31], &h1);
    signed.extend(tlv(&[0xDF, 0x32], &h2));
    let sig = sign_sha256(key, &signed);
    let mut body = signed;
    body.extend(tlv(&[0xDF, 0x33], &sig));
    tlv(&[0xFF, 0x30], &body)
}

impl FileSystem {
    /// Builds the files of `variant` from the test PKI.
    pub fn build(pki: &TestPki, variant: Variant) -> FileSystem {
        let mut fs = FileSystem::default();
        let der = |c: &openssl::x509::X509| c.to_der().unwrap_or_default();
        let free = Vec::new;
        let auth_rule = if variant == Variant::Smartphone {
            vec![PinId::Auth]
        } else {
            free()
        };
        let mut cert_avail = vec![0x8F, 0x8F, 0x00];
        if variant == Variant::Foreign {
            cert_avail.clear();
        }
        let jpki: Vec<(u16, Ef)> = vec![
            (
                0x0001,
                Ef::Binary {
                    data: with_filler(der(&pki.sign_cert), 2048),
                    open_by: vec![PinId::Sign],
                },
            ),
            (
                0x0002,
                Ef::Binary {
                    data: with_filler(der(&pki.sign_ca), 2048),
                    open_by: free(),
                },
            ),
            (
                0x0006,
                Ef::Binary {
                    data: token_info(variant.token()),
                    open_by: free(),
                },
            ),
            (
                0x0008,
                Ef::Binary {
                    data: cert_avail,
                    open_by: free(),
                },
            ),
            (0x0009, Ef::Opaque),
            (
                0x000A,
                Ef::Binary {
                    data: with_filler(der(&pki.auth_cert), 2048),
                    open_by: auth_rule,
                },
            ),
            (
                0x000B,
                Ef::Binary {
                    data: with_filler(der(&pki.auth_ca), 2048),
                    open_by: free(),
                },
            ),
            (0x0016, Ef::Opaque),
            (0x0017, Ef::Key(KeyId::Auth)),
            (0x0018, Ef::Pin(PinId::Auth)),
            (0x001A, Ef::Key(KeyId::Sign)),
            (0x001B, Ef::Pin(PinId::Sign)),
        ];
        for (fid, ef) in jpki {
            fs.files.push((Df::Jpki, fid, ef));
        }
        let p = &pki.person;
        let mn = my_number_ef(p);
        let b4 = basic4_ef(p);
        // Real cards sign this record with a J-LIS key we cannot have; any valid
        // signature serves the simulator, so the card's sign key stands in.
        let integrity = integrity_ef(&mn, &b4, &pki.sign_key);
        let text_any = vec![PinId::Text, PinId::TextA, PinId::TextB];
        let text: Vec<(u16, Ef)> = vec![
            (
                0x0001,
                Ef::Binary {
                    data: mn,
                    open_by: vec![PinId::Text, PinId::TextA],
                },
            ),
            (
                0x0002,
                Ef::Binary {
                    data: with_filler(b4, 256),
                    open_by: vec![PinId::Text, PinId::TextB],
                },
            ),
            (
                0x0003,
                Ef::Binary {
                    data: integrity,
                    open_by: text_any.clone(),
                },
            ),
            (
                0x0005,
                Ef::Binary {
                    // DF41: spec version, extended Lc/Le supported (03), vendor.
                    data: tlv(
                        &[0xFF, 0x40],
                        &[
                            tlv(&[0xDF, 0x41], &[0x01, 0x03, 0x0E, 0x01]),
                            tlv(&[0xDF, 0x42], b"6000034SIM001\xFF\xFF\xFF"),
                        ]
                        .concat(),
                    ),
                    open_by: free(),
                },
            ),
            (
                0x0008,
                Ef::Binary {
                    data: vec![0xFF; 16],
                    open_by: free(),
                },
            ),
            (0x0011, Ef::Pin(PinId::Text)),
            (0x0012, Ef::Opaque),
            (0x0013, Ef::Opaque),
            (0x0014, Ef::Pin(PinId::TextA)),
            (0x0015, Ef::Pin(PinId::TextB)),
        ];
        for (fid, ef) in text {
            fs.files.push((Df::Text, fid, ef));
        }
        fs
    }

    /// The file `fid` of `df`.
    pub fn get(&self, df: Df, fid: u16) -> Option<&Ef> {
        self.files
            .iter()
            .find(|(d, f, _)| *d == df && *f == fid)
            .map(|(_, _, e)| e)
    }
}
