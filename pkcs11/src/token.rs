//! The card in one reader, behind that reader's two tokens: one connection per reader, the
//! certificates read once per card insertion, the PIN counters, and the PINs the card refused.
//!
//! APDU economy: the session that identifies the card (SELECT, token label) also reads the
//! free auth certificate, which every consumer reads next, and whatever the call that opened
//! the card needs (for `C_GetTokenInfo`, that token's PIN counter, at no SELECT of its own).
//! A PIN counter is read only for the token whose flags or login need it: a consumer of one
//! token never pays for the other's. CA certificates are read only when someone asks for
//! their attributes. A counter is re-read when it is older than [`COUNTER_TTL`], and always
//! (by jpki-card) right before a VERIFY.
//!
//! When the card goes away (removed, reset, pcscd gone), the connection and everything learnt
//! through it is dropped: the next card may be another person's. After `fork()` the parent's
//! PC/SC handles are abandoned, never closed (they belong to the parent's pcscd connection).

use crate::cert::Cert;
use crate::error::{P11Error, Result};
use jpki_card::{
    AnyPin, Card, CardError, CertKind, KeyKind, LastTry, PinKind, PinStatus, ReaderChoice, Secret,
    Session, SignInput, Tries,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a PIN counter read for the token flags stays good.
pub const COUNTER_TTL: Duration = Duration::from_secs(2);

/// What was learnt from the current card.
#[derive(Default)]
pub struct Learnt {
    certs: HashMap<CertKind, Cert>,
    counters: HashMap<PinKind, (PinStatus, Instant)>,
    /// PINs the card refused: never sent again to this card.
    refused: Vec<(PinKind, Zeroizing<Vec<u8>>)>,
}

impl Learnt {
    fn note_counter(&mut self, pin: PinKind, status: PinStatus) {
        self.counters.insert(pin, (status, Instant::now()));
    }
}

/// The card connection.
pub struct CardAccess {
    pid: u32,
    choice: ReaderChoice,
    card: Option<Card>,
    learnt: Learnt,
    /// Increases with every newly opened card: sessions of an older card are gone.
    pub generation: u64,
}

impl Drop for CardAccess {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // A forked child must not close the parent's PC/SC handles.
            if let Some(card) = self.card.take() {
                std::mem::forget(card);
            }
        }
    }
}

/// The certificate of a key.
pub fn cert_of(key: KeyKind) -> CertKind {
    match key {
        KeyKind::Auth => CertKind::Auth,
        KeyKind::Sign => CertKind::Sign,
    }
}

/// The CA certificate of a key's token.
pub fn ca_of(key: KeyKind) -> CertKind {
    match key {
        KeyKind::Auth => CertKind::AuthCa,
        KeyKind::Sign => CertKind::SignCa,
    }
}

/// Reads what every consumer asks for first, in the session that identified the card. PIN
/// counters are not among it: each is read when its own token needs it.
fn prefetch(s: &mut Session<'_>, learnt: &mut Learnt) -> Result<()> {
    if s.cert_needs_pin(CertKind::Auth).is_none() {
        let c = Cert::parse(s.read_cert(CertKind::Auth)?)?;
        learnt.certs.insert(CertKind::Auth, c);
    }
    Ok(())
}

/// Reads a certificate into `learnt` unless it is there already.
fn read_once(s: &mut Session<'_>, learnt: &mut Learnt, kind: CertKind) -> Result<()> {
    if let std::collections::hash_map::Entry::Vacant(v) = learnt.certs.entry(kind) {
        v.insert(Cert::parse(s.read_cert(kind)?)?);
    }
    Ok(())
}

impl CardAccess {
    /// No connection yet; nothing is sent until a token is looked at.
    pub fn new(choice: ReaderChoice) -> CardAccess {
        CardAccess {
            pid: std::process::id(),
            choice,
            card: None,
            learnt: Learnt::default(),
            generation: 0,
        }
    }

    fn forget(&mut self) {
        self.card = None;
        self.learnt = Learnt::default();
    }

    /// Runs `f` in one card session (one PC/SC transaction; if it verified a PIN the card is
    /// reset at its end). Opens the card first if needed, in the identifying session.
    pub fn session<T>(
        &mut self,
        f: impl FnOnce(&mut Session<'_>, &mut Learnt) -> Result<T>,
    ) -> Result<T> {
        let CardAccess { card, learnt, .. } = self;
        let r = match card {
            Some(c) => c
                .session()
                .map_err(P11Error::from)
                .and_then(|mut s| f(&mut s, learnt)),
            None => {
                let opened = Card::open_then(&self.choice, |s| {
                    Ok(prefetch(s, learnt).and_then(|()| f(s, learnt)))
                });
                match opened {
                    Ok((c, r)) => {
                        *card = Some(c);
                        self.generation += 1;
                        r.map_err(P11Error::from).and_then(|r| r)
                    }
                    Err(e) => Err(P11Error::from(e)),
                }
            }
        };
        if let Err(P11Error::Card(e)) = &r {
            if e.is_connection_lost() {
                self.forget();
            }
        }
        r
    }

    /// Whether a card is there, without an APDU when the connection is open (a transaction
    /// that begins proves it); opening a new card costs the identifying session.
    pub fn present(&mut self) -> bool {
        self.present_noting(None)
    }

    /// [`CardAccess::present`]; a card opened now also has `pin`'s counter read in its
    /// identifying session (one APDU, where a session of its own later costs a SELECT too),
    /// for the token flags the caller asks for next. A counter the card would not tell is
    /// left unread: presence is the question here.
    pub fn present_noting(&mut self, pin: Option<PinKind>) -> bool {
        let opening = self.card.is_none();
        self.session(|s, learnt| {
            if let (true, Some(pin)) = (opening, pin) {
                if let Ok(st) = s.pin_status(pin) {
                    learnt.note_counter(pin, st);
                }
            }
            Ok(())
        })
        .is_ok()
    }

    /// Whether a connection is open (no card access).
    pub fn is_open(&self) -> bool {
        self.card.is_some()
    }

    /// The counter of a PIN, from the cache when fresh.
    pub fn counter(&mut self, pin: PinKind) -> Result<PinStatus> {
        if let Some((status, at)) = self.learnt.counters.get(&pin) {
            if at.elapsed() < COUNTER_TTL && self.card.is_some() {
                return Ok(*status);
            }
        }
        self.session(|s, learnt| {
            let st = s.pin_status(pin)?;
            learnt.note_counter(pin, st);
            Ok(st)
        })
    }

    /// A certificate, read once per card. The sign certificate is only there after a login.
    pub fn cert(&mut self, kind: CertKind) -> Result<Cert> {
        if let Some(c) = self.learnt.certs.get(&kind) {
            if self.card.is_some() {
                return Ok(c.clone());
            }
        }
        self.session(|s, learnt| {
            if let Some(c) = learnt.certs.get(&kind) {
                return Ok(c.clone());
            }
            if s.cert_needs_pin(kind).is_some() {
                return Err(P11Error::Rv(cryptoki_sys::CKR_USER_NOT_LOGGED_IN));
            }
            let c = Cert::parse(s.read_cert(kind)?)?;
            learnt.certs.insert(kind, c.clone());
            Ok(c)
        })
    }

    /// The certificate if it was read already (no card access).
    pub fn cached_cert(&self, kind: CertKind) -> Option<&Cert> {
        self.learnt.certs.get(&kind)
    }

    /// Checks a PIN offline and against the PINs this card refused.
    pub fn checked_pin(&self, kind: PinKind, text: &str) -> Result<AnyPin> {
        let len = text.trim_end_matches(['\r', '\n']).chars().count();
        let range = match kind {
            PinKind::Sign => 6..=16,
            PinKind::Auth | PinKind::Text => 4..=4,
        };
        if !range.contains(&len) {
            return Err(P11Error::Rv(cryptoki_sys::CKR_PIN_LEN_RANGE));
        }
        let pin = AnyPin::new(kind, text)?;
        if self
            .learnt
            .refused
            .iter()
            .any(|(k, b)| *k == kind && b.as_slice() == pin.bytes())
        {
            return Err(P11Error::AlreadyRefused);
        }
        Ok(pin)
    }

    /// Counter, VERIFY (jpki-card's policy), then `then` in the same session; the card is
    /// reset at the end. A refused PIN is remembered; the counter cache follows the answer.
    pub fn verified<T>(
        &mut self,
        key: KeyKind,
        pin: &AnyPin,
        last_try: LastTry,
        then: impl FnOnce(&mut Session<'_>, &mut Learnt) -> Result<T>,
    ) -> Result<T> {
        let kind = key.pin();
        let r = self.session(|s, learnt| {
            let r = s.verify(pin, last_try);
            match &r {
                Ok(()) => learnt.note_counter(kind, PinStatus::Tries(Tries::new(kind.max_tries()))),
                Err(CardError::WrongPin { left, .. }) => {
                    learnt.note_counter(kind, PinStatus::Tries(*left))
                }
                Err(CardError::Blocked { .. }) => {
                    learnt.note_counter(kind, PinStatus::Tries(Tries::new(0)))
                }
                Err(CardError::LastTryRefused { .. }) => {
                    learnt.note_counter(kind, PinStatus::Tries(Tries::new(1)))
                }
                Err(_) => {}
            }
            r?;
            then(s, learnt)
        });
        if let Err(P11Error::Card(CardError::WrongPin { .. } | CardError::Blocked { .. })) = &r {
            self.learnt
                .refused
                .push((kind, Zeroizing::new(pin.bytes().to_vec())));
        }
        r
    }

    /// Login: VERIFY, and for the sign key the sign certificate, which needs the password.
    pub fn login(&mut self, key: KeyKind, pin: &AnyPin, last_try: LastTry) -> Result<()> {
        self.verified(key, pin, last_try, |s, learnt| {
            read_once(s, learnt, cert_of(key))?;
            Ok(())
        })
    }

    /// One signature: counter, VERIFY, COMPUTE DIGITAL SIGNATURE in one session ended by a
    /// card reset; the result is checked against the certificate before it is returned.
    pub fn sign(
        &mut self,
        key: KeyKind,
        pin: &AnyPin,
        last_try: LastTry,
        input: &SignInput,
    ) -> Result<Vec<u8>> {
        let sig = self.verified(key, pin, last_try, |s, learnt| {
            read_once(s, learnt, cert_of(key))?;
            Ok(s.sign_input(key, input)?.into_bytes())
        })?;
        let cert = self
            .learnt
            .certs
            .get(&cert_of(key))
            .ok_or(P11Error::Rv(cryptoki_sys::CKR_GENERAL_ERROR))?;
        cert.check(input, &sig)?;
        Ok(sig)
    }
}
