//! A key as the provider holds it: the public half (from the card's certificate) and, for card
//! keys, which key on which reader and how to get its PIN. The private half never exists here.
//!
//! Key objects are shared (`Arc`) between the keymgmt's key data, signature contexts, and the
//! store/decoder that created them. A reference handed to OpenSSL ([`Key::reference`]) is only
//! meaningful inside this process, while the object that made it is alive.

use crate::card_state::{cert_of, Access};
use crate::error::{ProvError, Result};
use crate::provider::Provider;
use der::Decode;
use jpki_card::{CertificateDer, KeyKind, LastTry, ReaderChoice, SignInput, SignatureCheckError};
use jpki_uri::PinSource;
use std::sync::Arc;

/// An RSA public key, big-endian, no leading zeros.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublic {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

impl RsaPublic {
    /// The key in a certificate.
    pub fn from_cert(cert: &CertificateDer) -> Result<RsaPublic> {
        const RSA_ENCRYPTION: der::asn1::ObjectIdentifier =
            der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
        let c = x509_cert::Certificate::from_der(cert.as_bytes()).map_err(|_| {
            ProvError::Card(jpki_card::CardError::Malformed {
                what: "a certificate",
            })
        })?;
        let spki = &c.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(ProvError::NotAvailable(
                "the certificate on the card does not hold an RSA key".into(),
            ));
        }
        let bits = spki.subject_public_key.raw_bytes();
        let pk = pkcs1::RsaPublicKey::from_der(bits).map_err(|_| {
            ProvError::Card(jpki_card::CardError::Malformed {
                what: "a certificate's RSA key",
            })
        })?;
        Ok(RsaPublic {
            n: pk.modulus.as_bytes().to_vec(),
            e: pk.public_exponent.as_bytes().to_vec(),
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        match self.n.first() {
            Some(&b) => self.n.len() * 8 - b.leading_zeros() as usize,
            None => 0,
        }
    }

    /// Whether the key is complete enough to use.
    pub fn is_set(&self) -> bool {
        !self.n.is_empty() && !self.e.is_empty()
    }

    /// Checks a card signature with the public key: catches a card that signed with another
    /// key than the certificate we hold (card swapped), or a PSS mode that is not what we
    /// think (spec §7.2 [O]), before anyone ships the signature.
    pub fn check(&self, input: &SignInput, sig: &[u8]) -> Result<()> {
        match jpki_card::check_card_signature(&self.n, &self.e, input, sig) {
            Ok(()) => Ok(()),
            Err(SignatureCheckError::UnusableKey) => Err(ProvError::Internal("unusable public key")),
            Err(_) => Err(ProvError::NotAvailable(match input {
                SignInput::Pkcs1(_) => "the card's signature does not match its certificate; was the card swapped? Load the key again".into(),
                SignInput::PssSha256(_) => "the card's RSA-PSS signature does not verify (this card's PSS mode differs from the known one); set pss = refuse and cap TLS at 1.2".into(),
            })),
        }
    }
}

/// Where a card key lives and how its PIN is found.
pub struct CardKey {
    pub kind: KeyKind,
    pub reader: ReaderChoice,
    pub pin_source: Option<PinSource>,
    pub last_try: LastTry,
    /// Whether RSA-PSS requests go to the card's PSS mode.
    pub pss: bool,
    /// `jpki:auth` / `jpki:sign`, for messages and prompts.
    pub uri: String,
}

/// A key object.
pub struct Key {
    pub prov: Arc<Provider>,
    pub public: RsaPublic,
    /// `None` for public-only keys (imported from another provider, or `expect=PUBKEY`).
    pub card: Option<CardKey>,
}

/// Marks references made by this provider (checked before the pointer is trusted).
const REF_MAGIC: [u8; 8] = *b"JPKIKEY1";

impl Key {
    /// The reference bytes for `OSSL_OBJECT_PARAM_REFERENCE`: valid while `this` is alive.
    pub fn reference(this: &Arc<Key>) -> [u8; 16] {
        let mut r = [0u8; 16];
        r[..8].copy_from_slice(&REF_MAGIC);
        r[8..].copy_from_slice(&(Arc::as_ptr(this) as usize).to_ne_bytes());
        r
    }

    /// Turns reference bytes back into the key.
    ///
    /// # Safety
    /// `bytes` came from [`Key::reference`] of a key that is still alive.
    pub unsafe fn from_reference(bytes: &[u8]) -> Option<Arc<Key>> {
        if bytes.len() != 16 || bytes[..8] != REF_MAGIC {
            return None;
        }
        let mut p = [0u8; 8];
        p.copy_from_slice(&bytes[8..]);
        let ptr = usize::from_ne_bytes(p) as *const Key;
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the caller promises the Arc this pointer came from is alive.
        unsafe {
            Arc::increment_strong_count(ptr);
            Some(Arc::from_raw(ptr))
        }
    }

    /// Signs on the card, and checks the result against the public key.
    pub fn sign(&self, input: &SignInput) -> Result<Vec<u8>> {
        let Some(ck) = &self.card else {
            return Err(ProvError::NotAvailable(
                "this is a public key only (no card key behind it); load jpki:auth or jpki:sign as a private key".into(),
            ));
        };
        let access = Access {
            pin_source: ck.pin_source.as_ref(),
            last_try: ck.last_try,
            prompt: None,
            uri: &ck.uri,
        };
        let sig = self.prov.token.sign(&ck.reader, ck.kind, input, &access)?;
        self.public.check(input, sig.as_bytes())?;
        Ok(sig.into_bytes())
    }

    /// Whether PSS requests may use the card's PSS mode.
    pub fn pss_allowed(&self) -> bool {
        self.card.as_ref().is_some_and(|c| c.pss)
    }

    /// Which certificate goes with this key.
    pub fn cert_kind(&self) -> Option<jpki_card::CertKind> {
        self.card.as_ref().map(|c| cert_of(c.kind))
    }
}
