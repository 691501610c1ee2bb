//! What kind of JPKI token a card is, from the label in EF 0006 (spec §1, §13).
//! The ATR is not used: contactless readers synthesise their own.

use std::fmt;

/// The JPKI token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// `JPKIAPICCTOKEN2`: a physical My Number card.
    MyNumberCard,
    /// `JPKIAPGPSETOKEN`: スマホ用電子証明書 on Android.
    SmartphoneAndroid,
    /// `JPKIAPIOSTOKEN`: スマホ用電子証明書 on iPhone.
    SmartphoneIos,
    /// `JPKIAPICCTOKEN`: an old 住民基本台帳カード.
    JukiCard,
    /// Any other label.
    Unknown(String),
}

impl TokenKind {
    /// Classifies the first 32 bytes of EF 0006 (space/NUL padded ASCII).
    pub fn from_label(raw: &[u8]) -> TokenKind {
        let end = raw
            .iter()
            .rposition(|b| *b != b' ' && *b != 0)
            .map_or(0, |i| i + 1);
        let label = String::from_utf8_lossy(&raw[..end]).into_owned();
        match label.as_str() {
            "JPKIAPICCTOKEN2" => TokenKind::MyNumberCard,
            "JPKIAPGPSETOKEN" => TokenKind::SmartphoneAndroid,
            "JPKIAPIOSTOKEN" => TokenKind::SmartphoneIos,
            "JPKIAPICCTOKEN" => TokenKind::JukiCard,
            _ => TokenKind::Unknown(label),
        }
    }

    /// Whether jpki works with this token.
    pub fn is_supported(&self) -> bool {
        matches!(
            self,
            TokenKind::MyNumberCard | TokenKind::SmartphoneAndroid | TokenKind::SmartphoneIos
        )
    }

    /// Whether the auth certificate needs the auth PIN before it can be read.
    pub fn auth_cert_needs_pin(&self) -> bool {
        matches!(
            self,
            TokenKind::SmartphoneAndroid | TokenKind::SmartphoneIos
        )
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::MyNumberCard => f.write_str("a My Number card (JPKIAPICCTOKEN2)"),
            TokenKind::SmartphoneAndroid => {
                f.write_str("a smartphone JPKI certificate, Android (JPKIAPGPSETOKEN)")
            }
            TokenKind::SmartphoneIos => {
                f.write_str("a smartphone JPKI certificate, iPhone (JPKIAPIOSTOKEN)")
            }
            TokenKind::JukiCard => {
                f.write_str("an old Juki card (住民基本台帳カード, JPKIAPICCTOKEN)")
            }
            TokenKind::Unknown(l) => write!(f, "an unknown JPKI token ({l:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let mut l = b"JPKIAPICCTOKEN2".to_vec();
        l.resize(32, b' ');
        assert_eq!(TokenKind::from_label(&l), TokenKind::MyNumberCard);
        let mut l = b"JPKIAPICCTOKEN".to_vec();
        l.resize(32, 0);
        assert_eq!(TokenKind::from_label(&l), TokenKind::JukiCard);
        assert!(!TokenKind::JukiCard.is_supported());
        assert_eq!(
            TokenKind::from_label(b"XYZ  "),
            TokenKind::Unknown("XYZ".into())
        );
    }
}
