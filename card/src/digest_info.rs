//! The DER `DigestInfo` the card pads and signs (PKCS#1 v1.5, spec §7.1).
//!
//! The card signs whatever 1–245 bytes it is given, so handing it anything but
//! a well-formed DigestInfo makes a signature nobody can verify. A
//! [`DigestInfo`] can only be built from a hash algorithm and a digest of the
//! right length. The prefixes are fixed DER (RFC 8017 §9.2 note 1); writing
//! them out is simpler and safer than pulling an ASN.1 encoder in for five
//! constant byte strings.

use sha2::Digest as _;
use std::fmt;

/// Hash algorithms the card's PKCS#1 v1.5 signatures are used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1 (legacy; still accepted by some verifiers).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256 (what everything current uses).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha224 => 28,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    fn prefix(self) -> &'static [u8] {
        match self {
            HashAlg::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
                0x14,
            ],
            HashAlg::Sha224 => &[
                0x30, 0x2D, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x04, 0x05, 0x00, 0x04, 0x1C,
            ],
            HashAlg::Sha256 => &[
                0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            HashAlg::Sha384 => &[
                0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            HashAlg::Sha512 => &[
                0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// A digest of the wrong length for its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {alg:?} digest is {expected} bytes, got {got}")]
pub struct DigestLengthError {
    /// The algorithm.
    pub alg: HashAlg,
    /// Its digest length.
    pub expected: usize,
    /// What was given.
    pub got: usize,
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestInfo {
    alg: HashAlg,
    der: Vec<u8>,
}

impl DigestInfo {
    /// Wraps a digest computed by the caller.
    pub fn new(alg: HashAlg, digest: &[u8]) -> Result<DigestInfo, DigestLengthError> {
        if digest.len() != alg.digest_len() {
            return Err(DigestLengthError {
                alg,
                expected: alg.digest_len(),
                got: digest.len(),
            });
        }
        let mut der = alg.prefix().to_vec();
        der.extend_from_slice(digest);
        Ok(DigestInfo { alg, der })
    }

    /// Recognises a complete DigestInfo someone else built (`openssl pkeyutl -sign` without
    /// a digest hands over exactly that). Anything else is `None`: the card would sign it,
    /// and nobody could verify the result.
    pub fn from_der(der: &[u8]) -> Option<DigestInfo> {
        [
            HashAlg::Sha1,
            HashAlg::Sha224,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ]
        .into_iter()
        .find_map(|alg| {
            let digest = der.strip_prefix(alg.prefix())?;
            DigestInfo::new(alg, digest).ok()
        })
    }

    /// The algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The DER bytes sent to the card.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }
}

impl fmt::Debug for DigestInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DigestInfo({:?}, {} bytes)", self.alg, self.der.len())
    }
}

/// A running hash of one of the [`HashAlg`]s: what a front door that hashes the data itself
/// (the provider's digest-and-sign, the PKCS#11 `CKM_SHA*_RSA_PKCS` mechanisms) feeds, part by
/// part, before it builds the [`DigestInfo`] or the PSS input.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-224.
    Sha224(sha2::Sha224),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// An empty hash of `alg`.
    pub fn new(alg: HashAlg) -> Hasher {
        match alg {
            HashAlg::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashAlg::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            HashAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlg::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlg::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> HashAlg {
        match self {
            Hasher::Sha1(_) => HashAlg::Sha1,
            Hasher::Sha224(_) => HashAlg::Sha224,
            Hasher::Sha256(_) => HashAlg::Sha256,
            Hasher::Sha384(_) => HashAlg::Sha384,
            Hasher::Sha512(_) => HashAlg::Sha512,
        }
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest ([`HashAlg::digest_len`] bytes).
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha224(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hasher_in_parts_gives_each_algorithm_its_digest() {
        for alg in [
            HashAlg::Sha1,
            HashAlg::Sha224,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let mut h = Hasher::new(alg);
            assert_eq!(h.alg(), alg);
            h.update(b"a");
            h.update(b"bc");
            assert_eq!(h.finish().len(), alg.digest_len());
        }
        let mut h = Hasher::new(HashAlg::Sha256);
        h.update(b"abc");
        assert_eq!(
            h.finish()[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") (FIPS 180-2)"
        );
    }

    #[test]
    fn recognises_only_complete_digest_infos() {
        let d = DigestInfo::new(HashAlg::Sha384, &[7; 48]).unwrap();
        let back = DigestInfo::from_der(d.as_der()).unwrap();
        assert_eq!(back.alg(), HashAlg::Sha384);
        assert_eq!(back.as_der(), d.as_der());
        assert!(DigestInfo::from_der(&d.as_der()[..66]).is_none());
        assert!(DigestInfo::from_der(&[0u8; 32]).is_none());
    }

    #[test]
    fn builds_sha256_digest_info() {
        let d = DigestInfo::new(HashAlg::Sha256, &[0xAB; 32]).unwrap();
        assert_eq!(d.as_der().len(), 51);
        assert_eq!(&d.as_der()[..2], &[0x30, 0x31]);
        // The outer SEQUENCE length covers the rest of the encoding for every algorithm.
        for alg in [
            HashAlg::Sha1,
            HashAlg::Sha224,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let d = DigestInfo::new(alg, &vec![0; alg.digest_len()]).unwrap();
            assert_eq!(d.as_der()[1] as usize, d.as_der().len() - 2, "{alg:?}");
            assert_eq!(
                *d.as_der()
                    .get(d.as_der().len() - alg.digest_len() - 1)
                    .unwrap() as usize,
                alg.digest_len()
            );
        }
    }

    #[test]
    fn rejects_wrong_length() {
        let e = DigestInfo::new(HashAlg::Sha256, &[0; 20]).unwrap_err();
        assert_eq!(e.expected, 32);
    }
}
