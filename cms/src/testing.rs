//! Test support (feature `test-support`): a software RSA key and a
//! self-signed certificate standing in for a card, for this crate's tests and
//! for other crates' (jpki-pdf). Test code only: it panics on failure and
//! generates keys without any care for their protection.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::{DigestInfo, DigestInfoSigner, SignerError};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::x509::extension::KeyUsage;
use openssl::x509::{X509Builder, X509NameBuilder};
use rsa::pkcs8::DecodePrivateKey;

/// A software RSA key standing in for the card in unit tests.
pub struct SoftKey(pub rsa::RsaPrivateKey);

impl DigestInfoSigner for SoftKey {
    fn sign_digest_info(&mut self, di: &DigestInfo) -> Result<Vec<u8>, SignerError> {
        self.0
            .sign(rsa::Pkcs1v15Sign::new_unprefixed(), di.as_der())
            .map_err(|e| e.into())
    }
}

/// A key and a self-signed certificate for it (KU nonRepudiation), also as PEM.
pub fn soft_signer() -> (SoftKey, Vec<u8>, Vec<u8>) {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let pkey = PKey::from_rsa(rsa).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "Unit Test Signer").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&pkey).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .non_repudiation()
            .key_cert_sign()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&pkey, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&pkey.private_key_to_pkcs8().unwrap()).unwrap();
    (SoftKey(key), cert.to_der().unwrap(), cert.to_pem().unwrap())
}

/// Applies `edits` (position, byte, 0 = replace / 1 = insert / 2 = delete)
/// and an optional cut to `b`: the damage the property tests do.
pub fn damage(b: &mut Vec<u8>, edits: &[(usize, u8, u8)], cut: Option<usize>) {
    for &(at, byte, how) in edits {
        let at = at % (b.len() + 1);
        match how {
            0 if at < b.len() => b[at] = byte,
            1 => b.insert(at, byte),
            _ if at < b.len() => {
                b.remove(at);
            }
            _ => {}
        }
    }
    if let Some(c) = cut {
        b.truncate(c.min(b.len()));
    }
}
