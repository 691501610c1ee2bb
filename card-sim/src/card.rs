//! The simulated card: a state machine that turns command APDUs into responses
//! the way spec §14 says a My Number card does.
//!
//! Volatile state (current DF/EF, verified PINs) is lost on reset; PIN values
//! and counters are [`CardState`] and survive it. Every APDU is counted in
//! [`Stats`]. Where the spec marks behaviour [?], the choice is a field of
//! [`SimOptions`] so tests can try both.

use crate::files::{Df, Ef, FileSystem, KeyId, Variant};
use crate::pki::TestPki;
use crate::state::{CardState, PinId, Stats};
use jpki_apdu::{Command, Response, StatusWord as Sw};
use openssl::hash::{hash, MessageDigest};
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use std::collections::HashSet;
use std::sync::Arc;

/// Behaviour switches for facts the spec is unsure about.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The card variant.
    pub variant: Variant,
    /// Empty VERIFY after a successful VERIFY in this session: `true` answers
    /// `90 00` (soltia48's real-card observation, spec §6.3 [O]); `false` answers
    /// `63 Cx` like any other query (what OpenSC's GET_INFO assumes).
    pub verified_query_ok: bool,
    /// Whether COMPUTE DIGITAL SIGNATURE P1=04/05 (RSA-PSS, spec §7.2 [O]) works.
    pub pss: bool,
    /// Each key signs with the other key pair than its certificate's: a card swapped for
    /// another between reading the certificate and signing, as the front doors must catch.
    pub cross_keys: bool,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            variant: Variant::MyNumberCard,
            verified_query_ok: true,
            pss: true,
            cross_keys: false,
        }
    }
}

#[derive(Debug, Default)]
struct Volatile {
    df: Option<Df>,
    ef: Option<u16>,
    verified: HashSet<PinId>,
}

/// Called with the new state after every change of a PIN value or counter.
pub type PersistFn = Box<dyn FnMut(&CardState) + Send>;

/// Called with the statistics after every APDU.
pub type StatsFn = Box<dyn FnMut(&Stats) + Send>;

/// A simulated My Number card.
pub struct SimCard {
    pki: Arc<TestPki>,
    fs: FileSystem,
    opts: SimOptions,
    state: CardState,
    vol: Volatile,
    stats: Stats,
    persist: Option<PersistFn>,
    on_stats: Option<StatsFn>,
}

impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCard")
            .field("variant", &self.opts.variant)
            .finish_non_exhaustive()
    }
}

const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

impl SimCard {
    /// A card with the given PKI, PIN state and options.
    pub fn new(pki: Arc<TestPki>, state: CardState, opts: SimOptions) -> SimCard {
        let fs = FileSystem::build(&pki, opts.variant);
        SimCard {
            pki,
            fs,
            opts,
            state,
            vol: Volatile::default(),
            stats: Stats::default(),
            persist: None,
            on_stats: None,
        }
    }

    /// A factory-fresh card with the default secrets of design.md
    /// (auth `1234`, sign `ABC123`, text `1234`).
    pub fn with_defaults(pki: Arc<TestPki>) -> SimCard {
        let p = &pki.person;
        let state = CardState::new("1234", "ABC123", "1234", &p.my_number, "90010120349999");
        SimCard::new(pki, state, SimOptions::default())
    }

    /// Registers a callback that stores the non-volatile state after each change.
    pub fn on_persist(&mut self, f: PersistFn) {
        self.persist = Some(f);
    }

    /// Registers a callback that receives the statistics after each APDU.
    pub fn on_stats(&mut self, f: StatsFn) {
        self.on_stats = Some(f);
    }

    /// The ATR this card answers with.
    pub fn atr(&self) -> &'static [u8] {
        self.opts.variant.atr()
    }

    /// The test PKI on the card.
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    /// What was counted so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The non-volatile state.
    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// Tries left on a PIN.
    pub fn tries(&self, pin: PinId) -> u8 {
        self.state.pins.get(&pin).map(|p| p.tries).unwrap_or(0)
    }

    /// Power-on or reset: volatile state is gone (spec §6.3, §14.7).
    pub fn reset(&mut self) {
        self.vol = Volatile::default();
        self.stats.resets += 1;
        // Saved now, not with the next APDU: tests watch for a reset that ends a verified state.
        if let Some(f) = self.on_stats.as_mut() {
            f(&self.stats);
        }
    }

    /// Counts a fault injected in front of the card (see [`crate::faults`]).
    pub fn note_fault(&mut self) {
        self.stats.faults += 1;
        if let Some(f) = self.on_stats.as_mut() {
            f(&self.stats);
        }
    }

    /// Processes one command APDU and returns the response bytes.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.stats.apdus += 1;
        self.stats.bytes_in += apdu.len() as u64;
        let resp = match Command::parse(apdu) {
            Ok(c) => self.dispatch(&c),
            Err(_) => Response::status(Sw::WRONG_LENGTH),
        };
        let out = resp.to_bytes();
        self.stats.bytes_out += out.len() as u64;
        if let Some(f) = self.on_stats.as_mut() {
            f(&self.stats);
        }
        out
    }

    fn dispatch(&mut self, c: &Command) -> Response {
        if c.cla & 0x03 != 0 {
            return Response::status(Sw::CHANNEL_NOT_SUPPORTED);
        }
        if c.cla & 0x0C != 0 {
            // Secure messaging exists only inside a text-AP session we do not model.
            return Response::status(if c.ins == 0xA4 {
                Sw::SM_NOT_SUPPORTED
            } else {
                Sw(0x69FC)
            });
        }
        if c.cla != 0x00 && c.cla != 0x80 {
            return Response::status(Sw::CLA_NOT_SUPPORTED);
        }
        match (c.cla, c.ins) {
            (0x00, 0xA4) => self.select(c),
            (0x00, 0xB0) => self.read_binary(c),
            (0x00, 0x20) => self.verify(c),
            (0x00, 0x24) => self.change(c),
            (0x80, 0x2A) => self.sign(c),
            (0x00, 0xCA) => self.get_data(c),
            (0x00, 0x84) => self.get_challenge(c),
            _ => Response::status(Sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, c: &Command) -> Response {
        match c.p1 {
            0x04 => {
                if c.data.is_empty() {
                    return Response::status(Sw::WRONG_LENGTH);
                }
                // JICSAP allows a DF-name prefix (spec §2).
                let found = [Df::Jpki, Df::Text, Df::Visual, Df::Common, Df::Juki]
                    .into_iter()
                    .find(|df| self.opts.variant.has(*df) && df.aid().starts_with(&c.data));
                let Some(df) = found else {
                    return Response::status(Sw::FILE_NOT_FOUND);
                };
                self.vol.df = Some(df);
                self.vol.ef = None;
                // Selecting an application drops the PINs verified in the previous one.
                self.vol.verified.clear();
                match c.p2 {
                    0x0C => Response::status(Sw::OK),
                    0x00 => {
                        let mut fci = vec![0x6F, 0x0C, 0x84, 0x0A];
                        fci.extend_from_slice(df.aid());
                        Response::new(fci, Sw::OK)
                    }
                    _ => Response::status(Sw::WRONG_P1P2),
                }
            }
            0x02 => {
                let Some(df) = self.vol.df else {
                    return Response::status(Sw::FILE_NOT_FOUND);
                };
                if c.data.len() != 2 {
                    return Response::status(Sw::WRONG_LENGTH);
                }
                let fid = u16::from_be_bytes([c.data[0], c.data[1]]);
                if self.fs.get(df, fid).is_none() {
                    return Response::status(Sw::FILE_NOT_FOUND);
                }
                self.vol.ef = Some(fid);
                Response::status(Sw::OK)
            }
            // No usable MF: an error right after reset, a no-op inside an AP (spec §2).
            0x00 if self.vol.df.is_none() => Response::status(Sw::WRONG_P1P2),
            0x00 if c.data.is_empty() => Response::status(Sw::OK),
            0x00 => Response::status(Sw::FILE_NOT_FOUND),
            _ => Response::status(Sw::WRONG_P1P2),
        }
    }

    /// Resolves the EF a command addresses: the current one, or the one a short EF id names.
    fn target(&mut self, sfi: Option<u8>) -> Result<(Df, u16), Sw> {
        let df = self.vol.df.ok_or(Sw::NO_CURRENT_EF)?;
        match sfi {
            Some(s) => {
                let fid = s as u16;
                if self.fs.get(df, fid).is_none() {
                    return Err(Sw::FILE_NOT_FOUND);
                }
                self.vol.ef = Some(fid);
                Ok((df, fid))
            }
            None => self.vol.ef.map(|f| (df, f)).ok_or(Sw::NO_CURRENT_EF),
        }
    }

    fn read_binary(&mut self, c: &Command) -> Response {
        let (sfi, offset) = if c.p1 & 0x80 != 0 {
            (Some(c.p1 & 0x1F), c.p2 as usize)
        } else {
            (None, (((c.p1 & 0x7F) as usize) << 8) | c.p2 as usize)
        };
        let (df, fid) = match self.target(sfi) {
            Ok(t) => t,
            Err(sw) => return Response::status(sw),
        };
        let Some(le) = c.le else {
            return Response::status(Sw::WRONG_LENGTH);
        };
        let (data, open_by) = match self.fs.get(df, fid) {
            Some(Ef::Binary { data, open_by }) => (data, open_by),
            _ => return Response::status(Sw::INCOMPATIBLE_FILE),
        };
        if !open_by.is_empty() && !open_by.iter().any(|p| self.vol.verified.contains(p)) {
            return Response::status(Sw::SECURITY_NOT_SATISFIED);
        }
        if offset >= data.len() {
            return Response::status(Sw::OFFSET_OUTSIDE);
        }
        let end = data.len().min(offset + le.get() as usize);
        Response::new(data[offset..end].to_vec(), Sw::OK)
    }

    /// The EF a P2 of `80` (current EF) or `80|SFI` names, as VERIFY, CHANGE and
    /// COMPUTE DIGITAL SIGNATURE use it.
    fn p2_target(&mut self, p2: u8) -> Result<(Df, u16), Sw> {
        let sfi = match p2 {
            0x80 => None,
            p if p & 0xE0 == 0x80 => Some(p & 0x1F),
            _ => return Err(Sw::WRONG_P1P2),
        };
        self.target(sfi)
    }

    fn pin_target(&mut self, p2: u8) -> Result<PinId, Sw> {
        let (df, fid) = self.p2_target(p2)?;
        match self.fs.get(df, fid) {
            Some(Ef::Pin(p)) => Ok(*p),
            _ => Err(Sw::INCOMPATIBLE_FILE),
        }
    }

    fn save(&mut self) {
        if let Some(f) = self.persist.as_mut() {
            f(&self.state);
        }
    }

    fn verify(&mut self, c: &Command) -> Response {
        if c.p1 != 0x00 {
            return Response::status(Sw::WRONG_P1P2);
        }
        let pin = match self.pin_target(c.p2) {
            Ok(p) => p,
            Err(sw) => return Response::status(sw),
        };
        let Some(st) = self.state.pins.get_mut(&pin) else {
            return Response::status(Sw::INCOMPATIBLE_FILE);
        };
        if c.data.is_empty() {
            *self.stats.queries.entry(pin).or_default() += 1;
            if self.vol.verified.contains(&pin) && self.opts.verified_query_ok {
                return Response::status(Sw::OK);
            }
            return Response::status(Sw::tries_left(st.tries));
        }
        *self.stats.verifies.entry(pin).or_default() += 1;
        if st.tries == 0 {
            *self.stats.failed_verifies.entry(pin).or_default() += 1;
            return Response::status(Sw::REF_DATA_LOCKED);
        }
        if c.data == st.value.as_bytes() {
            st.tries = st.max;
            self.vol.verified.insert(pin);
            self.save();
            Response::status(Sw::OK)
        } else {
            st.tries -= 1;
            let left = st.tries;
            self.vol.verified.remove(&pin);
            *self.stats.failed_verifies.entry(pin).or_default() += 1;
            self.save();
            Response::status(Sw::tries_left(left))
        }
    }

    fn change(&mut self, c: &Command) -> Response {
        if c.p1 != 0x01 {
            return Response::status(Sw::WRONG_P1P2);
        }
        let pin = match self.pin_target(c.p2) {
            Ok(p) => p,
            Err(sw) => return Response::status(sw),
        };
        if !self.vol.verified.contains(&pin) {
            return Response::status(Sw::SECURITY_NOT_SATISFIED);
        }
        // The real status word for a malformed new PIN is unknown (spec §17.11) [?].
        if !pin.format_ok(&c.data) {
            return Response::status(Sw::WRONG_DATA);
        }
        let Ok(v) = String::from_utf8(c.data.clone()) else {
            return Response::status(Sw::WRONG_DATA);
        };
        if let Some(st) = self.state.pins.get_mut(&pin) {
            st.value = v;
            st.tries = st.max;
        }
        self.save();
        Response::status(Sw::OK)
    }

    fn sign(&mut self, c: &Command) -> Response {
        let key = match self.p2_target(c.p2) {
            Ok((df, fid)) => match self.fs.get(df, fid) {
                Some(Ef::Key(k)) => *k,
                _ => return Response::status(Sw::INCOMPATIBLE_FILE),
            },
            Err(sw) => return Response::status(sw),
        };
        if !self.vol.verified.contains(&key.pin()) {
            return Response::status(Sw::SECURITY_NOT_SATISFIED);
        }
        let pkey = match (key, self.opts.cross_keys) {
            (KeyId::Auth, false) | (KeyId::Sign, true) => &self.pki.auth_key,
            (KeyId::Sign, false) | (KeyId::Auth, true) => &self.pki.sign_key,
        };
        let d = &c.data;
        let sha = |m: &[u8]| hash(MessageDigest::sha256(), m).map(|h| h.to_vec());
        let result = match c.p1 {
            0x00 if (1..=245).contains(&d.len()) => pkcs1(pkey, d),
            0x01 if d.len() <= 255 => sha(d).map_err(|_| ()).and_then(|h| pkcs1(pkey, &h)),
            0x02 if d.len() == 32 => pkcs1(pkey, &[&SHA256_PREFIX[..], d].concat()),
            0x03 if d.len() <= 255 => sha(d)
                .map_err(|_| ())
                .and_then(|h| pkcs1(pkey, &[&SHA256_PREFIX[..], &h].concat())),
            0x04 if self.opts.pss && d.len() == 32 => pss(pkey, d),
            0x05 if self.opts.pss && d.len() <= 255 => {
                sha(d).map_err(|_| ()).and_then(|h| pss(pkey, &h))
            }
            0x00..=0x03 => return Response::status(Sw::WRONG_LENGTH),
            0x04 | 0x05 if self.opts.pss => return Response::status(Sw::WRONG_LENGTH),
            _ => return Response::status(Sw::WRONG_P1P2),
        };
        match result {
            Ok(sig) => {
                self.stats.signatures += 1;
                Response::new(sig, Sw::OK)
            }
            Err(()) => Response::status(Sw::INTERNAL_ERROR),
        }
    }

    fn get_data(&mut self, c: &Command) -> Response {
        match (c.p1, c.p2) {
            // The contact ATR without TS (spec §1).
            (0x5F, 0x51) => Response::new(self.atr()[1..].to_vec(), Sw::OK),
            _ => Response::status(Sw::DATA_NOT_FOUND),
        }
    }

    fn get_challenge(&mut self, c: &Command) -> Response {
        match c.le {
            Some(le) if !c.extended => {
                let mut buf = vec![0u8; le.get() as usize];
                if openssl::rand::rand_bytes(&mut buf).is_err() {
                    return Response::status(Sw::INTERNAL_ERROR);
                }
                Response::new(buf, Sw::OK)
            }
            Some(_) => Response::status(Sw::CONDITIONS_NOT_SATISFIED),
            None => Response::status(Sw::WRONG_LENGTH),
        }
    }
}

/// PKCS#1 v1.5 type-1 padding of `input` verbatim + RSA private operation (P1=00).
fn pkcs1(key: &PKey<Private>, input: &[u8]) -> Result<Vec<u8>, ()> {
    let rsa: Rsa<Private> = key.rsa().map_err(|_| ())?;
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_encrypt(input, &mut out, Padding::PKCS1)
        .map_err(|_| ())?;
    out.truncate(n);
    Ok(out)
}

/// RSASSA-PSS (SHA-256, MGF1-SHA-256, salt = hash length) over a SHA-256 value.
fn pss(key: &PKey<Private>, digest: &[u8]) -> Result<Vec<u8>, ()> {
    let mut ctx = PkeyCtx::new(key).map_err(|_| ())?;
    ctx.sign_init().map_err(|_| ())?;
    ctx.set_rsa_padding(Padding::PKCS1_PSS).map_err(|_| ())?;
    ctx.set_signature_md(Md::sha256()).map_err(|_| ())?;
    ctx.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
        .map_err(|_| ())?;
    let mut out = Vec::new();
    ctx.sign_to_vec(digest, &mut out).map_err(|_| ())?;
    Ok(out)
}
