//! 券面事項入力補助AP (text AP): the 基本4情報 (name, address, birth date, sex).
//!
//! This is personal data. It is read only when a caller asks, is never logged,
//! and its `Debug` output is redacted.

use crate::error::{CardError, Result};
use crate::pin::{LastTry, TextPin};
use crate::session::{Ap, Session};
use crate::tlv;

/// Name, address, birth date and sex as the card stores them (spec §8.3).
#[derive(Clone, PartialEq, Eq)]
pub struct Basic4 {
    /// Family and given name, separated by U+3000.
    pub name: String,
    /// Address from the prefecture on.
    pub address: String,
    /// Birth date `YYYYMMDD`.
    pub birth: String,
    /// ISO 5218 sex digit (`1` male, `2` female, `9` not applicable, `0` unknown).
    pub sex: String,
}

impl std::fmt::Debug for Basic4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Basic4{<personal data redacted>}")
    }
}

/// Parses EF 0002 (`FF20 { DF21 … DF25 }`), tolerating any field order.
pub fn parse_basic4(ef: &[u8]) -> Option<Basic4> {
    let (tag, outer) = tlv::at(ef, 0)?;
    if tag != [0xFF, 0x20] {
        return None;
    }
    let mut pos = outer.start;
    let (mut name, mut address, mut birth, mut sex) = (None, None, None, None);
    while pos < outer.end {
        let (tag, v) = tlv::at(&ef[..outer.end], pos)?;
        let s = || String::from_utf8(ef[v.clone()].to_vec()).ok();
        match tag {
            [0xDF, 0x22] => name = s(),
            [0xDF, 0x23] => address = s(),
            [0xDF, 0x24] => birth = s(),
            [0xDF, 0x25] => sex = s(),
            _ => {}
        }
        pos = v.end;
    }
    Some(Basic4 {
        name: name?,
        address: address?,
        birth: birth?,
        sex: sex?,
    })
}

impl Session<'_> {
    /// Verifies the text-AP PIN and reads the 基本4情報.
    pub fn read_basic4(&mut self, pin: &TextPin, last_try: LastTry) -> Result<Basic4> {
        self.verify(pin, last_try)?;
        self.select_ap(Ap::Text)?;
        self.select_ef(0x0002, "SELECT of the basic information (EF 0002)")?;
        let what = "the basic information (基本4情報)";
        let ef = self.read_tlv(what, Some(crate::pin::PinKind::Text))?;
        parse_basic4(&ef).ok_or(CardError::Malformed { what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// spec §8.3 worked example (fictitious data).
    pub(crate) const SPEC_EXAMPLE: &str = "FF 20 56 DF 21 08 00 0E 00 20 00 4A 00 55 \
        DF 22 0F E5 B1 B1 E7 94 B0 E3 80 80 E5 A4 AA E9 83 8E \
        DF 23 27 E6 9D B1 E4 BA AC E9 83 BD E5 8D 83 E4 BB A3 E7 94 B0 E5 8C BA \
        E5 8D 83 E4 BB A3 E7 94 B0 EF BC 91 EF BC 8D EF BC 91 \
        DF 24 08 31 39 39 30 30 31 30 31 DF 25 01 32";

    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect()
    }

    #[test]
    fn parses_the_spec_example() {
        let b = unhex(SPEC_EXAMPLE);
        assert_eq!(b.len(), 89);
        let b4 = parse_basic4(&b).expect("spec example parses");
        assert_eq!(b4.name, "山田\u{3000}太郎");
        assert_eq!(b4.address, "東京都千代田区千代田１－１");
        assert_eq!(b4.birth, "19900101");
        assert_eq!(b4.sex, "2");
        assert!(!format!("{b4:?}").contains("山田"));
    }

    #[test]
    #[cfg(feature = "virtual")]
    fn simulator_writes_the_spec_layout() {
        // The simulator builds EF 0002 independently; for the spec's person it
        // must produce the spec's bytes, offsets table included.
        let p = jpki_card_sim::Person {
            name: "山田\u{3000}太郎".into(),
            address: "東京都千代田区千代田１－１".into(),
            birth: "19900101".into(),
            sex: '2',
            my_number: "123456789018".into(),
        };
        assert_eq!(jpki_card_sim::files::basic4_ef(&p), unhex(SPEC_EXAMPLE));
    }

    #[test]
    fn rejects_truncated_or_foreign_data() {
        let b = unhex(SPEC_EXAMPLE);
        for n in 0..b.len() {
            assert!(
                parse_basic4(&b[..n]).is_none(),
                "prefix of {n} bytes parsed"
            );
        }
        assert!(parse_basic4(&[0xFF, 0x21, 0x00]).is_none());
    }
}
