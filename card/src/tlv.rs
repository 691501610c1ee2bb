//! BER tag-length headers, as the card's files use them (certificates' DER
//! `30 82 …`, the text AP's `FF 20 …` and `DF 2x …` with two-byte tags).
//!
//! Hand-written because the card's private-class tags written in high-tag-number
//! form with a non-minimal encoding (`FF 10`) are rejected by strict DER crates
//! (spec §8.2), and three short functions are all that is needed.

use std::ops::Range;

/// The header of one TLV at the start of `b`: (tag bytes, value range).
/// The value range may run past `b` (the rest not read yet); lengths up to 3 bytes.
pub(crate) fn header(b: &[u8]) -> Option<(&[u8], Range<usize>)> {
    let mut i = 1;
    if b.first()? & 0x1F == 0x1F {
        while b.get(i)? & 0x80 != 0 {
            i += 1;
        }
        i += 1;
    }
    let tag = b.get(..i)?;
    let l0 = *b.get(i)? as usize;
    i += 1;
    let n = l0.saturating_sub(0x80);
    let len = match l0 {
        0..=0x7F => l0,
        0x81..=0x83 => b
            .get(i..i + n)?
            .iter()
            .fold(0, |a, x| (a << 8) | *x as usize),
        _ => return None,
    };
    i += n;
    Some((tag, i..i.checked_add(len)?))
}

/// Total length (header + value) of the TLV starting `b`.
pub(crate) fn total_len(b: &[u8]) -> Option<usize> {
    header(b).map(|(_, v)| v.end)
}

/// The complete TLV at `pos` in `b`: (tag, value range in `b`); `None` if truncated.
pub(crate) fn at(b: &[u8], pos: usize) -> Option<(&[u8], Range<usize>)> {
    let (tag, v) = header(b.get(pos..)?)?;
    let v = pos + v.start..pos + v.end;
    (v.end <= b.len()).then_some((tag, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(total_len(&[0x30, 0x82, 0x06, 0x2B]), Some(0x62B + 4));
        assert_eq!(total_len(&[0x30, 0x81, 0x90]), Some(0x90 + 3));
        assert_eq!(total_len(&[0x30, 0x05]), Some(7));
        assert_eq!(total_len(&[0xFF, 0x20, 0x56]), Some(0x56 + 3));
        assert_eq!(total_len(&[0xFF, 0x30, 0x82, 0x01, 0x4B]), Some(0x14B + 5));
        assert_eq!(total_len(&[0x30]), None);
        assert_eq!(total_len(&[0x30, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(total_len(&[0xFF, 0xFF]), None);
        assert_eq!(total_len(&[0x30, 0x82, 0x06]), None);
    }

    #[test]
    fn complete_tlv() {
        let b = [0xDF, 0x22, 0x02, b'a', b'b', 0xDF, 0x23, 0x05, b'x'];
        let (tag, v) = at(&b, 0).unwrap();
        assert_eq!((tag, v), (&[0xDF, 0x22][..], 3..5));
        assert!(at(&b, 5).is_none(), "truncated value");
        assert!(at(&b, 100).is_none());
    }
}
