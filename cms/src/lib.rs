//! CMS `SignedData` (RFC 5652) for one RSA signer whose key lives elsewhere
//! (a smart card, an HSM): build it, check it, and add an RFC 3161 timestamp.
//!
//! * [`sign`] builds a detached or attached `ContentInfo(SignedData)` with
//!   SHA-256 and RSA PKCS#1 v1.5. The key is behind the [`DigestInfoSigner`]
//!   trait: this crate hands it the `DigestInfo` to sign and checks the
//!   signature it gets back against the certificate before embedding it.
//!   [`Profile`] chooses the signed attributes (CMS/MOJ with signingTime, or
//!   PAdES/CAdES with ESS signingCertificateV2).
//! * [`verify`] / [`verify_with_tsa`] check such a signature: one signer,
//!   SHA-256, messageDigest against a hash the caller computed (so content of
//!   any size is streamed by the caller), the RSA signature, the ESS hash, the
//!   key usage, an embedded timestamp, and, when trusted CA certificates are
//!   named, the chain (by OpenSSL's X.509 verifier).
//! * [`tsa`] asks a time-stamping authority over HTTP(S) and adds its token
//!   ([`add_timestamp`]).
//!
//! What it refuses to do: hashes other than SHA-256, signature algorithms
//! other than RSA PKCS#1 v1.5, more than one signer, and embedding a signature
//! that does not verify. It knows nothing of cards, PINs or PDF, prints
//! nothing, and its error texts are English: front ends translate by matching
//! on [`Error`] and [`VerifyError`].
//!
//! # Example
//!
//! A software key standing in for the card (any `DigestInfoSigner` will do):
//!
//! ```
//! use jpki_cms::{sign, verify, Against, Content, DigestInfo, DigestInfoSigner, Profile, SignerError};
//! use sha2::{Digest, Sha256};
//!
//! struct SoftKey(rsa::RsaPrivateKey);
//!
//! impl DigestInfoSigner for SoftKey {
//!     fn sign_digest_info(&mut self, di: &DigestInfo) -> Result<Vec<u8>, SignerError> {
//!         Ok(self.0.sign(rsa::Pkcs1v15Sign::new_unprefixed(), di.as_der())?)
//!     }
//! }
//! # fn self_signed() -> (rsa::RsaPrivateKey, Vec<u8>) {
//! #     use openssl::{pkey::PKey, x509::{X509Builder, X509NameBuilder}, asn1::Asn1Time};
//! #     use rsa::pkcs8::DecodePrivateKey;
//! #     let pkey = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
//! #     let mut name = X509NameBuilder::new().unwrap();
//! #     name.append_entry_by_text("CN", "Example Signer").unwrap();
//! #     let name = name.build();
//! #     let mut b = X509Builder::new().unwrap();
//! #     b.set_version(2).unwrap();
//! #     b.set_subject_name(&name).unwrap();
//! #     b.set_issuer_name(&name).unwrap();
//! #     b.set_pubkey(&pkey).unwrap();
//! #     b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
//! #     b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
//! #     b.sign(&pkey, openssl::hash::MessageDigest::sha256()).unwrap();
//! #     let key = rsa::RsaPrivateKey::from_pkcs8_der(&pkey.private_key_to_pkcs8().unwrap()).unwrap();
//! #     (key, b.build().to_der().unwrap())
//! # }
//!
//! let (key, cert_der) = self_signed();
//! let digest: [u8; 32] = Sha256::digest(b"the document").into();
//! let p7s = sign(&mut SoftKey(key), &cert_der, &[], Content::Detached(digest), Profile::CMS)?;
//!
//! let checked = verify(&p7s, Against::Detached(digest), None)?;
//! assert_eq!(checked.signer, "CN=Example Signer");
//! let other: [u8; 32] = Sha256::digest(b"another document").into();
//! assert_eq!(
//!     verify(&p7s, Against::Detached(other), None).unwrap_err(),
//!     jpki_cms::VerifyError::DigestMismatch
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cert;
mod error;
mod sign;
pub mod tsa;
mod verify;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use cert::signer_name;
pub use error::{Error, VerifyError};
pub use sign::{
    sha256_alg, sign, Content, DigestInfo, DigestInfoSigner, EssCertIdV2, IssuerSerial, Profile,
    SignerError, SigningCertificateV2, ID_AA_SIGNING_CERTIFICATE_V2,
};
pub use tsa::add_timestamp;
pub use verify::{format_time, verify, verify_with_tsa, Against, Chain, Timestamp, Verified};
