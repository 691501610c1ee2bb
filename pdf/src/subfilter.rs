//! The two `/SubFilter` values (ISO 32000-1 §12.8.3.3, ETSI EN 319 142-1) this
//! crate writes and accepts: how the CMS in `/Contents` is to be read.
//!
//! Any other value (`adbe.x509.rsa_sha1`, `adbe.pkcs7.sha1`, `ETSI.RFC3161`
//! document timestamps) is neither written nor verified.

/// A supported `/SubFilter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubFilter {
    /// `adbe.pkcs7.detached`: a detached CMS over the ByteRange (the classic
    /// PDF signature, with signingTime).
    AdbePkcs7Detached,
    /// `ETSI.CAdES.detached`: PAdES (baseline B-B, B-T with a timestamp);
    /// requires the ESS signing-certificate-v2 attribute.
    EtsiCadesDetached,
}

impl SubFilter {
    /// The PDF name, without the slash.
    pub fn as_str(self) -> &'static str {
        match self {
            SubFilter::AdbePkcs7Detached => "adbe.pkcs7.detached",
            SubFilter::EtsiCadesDetached => "ETSI.CAdES.detached",
        }
    }

    /// The supported value named `name` (without the slash), if it is one.
    pub fn from_name(name: &str) -> Option<SubFilter> {
        [SubFilter::AdbePkcs7Detached, SubFilter::EtsiCadesDetached]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for SubFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for s in [SubFilter::AdbePkcs7Detached, SubFilter::EtsiCadesDetached] {
            assert_eq!(SubFilter::from_name(s.as_str()), Some(s));
        }
        assert_eq!(SubFilter::from_name("adbe.x509.rsa_sha1"), None);
        assert_eq!(SubFilter::from_name("etsi.cades.detached"), None);
    }
}
