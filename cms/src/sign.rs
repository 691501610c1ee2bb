//! Building CMS `SignedData` (RFC 5652) whose signature comes from the card.
//!
//! Why RustCrypto `cms` and not the `openssl` crate: OpenSSL's `CMS_sign`
//! wants the private key as an `EVP_PKEY`, which for a card means loading our
//! own provider (built in parallel, not ready) into this process. The `cms`
//! builder instead takes any `signature::Signer`, DER-sorts the signed
//! attributes and hands us exactly the bytes to sign; we hash them, wrap the
//! hash in a `DigestInfo` and let the card do PKCS#1 v1.5. No DER is written by
//! hand except the ESS `SigningCertificateV2` attribute, which the crate lacks
//! (declared below with `#[derive(Sequence)]` and its ASN.1).
//!
//! What it emits: SHA-256, `rsaEncryption` as signature algorithm (what OpenSSL
//! and Acrobat emit), sid = issuerAndSerialNumber, signed attributes
//! contentType and messageDigest, plus signingTime for the CMS/MOJ profile or
//! signingCertificateV2 for PAdES, and the signer and CA certificates.
//!
//! What it refuses: any other hash, and embedding a card signature that does
//! not verify with the certificate's public key (a wrong key slot would
//! otherwise give a file that fails only at the recipient).

use crate::Error;
use cms::builder::{create_signing_time_attribute, SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};
use signature::Verifier;
use spki::AlgorithmIdentifierOwned;
use std::cell::RefCell;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

/// The error a [`DigestInfoSigner`] reports; [`crate::Error::Signer`] hands it
/// back unchanged, so the caller can downcast it to its own type.
pub type SignerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Something that signs a SHA-256 `DigestInfo` with an RSA key (PKCS#1 v1.5):
/// a smart card session, an HSM, or a software key in tests. This crate never
/// sees the key; it checks the signature it gets against the certificate.
pub trait DigestInfoSigner {
    /// Returns the raw RSA signature (256 bytes for RSA-2048).
    fn sign_digest_info(&mut self, di: &DigestInfo) -> Result<Vec<u8>, SignerError>;
}

/// A DER `DigestInfo` (RFC 8017 §9.2) over a SHA-256 hash: what an RSA
/// PKCS#1 v1.5 signer (e.g. a card's SIGN command) signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestInfo {
    hash: [u8; 32],
    der: Vec<u8>,
}

impl DigestInfo {
    /// The DigestInfo prefix of SHA-256 (RFC 8017 §9.2, note 1).
    const SHA256_PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];

    /// The DigestInfo of a SHA-256 `hash`.
    pub fn sha256(hash: [u8; 32]) -> DigestInfo {
        DigestInfo {
            hash,
            der: [&Self::SHA256_PREFIX[..], &hash].concat(),
        }
    }

    /// The SHA-256 hash inside.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// The whole DER encoding (51 bytes).
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }
}

/// Which signed attributes to add besides contentType and messageDigest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// signingTime (CMS, adbe.pkcs7.detached). PAdES forbids it.
    pub signing_time: bool,
    /// ESS signingCertificateV2 (PAdES / CAdES-BES).
    pub signing_certificate_v2: bool,
}

impl Profile {
    /// Plain CMS and the MOJ-compatible PDF profile (adbe.pkcs7.detached).
    pub const CMS: Profile = Profile {
        signing_time: true,
        signing_certificate_v2: false,
    };
    /// PAdES baseline B-B (ETSI.CAdES.detached).
    pub const PADES: Profile = Profile {
        signing_time: false,
        signing_certificate_v2: true,
    };
}

/// The content the signature is over.
pub enum Content<'a> {
    /// Detached: only its SHA-256 goes into messageDigest.
    Detached([u8; 32]),
    /// Attached: the bytes are embedded as eContent.
    Attached(&'a [u8]),
}

/// The SHA-256 AlgorithmIdentifier, parameters absent (RFC 5754 §2).
pub fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_SHA_256,
        parameters: None,
    }
}

/// Builds a DER `ContentInfo(SignedData)` signed by `signer` with the key of
/// `signer_cert` (DER); `chain` are further certificates to embed (the CA).
pub fn sign(
    signer: &mut dyn DigestInfoSigner,
    signer_cert: &[u8],
    chain: &[Vec<u8>],
    content: Content<'_>,
    profile: Profile,
) -> Result<Vec<u8>, Error> {
    let bad_cert = |e: der::Error| Error::Certificate(format!("signer certificate: {e}"));
    let cert = Certificate::from_der(signer_cert).map_err(bad_cert)?;
    let public = public_key(&cert)?;
    let card = CardKey {
        inner: RefCell::new(signer),
        public: public.clone(),
        error: RefCell::new(None),
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate.issuer.clone(),
        serial_number: cert.tbs_certificate.serial_number.clone(),
    });
    let (eci, digest) = match content {
        Content::Detached(d) => (
            EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            Some(d),
        ),
        Content::Attached(bytes) => {
            let octets = OctetString::new(bytes).map_err(cms_err)?;
            (
                EncapsulatedContentInfo {
                    econtent_type: ID_DATA,
                    econtent: Some(Any::encode_from(&octets).map_err(cms_err)?),
                },
                None,
            )
        }
    };
    let mut si = SignerInfoBuilder::new(
        &card,
        sid,
        sha256_alg(),
        &eci,
        digest.as_ref().map(|d| d.as_slice()),
    )
    .map_err(cms_err)?;
    if profile.signing_time {
        si.add_signed_attribute(create_signing_time_attribute().map_err(cms_err)?)
            .map_err(cms_err)?;
    }
    if profile.signing_certificate_v2 {
        si.add_signed_attribute(signing_certificate_v2(&cert, signer_cert)?)
            .map_err(cms_err)?;
    }
    let mut sd = SignedDataBuilder::new(&eci);
    sd.add_digest_algorithm(sha256_alg()).map_err(cms_err)?;
    sd.add_certificate(CertificateChoices::Certificate(cert))
        .map_err(cms_err)?;
    for der in chain {
        let c = Certificate::from_der(der).map_err(bad_cert)?;
        sd.add_certificate(CertificateChoices::Certificate(c))
            .map_err(cms_err)?;
    }
    let built = sd.add_signer_info::<CardKey, Signature>(si);
    if let Some(e) = card.error.borrow_mut().take() {
        return Err(e);
    }
    let ci: ContentInfo = built.map_err(cms_err)?.build().map_err(cms_err)?;
    debug_assert_eq!(ci.content_type, ID_SIGNED_DATA);
    ci.to_der().map_err(cms_err)
}

fn cms_err(e: impl std::fmt::Display) -> Error {
    Error::Build(e.to_string())
}

/// The RSA public key of a certificate.
pub(crate) fn public_key(cert: &Certificate) -> Result<RsaPublicKey, Error> {
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| Error::Certificate(e.to_string()))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| Error::Certificate(format!("the certificate's key is not RSA: {e}")))
}

/// Adapts a [`DigestInfoSigner`] to the `signature` traits the `cms` builder
/// wants. The builder discards the signer's error, so it is kept aside here.
struct CardKey<'a> {
    inner: RefCell<&'a mut dyn DigestInfoSigner>,
    public: RsaPublicKey,
    error: RefCell<Option<Error>>,
}

impl signature::Keypair for CardKey<'_> {
    type VerifyingKey = VerifyingKey<Sha256>;
    fn verifying_key(&self) -> Self::VerifyingKey {
        VerifyingKey::new(self.public.clone())
    }
}

impl spki::DynSignatureAlgorithmIdentifier for CardKey<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        // rsaEncryption with NULL parameters: what OpenSSL, Acrobat and
        // BouncyCastle emit for PKCS#1 v1.5 in CMS (widest interop).
        Ok(AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
            parameters: Some(der::asn1::Null.into()),
        })
    }
}

impl signature::Signer<Signature> for CardKey<'_> {
    fn try_sign(&self, signed_attrs: &[u8]) -> Result<Signature, signature::Error> {
        let hash = Sha256::digest(signed_attrs);
        let di = DigestInfo::sha256(hash.into());
        let raw = {
            let mut inner = self.inner.borrow_mut();
            match inner.sign_digest_info(&di) {
                Ok(s) => s,
                Err(e) => {
                    *self.error.borrow_mut() = Some(Error::Signer(e));
                    return Err(signature::Error::new());
                }
            }
        };
        let sig = Signature::try_from(raw.as_slice())?;
        if VerifyingKey::<Sha256>::new(self.public.clone())
            .verify(signed_attrs, &sig)
            .is_err()
        {
            *self.error.borrow_mut() = Some(Error::WrongKey);
            return Err(signature::Error::new());
        }
        Ok(sig)
    }
}

/// `id-aa-signingCertificateV2` (RFC 5035).
pub const ID_AA_SIGNING_CERTIFICATE_V2: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// RFC 5035 §3:
/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The first is the signer's certificate.
    pub certs: Vec<EssCertIdV2>,
}

/// RFC 5035 §4:
/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm  AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash       Hash,
///     issuerSerial   IssuerSerial OPTIONAL }
/// ```
/// Only SHA-256 is produced, so `hashAlgorithm` is omitted when signing
/// (DER: DEFAULT is not encoded); some signers (NSS: poppler, LibreOffice)
/// write it anyway, so it is read when present.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// The hash of `cert_hash`; absent means SHA-256.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<spki::AlgorithmIdentifierOwned>,
    /// SHA-256 of the certificate's DER.
    pub cert_hash: OctetString,
    /// Issuer and serial of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// RFC 5035 §4:
/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer         GeneralNames,
///     serialNumber   CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The certificate's issuer as one `directoryName`.
    pub issuer: Vec<GeneralName>,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

fn signing_certificate_v2(cert: &Certificate, der: &[u8]) -> Result<Attribute, Error> {
    let v = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(der).to_vec()).map_err(cms_err)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let value = Any::encode_from(&v).map_err(cms_err)?;
    let mut values = SetOfVec::new();
    values.insert(value).map_err(cms_err)?;
    Ok(Attribute {
        oid: ID_AA_SIGNING_CERTIFICATE_V2,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::soft_signer;
    use crate::verify::{self as cms_verify, Against, Chain};

    #[test]
    fn detached_and_attached_round_trip() {
        let (mut key, cert, pem) = soft_signer();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, pem).unwrap();
        let digest: [u8; 32] = Sha256::digest(b"content").into();
        let der = sign(
            &mut key,
            &cert,
            &[],
            Content::Detached(digest),
            Profile::CMS,
        )
        .unwrap();
        let v = cms_verify::verify(&der, Against::Detached(digest), Some(&ca)).unwrap();
        assert_eq!(v.signer, "CN=Unit Test Signer");
        assert!(v.signing_time.is_some());
        assert!(matches!(v.chain, Chain::Trusted(_)));
        let other: [u8; 32] = Sha256::digest(b"contenT").into();
        let e = cms_verify::verify(&der, Against::Detached(other), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("messageDigest"), "{e}");
        // Trailing zero padding (as in a PDF /Contents) is ignored.
        let mut padded = der.clone();
        padded.extend([0u8; 100]);
        cms_verify::verify(&padded, Against::Detached(digest), None).unwrap();

        let der = sign(
            &mut key,
            &cert,
            &[],
            Content::Attached(b"hello"),
            Profile::CMS,
        )
        .unwrap();
        cms_verify::verify(&der, Against::Attached, None).unwrap();
        let e = cms_verify::verify(&der, Against::Detached(digest), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("embeds"), "{e}");
    }

    #[test]
    fn pades_profile_has_ess_and_no_signing_time() {
        let (mut key, cert, _) = soft_signer();
        let digest = [7u8; 32];
        let der = sign(
            &mut key,
            &cert,
            &[],
            Content::Detached(digest),
            Profile::PADES,
        )
        .unwrap();
        let v = cms_verify::verify(&der, Against::Detached(digest), None).unwrap();
        assert!(v.signing_certificate_v2);
        assert!(v.signing_time.is_none());
    }

    /// A signer whose signature belongs to another key is caught before embedding.
    #[test]
    fn refuses_a_signature_from_the_wrong_key() {
        let (_, cert, _) = soft_signer();
        let (mut other, _, _) = soft_signer();
        let e = sign(
            &mut other,
            &cert,
            &[],
            Content::Detached([1; 32]),
            Profile::CMS,
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
    }
}
