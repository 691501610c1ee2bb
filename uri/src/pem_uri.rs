//! PEM files that stand for a card key: `-----BEGIN JPKI PROVIDER URI-----`.
//!
//! The body is DER `SEQUENCE { desc VisibleString "JPKI Provider URI v1.0", uri UTF8String }`,
//! the same shape pkcs11-provider uses for its `PKCS#11 PROVIDER URI` files, so tools that
//! already know that pattern recognise this one. The file holds no secret: only the URI (which
//! [`crate::JpkiUri::parse`] refuses to carry a PIN value).

use crate::{JpkiUri, UriError};
use der::asn1::{AnyRef, Utf8StringRef};
use der::{Decode, Encode, Sequence, Tag, Tagged};

/// The PEM label.
pub const LABEL: &str = "JPKI PROVIDER URI";
/// The description field every file carries (a format version).
pub const DESC: &str = "JPKI Provider URI v1.0";
/// Larger inputs are not ours (and are not read further by the decoder).
pub const MAX_LEN: usize = 16 * 1024;

// der 0.7 has no VisibleString type; the field is kept as a tagged value and its tag checked.
#[derive(Sequence)]
struct UriFile<'a> {
    desc: AnyRef<'a>,
    uri: Utf8StringRef<'a>,
}

/// Why a PEM-URI file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PemUriError {
    /// Not this kind of PEM at all (another key file): callers pass such input on.
    #[error("not a JPKI provider URI file")]
    NotOurs,
    /// Our label, but a body that does not parse.
    #[error("damaged JPKI provider URI file: {0}")]
    Damaged(&'static str),
    /// The URI inside is not valid.
    #[error("JPKI provider URI file: {0}")]
    Uri(#[from] UriError),
}

/// Encodes `uri` as a PEM-URI file (text ending in a newline).
pub fn encode(uri: &JpkiUri) -> Result<String, PemUriError> {
    let text = uri.to_string();
    let file = UriFile {
        desc: AnyRef::new(Tag::VisibleString, DESC.as_bytes())
            .map_err(|_| PemUriError::Damaged("description"))?,
        uri: Utf8StringRef::new(&text).map_err(|_| PemUriError::Damaged("uri"))?,
    };
    let der = file
        .to_der()
        .map_err(|_| PemUriError::Damaged("DER encoding"))?;
    pem_rfc7468::encode_string(LABEL, pem_rfc7468::LineEnding::LF, &der)
        .map_err(|_| PemUriError::Damaged("PEM encoding"))
}

/// Decodes a PEM-URI file. Input with another PEM label (or none) is [`PemUriError::NotOurs`].
pub fn decode(input: &[u8]) -> Result<JpkiUri, PemUriError> {
    decode_der(&pem_to_der(input)?)
}

/// The DER body of a PEM-URI file (first step of OpenSSL's PEM → DER → key decoder chain).
pub fn pem_to_der(input: &[u8]) -> Result<Vec<u8>, PemUriError> {
    if input.len() > MAX_LEN {
        return Err(PemUriError::NotOurs);
    }
    let text = std::str::from_utf8(input).map_err(|_| PemUriError::NotOurs)?;
    let begin = format!("-----BEGIN {LABEL}-----");
    let start = text.find(&begin).ok_or(PemUriError::NotOurs)?;
    let (label, der) = pem_rfc7468::decode_vec(text[start..].trim_end().as_bytes())
        .map_err(|_| PemUriError::Damaged("PEM armour"))?;
    if label != LABEL {
        return Err(PemUriError::NotOurs);
    }
    Ok(der)
}

/// The URI in a DER body. Bytes that are not our structure are [`PemUriError::NotOurs`].
pub fn decode_der(der: &[u8]) -> Result<JpkiUri, PemUriError> {
    let file = UriFile::from_der(der).map_err(|_| PemUriError::NotOurs)?;
    if file.desc.tag() != Tag::VisibleString || file.desc.value() != DESC.as_bytes() {
        return Err(PemUriError::NotOurs);
    }
    Ok(JpkiUri::parse(file.uri.as_str())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Object, PinSource};

    #[test]
    fn round_trip() {
        let mut uri = JpkiUri::new(Object::Auth);
        uri.pin_source = Some(PinSource::File("/etc/nginx/pin".into()));
        let pem = encode(&uri).unwrap();
        assert!(pem.starts_with("-----BEGIN JPKI PROVIDER URI-----\n"));
        assert_eq!(decode(pem.as_bytes()).unwrap(), uri);
    }

    #[test]
    fn other_pem_is_not_ours_and_damage_is_named() {
        let other = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            decode(other.as_bytes()),
            Err(PemUriError::NotOurs)
        ));
        assert!(matches!(decode(&[0xff, 0xfe]), Err(PemUriError::NotOurs)));
        let broken = "-----BEGIN JPKI PROVIDER URI-----\n!!!!\n-----END JPKI PROVIDER URI-----\n";
        assert!(matches!(
            decode(broken.as_bytes()),
            Err(PemUriError::Damaged(_))
        ));
    }
}
