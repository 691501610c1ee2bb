//! PIN types that validate themselves, and the tries counter.
//!
//! A [`SignPassword`] can only be built from 6–16 characters of `A–Z0–9`
//! (lower-case input is upper-cased first, as every careful client does — the
//! card compares bytes and a lower-case password would just cost a try). An
//! [`AuthPin`] or [`TextPin`] is exactly 4 digits. Values live in zeroizing
//! buffers and never appear in `Debug` output.

use crate::error::CardError;
use std::fmt;
use zeroize::Zeroizing;

/// Which secret of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// 利用者証明用暗証番号: 4 digits, 3 tries.
    Auth,
    /// 署名用パスワード: 6–16 of A–Z0–9, 5 tries.
    Sign,
    /// 券面事項入力補助用暗証番号: 4 digits, 3 tries.
    Text,
}

impl PinKind {
    /// The counter's maximum on a real card.
    pub fn max_tries(self) -> u8 {
        match self {
            PinKind::Auth | PinKind::Text => 3,
            PinKind::Sign => 5,
        }
    }

    /// File id of the PIN IEF.
    pub(crate) fn fid(self) -> u16 {
        match self {
            PinKind::Auth => 0x0018,
            PinKind::Sign => 0x001B,
            PinKind::Text => 0x0011,
        }
    }

    /// Short name for command lines and JSON.
    pub fn id(self) -> &'static str {
        match self {
            PinKind::Auth => "auth",
            PinKind::Sign => "sign",
            PinKind::Text => "text",
        }
    }
}

impl fmt::Display for PinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinKind::Auth => "auth PIN (利用者証明用暗証番号)",
            PinKind::Sign => "sign password (署名用パスワード)",
            PinKind::Text => "text PIN (券面事項入力補助用暗証番号)",
        })
    }
}

/// Tries left on a PIN counter. 0 means blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tries(u8);

impl Tries {
    /// From the `x` of a `63 Cx` status word.
    pub fn new(n: u8) -> Tries {
        Tries(n)
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// No tries left.
    pub fn is_blocked(self) -> bool {
        self.0 == 0
    }

    /// The next wrong PIN blocks the card.
    pub fn is_last(self) -> bool {
        self.0 == 1
    }
}

impl fmt::Display for Tries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 try"),
            n => write!(f, "{n} tries"),
        }
    }
}

/// Whether a VERIFY may spend the very last try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastTry {
    /// Refuse when only one try is left (the default).
    #[default]
    Refuse,
    /// The user explicitly asked to spend it.
    Allow,
}

/// A secret that can be presented to the card.
pub trait Secret: fmt::Debug {
    /// Which PIN it is.
    fn kind(&self) -> PinKind;
    /// The bytes the card compares (ASCII, no padding).
    fn bytes(&self) -> &[u8];
}

macro_rules! digit_pin {
    ($name:ident, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(Zeroizing<Vec<u8>>);

        impl $name {
            /// Validates the format offline: exactly 4 ASCII digits.
            pub fn new(s: &str) -> Result<Self, CardError> {
                let s = s.trim_end_matches(['\r', '\n']);
                if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CardError::BadPinFormat {
                        pin: $kind,
                        reason: "must be exactly 4 digits",
                    });
                }
                Ok($name(Zeroizing::new(s.as_bytes().to_vec())))
            }
        }

        impl Secret for $name {
            fn kind(&self) -> PinKind {
                $kind
            }
            fn bytes(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(****)"))
            }
        }
    };
}

digit_pin!(
    AuthPin,
    PinKind::Auth,
    "The 4-digit 利用者証明用暗証番号 (auth key PIN)."
);
digit_pin!(
    TextPin,
    PinKind::Text,
    "The 4-digit 券面事項入力補助用暗証番号 (text AP PIN)."
);

/// The 6–16 character 署名用パスワード (sign key password), upper-cased.
pub struct SignPassword(Zeroizing<Vec<u8>>);

impl SignPassword {
    /// Upper-cases ASCII letters, then checks 6–16 characters of `A–Z0–9`.
    pub fn new(s: &str) -> Result<SignPassword, CardError> {
        let s = s.trim_end_matches(['\r', '\n']);
        let v = Zeroizing::new(s.to_ascii_uppercase().into_bytes());
        let bad = |reason| CardError::BadPinFormat {
            pin: PinKind::Sign,
            reason,
        };
        if !v
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(bad("may contain only letters A-Z and digits 0-9"));
        }
        if !(6..=16).contains(&v.len()) {
            return Err(bad("must be 6 to 16 characters long"));
        }
        Ok(SignPassword(v))
    }
}

impl Secret for SignPassword {
    fn kind(&self) -> PinKind {
        PinKind::Sign
    }
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SignPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignPassword(****)")
    }
}

/// A secret of either JPKI key, chosen at run time (the CLI's `--key`).
#[derive(Debug)]
pub enum AnyPin {
    /// Auth PIN.
    Auth(AuthPin),
    /// Sign password.
    Sign(SignPassword),
    /// Text-AP PIN.
    Text(TextPin),
}

impl AnyPin {
    /// Parses `s` as the secret of `kind`.
    pub fn new(kind: PinKind, s: &str) -> Result<AnyPin, CardError> {
        Ok(match kind {
            PinKind::Auth => AnyPin::Auth(AuthPin::new(s)?),
            PinKind::Sign => AnyPin::Sign(SignPassword::new(s)?),
            PinKind::Text => AnyPin::Text(TextPin::new(s)?),
        })
    }
}

impl Secret for AnyPin {
    fn kind(&self) -> PinKind {
        match self {
            AnyPin::Auth(p) => p.kind(),
            AnyPin::Sign(p) => p.kind(),
            AnyPin::Text(p) => p.kind(),
        }
    }
    fn bytes(&self) -> &[u8] {
        match self {
            AnyPin::Auth(p) => p.bytes(),
            AnyPin::Sign(p) => p.bytes(),
            AnyPin::Text(p) => p.bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_password_is_upper_cased_and_validated() {
        assert_eq!(SignPassword::new("abc123").unwrap().bytes(), b"ABC123");
        assert_eq!(SignPassword::new("ABC123\n").unwrap().bytes(), b"ABC123");
        assert!(SignPassword::new("ABC12").is_err());
        assert!(SignPassword::new("ABCDEFGHIJKLMNOPQ").is_err());
        assert!(SignPassword::new("ABC-123").is_err());
        assert!(SignPassword::new("ＡＢＣ１２３").is_err());
        let e = SignPassword::new("abc").unwrap_err().to_string();
        assert!(e.contains("6 to 16") && e.contains("no try spent"), "{e}");
    }

    #[test]
    fn digit_pins_are_exactly_four_digits() {
        assert!(AuthPin::new("1234").is_ok());
        assert!(AuthPin::new("123").is_err());
        assert!(AuthPin::new("12345").is_err());
        assert!(TextPin::new("12a4").is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = format!(
            "{:?} {:?}",
            AuthPin::new("9876").unwrap(),
            SignPassword::new("SECRET9").unwrap()
        );
        assert!(!s.contains("9876") && !s.contains("SECRET9"), "{s}");
    }

    #[test]
    fn tries_display() {
        assert_eq!(Tries::new(1).to_string(), "1 try");
        assert_eq!(Tries::new(3).to_string(), "3 tries");
        assert!(Tries::new(0).is_blocked());
    }
}
