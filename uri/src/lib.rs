//! The names by which software reaches the My Number card's objects.
//!
//! * [`JpkiUri`]: `jpki:auth`, `jpki:sign`, `jpki:auth-ca`, `jpki:sign-ca`, `jpki:` (all), with
//!   optional query attributes `reader=` (reader-name substring), `pin-source=` (`file:/path` or
//!   `env:NAME`, the way RFC 7512 `pkcs11:` URIs name a PIN source), `last-try=allow` and
//!   `pss=card` (use the card's RSA-PSS mode).
//! * [`pem_uri`]: a small PEM file that *contains* such a URI, for programs that only accept a
//!   private-key file (nginx 1.22, curl 7.88). The OpenSSL provider's decoder turns it into the
//!   card key; `jpki-sign uri-key` writes it.
//!
//! ```
//! use jpki_uri::{JpkiUri, Object, UriError};
//!
//! let uri = JpkiUri::parse("jpki:sign?reader=ACR39&last-try=allow")?;
//! assert_eq!(uri.object, Object::Sign);
//! assert_eq!(uri.reader.as_deref(), Some("ACR39"));
//! assert!(uri.allow_last_try);
//! // A PIN value has no place in a URI.
//! assert!(JpkiUri::parse("jpki:auth?pin-value=1234").is_err());
//! # Ok::<(), UriError>(())
//! ```
//!
//! Shared by the provider and the CLI so both accept exactly the same spelling. This crate does
//! not touch the card and refuses URIs that carry a PIN value: a secret in a URI ends up in shell
//! history, process lists and logs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod pem_uri;

use percent_encoding::percent_decode_str;
use std::fmt;

/// The URI scheme (also the OpenSSL store loader's name).
pub const SCHEME: &str = "jpki";

/// What a `jpki:` URI points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// `jpki:` — every object (listing).
    All,
    /// `jpki:auth` — user-authentication key and certificate (4-digit PIN).
    Auth,
    /// `jpki:sign` — signature key and certificate (sign password).
    Sign,
    /// `jpki:auth-ca` — the CA certificate of the authentication certificate.
    AuthCa,
    /// `jpki:sign-ca` — the CA certificate of the signature certificate.
    SignCa,
}

impl Object {
    /// The path part of the URI (`auth`, `sign`, …; empty for [`Object::All`]).
    pub fn path(self) -> &'static str {
        match self {
            Object::All => "",
            Object::Auth => "auth",
            Object::Sign => "sign",
            Object::AuthCa => "auth-ca",
            Object::SignCa => "sign-ca",
        }
    }

    /// Whether the object has a private key.
    pub fn is_key(self) -> bool {
        matches!(self, Object::Auth | Object::Sign)
    }
}

/// Where a PIN comes from: the one type of the workspace (jpki-pin-source). A URI names only
/// the unattended forms `file:` and `env:` (see [`parse_pin_source`]).
pub use jpki_pin_source::PinSource;

/// Parses the `pin-source=` value of a URI or of the provider's configuration: `file:/path` or
/// `env:NAME`, every character as written (no `=` in a variable name). A prompt program is not
/// accepted here: the programs that load `jpki:` keys (servers among them) have their own way
/// to ask.
pub fn parse_pin_source(s: &str) -> Result<PinSource, UriError> {
    match PinSource::parse_exact(s) {
        Ok(src @ (PinSource::File(_) | PinSource::Env(_))) => Ok(src),
        _ => Err(UriError::BadPinSource),
    }
}

/// A parsed `jpki:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpkiUri {
    /// What it names.
    pub object: Object,
    /// `reader=`: use the reader whose name contains this text.
    pub reader: Option<String>,
    /// `pin-source=`: read the PIN from here instead of asking.
    pub pin_source: Option<PinSource>,
    /// `last-try=allow`: allow spending the very last PIN try.
    pub allow_last_try: bool,
    /// `pss=card`: use the card's RSA-PSS mode (spec §7.2, unconfirmed on some cards) when a
    /// program asks for PSS (TLS 1.3). `None` = what the provider config says.
    pub pss: Option<bool>,
}

/// Why a string is not a usable `jpki:` URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Not `jpki:` at all.
    #[error(
        "not a jpki: URI (expected jpki:auth, jpki:sign, jpki:auth-ca, jpki:sign-ca or jpki:)"
    )]
    NotJpki,
    /// The path names no object.
    #[error("jpki: URI names an unknown object \"{0}\" (expected auth, sign, auth-ca, sign-ca, or nothing to list all)")]
    UnknownObject(String),
    /// A query attribute we do not know (we refuse rather than ignore: a typo in `pin-source`
    /// would otherwise silently fall back to prompting).
    #[error(
        "jpki: URI has an unknown attribute \"{0}\" (known: reader, pin-source, last-try, pss)"
    )]
    UnknownAttribute(String),
    /// A PIN value in the URI.
    #[error(
        "jpki: URIs never carry a PIN value; use pin-source=file:/path or pin-source=env:NAME"
    )]
    PinValue,
    /// `pin-source=` with an unknown form. Its value is never repeated: a PIN written where
    /// `file:`/`env:` belonged would otherwise end up in an error message or a log.
    #[error("jpki: pin-source must be file:/path or env:NAME (the value given is not shown: it may be a PIN)")]
    BadPinSource,
    /// `last-try=` other than allow/refuse.
    #[error("jpki: URI last-try must be \"allow\" or \"refuse\"")]
    BadLastTry,
    /// `pss=` other than card/refuse.
    #[error("jpki: URI pss must be \"card\" (use the card's RSA-PSS mode) or \"refuse\"")]
    BadPss,
    /// Bad percent-encoding.
    #[error("jpki: URI attribute is not valid UTF-8 after percent-decoding")]
    BadEncoding,
}

impl JpkiUri {
    /// A URI for `object` with no attributes.
    pub fn new(object: Object) -> JpkiUri {
        JpkiUri {
            object,
            reader: None,
            pin_source: None,
            allow_last_try: false,
            pss: None,
        }
    }

    /// Parses `jpki:OBJECT[?attr=value&…]` (also `jpki://OBJECT…`, which OpenSSL does not try
    /// as a file name first).
    pub fn parse(s: &str) -> Result<JpkiUri, UriError> {
        let rest = s
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or(UriError::NotJpki)?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let path = path.trim_end_matches('/');
        let object = match path {
            "" => Object::All,
            "auth" => Object::Auth,
            "sign" => Object::Sign,
            "auth-ca" => Object::AuthCa,
            "sign-ca" => Object::SignCa,
            other => return Err(UriError::UnknownObject(other.to_string())),
        };
        let mut uri = JpkiUri::new(object);
        for attr in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
        {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let v = percent_decode_str(v)
                .decode_utf8()
                .map_err(|_| UriError::BadEncoding)?;
            match k {
                "reader" => uri.reader = Some(v.into_owned()).filter(|r| !r.is_empty()),
                "pin-source" => uri.pin_source = Some(parse_pin_source(&v)?),
                "last-try" => {
                    uri.allow_last_try = match &*v {
                        "allow" => true,
                        "refuse" => false,
                        _ => return Err(UriError::BadLastTry),
                    }
                }
                "pss" => {
                    uri.pss = Some(match &*v {
                        "card" => true,
                        "refuse" => false,
                        _ => return Err(UriError::BadPss),
                    })
                }
                "pin-value" | "pin" | "password" => return Err(UriError::PinValue),
                other => return Err(UriError::UnknownAttribute(other.to_string())),
            }
        }
        Ok(uri)
    }

    /// The URI without attributes, e.g. `jpki:auth` — safe to show in messages.
    pub fn base(&self) -> String {
        format!("{SCHEME}:{}", self.object.path())
    }
}

impl fmt::Display for JpkiUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
        const ATTR: &AsciiSet = &CONTROLS.add(b' ').add(b'&').add(b'?').add(b'%').add(b'#');
        write!(f, "{}", self.base())?;
        let mut sep = '?';
        if let Some(r) = &self.reader {
            write!(f, "{sep}reader={}", utf8_percent_encode(r, ATTR))?;
            sep = '&';
        }
        if let Some(p) = &self.pin_source {
            write!(
                f,
                "{sep}pin-source={}",
                utf8_percent_encode(&p.to_string(), ATTR)
            )?;
            sep = '&';
        }
        if self.allow_last_try {
            write!(f, "{sep}last-try=allow")?;
            sep = '&';
        }
        if let Some(p) = self.pss {
            write!(f, "{sep}pss={}", if p { "card" } else { "refuse" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objects_and_attributes() {
        assert_eq!(JpkiUri::parse("jpki:").map(|u| u.object), Ok(Object::All));
        assert_eq!(
            JpkiUri::parse("jpki://sign").map(|u| u.object),
            Ok(Object::Sign)
        );
        let u = JpkiUri::parse(
            "jpki:auth?reader=ACS%20ACR&pin-source=file:/run/pin&last-try=allow&pss=card",
        )
        .unwrap();
        assert_eq!(u.object, Object::Auth);
        assert_eq!(u.reader.as_deref(), Some("ACS ACR"));
        assert_eq!(u.pin_source, Some(PinSource::File("/run/pin".into())));
        assert!(u.allow_last_try);
        assert_eq!(u.pss, Some(true));
        assert_eq!(JpkiUri::parse(&u.to_string()), Ok(u));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert_eq!(JpkiUri::parse("pkcs11:token=x"), Err(UriError::NotJpki));
        assert_eq!(JpkiUri::parse("jpki"), Err(UriError::NotJpki));
        assert!(matches!(
            JpkiUri::parse("jpki:signature"),
            Err(UriError::UnknownObject(_))
        ));
        assert_eq!(
            JpkiUri::parse("jpki:sign?pin-value=ABC123"),
            Err(UriError::PinValue)
        );
        assert!(matches!(
            JpkiUri::parse("jpki:sign?pin-sorce=file:/x"),
            Err(UriError::UnknownAttribute(_))
        ));
        assert!(matches!(
            JpkiUri::parse("jpki:sign?pin-source=/x"),
            Err(UriError::BadPinSource)
        ));
        for unattended_only in [
            "pinentry",
            "pinentry:/usr/bin/pinentry",
            " file:/x",
            "env:A=B",
        ] {
            assert_eq!(
                parse_pin_source(unattended_only),
                Err(UriError::BadPinSource),
                "{unattended_only}"
            );
        }
        assert_eq!(
            parse_pin_source("file:/a "),
            Ok(PinSource::File("/a ".into()))
        );
        let e = JpkiUri::parse("jpki:sign?pin-source=ABC123").unwrap_err();
        assert_eq!(e, UriError::BadPinSource);
        assert!(!e.to_string().contains("ABC123"), "{e}");
        assert_eq!(
            JpkiUri::parse("jpki:sign?last-try=yes"),
            Err(UriError::BadLastTry)
        );
        assert_eq!(
            JpkiUri::parse("jpki:sign?reader=%FF"),
            Err(UriError::BadEncoding)
        );
    }
}
