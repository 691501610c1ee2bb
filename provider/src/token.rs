//! The card as the provider sees it: one connection per process, the PINs verified so far,
//! and the certificates read so far.
//!
//! PIN rules (design.md; the card crate's `verify` module enforces them per VERIFY):
//! * the counter is read **before** asking, so the prompt shows the tries left, and a blocked
//!   PIN or a refused last try fails without asking at all;
//! * one prompt per key per process: a PIN the card accepted is kept (zeroizing) and presented
//!   again for each signature — OpenSSL offers no callback at signing time, and the card
//!   forgets the verification when a session ends;
//! * a PIN the card refused is remembered and never sent again in this process;
//! * after a fork (nginx master → workers) the parent's PC/SC handles are abandoned, not
//!   closed, and the child reconnects with the PINs it inherited;
//! * when the card goes away (removed, reset, pcscd gone) connection, PINs and certificates are
//!   all dropped: the next card may be another person's.
//!
//! It never logs a PIN and never holds a PC/SC transaction while a human is typing.

use crate::error::{ProvError, Result};
use crate::ffi::{Param, PassphraseCallback};
use crate::params::Builder;
use jpki_card::{
    AnyPin, Card, CardError, CertKind, CertificateDer, DigestInfo, KeyKind, LastTry, PinKind,
    ReaderChoice, RsaSignature, Secret, Session, Tries,
};
use jpki_uri::PinSource;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

/// What the card is asked to sign.
pub enum SignInput {
    /// PKCS#1 v1.5 over a DigestInfo (P1=00).
    Pkcs1(DigestInfo),
    /// RSASSA-PSS over a SHA-256 hash (P1=04).
    PssSha256([u8; 32]),
}

/// OpenSSL's passphrase callback, valid only during the store load / decode that passed it.
#[derive(Clone, Copy)]
pub struct Prompt {
    pub cb: PassphraseCallback,
    pub arg: *mut c_void,
}

/// How a PIN may be obtained for one operation.
pub struct Access<'a> {
    /// `pin-source=` of the URI, else of the provider config.
    pub pin_source: Option<&'a PinSource>,
    /// Whether the very last try may be spent.
    pub last_try: LastTry,
    /// OpenSSL's callback (terminal prompt, `-passin`, `ssl_password_file`, curl `--pass`).
    pub prompt: Option<Prompt>,
    /// The URI as shown to the user (no attributes).
    pub uri: &'a str,
}

struct Open {
    pid: u32,
    choice: ReaderChoice,
    card: Card,
}

#[derive(Default)]
struct Cache {
    pins: HashMap<PinKind, Zeroizing<String>>,
    certs: HashMap<CertKind, CertificateDer>,
    refused: Vec<(PinKind, Zeroizing<Vec<u8>>)>,
}

#[derive(Default)]
struct State {
    open: Option<Open>,
    cache: Cache,
}

/// The provider instance's card access.
#[derive(Default)]
pub struct Token {
    state: Mutex<State>,
}

/// The certificate that goes with a key.
pub fn cert_of(key: KeyKind) -> CertKind {
    match key {
        KeyKind::Auth => CertKind::Auth,
        KeyKind::Sign => CertKind::Sign,
    }
}

fn connection<'a>(open: &'a mut Option<Open>, choice: &ReaderChoice) -> Result<&'a mut Card> {
    let pid = std::process::id();
    if let Some(o) = open.take() {
        if o.pid != pid {
            // The parent's PC/SC context and card handle travel over the parent's socket to
            // pcscd: closing them from the child would act on the parent's connection.
            std::mem::forget(o);
        } else if o.choice == *choice {
            *open = Some(o);
        }
    }
    if open.is_none() {
        let card = Card::open(choice)?;
        tracing::debug!(target: "jpki_provider", reader = card.reader_name(), "card opened");
        *open = Some(Open {
            pid,
            choice: choice.clone(),
            card,
        });
    }
    match open.as_mut() {
        Some(o) => Ok(&mut o.card),
        None => Err(ProvError::Internal("card connection vanished")),
    }
}

/// Errors after which the connection (and everything learnt through it) is stale.
fn connection_lost(e: &ProvError) -> bool {
    matches!(e, ProvError::Card(c) if c.is_connection_lost())
}

impl State {
    /// Runs `f` in one card session (one PC/SC transaction).
    fn session<T>(
        &mut self,
        choice: &ReaderChoice,
        f: impl FnOnce(&mut Session<'_>, &mut Cache) -> Result<T>,
    ) -> Result<T> {
        let State { open, cache } = self;
        let r = connection(open, choice).and_then(|card| {
            let mut s = card.session().map_err(ProvError::from_card)?;
            f(&mut s, cache)
        });
        if let Err(e) = &r {
            if connection_lost(e) {
                tracing::debug!(target: "jpki_provider", "card connection lost; forgetting PINs and certificates");
                self.open = None;
                self.cache = Cache::default();
            }
        }
        r
    }
}

fn card(r: std::result::Result<impl Sized, CardError>) -> Result<()> {
    r.map(|_| ()).map_err(ProvError::from_card)
}

impl Token {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves nothing half-done that matters more than
        // being usable again: the card session ended with the panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Verifies the key's PIN once per process, asking through `access` if it is not known.
    /// For the sign key this also reads the sign certificate, which the card only gives out
    /// after the password.
    pub fn login(&self, choice: &ReaderChoice, key: KeyKind, access: &Access<'_>) -> Result<()> {
        let mut st = self.lock();
        let pin_kind = key.pin();
        if st.cache.pins.contains_key(&pin_kind) {
            return Ok(());
        }
        let status = st.session(choice, |s, _| {
            s.pin_status(pin_kind).map_err(ProvError::from_card)
        })?;
        status
            .may_present(pin_kind, access.last_try)
            .map_err(ProvError::from_card)?;
        let tries = status.tries();
        // No PC/SC transaction is open while the user types.
        let secret = obtain_pin(pin_kind, tries, access)?;
        let pin = AnyPin::new(pin_kind, &secret).map_err(ProvError::from_card)?;
        if st
            .cache
            .refused
            .iter()
            .any(|(k, b)| *k == pin_kind && b.as_slice() == pin.bytes())
        {
            return Err(ProvError::AlreadyRefused { pin: pin_kind });
        }
        let read_after = (key == KeyKind::Sign).then_some(CertKind::Sign);
        let r = st.session(choice, |s, cache| {
            card(s.verify(&pin, access.last_try))?;
            if let Some(kind) = read_after.filter(|k| !cache.certs.contains_key(k)) {
                let der = s.read_cert(kind).map_err(ProvError::from_card)?;
                cache.certs.insert(kind, der);
            }
            Ok(())
        });
        match r {
            Ok(()) => {
                st.cache.pins.insert(pin_kind, secret);
                Ok(())
            }
            Err(e) => {
                if matches!(
                    e,
                    ProvError::Card(CardError::WrongPin { .. } | CardError::Blocked { .. })
                ) {
                    st.cache
                        .refused
                        .push((pin_kind, Zeroizing::new(pin.bytes().to_vec())));
                }
                Err(e)
            }
        }
    }

    /// A certificate; the sign certificate logs in first (asking for the password once).
    pub fn cert(
        &self,
        choice: &ReaderChoice,
        kind: CertKind,
        access: &Access<'_>,
    ) -> Result<CertificateDer> {
        if kind == CertKind::Sign {
            self.login(choice, KeyKind::Sign, access)?;
        }
        let mut st = self.lock();
        if let Some(c) = st.cache.certs.get(&kind) {
            return Ok(c.clone());
        }
        let der = st.session(choice, |s, _| {
            s.read_cert(kind).map_err(ProvError::from_card)
        })?;
        st.cache.certs.insert(kind, der.clone());
        Ok(der)
    }

    /// Signs with a key whose PIN was verified at load time: one session of SELECT, counter,
    /// VERIFY (the kept PIN), SELECT key, SIGN. If the PIN was forgotten because the card went
    /// away, it is obtained again only from a pin-source (there is no prompt at signing time).
    pub fn sign(
        &self,
        choice: &ReaderChoice,
        key: KeyKind,
        input: &SignInput,
        access: &Access<'_>,
    ) -> Result<RsaSignature> {
        let pin_kind = key.pin();
        let known = self.lock().cache.pins.contains_key(&pin_kind);
        if !known {
            if access.pin_source.is_none() {
                return Err(ProvError::PinNeededAgain { pin: pin_kind });
            }
            self.login(choice, key, access)?;
        }
        let mut st = self.lock();
        let secret = st
            .cache
            .pins
            .get(&pin_kind)
            .cloned()
            .ok_or(ProvError::PinNeededAgain { pin: pin_kind })?;
        let pin = AnyPin::new(pin_kind, &secret).map_err(ProvError::from_card)?;
        let r = st.session(choice, |s, _| {
            card(s.verify(&pin, access.last_try))?;
            match input {
                SignInput::Pkcs1(di) => s.sign(key, di),
                SignInput::PssSha256(h) => s.sign_pss_sha256(key, h),
            }
            .map_err(ProvError::from_card)
        });
        if let Err(ProvError::Card(CardError::WrongPin { .. } | CardError::Blocked { .. })) = &r {
            // Another card, or the PIN was changed meanwhile: never present it again.
            st.cache.pins.remove(&pin_kind);
            st.cache
                .refused
                .push((pin_kind, Zeroizing::new(pin.bytes().to_vec())));
        }
        r
    }
}

/// Gets a PIN from the pin-source, else from OpenSSL's callback.
fn obtain_pin(
    pin: PinKind,
    tries: Option<Tries>,
    access: &Access<'_>,
) -> Result<Zeroizing<String>> {
    if let Some(src) = access.pin_source {
        return read_pin_source(pin, src);
    }
    let Some(prompt) = access.prompt else {
        return Err(ProvError::NoPin {
            pin,
            uri: access.uri.to_string(),
        });
    };
    let info = match tries {
        Some(t) => format!("{} — {pin}, {t} left", access.uri),
        None => format!("{} — {pin}", access.uri),
    };
    let mut buf = Zeroizing::new([0u8; 128]);
    let mut len = 0usize;
    let ok = Builder::default()
        .utf8(c"info", &info)
        .with(|params: *const Param| {
            // SAFETY: the callback OpenSSL gave for this load; buffer and length are ours.
            unsafe {
                (prompt.cb)(
                    buf.as_mut_ptr() as *mut c_char,
                    buf.len(),
                    &mut len,
                    params,
                    prompt.arg,
                )
            }
        });
    if ok == 0 || len == 0 || len > buf.len() {
        return Err(ProvError::NoPin {
            pin,
            uri: access.uri.to_string(),
        });
    }
    let s = std::str::from_utf8(&buf[..len]).map_err(|_| {
        ProvError::Card(CardError::BadPinFormat {
            pin,
            reason: "it is not valid text",
        })
    })?;
    Ok(Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_string()))
}

/// Reads a PIN from `file:` (first line) or `env:`.
pub fn read_pin_source(pin: PinKind, src: &PinSource) -> Result<Zeroizing<String>> {
    let fail = |reason: String| ProvError::PinSource {
        pin,
        source_name: src.to_string(),
        reason,
    };
    let text = match src {
        PinSource::File(path) => {
            let meta = std::fs::metadata(path).map_err(|e| fail(e.kind().to_string()))?;
            if meta.len() > 4096 {
                return Err(fail("the file is too large to be a PIN file".into()));
            }
            let bytes =
                Zeroizing::new(std::fs::read(path).map_err(|e| fail(e.kind().to_string()))?);
            Zeroizing::new(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| fail("the file is not text".into()))?,
            )
        }
        PinSource::Env(var) => Zeroizing::new(
            std::env::var(var).map_err(|_| fail("the variable is not set or not text".into()))?,
        ),
    };
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(fail("it is empty".into()));
    }
    Ok(Zeroizing::new(line.to_string()))
}
