//! RFC 3161 timestamps: after the card has signed, the
//! SignerInfo's signature value is timestamped by a time-stamping authority
//! and the token is added as the unsigned attribute
//! id-aa-signatureTimeStampToken (RFC 3161 appendix A; CAdES-T, PAdES B-T).
//!
//! Request/response types come from RustCrypto `x509-tsp`; HTTP from `ureq`
//! (HTTPS through native-tls, i.e. the system OpenSSL). The response is
//! checked before use: status granted, a token present, its messageImprint
//! is SHA-256 of our signature and its nonce is ours. The token's own
//! signature is checked by [`crate::verify_with_tsa`] when verifying.

use crate::sign::sha256_alg;
use crate::Error;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo, SignerInfos, UnsignedAttributes};
use der::asn1::{Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use std::io::Read;
use x509_cert::attr::Attribute;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
pub const ID_CT_TST_INFO: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

fn err(url: &str, what: impl std::fmt::Display) -> Error {
    Error::Timestamp {
        url: url.to_string(),
        reason: what.to_string(),
    }
}

/// The TSTInfo inside a timestamp token.
pub fn tst_info(token: &ContentInfo) -> Result<TstInfo, String> {
    let sd: SignedData = token
        .content
        .decode_as()
        .map_err(|e| format!("the token is not SignedData: {e}"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let os: OctetString = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token has no TSTInfo")?
        .decode_as()
        .map_err(|e| format!("TSTInfo: {e}"))?;
    TstInfo::from_der(os.as_bytes()).map_err(|e| format!("TSTInfo: {e}"))
}

/// Asks `url` for a timestamp over SHA-256(`signature`); returns the token.
pub fn timestamp(url: &str, signature: &[u8]) -> Result<ContentInfo, Error> {
    let imprint: [u8; 32] = Sha256::digest(signature).into();
    let mut nonce = [0u8; 8];
    openssl::rand::rand_bytes(&mut nonce).map_err(|e| err(url, e))?;
    nonce[0] &= 0x7F; // a positive INTEGER
    nonce[0] |= 0x01; // without a leading zero byte to strip
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: sha256_alg().oid,
                parameters: None,
            },
            hashed_message: OctetString::new(imprint.to_vec()).map_err(|e| err(url, e))?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce).map_err(|e| err(url, e))?),
        cert_req: true,
        extensions: None,
    };
    let body = req.to_der().map_err(|e| err(url, e))?;
    let tls = native_tls::TlsConnector::new().map_err(|e| err(url, e))?;
    let agent = ureq::AgentBuilder::new()
        .tls_connector(std::sync::Arc::new(tls))
        .timeout(std::time::Duration::from_secs(30))
        .build();
    let resp = agent
        .post(url)
        .set("Content-Type", "application/timestamp-query")
        .send_bytes(&body)
        .map_err(|e| err(url, e))?;
    let mut der = Vec::new();
    resp.into_reader()
        .take(1 << 20)
        .read_to_end(&mut der)
        .map_err(|e| err(url, e))?;
    let resp = TimeStampResp::from_der(&der)
        .map_err(|e| err(url, format!("not a timestamp response: {e}")))?;
    use cmpv2::status::PkiStatus;
    if !matches!(
        resp.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        return Err(err(
            url,
            format!("the TSA refused ({:?})", resp.status.status),
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| err(url, "the response holds no token"))?;
    let info = tst_info(&token).map_err(|e| err(url, e))?;
    if info.message_imprint.hashed_message.as_bytes() != imprint {
        return Err(err(url, "the token is over another message"));
    }
    if info.nonce.as_ref().map(|n| n.as_bytes()) != Some(&nonce[..]) {
        return Err(err(
            url,
            "the token's nonce is not ours (a replayed answer?)",
        ));
    }
    Ok(token)
}

/// The first SignerInfo's signature value of a DER `ContentInfo(SignedData)`.
pub fn signature_value(cms: &[u8]) -> Result<Vec<u8>, Error> {
    let (_, sis) = signer_infos(cms)?;
    sis.first()
        .map(|s| s.signature.as_bytes().to_vec())
        .ok_or_else(|| Error::Structure("the CMS has no signer".into()))
}

fn signer_infos(cms: &[u8]) -> Result<(SignedData, Vec<SignerInfo>), Error> {
    let bad = |e: der::Error| Error::Structure(format!("the CMS structure: {e}"));
    let ci = ContentInfo::from_der(cms).map_err(bad)?;
    let sd: SignedData = ci.content.decode_as().map_err(bad)?;
    let sis = sd.signer_infos.0.clone().into_vec();
    Ok((sd, sis))
}

/// Asks `url` for a timestamp over the (only) signature of `cms` and adds it
/// as signatureTimeStampToken (CAdES-T, PAdES B-T).
pub fn add_timestamp(cms: &[u8], url: &str) -> Result<Vec<u8>, Error> {
    let token = timestamp(url, &signature_value(cms)?)?;
    add_token(cms, &token)
}

/// Adds `token` to the (only) SignerInfo of `cms` as signatureTimeStampToken.
pub fn add_token(cms: &[u8], token: &ContentInfo) -> Result<Vec<u8>, Error> {
    let bad = |e: der::Error| Error::Structure(format!("adding the timestamp: {e}"));
    let (mut sd, mut sis) = signer_infos(cms)?;
    let si = sis
        .first_mut()
        .ok_or_else(|| Error::Structure("the CMS has no signer".into()))?;
    let mut values = SetOfVec::new();
    values
        .insert(Any::encode_from(token).map_err(bad)?)
        .map_err(bad)?;
    let attr = Attribute {
        oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
        values,
    };
    si.unsigned_attrs = Some(UnsignedAttributes::try_from(vec![attr]).map_err(bad)?);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(sis).map_err(bad)?);
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}
