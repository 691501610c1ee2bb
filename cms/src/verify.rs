//! Checking a CMS `SignedData` made by one signer with RSA PKCS#1 v1.5 and
//! SHA-256: the structure, the messageDigest against content hashed by the
//! caller (streamed, so files of any size), the signature over the DER signed
//! attributes, the ESS certificate hash if present, the key usage, and — when
//! the user names trusted CA certificates — the chain (by OpenSSL's X509
//! verifier: chain building is nothing to re-implement).
//!
//! Refuses (as "not valid", with the reason): more or less than one signer,
//! digests other than SHA-256, missing signed attributes, a sid that matches no
//! embedded certificate, a signature algorithm other than RSA PKCS#1 v1.5.

use crate::sign::{public_key, SigningCertificateV2, ID_AA_SIGNING_CERTIFICATE_V2};
use crate::VerifyError;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME};
use const_oid::db::rfc5912::{ID_SHA_256, RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, UtcTime};
use der::{Decode, Encode, Reader, SliceReader, Tagged};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use signature::Verifier;
use std::path::Path;
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::Certificate;

/// What a valid signature says.
#[derive(Debug)]
pub struct Verified {
    /// The signer certificate's subject (RFC 4514).
    pub signer: String,
    /// The signingTime attribute, if any (UTC, `YYYY-MM-DD HH:MM:SS UTC`).
    pub signing_time: Option<String>,
    /// Whether an ESS signingCertificateV2 attribute is present (and matched).
    pub signing_certificate_v2: bool,
    /// An RFC 3161 timestamp over the signature, if the signer has one. A
    /// timestamp that does not verify makes the whole signature not valid
    /// ([`VerifyError::InvalidTimestamp`]), so one reported here was checked.
    pub timestamp: Option<Timestamp>,
    /// The chain check.
    pub chain: Chain,
}

/// An RFC 3161 timestamp token over the signature value, checked: its own
/// CMS signature, its messageImprint (the SHA-256 of this signature), and
/// its TSA's chain when trusted TSA CA certificates were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// The token's genTime (`YYYY-MM-DD HH:MM:SS UTC`, see [`format_time`]).
    pub time: String,
    /// The TSA certificate's subject (RFC 4514).
    pub tsa: String,
    /// Whether the TSA certificate chains to a trusted TSA CA
    /// ([`Chain::NotChecked`] when none was given).
    pub chain: Chain,
}

/// Whether a certificate chains to a trusted CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// Verified up to this trusted certificate's subject.
    Trusted(String),
    /// No CA was given.
    NotChecked,
}

/// The content a signature is checked against.
pub enum Against {
    /// Detached content's SHA-256 (eContent must be absent).
    Detached([u8; 32]),
    /// The eContent inside the CMS (must be present).
    Attached,
}

/// Cuts a DER object off trailing bytes (PDF `/Contents` is zero-padded).
pub(crate) fn der_object(bytes: &[u8]) -> Result<&[u8], String> {
    let mut r = SliceReader::new(bytes).map_err(|e| format!("not DER: {e}"))?;
    let header = der::Header::decode(&mut r).map_err(|e| format!("not DER: {e}"))?;
    let total = (r.position() + header.length).map_err(|e| format!("not DER: {e}"))?;
    let n = usize::try_from(total).map_err(|_| "not DER: too long".to_string())?;
    bytes
        .get(..n)
        .ok_or_else(|| "the CMS structure is cut off".to_string())
}

/// BER (indefinite lengths, as NSS-based signers such as poppler and
/// LibreOffice write) re-encoded as DER by OpenSSL's parser. The signature
/// is not over these bytes (it is over the signed attributes, which are
/// re-encoded as DER for the check anyway), so re-encoding changes nothing
/// that is verified.
fn ber_to_der(bytes: &[u8]) -> Option<Vec<u8>> {
    openssl::cms::CmsContentInfo::from_der(bytes)
        .and_then(|c| c.to_der())
        .ok()
}

/// Parses a `ContentInfo(SignedData)` (DER, or BER that OpenSSL can read).
pub(crate) fn parse(bytes: &[u8]) -> Result<SignedData, String> {
    let converted;
    let der = match der_object(bytes) {
        Ok(d) => d,
        Err(e) => {
            converted = ber_to_der(bytes).ok_or(e)?;
            converted.as_slice()
        }
    };
    let ci = ContentInfo::from_der(der).map_err(|e| format!("not a CMS ContentInfo: {e}"))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(format!("the CMS is not SignedData but {}", ci.content_type));
    }
    match ci.content.decode_as::<SignedData>() {
        Err(e) if e.kind() == der::ErrorKind::SetDuplicate => {
            without_duplicate_certificates(&ci.content)
                .ok_or_else(|| format!("malformed SignedData: {e}"))?
                .decode_as::<SignedData>()
                .map_err(|e| format!("malformed SignedData: {e}"))
        }
        r => r.map_err(|e| format!("malformed SignedData: {e}")),
    }
}

/// The SignedData with each certificate of its `certificates` set once:
/// poppler (NSS) embeds the signer's certificate twice, which DER's SET OF
/// forbids. Certificates are only candidates for path building, so dropping
/// an exact copy changes nothing that is verified.
fn without_duplicate_certificates(signed_data: &der::Any) -> Option<der::Any> {
    let parts = |bytes: &[u8]| -> Option<Vec<der::Any>> {
        let mut r = SliceReader::new(bytes).ok()?;
        let mut v = Vec::new();
        while !r.is_finished() {
            v.push(der::Any::decode(&mut r).ok()?);
        }
        Some(v)
    };
    let mut fields = parts(signed_data.value())?;
    let certs_tag = der::Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber::N0,
    };
    let certs = fields.iter_mut().find(|f| f.tag() == certs_tag)?;
    let mut unique: Vec<der::Any> = Vec::new();
    for c in parts(certs.value())? {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    let joined = |v: &[der::Any]| -> Option<Vec<u8>> {
        v.iter().try_fold(Vec::new(), |mut out, a| {
            out.extend(a.to_der().ok()?);
            Some(out)
        })
    };
    *certs = der::Any::new(certs_tag, joined(&unique)?).ok()?;
    der::Any::new(der::Tag::Sequence, joined(&fields)?).ok()
}

fn attr(si: &SignerInfo, oid: ObjectIdentifier) -> Result<Option<&der::Any>, VerifyError> {
    let Some(attrs) = &si.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(a) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || a.values.len() != 1 {
        return Err(VerifyError::Invalid(format!(
            "signed attribute {oid} occurs more than once"
        )));
    }
    Ok(a.values.iter().next())
}

/// Checks everything about `cms` (DER) except what lies outside it.
pub fn verify(cms: &[u8], against: Against, ca: Option<&Path>) -> Result<Verified, VerifyError> {
    verify_with_tsa(cms, against, ca, None)
}

/// [`verify`], with the chain of an RFC 3161 timestamp's TSA checked
/// against `tsa_ca` when given (else reported as not checked).
pub fn verify_with_tsa(
    cms: &[u8],
    against: Against,
    ca: Option<&Path>,
    tsa_ca: Option<&Path>,
) -> Result<Verified, VerifyError> {
    let sd = parse(cms)?;
    let si = the_only_signer(&sd)?;
    let digest = content_digest(against, &sd)?;
    check_content_attributes(si, &sd, &digest)?;
    let certs = embedded_certificates(&sd);
    let cert = signer_certificate(si, &certs)?;
    check_signature(si, cert)?;
    let signing_certificate_v2 = check_ess_certificate(si, cert)?;
    let signing_time = attr(si, ID_SIGNING_TIME)?.map(time_text).transpose()?;
    check_key_usage(cert)?;
    let timestamp = timestamp_of(si, tsa_ca)?;
    let chain = match ca {
        None => Chain::NotChecked,
        Some(ca) => check_chain(cert, &certs, ca)?,
    };
    Ok(Verified {
        signer: cert.tbs_certificate.subject.to_string(),
        signing_time,
        signing_certificate_v2,
        timestamp,
        chain,
    })
}

/// Exactly one SignerInfo, hashing with SHA-256.
fn the_only_signer(sd: &SignedData) -> Result<&SignerInfo, VerifyError> {
    let [si] = sd.signer_infos.0.as_slice() else {
        return Err(VerifyError::Invalid(format!(
            "the CMS has {} signers; exactly one is supported",
            sd.signer_infos.0.len()
        )));
    };
    if si.digest_alg.oid != ID_SHA_256 {
        return Err(VerifyError::Invalid(format!(
            "digest algorithm {} is not SHA-256 (refused)",
            si.digest_alg.oid
        )));
    }
    Ok(si)
}

/// The SHA-256 of the signed content: given (detached) or of the eContent.
fn content_digest(against: Against, sd: &SignedData) -> Result<[u8; 32], VerifyError> {
    match (against, &sd.encap_content_info.econtent) {
        (Against::Detached(d), None) => Ok(d),
        (Against::Detached(_), Some(_)) => {
            Err("the CMS embeds its content, but detached content was given".into())
        }
        (Against::Attached, Some(any)) => {
            let os: OctetString = any
                .decode_as()
                .map_err(|e| format!("eContent is not an OCTET STRING: {e}"))?;
            Ok(Sha256::digest(os.as_bytes()).into())
        }
        (Against::Attached, None) => Err(VerifyError::ContentMissing),
    }
}

/// contentType must match eContentType (RFC 5652 §11.1), messageDigest the content.
fn check_content_attributes(
    si: &SignerInfo,
    sd: &SignedData,
    digest: &[u8; 32],
) -> Result<(), VerifyError> {
    if si.signed_attrs.is_none() {
        return Err("the signer has no signed attributes (refused)".into());
    }
    let ct: ObjectIdentifier = attr(si, ID_CONTENT_TYPE)?
        .ok_or("the contentType signed attribute is missing")?
        .decode_as()
        .map_err(|e| format!("contentType: {e}"))?;
    if ct != sd.encap_content_info.econtent_type {
        return Err("the contentType attribute does not match the content type".into());
    }
    let md: OctetString = attr(si, ID_MESSAGE_DIGEST)?
        .ok_or("the messageDigest signed attribute is missing")?
        .decode_as()
        .map_err(|e| format!("messageDigest: {e}"))?;
    if md.as_bytes() != digest {
        return Err(VerifyError::DigestMismatch);
    }
    Ok(())
}

/// The certificates embedded in the SignedData.
fn embedded_certificates(sd: &SignedData) -> Vec<&Certificate> {
    sd.certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The signer certificate, by issuerAndSerialNumber.
fn signer_certificate<'c>(
    si: &SignerInfo,
    certs: &[&'c Certificate],
) -> Result<&'c Certificate, VerifyError> {
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err("the signer is identified by key identifier; only issuer and serial number is supported".into());
    };
    certs
        .iter()
        .find(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        })
        .copied()
        .ok_or_else(|| "the signer's certificate is not in the CMS".into())
}

/// The RSA PKCS#1 v1.5 signature over the DER signed attributes.
fn check_signature(si: &SignerInfo, cert: &Certificate) -> Result<(), VerifyError> {
    let sig_oid = si.signature_algorithm.oid;
    if sig_oid != RSA_ENCRYPTION && sig_oid != SHA_256_WITH_RSA_ENCRYPTION {
        return Err(VerifyError::Invalid(format!(
            "signature algorithm {sig_oid} is not RSA PKCS#1 v1.5"
        )));
    }
    let Some(attrs) = &si.signed_attrs else {
        return Err("the signer has no signed attributes (refused)".into());
    };
    let key = public_key(cert).map_err(|e| e.to_string())?;
    let signed = attrs.to_der().map_err(|e| e.to_string())?; // SET OF, tag 0x31 (RFC 5652 §5.4)
    let sig = Signature::try_from(si.signature.as_bytes())
        .map_err(|_| "the signature value is malformed".to_string())?;
    VerifyingKey::<Sha256>::new(key)
        .verify(&signed, &sig)
        .map_err(|_| "the RSA signature does not verify with the signer's certificate".into())
}

/// ESS signingCertificateV2, if present, must name this certificate; whether it is present.
fn check_ess_certificate(si: &SignerInfo, cert: &Certificate) -> Result<bool, VerifyError> {
    let Some(v) = attr(si, ID_AA_SIGNING_CERTIFICATE_V2)? else {
        return Ok(false);
    };
    let scv2: SigningCertificateV2 = v
        .decode_as()
        .map_err(|e| format!("signingCertificateV2: {e}"))?;
    let der = cert.to_der().map_err(|e| e.to_string())?;
    let first = scv2
        .certs
        .first()
        .ok_or("signingCertificateV2 names no certificate")?;
    if let Some(alg) = &first.hash_algorithm {
        if alg.oid != ID_SHA_256 {
            return Err(VerifyError::Invalid(format!(
                "signingCertificateV2 hashes the certificate with {} (only SHA-256 is checked)",
                alg.oid
            )));
        }
    }
    if first.cert_hash.as_bytes() != Sha256::digest(&der).as_slice() {
        return Err("signingCertificateV2 names another certificate than the signer's".into());
    }
    Ok(true)
}

/// The signer certificate's key usage, if present, must allow signing.
fn check_key_usage(cert: &Certificate) -> Result<(), VerifyError> {
    match cert.tbs_certificate.get::<KeyUsage>() {
        Ok(Some((_, ku))) if !(ku.digital_signature() || ku.non_repudiation()) => Err(
            "the signer certificate's key usage allows neither digitalSignature nor nonRepudiation"
                .into(),
        ),
        Err(e) => Err(VerifyError::Invalid(format!(
            "the signer certificate's key usage: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Checks the signatureTimeStampToken unsigned attribute, if any.
fn timestamp_of(si: &SignerInfo, tsa_ca: Option<&Path>) -> Result<Option<Timestamp>, VerifyError> {
    let Some(attrs) = &si.unsigned_attrs else {
        return Ok(None);
    };
    let Some(a) = attrs
        .iter()
        .find(|a| a.oid == crate::tsa::ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
    else {
        return Ok(None);
    };
    let [value] = a.values.as_slice() else {
        return Err("the timestamp attribute must hold one token".into());
    };
    let token_der = value.to_der().map_err(|e| e.to_string())?;
    let token = ContentInfo::from_der(&token_der).map_err(|e| format!("timestamp token: {e}"))?;
    let info = crate::tsa::tst_info(&token).map_err(|e| format!("timestamp token: {e}"))?;
    if info.message_imprint.hashed_message.as_bytes()
        != Sha256::digest(si.signature.as_bytes()).as_slice()
    {
        return Err("the timestamp token is over another signature".into());
    }
    let v = verify(&token_der, Against::Attached, tsa_ca)
        .map_err(|e| VerifyError::InvalidTimestamp(Box::new(e)))?;
    Ok(Some(Timestamp {
        time: format_time(&info.gen_time.to_date_time()),
        tsa: v.signer,
        chain: v.chain,
    }))
}

fn time_text(v: &der::Any) -> Result<String, VerifyError> {
    let dt = match v.tag() {
        der::Tag::UtcTime => v.decode_as::<UtcTime>().map(|t| t.to_date_time()),
        _ => v.decode_as::<GeneralizedTime>().map(|t| t.to_date_time()),
    }
    .map_err(|e| format!("signingTime: {e}"))?;
    Ok(format_time(&dt))
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(dt: &der::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

/// Verifies `cert` up to a certificate of the PEM file `ca`, with the other
/// embedded certificates as untrusted intermediates, at the current time.
fn check_chain(cert: &Certificate, all: &[&Certificate], ca: &Path) -> Result<Chain, VerifyError> {
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::{X509StoreContext, X509};
    let ossl = |e: openssl::error::ErrorStack| e.to_string();
    let pem = std::fs::read(ca).map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
    let anchors = X509::stack_from_pem(&pem).map_err(ossl)?;
    if anchors.is_empty() {
        return Err(VerifyError::Invalid(format!(
            "{} holds no PEM certificate",
            ca.display()
        )));
    }
    let mut store = X509StoreBuilder::new().map_err(ossl)?;
    for a in anchors {
        store.add_cert(a).map_err(ossl)?;
    }
    let store = store.build();
    let to_x509 = |c: &Certificate| -> Result<X509, String> {
        X509::from_der(&c.to_der().map_err(|e| e.to_string())?).map_err(ossl)
    };
    let leaf = to_x509(cert)?;
    let mut untrusted = Stack::new().map_err(ossl)?;
    for c in all {
        untrusted.push(to_x509(c)?).map_err(ossl)?;
    }
    let mut ctx = X509StoreContext::new().map_err(ossl)?;
    let (ok, err, top) = ctx
        .init(&store, &leaf, &untrusted, |c| {
            let ok = c.verify_cert()?;
            let top = c
                .chain()
                .and_then(|ch| ch.iter().last().map(|t| subject_text(t.subject_name())));
            Ok((ok, c.error(), top))
        })
        .map_err(ossl)?;
    if ok {
        Ok(Chain::Trusted(top.unwrap_or_default()))
    } else {
        Err(VerifyError::NotChained {
            ca: ca.display().to_string(),
            reason: err.error_string().to_string(),
        })
    }
}

fn subject_text(n: &openssl::x509::X509NameRef) -> String {
    n.entries()
        .map(|e| {
            let k = e.object().nid().short_name().unwrap_or("?");
            let v = e.data().to_string().unwrap_or_default();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod hostile {
    use super::*;
    use crate::testing::{damage, soft_signer};
    use crate::{sign, Content, Profile};
    use std::sync::OnceLock;

    /// A PAdES-profile CMS and its signer certificate, made once per run
    /// (RSA key generation is slow in debug builds).
    fn sample() -> &'static (Vec<u8>, Vec<u8>, [u8; 32]) {
        static S: OnceLock<(Vec<u8>, Vec<u8>, [u8; 32])> = OnceLock::new();
        S.get_or_init(|| {
            let (mut key, cert, _) = soft_signer();
            let digest: [u8; 32] = Sha256::digest(b"content").into();
            let der = sign(
                &mut key,
                &cert,
                &[],
                Content::Detached(digest),
                Profile::PADES,
            )
            .expect("sign");
            (der, cert, digest)
        })
    }

    proptest::proptest! {
        /// Damaged CMS structures and certificates (the bytes a PDF's
        /// /Contents or a .p7s file brings): an error, never a panic.
        #[test]
        fn damaged_cms_and_certificates_never_panic(
            edits in proptest::collection::vec((0usize..4000, proptest::num::u8::ANY, 0u8..3), 1..6),
            cut in proptest::option::of(0usize..4000),
            which in 0u8..2,
        ) {
            let (der, cert, digest) = sample();
            let mut b = if which == 0 { der.clone() } else { cert.clone() };
            damage(&mut b, &edits, cut);
            if which == 0 {
                let _ = verify(&b, Against::Detached(*digest), None);
                let _ = verify(&b, Against::Attached, None);
                let _ = crate::tsa::signature_value(&b);
            } else {
                let _ = crate::signer_name(&b);
            }
        }
    }

    #[test]
    fn a_detached_cms_without_its_content_is_a_typed_refusal() {
        let (der, _, _) = sample();
        assert_eq!(
            verify(der, Against::Attached, None).unwrap_err(),
            VerifyError::ContentMissing
        );
        let v = verify(der, Against::Detached(sample().2), None).expect("valid");
        assert_eq!((v.timestamp, v.chain), (None, Chain::NotChecked));
    }

    #[test]
    fn the_sample_verifies() {
        let (der, cert, digest) = sample();
        assert!(verify(der, Against::Detached(*digest), None).is_ok());
        assert_eq!(
            crate::signer_name(cert).as_deref(),
            Some("Unit Test Signer")
        );
    }
}
