//! The objects of a token and their attributes.
//!
//! Each token (one key) holds four objects with fixed handles: the key's certificate, its
//! public key, its private key (all three with the same `CKA_ID`, how consumers pair them)
//! and the CA certificate. The sign certificate can only be read after the sign password, so
//! the sign token's certificate and keys are private objects (visible after `C_Login`); the
//! auth token's private key is private too, its certificate and public key are not. With
//! `pin-at-sign` a token needs no login and shows everything.
//!
//! Attributes are computed on request; those that need the certificate read it then (once
//! per card). Nothing here can give out key material: the private key has none.

use crate::cert::Cert;
use crate::error::{rv, Result};
use cryptoki_sys::*;
use jpki_card::{CertKind, KeyKind};

/// An object of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The key's certificate.
    Cert,
    /// The key's public key.
    PublicKey,
    /// The key on the card.
    PrivateKey,
    /// The CA certificate of the key's certificate.
    CaCert,
}

const KINDS: [Kind; 4] = [Kind::Cert, Kind::PublicKey, Kind::PrivateKey, Kind::CaCert];

/// An object: which token, which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    pub key: KeyKind,
    pub kind: Kind,
}

impl Object {
    /// All objects of a token.
    pub fn of(key: KeyKind) -> impl Iterator<Item = Object> {
        KINDS.into_iter().map(move |kind| Object { key, kind })
    }

    /// The fixed handle.
    pub fn handle(self) -> CK_OBJECT_HANDLE {
        let base = match self.key {
            KeyKind::Auth => 0,
            KeyKind::Sign => 4,
        };
        let i = KINDS.iter().position(|k| *k == self.kind).unwrap_or(0);
        (base + i + 1) as CK_OBJECT_HANDLE
    }

    /// The object a handle names.
    pub fn from_handle(h: CK_OBJECT_HANDLE) -> Option<Object> {
        let i = usize::try_from(h).ok()?.checked_sub(1)?;
        let key = match i / 4 {
            0 => KeyKind::Auth,
            1 => KeyKind::Sign,
            _ => return None,
        };
        Some(Object {
            key,
            kind: *KINDS.get(i % 4)?,
        })
    }

    /// Whether the object is private (`CKA_PRIVATE`).
    pub fn is_private(self, pin_at_sign: bool) -> bool {
        if pin_at_sign {
            return false;
        }
        !matches!(
            (self.key, self.kind),
            (_, Kind::CaCert) | (KeyKind::Auth, Kind::Cert | Kind::PublicKey)
        )
    }

    /// The certificate this object's attributes come from.
    pub fn cert_kind(self) -> CertKind {
        match self.kind {
            Kind::CaCert => crate::token::ca_of(self.key),
            _ => crate::token::cert_of(self.key),
        }
    }

    /// Whether `attr` needs the certificate (else it is answered without the card).
    pub fn needs_cert(self, attr: CK_ATTRIBUTE_TYPE) -> bool {
        matches!(
            attr,
            CKA_VALUE
                | CKA_SUBJECT
                | CKA_ISSUER
                | CKA_SERIAL_NUMBER
                | CKA_MODULUS
                | CKA_PUBLIC_EXPONENT
                | CKA_MODULUS_BITS
        ) && !(self.kind == Kind::PrivateKey && attr == CKA_VALUE)
    }

    fn id(self) -> Vec<u8> {
        match (self.key, self.kind) {
            (KeyKind::Auth, Kind::CaCert) => vec![0x11],
            (KeyKind::Sign, Kind::CaCert) => vec![0x12],
            (KeyKind::Auth, _) => vec![0x01],
            (KeyKind::Sign, _) => vec![0x02],
        }
    }

    fn label(self) -> &'static str {
        match (self.key, self.kind) {
            (KeyKind::Auth, Kind::Cert) => "利用者証明用証明書 Auth certificate",
            (KeyKind::Auth, Kind::PublicKey) => "利用者証明用公開鍵 Auth public key",
            (KeyKind::Auth, Kind::PrivateKey) => "利用者証明用秘密鍵 Auth key",
            (KeyKind::Auth, Kind::CaCert) => "利用者証明用CA Auth CA",
            (KeyKind::Sign, Kind::Cert) => "署名用証明書 Sign certificate",
            (KeyKind::Sign, Kind::PublicKey) => "署名用公開鍵 Sign public key",
            (KeyKind::Sign, Kind::PrivateKey) => "署名用秘密鍵 Sign key",
            (KeyKind::Sign, Kind::CaCert) => "署名用CA Sign CA",
        }
    }
}

/// An attribute's value, or why there is none.
pub enum Value {
    /// The bytes.
    Bytes(Vec<u8>),
    /// The object has no such attribute.
    Invalid,
    /// The attribute exists and is never revealed.
    Sensitive,
}

/// Largest search value worth reading: no attribute here is longer (a certificate is ~2 KB).
const MAX_SEARCH_VALUE: CK_ULONG = 64 * 1024;

/// Whether a search template's value of `len` bytes could match `attr` at all. Values that
/// cannot are never read: a hostile or mistaken length (a `CKA_CLASS` said to be a gigabyte)
/// must not make the module read past the caller's buffer.
pub fn search_len_plausible(attr: CK_ATTRIBUTE_TYPE, len: CK_ULONG) -> bool {
    match attr {
        CKA_CLASS
        | CKA_KEY_TYPE
        | CKA_CERTIFICATE_TYPE
        | CKA_CERTIFICATE_CATEGORY
        | CKA_MODULUS_BITS
        | CKA_KEY_GEN_MECHANISM
        | CKA_JAVA_MIDP_SECURITY_DOMAIN => len as usize == std::mem::size_of::<CK_ULONG>(),
        CKA_TOKEN
        | CKA_PRIVATE
        | CKA_MODIFIABLE
        | CKA_COPYABLE
        | CKA_DESTROYABLE
        | CKA_TRUSTED
        | CKA_SIGN
        | CKA_VERIFY
        | CKA_ENCRYPT
        | CKA_DECRYPT
        | CKA_WRAP
        | CKA_UNWRAP
        | CKA_SIGN_RECOVER
        | CKA_VERIFY_RECOVER
        | CKA_DERIVE
        | CKA_LOCAL
        | CKA_SENSITIVE
        | CKA_EXTRACTABLE
        | CKA_ALWAYS_SENSITIVE
        | CKA_NEVER_EXTRACTABLE
        | CKA_ALWAYS_AUTHENTICATE
        | CKA_WRAP_WITH_TRUSTED => len == 1,
        _ => len <= MAX_SEARCH_VALUE,
    }
}

fn ulong(v: CK_ULONG) -> Value {
    Value::Bytes(v.to_ne_bytes().to_vec())
}

fn bool_(v: bool) -> Value {
    Value::Bytes(vec![if v { CK_TRUE } else { CK_FALSE }])
}

/// An attribute of `obj`. `cert` is there iff [`Object::needs_cert`] said so.
pub fn attribute(
    obj: Object,
    attr: CK_ATTRIBUTE_TYPE,
    private: bool,
    cert: Option<&Cert>,
) -> Result<Value> {
    let common = match attr {
        CKA_CLASS => Some(ulong(match obj.kind {
            Kind::Cert | Kind::CaCert => CKO_CERTIFICATE,
            Kind::PublicKey => CKO_PUBLIC_KEY,
            Kind::PrivateKey => CKO_PRIVATE_KEY,
        })),
        CKA_TOKEN => Some(bool_(true)),
        CKA_PRIVATE => Some(bool_(private)),
        CKA_MODIFIABLE | CKA_COPYABLE | CKA_DESTROYABLE => Some(bool_(false)),
        CKA_LABEL => Some(Value::Bytes(obj.label().as_bytes().to_vec())),
        CKA_ID => Some(Value::Bytes(obj.id())),
        _ => None,
    };
    if let Some(v) = common {
        return Ok(v);
    }
    if obj.needs_cert(attr) {
        let Some(c) = cert else {
            return rv(CKR_GENERAL_ERROR);
        };
        return Ok(match (obj.kind, attr) {
            (Kind::Cert | Kind::CaCert, CKA_VALUE) => Value::Bytes(c.der.clone()),
            (_, CKA_SUBJECT) => Value::Bytes(c.subject.clone()),
            (Kind::Cert | Kind::CaCert, CKA_ISSUER) => Value::Bytes(c.issuer.clone()),
            (Kind::Cert | Kind::CaCert, CKA_SERIAL_NUMBER) => Value::Bytes(c.serial.clone()),
            (Kind::PublicKey | Kind::PrivateKey, CKA_MODULUS) => Value::Bytes(c.n.clone()),
            (Kind::PublicKey | Kind::PrivateKey, CKA_PUBLIC_EXPONENT) => Value::Bytes(c.e.clone()),
            (Kind::PublicKey | Kind::PrivateKey, CKA_MODULUS_BITS) => ulong(c.bits() as CK_ULONG),
            _ => Value::Invalid,
        });
    }
    Ok(match obj.kind {
        Kind::Cert | Kind::CaCert => cert_attribute(obj, attr),
        Kind::PublicKey | Kind::PrivateKey => key_attribute(obj, attr),
    })
}

fn cert_attribute(obj: Object, attr: CK_ATTRIBUTE_TYPE) -> Value {
    match attr {
        CKA_CERTIFICATE_TYPE => ulong(CKC_X_509),
        CKA_TRUSTED => bool_(false),
        // 1 = token user, 2 = authority.
        CKA_CERTIFICATE_CATEGORY => ulong(if obj.kind == Kind::CaCert { 2 } else { 1 }),
        CKA_JAVA_MIDP_SECURITY_DOMAIN => ulong(0),
        CKA_START_DATE
        | CKA_END_DATE
        | CKA_URL
        | CKA_HASH_OF_SUBJECT_PUBLIC_KEY
        | CKA_HASH_OF_ISSUER_PUBLIC_KEY => Value::Bytes(Vec::new()),
        _ => Value::Invalid,
    }
}

fn key_attribute(obj: Object, attr: CK_ATTRIBUTE_TYPE) -> Value {
    let private = obj.kind == Kind::PrivateKey;
    match attr {
        CKA_KEY_TYPE => ulong(CKK_RSA),
        CKA_LOCAL | CKA_DERIVE | CKA_ENCRYPT | CKA_DECRYPT | CKA_WRAP | CKA_UNWRAP
        | CKA_SIGN_RECOVER | CKA_VERIFY_RECOVER => bool_(false),
        CKA_START_DATE | CKA_END_DATE => Value::Bytes(Vec::new()),
        CKA_KEY_GEN_MECHANISM => ulong(CK_UNAVAILABLE_INFORMATION),
        CKA_SIGN if private => bool_(true),
        CKA_VERIFY if !private => bool_(true),
        CKA_TRUSTED if !private => bool_(false),
        CKA_SENSITIVE | CKA_ALWAYS_SENSITIVE | CKA_NEVER_EXTRACTABLE if private => bool_(true),
        CKA_EXTRACTABLE | CKA_WRAP_WITH_TRUSTED if private => bool_(false),
        // No context-specific login: see the README (the PIN is presented at each signature).
        CKA_ALWAYS_AUTHENTICATE if private => bool_(false),
        CKA_PRIVATE_EXPONENT | CKA_PRIME_1 | CKA_PRIME_2 | CKA_EXPONENT_1 | CKA_EXPONENT_2
        | CKA_COEFFICIENT
            if private =>
        {
            Value::Sensitive
        }
        _ => Value::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_junk_is_refused() {
        for key in [KeyKind::Auth, KeyKind::Sign] {
            for o in Object::of(key) {
                assert_eq!(Object::from_handle(o.handle()), Some(o));
            }
        }
        for h in [0, 9, 100, CK_ULONG::MAX] {
            assert_eq!(Object::from_handle(h), None, "{h}");
        }
    }

    #[test]
    fn private_exponent_is_sensitive_and_unknown_attributes_invalid() {
        let o = Object {
            key: KeyKind::Auth,
            kind: Kind::PrivateKey,
        };
        assert!(matches!(
            attribute(o, CKA_PRIVATE_EXPONENT, true, None).unwrap(),
            Value::Sensitive
        ));
        assert!(matches!(
            attribute(o, 0x7fff_0000, true, None).unwrap(),
            Value::Invalid
        ));
        assert!(!o.needs_cert(CKA_VALUE));
    }
}
