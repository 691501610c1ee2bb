//! A certificate from the card, parsed once: the DER and the fields PKCS#11 attributes show
//! (subject, issuer, serial, RSA modulus and exponent), and the check of a card signature
//! against its public key.

use crate::error::{P11Error, Result};
use der::{Decode, Encode};
use jpki_card::{check_card_signature, CardError, CertificateDer, SignInput, SignatureCheckError};

/// A parsed certificate.
#[derive(Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    /// DER INTEGER (tag, length, value), as `CKA_SERIAL_NUMBER` wants it.
    pub serial: Vec<u8>,
    /// RSA modulus, big-endian without leading zeros.
    pub n: Vec<u8>,
    /// RSA public exponent.
    pub e: Vec<u8>,
}

fn malformed() -> P11Error {
    P11Error::Card(CardError::Malformed {
        what: "a certificate",
    })
}

impl Cert {
    /// Parses the DER the card gave.
    pub fn parse(der: CertificateDer) -> Result<Cert> {
        let c = x509_cert::Certificate::from_der(der.as_bytes()).map_err(|_| malformed())?;
        let tbs = &c.tbs_certificate;
        let bits = tbs.subject_public_key_info.subject_public_key.raw_bytes();
        let pk = pkcs1::RsaPublicKey::from_der(bits).map_err(|_| malformed())?;
        Ok(Cert {
            subject: tbs.subject.to_der().map_err(|_| malformed())?,
            issuer: tbs.issuer.to_der().map_err(|_| malformed())?,
            serial: tbs.serial_number.to_der().map_err(|_| malformed())?,
            n: pk.modulus.as_bytes().to_vec(),
            e: pk.public_exponent.as_bytes().to_vec(),
            der: der.into_bytes(),
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        match self.n.first() {
            Some(&b) => self.n.len() * 8 - b.leading_zeros() as usize,
            None => 0,
        }
    }

    /// The serial number's value bytes as upper-case hex (token serial).
    pub fn serial_hex(&self) -> String {
        // Skip the INTEGER tag and short length; certificate serials are at most 20 bytes.
        let value = self.serial.get(2..).unwrap_or_default();
        value.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Checks a card signature against this certificate's key before anyone gets it.
    pub fn check(&self, input: &SignInput, sig: &[u8]) -> Result<()> {
        check_card_signature(&self.n, &self.e, input, sig).map_err(|e| match e {
            SignatureCheckError::UnusableKey => malformed(),
            _ => P11Error::BadSignature,
        })
    }
}
