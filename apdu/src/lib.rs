//! ISO/IEC 7816-4 command and response APDUs, as the JPKI card speaks them.
//!
//! This crate is the one thing the card client (`jpki-card`) and the simulator
//! (`jpki-card-sim`) share, so that the simulator stays an independent
//! implementation of the card: it holds encoding and parsing only, no JPKI
//! knowledge. It refuses to build an APDU whose data or Le does not fit the
//! ISO length rules (short: Lc ≤ 255, Le ≤ 256; extended: Lc ≤ 65535, Le ≤ 65536).
//!
//! Parsing is total: any byte string gives either a [`Command`] or an
//! [`ApduError`], never a panic — the simulator parses whatever vpcd hands it.
//!
//! ```
//! use jpki_apdu::{ApduError, Command, Le, Response, StatusWord};
//!
//! // READ BINARY of 1000 bytes at offset 255: Le > 256 needs the extended form.
//! let le = Le::new(1000).expect("1000 fits an extended Le");
//! let cmd = Command::new(0x00, 0xB0, 0x00, 0xFF).with_le(le).extended();
//! assert_eq!(cmd.to_bytes()?.as_slice(), &[0x00, 0xB0, 0x00, 0xFF, 0x00, 0x03, 0xE8]);
//! let r = Response::parse(&[0x30, 0x82, 0x90, 0x00])?;
//! assert_eq!((r.data.as_slice(), r.sw), (&[0x30, 0x82][..], StatusWord::OK));
//! # Ok::<(), ApduError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

/// Why bytes could not be read as, or a command could not be encoded into, an APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// Fewer than the 4 header bytes.
    #[error("APDU shorter than its 4-byte header ({0} bytes)")]
    TooShort(usize),
    /// Lc/Le bytes that do not add up to the APDU's length.
    #[error("APDU length fields do not match its size ({0} bytes)")]
    BadLength(usize),
    /// Data or expected length larger than ISO 7816-4 allows.
    #[error("APDU data of {0} bytes is longer than an extended APDU can carry")]
    DataTooLong(usize),
    /// A response needs at least SW1 SW2.
    #[error("card response shorter than its 2-byte status word ({0} bytes)")]
    ResponseTooShort(usize),
}

/// How many response bytes a command asks for (`Le`). `None` on a [`Command`]
/// means no Le field at all (ISO case 1 or 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Le(u32);

impl Le {
    /// Short `Le = 00`: up to 256 bytes.
    pub const MAX_SHORT: Le = Le(256);
    /// Extended `Le = 00 00`: up to 65536 bytes.
    pub const MAX_EXTENDED: Le = Le(65536);

    /// An Le of `n` bytes (1..=65536); `None` for 0 or more than 65536.
    pub fn new(n: u32) -> Option<Le> {
        (1..=65536).contains(&n).then_some(Le(n))
    }

    /// Number of bytes asked for.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (empty = no Lc field).
    pub data: Vec<u8>,
    /// Expected response length (`None` = no Le field).
    pub le: Option<Le>,
    /// Whether the command was (or must be) sent with extended length fields.
    pub extended: bool,
}

impl fmt::Debug for Command {
    // Debug deliberately omits the data bytes: a VERIFY or CHANGE carries a PIN,
    // and Debug output ends up in logs and panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, le={:?}{})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le.map(Le::get),
            if self.extended { ", extended" } else { "" }
        )
    }
}

impl Drop for Command {
    // The data of a VERIFY or CHANGE REFERENCE DATA is a PIN: no copy outlives the command.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

impl Command {
    /// A command with no data and no Le (ISO case 1).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Command {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
            extended: false,
        }
    }

    /// Adds command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Command {
        self.data = data.into();
        self
    }

    /// Adds an Le field.
    pub fn with_le(mut self, le: Le) -> Command {
        self.le = Some(le);
        self
    }

    /// Forces extended length encoding even where short would fit.
    pub fn extended(mut self) -> Command {
        self.extended = true;
        self
    }

    /// Encodes the command, choosing extended lengths when the data or Le need them
    /// (or when [`Command::extended`] asked for them). The bytes are wiped when dropped
    /// (a VERIFY carries a PIN); the buffer is allocated once at its final size.
    pub fn to_bytes(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, ApduError> {
        let lc = self.data.len();
        if lc > 65535 {
            return Err(ApduError::DataTooLong(lc));
        }
        let ext = self.extended || lc > 255 || self.le.is_some_and(|l| l.0 > 256);
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(lc + 9));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if ext {
            if lc > 0 {
                out.push(0);
                out.extend_from_slice(&(lc as u16).to_be_bytes());
            }
            out.extend_from_slice(&self.data);
            if let Some(le) = self.le {
                if lc == 0 {
                    out.push(0);
                }
                // 65536 is written as 00 00.
                out.extend_from_slice(&((le.0 & 0xFFFF) as u16).to_be_bytes());
            }
        } else {
            if lc > 0 {
                out.push(lc as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push((le.0 & 0xFF) as u8);
            }
        }
        Ok(out)
    }

    /// Parses a command APDU (all ISO cases, short and extended).
    pub fn parse(b: &[u8]) -> Result<Command, ApduError> {
        if b.len() < 4 {
            return Err(ApduError::TooShort(b.len()));
        }
        let mut c = Command::new(b[0], b[1], b[2], b[3]);
        let body = &b[4..];
        match body.len() {
            0 => {}
            1 => c.le = Some(Le(if body[0] == 0 { 256 } else { body[0] as u32 })),
            n if body[0] != 0 => {
                // Short case 3 or 4.
                let lc = body[0] as usize;
                if n == 1 + lc {
                    c.data = body[1..].to_vec();
                } else if n == 2 + lc {
                    c.data = body[1..1 + lc].to_vec();
                    let l = body[1 + lc];
                    c.le = Some(Le(if l == 0 { 256 } else { l as u32 }));
                } else {
                    return Err(ApduError::BadLength(b.len()));
                }
            }
            3 => {
                // Extended case 2: 00 HH LL.
                c.extended = true;
                let l = u16::from_be_bytes([body[1], body[2]]) as u32;
                c.le = Some(Le(if l == 0 { 65536 } else { l }));
            }
            n if n > 3 => {
                c.extended = true;
                let lc = u16::from_be_bytes([body[1], body[2]]) as usize;
                if lc == 0 {
                    return Err(ApduError::BadLength(b.len()));
                }
                if n == 3 + lc {
                    c.data = body[3..].to_vec();
                } else if n == 5 + lc {
                    c.data = body[3..3 + lc].to_vec();
                    let l = u16::from_be_bytes([body[3 + lc], body[4 + lc]]) as u32;
                    c.le = Some(Le(if l == 0 { 65536 } else { l }));
                } else {
                    return Err(ApduError::BadLength(b.len()));
                }
            }
            _ => return Err(ApduError::BadLength(b.len())),
        }
        Ok(c)
    }
}

/// A status word `SW1 SW2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `90 00` success.
    pub const OK: StatusWord = StatusWord(0x9000);
    /// `62 82` end of file reached before Le bytes.
    pub const END_OF_FILE: StatusWord = StatusWord(0x6282);
    /// `63 00` verification failed, no retry limit.
    pub const VERIFY_FAILED_NO_LIMIT: StatusWord = StatusWord(0x6300);
    /// `67 00` wrong length.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// `68 81` logical channel not supported.
    pub const CHANNEL_NOT_SUPPORTED: StatusWord = StatusWord(0x6881);
    /// `68 82` secure messaging not supported.
    pub const SM_NOT_SUPPORTED: StatusWord = StatusWord(0x6882);
    /// `69 81` command incompatible with file structure.
    pub const INCOMPATIBLE_FILE: StatusWord = StatusWord(0x6981);
    /// `69 82` security status not satisfied.
    pub const SECURITY_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// `69 83` authentication method blocked (ISO meaning; not what JPKI cards send).
    pub const AUTH_BLOCKED: StatusWord = StatusWord(0x6983);
    /// `69 84` referenced data (the PIN IEF) locked.
    pub const REF_DATA_LOCKED: StatusWord = StatusWord(0x6984);
    /// `69 85` conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `69 86` no current EF.
    pub const NO_CURRENT_EF: StatusWord = StatusWord(0x6986);
    /// `6A 80` incorrect data.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// `6A 82` file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A 86` incorrect P1/P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    /// `6A 88` referenced data not found.
    pub const DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// `6B 00` offset outside the EF.
    pub const OFFSET_OUTSIDE: StatusWord = StatusWord(0x6B00);
    /// `6D 00` instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E 00` class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// `6F 00` internal error.
    pub const INTERNAL_ERROR: StatusWord = StatusWord(0x6F00);

    /// `63 Cx` with `x` tries left (`x` ≤ 15).
    pub fn tries_left(x: u8) -> StatusWord {
        StatusWord(0x63C0 | (x as u16 & 0x0F))
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// For `63 Cx`, the `x`.
    pub fn counter(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some(self.sw2() & 0x0F)
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}{:02X}", self.sw1(), self.sw2())
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X}", self.sw1(), self.sw2())
    }
}

/// A response APDU: data plus status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (without SW1 SW2).
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response({} data bytes, SW {:?})",
            self.data.len(),
            self.sw
        )
    }
}

impl Response {
    /// A response with data and status.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Response {
        Response { data, sw }
    }

    /// A response with a status word only.
    pub fn status(sw: StatusWord) -> Response {
        Response {
            data: Vec::new(),
            sw,
        }
    }

    /// Splits raw response bytes into data and status word.
    pub fn parse(b: &[u8]) -> Result<Response, ApduError> {
        if b.len() < 2 {
            return Err(ApduError::ResponseTooShort(b.len()));
        }
        let (d, sw) = b.split_at(b.len() - 2);
        Ok(Response {
            data: d.to_vec(),
            sw: StatusWord(u16::from_be_bytes([sw[0], sw[1]])),
        })
    }

    /// Encodes as data ‖ SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.data.len() + 2);
        v.extend_from_slice(&self.data);
        v.extend_from_slice(&self.sw.0.to_be_bytes());
        v
    }

    /// True for `90 00`.
    pub fn is_ok(&self) -> bool {
        self.sw == StatusWord::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: &Command) {
        let b = c.to_bytes().unwrap();
        let p = Command::parse(&b).unwrap();
        assert_eq!(&p.data, &c.data);
        assert_eq!(p.le, c.le);
        assert_eq!((p.cla, p.ins, p.p1, p.p2), (c.cla, c.ins, c.p1, c.p2));
    }

    #[test]
    fn an_encoded_command_is_a_wiping_buffer() {
        // The contract callers rely on: a VERIFY's bytes (a PIN) are wiped when dropped.
        let verify = Command::new(0, 0x20, 0, 0x81).with_data(*b"1234");
        let bytes: zeroize::Zeroizing<Vec<u8>> = verify.to_bytes().unwrap();
        assert_eq!(
            bytes.as_slice(),
            [0, 0x20, 0, 0x81, 4, b'1', b'2', b'3', b'4']
        );
        // Allocated once at its final size: no reallocation left a copy behind.
        assert_eq!(bytes.capacity(), 4 + 1 + 4 + 4);
    }

    #[test]
    fn encodes_the_cases_the_card_uses() {
        let select = Command::new(0, 0xA4, 4, 0x0C).with_data(vec![0xD3, 0x92]);
        assert_eq!(
            select.to_bytes().unwrap().as_slice(),
            [0, 0xA4, 4, 0x0C, 2, 0xD3, 0x92]
        );
        let query = Command::new(0, 0x20, 0, 0x80);
        assert_eq!(query.to_bytes().unwrap().as_slice(), [0, 0x20, 0, 0x80]);
        let read = Command::new(0, 0xB0, 0, 0).with_le(Le::MAX_SHORT);
        assert_eq!(read.to_bytes().unwrap().as_slice(), [0, 0xB0, 0, 0, 0]);
        let ext = Command::new(0, 0xB0, 0x8A, 4).with_le(Le::new(0x620).unwrap());
        assert_eq!(
            ext.to_bytes().unwrap().as_slice(),
            [0, 0xB0, 0x8A, 4, 0, 6, 0x20]
        );
        let sign = Command::new(0x80, 0x2A, 0, 0x80)
            .with_data(vec![1; 51])
            .with_le(Le::MAX_SHORT);
        let b = sign.to_bytes().unwrap();
        assert_eq!(b.len(), 4 + 1 + 51 + 1);
        assert_eq!(b[4], 51);
        assert_eq!(*b.last().unwrap(), 0);
    }

    #[test]
    fn parses_all_iso_cases() {
        roundtrip(&Command::new(0, 0x20, 0, 0x80));
        roundtrip(&Command::new(0, 0xB0, 0, 0).with_le(Le::new(4).unwrap()));
        roundtrip(&Command::new(0, 0xB0, 0, 0).with_le(Le::MAX_SHORT));
        roundtrip(&Command::new(0, 0x20, 0, 0x80).with_data(b"1234".to_vec()));
        roundtrip(
            &Command::new(0x80, 0x2A, 0, 0x80)
                .with_data(vec![7; 51])
                .with_le(Le::MAX_SHORT),
        );
        roundtrip(&Command::new(0, 0xB0, 0, 0).with_le(Le::MAX_EXTENDED));
        roundtrip(&Command::new(0, 0xD6, 0, 0).with_data(vec![1; 300]));
        roundtrip(
            &Command::new(0, 0xD6, 0, 0)
                .with_data(vec![1; 300])
                .with_le(Le::new(1000).unwrap()),
        );
    }

    #[test]
    fn rejects_malformed_lengths() {
        assert_eq!(Command::parse(&[0, 0xA4]), Err(ApduError::TooShort(2)));
        assert!(Command::parse(&[0, 0xA4, 4, 0x0C, 5, 1, 2]).is_err());
        assert!(Command::parse(&[0, 0xA4, 4, 0x0C, 0, 0]).is_err());
        assert!(Command::parse(&[0, 0xA4, 4, 0x0C, 0, 0, 2, 1]).is_err());
        assert!(Response::parse(&[0x90]).is_err());
    }

    #[test]
    fn status_word_counter() {
        assert_eq!(StatusWord(0x63C2).counter(), Some(2));
        assert_eq!(StatusWord(0x63C0).counter(), Some(0));
        assert_eq!(StatusWord(0x6300).counter(), None);
        assert_eq!(StatusWord::tries_left(3), StatusWord(0x63C3));
    }

    #[test]
    fn debug_hides_payload() {
        let c = Command::new(0, 0x20, 0, 0x80).with_data(b"9876".to_vec());
        let s = format!("{c:?}");
        assert!(!s.contains("9876") && !s.contains("39 38"), "{s}");
    }
}
