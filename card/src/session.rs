//! One operation's exclusive conversation with the card, and the JPKI AP
//! commands in it: SELECT, READ BINARY of certificates and token info, COMPUTE
//! DIGITAL SIGNATURE. PIN handling lives in [`crate::verify`].
//!
//! A [`Session`] is one PC/SC transaction. It ends when dropped; if a PIN was
//! verified, the card is reset then so the verified state does not outlive it.

use crate::digest_info::DigestInfo;
use crate::error::{CardError, Result};
use crate::pin::PinKind;
use crate::signature_check::SignInput;
use crate::token::TokenKind;
use crate::transport::{Trace, Transport};
use jpki_apdu::{Command, Le, Response, StatusWord as Sw};
use std::sync::atomic::{AtomicBool, Ordering};

/// An application on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ap {
    Jpki,
    Text,
}

impl Ap {
    fn aid(self) -> &'static [u8] {
        match self {
            Ap::Jpki => &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
            Ap::Text => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
        }
    }
}

/// The JPKI keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// 利用者証明用 key (IEF 0017), opened by the auth PIN.
    Auth,
    /// 署名用 key (IEF 001A), opened by the sign password.
    Sign,
}

impl KeyKind {
    /// The PIN that opens the key.
    pub fn pin(self) -> PinKind {
        match self {
            KeyKind::Auth => PinKind::Auth,
            KeyKind::Sign => PinKind::Sign,
        }
    }

    fn fid(self) -> u16 {
        match self {
            KeyKind::Auth => 0x0017,
            KeyKind::Sign => 0x001A,
        }
    }
}

/// The certificates on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// User-authentication certificate (EF 000A, free to read on a card).
    Auth,
    /// User-authentication CA (EF 000B).
    AuthCa,
    /// Signature certificate (EF 0001, needs the sign password).
    Sign,
    /// Signature CA (EF 0002).
    SignCa,
}

impl CertKind {
    fn fid(self) -> u16 {
        match self {
            CertKind::Sign => 0x0001,
            CertKind::SignCa => 0x0002,
            CertKind::Auth => 0x000A,
            CertKind::AuthCa => 0x000B,
        }
    }

    /// Name used on command lines and in `jpki:` URIs.
    pub fn id(self) -> &'static str {
        match self {
            CertKind::Auth => "auth",
            CertKind::AuthCa => "auth-ca",
            CertKind::Sign => "sign",
            CertKind::SignCa => "sign-ca",
        }
    }

    /// The PIN needed before reading it (on a physical card).
    pub fn needs_pin(self) -> Option<PinKind> {
        (self == CertKind::Sign).then_some(PinKind::Sign)
    }
}

/// A certificate as DER bytes, exactly as long as its outer SEQUENCE (filler cut off).
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateDer(Vec<u8>);

impl CertificateDer {
    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl std::fmt::Debug for CertificateDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificateDer({} bytes)", self.0.len())
    }
}

/// A 256-byte RSA signature from the card.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RsaSignature(Vec<u8>);

impl RsaSignature {
    /// The signature bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Bytes asked for per short READ BINARY: 255, not 256. Some readers (often budget contactless
/// ones) mishandle a response of exactly 256 data bytes (the `Le = 00` case of a short APDU)
/// and drop bytes or the whole answer; a 255-byte chunk never makes such a response.
/// (Signatures are 256 bytes by nature: there a short answer is reported as
/// [`CardError::Truncated`].)
pub(crate) const READ_CHUNK: usize = 255;

/// Largest EF offset READ BINARY can address (15 bits).
const MAX_EF: usize = 0x7FFF;

/// How a card handle reads files: the rest of a certificate in one READ BINARY with an
/// extended Le (two APDUs per certificate instead of four to seven), or in short chunks only.
/// Extended reads start on unless `JPKI_SHORT_APDUS=1` says the reader cannot be trusted with
/// them, and go off for good on this handle the first time the reader or card refuses one.
#[derive(Debug)]
pub(crate) struct ReadMode {
    short_only: AtomicBool,
}

/// Environment variable that keeps every READ BINARY short (for a reader that garbles
/// extended APDUs instead of refusing them).
pub const SHORT_APDUS_ENV: &str = "JPKI_SHORT_APDUS";

impl ReadMode {
    /// The mode for a new card handle, from [`SHORT_APDUS_ENV`].
    pub(crate) fn from_env() -> ReadMode {
        let short = std::env::var(SHORT_APDUS_ENV)
            .is_ok_and(|v| matches!(v.as_str(), "1" | "yes" | "on" | "true"));
        ReadMode {
            short_only: AtomicBool::new(short),
        }
    }

    fn extended(&self) -> bool {
        !self.short_only.load(Ordering::Relaxed)
    }

    pub(crate) fn refuse_extended(&self) {
        self.short_only.store(true, Ordering::Relaxed);
    }
}

/// An exclusive conversation with the card (one PC/SC transaction).
pub struct Session<'a> {
    tx: Box<dyn Transport + 'a>,
    trace: &'a Trace,
    reads: &'a ReadMode,
    ap: Option<Ap>,
    token: TokenKind,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        tx: Box<dyn Transport + 'a>,
        trace: &'a Trace,
        reads: &'a ReadMode,
        token: TokenKind,
    ) -> Self {
        Session {
            tx,
            trace,
            reads,
            ap: None,
            token,
        }
    }

    /// Sends one command. Never retried: see [`crate::transport`].
    pub(crate) fn exchange(&mut self, cmd: &Command) -> Result<Response> {
        let bytes = cmd
            .to_bytes()
            .map_err(|_| CardError::Malformed { what: "a command" })?;
        let raw = self.tx.transmit(&bytes)?;
        self.trace.record(&bytes, &raw);
        Response::parse(&raw).map_err(|_| CardError::Malformed { what: "a response" })
    }

    pub(crate) fn mark_verified(&mut self) {
        self.tx.mark_verified();
    }

    /// What kind of JPKI token the session talks to.
    pub fn token(&self) -> &TokenKind {
        &self.token
    }

    pub(crate) fn set_token(&mut self, token: TokenKind) {
        self.token = token;
    }

    /// The PIN a certificate needs on this token before it can be read.
    pub fn cert_needs_pin(&self, kind: CertKind) -> Option<PinKind> {
        match kind {
            CertKind::Auth if self.token.auth_cert_needs_pin() => Some(PinKind::Auth),
            k => k.needs_pin(),
        }
    }

    /// Selects an application unless it is already current.
    pub(crate) fn select_ap(&mut self, ap: Ap) -> Result<()> {
        if self.ap == Some(ap) {
            return Ok(());
        }
        let r = self.exchange(&Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(ap.aid()))?;
        match r.sw {
            Sw::OK => {
                self.ap = Some(ap);
                Ok(())
            }
            sw => Err(CardError::Unexpected {
                op: match ap {
                    Ap::Jpki => "SELECT of the JPKI application",
                    Ap::Text => "SELECT of the text application (券面事項入力補助AP)",
                },
                sw,
            }),
        }
    }

    /// Selects an EF of the current application.
    pub(crate) fn select_ef(&mut self, fid: u16, op: &'static str) -> Result<()> {
        let r =
            self.exchange(&Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.to_be_bytes()))?;
        match r.sw {
            Sw::OK => Ok(()),
            sw => Err(CardError::Unexpected { op, sw }),
        }
    }

    /// Reads the whole TLV object at the start of the current EF: a first chunk carries the
    /// header, then chunks up to its length. Chunks are [`READ_CHUNK`] bytes, and each read
    /// continues where the data received so far ends, so a short answer costs an APDU,
    /// not the certificate.
    pub(crate) fn read_tlv(&mut self, what: &'static str, pin: Option<PinKind>) -> Result<Vec<u8>> {
        let first = self.read_chunk(0, READ_CHUNK, what, pin)?;
        self.read_tlv_from(first, what, pin)
    }

    /// [`Session::read_tlv`] after its first chunk was read (by offset or by SFI).
    fn read_tlv_from(
        &mut self,
        mut data: Vec<u8>,
        what: &'static str,
        pin: Option<PinKind>,
    ) -> Result<Vec<u8>> {
        let total = crate::tlv::total_len(&data).ok_or(CardError::Malformed { what })?;
        if total > MAX_EF {
            return Err(CardError::Malformed { what });
        }
        while data.len() < total {
            let left = total - data.len();
            let chunk = if left > READ_CHUNK && self.reads.extended() {
                match self.read_extended(data.len(), left, what, pin)? {
                    Some(chunk) => chunk,
                    None => continue,
                }
            } else {
                self.read_chunk(data.len(), left.min(READ_CHUNK), what, pin)?
            };
            if chunk.is_empty() {
                return Err(CardError::Malformed { what });
            }
            data.extend_from_slice(&chunk);
        }
        data.truncate(total);
        Ok(data)
    }

    fn read_chunk(
        &mut self,
        offset: usize,
        len: usize,
        what: &'static str,
        pin: Option<PinKind>,
    ) -> Result<Vec<u8>> {
        let [hi, lo] = (offset as u16).to_be_bytes();
        self.read_chunk_at(hi & 0x7F, lo, len, what, pin)
    }

    /// The rest of an EF in one READ BINARY with an extended Le (spec §5: the card honours
    /// it [C], two real-card clients rely on it). Whether the *reader* carries extended APDUs
    /// is not known until tried: if this one is refused in any way other than "PIN needed",
    /// `None` comes back, extended reads are off for this card handle, and the caller reads
    /// on in short chunks — which then report a real error, if there is one. A short answer is
    /// fine: the caller continues where the data ends.
    fn read_extended(
        &mut self,
        offset: usize,
        len: usize,
        what: &'static str,
        pin: Option<PinKind>,
    ) -> Result<Option<Vec<u8>>> {
        let [hi, lo] = (offset as u16).to_be_bytes();
        let refusal = match self.read_binary(hi & 0x7F, lo, len, true, what, pin) {
            Ok(data) if !data.is_empty() => return Ok(Some(data)),
            Ok(_) => "an empty answer".to_string(),
            // The reader's transmit failing, or a status word other than "PIN needed".
            Err(
                e @ (CardError::Pcsc(_)
                | CardError::Unexpected { .. }
                | CardError::Malformed { .. }),
            ) => e.to_string(),
            Err(e) => return Err(e),
        };
        tracing::debug!(%refusal, "extended READ BINARY refused; short reads from now on");
        self.reads.refuse_extended();
        Ok(None)
    }

    /// Short READ BINARY with the given P1 P2 (15-bit offset, or `80|SFI` + 8-bit offset).
    fn read_chunk_at(
        &mut self,
        p1: u8,
        p2: u8,
        len: usize,
        what: &'static str,
        pin: Option<PinKind>,
    ) -> Result<Vec<u8>> {
        self.read_binary(p1, p2, len, false, what, pin)
    }

    /// READ BINARY with the given P1 P2 and Le, in short or extended form, and what its
    /// status word means.
    fn read_binary(
        &mut self,
        p1: u8,
        p2: u8,
        len: usize,
        extended: bool,
        what: &'static str,
        pin: Option<PinKind>,
    ) -> Result<Vec<u8>> {
        let le = Le::new(len as u32).ok_or(CardError::Malformed { what })?;
        let mut cmd = Command::new(0x00, 0xB0, p1, p2).with_le(le);
        if extended {
            cmd = cmd.extended();
        }
        let r = self.exchange(&cmd)?;
        match (r.sw, pin) {
            // 62 82: end of file before Le bytes — some cards say so (spec §5).
            (Sw::OK | Sw::END_OF_FILE, _) => Ok(r.data),
            // A file we know to be free answering 69 82 is a surprise, not a PIN problem.
            (Sw::SECURITY_NOT_SATISFIED, Some(pin)) => Err(CardError::NotVerified { pin }),
            (Sw::OFFSET_OUTSIDE, _) => Err(CardError::Malformed { what }),
            (sw, _) => Err(CardError::Unexpected { op: what, sw }),
        }
    }

    /// Reads the token label (EF 0006) — what kind of JPKI card this is.
    pub fn read_token(&mut self) -> Result<TokenKind> {
        const WHAT: &str = "the token information (EF 0006)";
        self.select_ap(Ap::Jpki)?;
        // READ BINARY naming the EF by SFI (P1 = 80|06, spec §5 [C]) saves the SELECT; a card
        // that refuses the form is asked the long way.
        let le = Le::new(32).ok_or(CardError::Malformed { what: WHAT })?;
        let r = self.exchange(&Command::new(0x00, 0xB0, 0x86, 0x00).with_le(le))?;
        let data = match r.sw {
            Sw::OK | Sw::END_OF_FILE => r.data,
            sw if crate::verify::addressing_refused(sw) || sw == Sw::INCOMPATIBLE_FILE => {
                self.select_ef(0x0006, "SELECT of the token information (EF 0006)")?;
                self.read_chunk(0, 32, WHAT, None)?
            }
            sw => return Err(CardError::Unexpected { op: WHAT, sw }),
        };
        Ok(TokenKind::from_label(&data))
    }

    /// Reads a certificate. The sign certificate needs the sign password verified
    /// in this session first; the auth certificate does too on smartphone tokens.
    pub fn read_cert(&mut self, kind: CertKind) -> Result<CertificateDer> {
        const WHAT: &str = "a certificate";
        const SELECT: &str = "SELECT of a certificate file";
        self.select_ap(Ap::Jpki)?;
        let pin = self.cert_needs_pin(kind);
        // The first chunk names the EF by SFI (P1 = 80|SFI, spec §5 [C]), which also makes it
        // the current EF for the offset reads that follow: no SELECT. A card that refuses the
        // form is asked the long way.
        let sfi = 0x80 | (kind.fid() & 0x1F) as u8;
        let first = self.read_chunk_at(sfi, 0, READ_CHUNK, WHAT, pin);
        let der = match first {
            Err(CardError::Unexpected { sw, .. })
                if crate::verify::addressing_refused(sw) || sw == Sw::INCOMPATIBLE_FILE =>
            {
                self.select_ef(kind.fid(), SELECT)?;
                self.read_tlv(WHAT, pin)?
            }
            r => {
                let first = r?;
                match self.read_tlv_from(first, WHAT, pin) {
                    // A card that did not make the EF current: select it, read on.
                    Err(CardError::Unexpected { sw, .. }) if sw == Sw::NO_CURRENT_EF => {
                        self.select_ef(kind.fid(), SELECT)?;
                        self.read_tlv(WHAT, pin)?
                    }
                    r => r?,
                }
            }
        };
        if der.first() != Some(&0x30) {
            return Err(CardError::Malformed {
                what: "a certificate",
            });
        }
        Ok(CertificateDer(der))
    }

    /// Signs a DigestInfo with a key (PKCS#1 v1.5 padding on the card, P1=00).
    /// The key's PIN must have been verified in this session.
    pub fn sign(&mut self, key: KeyKind, digest_info: &DigestInfo) -> Result<RsaSignature> {
        self.compute_signature(key, 0x00, digest_info.as_der())
    }

    /// RSASSA-PSS over a SHA-256 hash (P1=04, salt length 32 and MGF1-SHA-256 as far as is
    /// known). Spec §7.2 marks this mode \[O\]: seen on one card, not confirmed for all, so
    /// callers must verify the result with the public key, and a card that answers 6A 86 is
    /// reported as [`CardError::PssUnsupported`].
    pub fn sign_pss_sha256(&mut self, key: KeyKind, sha256: &[u8; 32]) -> Result<RsaSignature> {
        match self.compute_signature(key, 0x04, sha256) {
            Err(CardError::Unexpected { sw, .. }) if sw == Sw::WRONG_P1P2 => {
                Err(CardError::PssUnsupported)
            }
            r => r,
        }
    }

    /// Signs `input` in its mode: [`Session::sign`] or [`Session::sign_pss_sha256`]. Check
    /// the result with [`crate::check_card_signature`] before handing it on.
    pub fn sign_input(&mut self, key: KeyKind, input: &SignInput) -> Result<RsaSignature> {
        match input {
            SignInput::Pkcs1(di) => self.sign(key, di),
            SignInput::PssSha256(h) => self.sign_pss_sha256(key, h),
        }
    }

    fn compute_signature(&mut self, key: KeyKind, p1: u8, data: &[u8]) -> Result<RsaSignature> {
        self.select_ap(Ap::Jpki)?;
        // The key named by SFI in P2 (spec §7.2 [C]) saves a SELECT per signature; a card that
        // refuses the form gets the SELECT + P2=80 form.
        let sfi = 0x80 | (key.fid() & 0x1F) as u8;
        let cmd = |p2| {
            Command::new(0x80, 0x2A, p1, p2)
                .with_data(data)
                .with_le(Le::MAX_SHORT)
        };
        let mut r = self.exchange(&cmd(sfi))?;
        if crate::verify::addressing_refused(r.sw) {
            self.select_ef(key.fid(), "SELECT of a private key")?;
            r = self.exchange(&cmd(0x80))?;
        }
        match r.sw {
            Sw::OK => signature_of(r.data),
            Sw::SECURITY_NOT_SATISFIED => Err(CardError::NotVerified { pin: key.pin() }),
            sw => Err(CardError::Unexpected {
                op: "COMPUTE DIGITAL SIGNATURE",
                sw,
            }),
        }
    }
}

/// A card's answer to COMPUTE DIGITAL SIGNATURE with `90 00`: exactly 256 bytes.
fn signature_of(data: Vec<u8>) -> Result<RsaSignature> {
    match data.len() {
        256 => Ok(RsaSignature(data)),
        got if got < 256 => Err(CardError::Truncated {
            what: "a signature",
            got,
            expected: 256,
        }),
        _ => Err(CardError::Malformed {
            what: "a signature",
        }),
    }
}
