//! What a card is asked to sign ([`SignInput`]), and the check of the signature it returned
//! against the public key of its certificate ([`check_card_signature`]).
//!
//! Every front door that hands a card signature to someone else checks it first: a card
//! swapped between reading the certificate and signing signs with another key, and the
//! card's PSS mode (spec §7.2, marked \[O\]: seen on one card, not confirmed for all) may not
//! be the RSASSA-PSS we assume. Either way the signature must not leave the program.
//!
//! It checks with the public key only (modulus and exponent of the certificate's
//! `RSAPublicKey`); it does not parse certificates, and it refuses nothing but a signature
//! that does not verify or a key it cannot use.

use crate::DigestInfo;
use rsa::traits::PublicKeyParts;

/// What the card is asked to sign: the two modes of COMPUTE DIGITAL SIGNATURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInput {
    /// PKCS#1 v1.5 over a DigestInfo (P1=00): the card pads, the caller built the DigestInfo.
    Pkcs1(DigestInfo),
    /// RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) over a SHA-256 hash (P1=04).
    PssSha256([u8; 32]),
}

/// Why a card signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureCheckError {
    /// The modulus or exponent is not a usable RSA public key.
    #[error("the certificate's RSA public key is not usable")]
    UnusableKey,
    /// The signature does not verify with the key (wrong length, wrong key, or a PSS
    /// encoding other than the one assumed).
    #[error("the card's signature does not verify with its certificate's public key")]
    Mismatch,
}

/// Checks `signature`, as the card returned it for `input`, with the RSA public key
/// (`modulus`, `exponent`: big-endian, leading zeros allowed).
pub fn check_card_signature(
    modulus: &[u8],
    exponent: &[u8],
    input: &SignInput,
    signature: &[u8],
) -> Result<(), SignatureCheckError> {
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(modulus),
        rsa::BigUint::from_bytes_be(exponent),
    )
    .map_err(|_| SignatureCheckError::UnusableKey)?;
    // RSA signatures are exactly the modulus' length; `rsa` would accept a shorter one.
    if key.size() != signature.len() {
        return Err(SignatureCheckError::Mismatch);
    }
    let verified = match input {
        SignInput::Pkcs1(di) => {
            key.verify(rsa::Pkcs1v15Sign::new_unprefixed(), di.as_der(), signature)
        }
        SignInput::PssSha256(h) => {
            key.verify(rsa::Pss::new_with_salt::<sha2::Sha256>(32), h, signature)
        }
    };
    verified.map_err(|_| SignatureCheckError::Mismatch)
}

#[cfg(test)]
mod tests {
    //! Signatures made by OpenSSL (another implementation than the checker's), as the card
    //! makes them: PKCS#1 v1.5 over a given DigestInfo, and PSS over a given SHA-256 hash.
    use super::*;
    use crate::HashAlg;
    use openssl::md::Md;
    use openssl::pkey::{PKey, Private};
    use openssl::pkey_ctx::PkeyCtx;
    use openssl::rsa::{Padding, Rsa};
    use openssl::sign::RsaPssSaltlen;
    use std::sync::OnceLock;

    /// Two 2048-bit keys, made once per run.
    fn keys() -> &'static [PKey<Private>; 2] {
        static K: OnceLock<[PKey<Private>; 2]> = OnceLock::new();
        K.get_or_init(|| {
            let key = || PKey::from_rsa(Rsa::generate(2048).expect("keygen")).expect("pkey");
            [key(), key()]
        })
    }

    fn public(k: &PKey<Private>) -> (Vec<u8>, Vec<u8>) {
        let rsa = k.rsa().expect("rsa");
        (rsa.n().to_vec(), rsa.e().to_vec())
    }

    fn digest_info() -> DigestInfo {
        DigestInfo::new(HashAlg::Sha256, &[0x5A; 32]).expect("32 bytes")
    }

    /// What the card does for `input`.
    fn card_sign(k: &PKey<Private>, input: &SignInput) -> Vec<u8> {
        let mut ctx = PkeyCtx::new(k).expect("ctx");
        ctx.sign_init().expect("init");
        let data: &[u8] = match input {
            SignInput::Pkcs1(di) => {
                ctx.set_rsa_padding(Padding::PKCS1).expect("padding");
                di.as_der()
            }
            SignInput::PssSha256(h) => {
                ctx.set_rsa_padding(Padding::PKCS1_PSS).expect("padding");
                ctx.set_signature_md(Md::sha256()).expect("md");
                ctx.set_rsa_mgf1_md(Md::sha256()).expect("mgf1");
                ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(32))
                    .expect("salt");
                h
            }
        };
        let mut sig = Vec::new();
        ctx.sign_to_vec(data, &mut sig).expect("sign");
        sig
    }

    fn check_with(
        k: &PKey<Private>,
        input: &SignInput,
        sig: &[u8],
    ) -> Result<(), SignatureCheckError> {
        let (n, e) = public(k);
        check_card_signature(&n, &e, input, sig)
    }

    #[test]
    fn a_good_pkcs1_signature_is_accepted() {
        let input = SignInput::Pkcs1(digest_info());
        let sig = card_sign(&keys()[0], &input);
        assert_eq!(check_with(&keys()[0], &input, &sig), Ok(()));
    }

    #[test]
    fn a_flipped_byte_is_refused() {
        let input = SignInput::Pkcs1(digest_info());
        let good = card_sign(&keys()[0], &input);
        for at in [0, 100, good.len() - 1] {
            let mut sig = good.clone();
            sig[at] ^= 0x01;
            assert_eq!(
                check_with(&keys()[0], &input, &sig),
                Err(SignatureCheckError::Mismatch),
                "byte {at}"
            );
        }
    }

    #[test]
    fn another_keys_signature_is_refused() {
        for input in [
            SignInput::Pkcs1(digest_info()),
            SignInput::PssSha256([7; 32]),
        ] {
            let sig = card_sign(&keys()[1], &input);
            assert_eq!(
                check_with(&keys()[0], &input, &sig),
                Err(SignatureCheckError::Mismatch)
            );
        }
    }

    #[test]
    fn another_input_is_refused() {
        let sig = card_sign(&keys()[0], &SignInput::Pkcs1(digest_info()));
        let other = DigestInfo::new(HashAlg::Sha256, &[0xA5; 32]).expect("32 bytes");
        assert_eq!(
            check_with(&keys()[0], &SignInput::Pkcs1(other), &sig),
            Err(SignatureCheckError::Mismatch)
        );
    }

    #[test]
    fn pss_with_sha256_and_salt_32_is_accepted_and_checked() {
        let input = SignInput::PssSha256([7; 32]);
        let sig = card_sign(&keys()[0], &input);
        assert_eq!(check_with(&keys()[0], &input, &sig), Ok(()));
        let mut bad = sig.clone();
        bad[10] ^= 0x80;
        assert_eq!(
            check_with(&keys()[0], &input, &bad),
            Err(SignatureCheckError::Mismatch)
        );
        // A PKCS#1 v1.5 signature is not a PSS one (a card whose "PSS" mode pads otherwise).
        let pkcs1 = card_sign(&keys()[0], &SignInput::Pkcs1(digest_info()));
        assert_eq!(
            check_with(&keys()[0], &input, &pkcs1),
            Err(SignatureCheckError::Mismatch)
        );
    }

    #[test]
    fn a_pss_signature_with_another_salt_length_is_refused() {
        let k = &keys()[0];
        let h = [9u8; 32];
        let mut ctx = PkeyCtx::new(k).expect("ctx");
        ctx.sign_init().expect("init");
        ctx.set_rsa_padding(Padding::PKCS1_PSS).expect("padding");
        ctx.set_signature_md(Md::sha256()).expect("md");
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(20))
            .expect("salt");
        let mut sig = Vec::new();
        ctx.sign_to_vec(&h, &mut sig).expect("sign");
        assert_eq!(
            check_with(k, &SignInput::PssSha256(h), &sig),
            Err(SignatureCheckError::Mismatch)
        );
    }

    #[test]
    fn a_short_signature_and_an_unusable_key_are_refused() {
        let input = SignInput::Pkcs1(digest_info());
        let sig = card_sign(&keys()[0], &input);
        assert_eq!(
            check_with(&keys()[0], &input, &sig[1..]),
            Err(SignatureCheckError::Mismatch)
        );
        let (n, _) = public(&keys()[0]);
        assert_eq!(
            check_card_signature(&n, &[], &input, &sig),
            Err(SignatureCheckError::UnusableKey)
        );
        assert_eq!(
            check_card_signature(&[], &[1, 0, 1], &input, &sig),
            Err(SignatureCheckError::UnusableKey)
        );
    }
}
