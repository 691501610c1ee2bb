//! The card as the provider sees it: one connection per process, the PINs verified so far,
//! and the certificates read so far.
//!
//! PIN rules (design.md; the card crate's `verify` module enforces them per VERIFY):
//! * the counter is read **before** asking, so the prompt shows the tries left, and a blocked
//!   PIN or a refused last try fails without asking at all;
//! * one prompt per key per process: a PIN the card accepted is kept (zeroizing) and presented
//!   again for each signature — OpenSSL offers no callback at signing time, and the card
//!   forgets the verification when a session ends;
//! * every session that presents a PIN ends with a card reset (the card crate's transports do
//!   it), so a verified state never outlives the operation that needed it: the load's VERIFY
//!   (which makes a wrong PIN fail at key load) and each signature's VERIFY are separate, and a
//!   signature session is always SELECT, counter, VERIFY, SIGN;
//! * APDU economy: the session that identifies the card also reads the PIN counter and the
//!   (free) certificate of the key; a PIN from a pin-source is verified in that same session;
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
    AnyPin, Card, CardError, CertKind, CertificateDer, KeyKind, LastTry, PinKind, ReaderChoice,
    RsaSignature, Secret, Session, SignInput, Tries,
};
use jpki_pin_source::Request;
use jpki_uri::PinSource;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

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
pub struct Token {
    state: Mutex<State>,
    /// `protect-process`: make the host process non-dumpable once a PIN is held.
    protect_process: bool,
}

/// The certificate that goes with a key.
pub fn cert_of(key: KeyKind) -> CertKind {
    match key {
        KeyKind::Auth => CertKind::Auth,
        KeyKind::Sign => CertKind::Sign,
    }
}

/// Keeps `open` only if it is this process's connection to the reader `choice` names.
fn current(open: &mut Option<Open>, choice: &ReaderChoice) {
    if let Some(o) = open.take() {
        if o.pid != std::process::id() {
            // The parent's PC/SC context and card handle travel over the parent's socket to
            // pcscd: closing them from the child would act on the parent's connection.
            std::mem::forget(o);
        } else if o.choice == *choice {
            *open = Some(o);
        }
    }
}

/// Errors after which the connection (and everything learnt through it) is stale.
fn connection_lost(e: &ProvError) -> bool {
    matches!(e, ProvError::Card(c) if c.is_connection_lost())
}

impl State {
    /// Runs `f` in one card session (one PC/SC transaction); when this opens the connection,
    /// in the session that identified the card.
    fn session<T>(
        &mut self,
        choice: &ReaderChoice,
        f: impl FnOnce(&mut Session<'_>, &mut Cache) -> Result<T>,
    ) -> Result<T> {
        current(&mut self.open, choice);
        let State { open, cache } = self;
        let r = match open {
            Some(o) => o
                .card
                .session()
                .map_err(ProvError::from_card)
                .and_then(|mut s| f(&mut s, cache)),
            None => match Card::open_then(choice, |s| Ok(f(s, cache))) {
                Ok((card, r)) => {
                    tracing::debug!(target: "jpki_provider", reader = card.reader_name(), "card opened");
                    *open = Some(Open {
                        pid: std::process::id(),
                        choice: choice.clone(),
                        card,
                    });
                    r.map_err(ProvError::from_card).and_then(|r| r)
                }
                Err(e) => Err(ProvError::from_card(e)),
            },
        };
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
    /// Card access; `protect_process` as the provider config says.
    pub fn new(protect_process: bool) -> Token {
        Token {
            state: Mutex::default(),
            protect_process,
        }
    }

    /// Called when a PIN is about to be held in memory: with `protect-process` (the default)
    /// the host program becomes non-dumpable — no core dump, no same-user ptrace or
    /// /proc/PID/mem can reveal the PIN. Where the OS refuses, nothing else changes: the PIN
    /// buffers are zeroized either way.
    fn protect(&self) {
        if !self.protect_process {
            return;
        }
        if let Err(e) =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        {
            tracing::debug!(target: "jpki_provider", "could not make the process non-dumpable: {e}");
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves nothing half-done that matters more than
        // being usable again: the card session ended with the panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Verifies the key's PIN once per process, asking through `access` if it is not known.
    /// For the sign key this also reads the sign certificate, which the card only gives out
    /// after the password; for a key whose certificate is free, the certificate is read in
    /// the session that reads the counter.
    ///
    /// Sessions: (1) counter [+ certificate], then — unless the PIN comes from a pin-source,
    /// which is read and verified in session 1 — the prompt outside any transaction, then
    /// (2) counter again and VERIFY. Each session that VERIFYs ends with a card reset.
    pub fn login(&self, choice: &ReaderChoice, key: KeyKind, access: &Access<'_>) -> Result<()> {
        let mut st = self.lock();
        let pin_kind = key.pin();
        if st.cache.pins.contains_key(&pin_kind) {
            return Ok(());
        }
        let free_cert = cert_of(key);
        // The PIN as presented, for the refused list if the card says no.
        let mut presented: Option<Zeroizing<Vec<u8>>> = None;
        let mut verified: Option<Zeroizing<String>> = None;
        let r = st.session(choice, |s, cache| {
            let status = s.pin_status(pin_kind).map_err(ProvError::from_card)?;
            if s.cert_needs_pin(free_cert).is_none() && !cache.certs.contains_key(&free_cert) {
                let der = s.read_cert(free_cert).map_err(ProvError::from_card)?;
                cache.certs.insert(free_cert, der);
            }
            status
                .may_present(pin_kind, access.last_try)
                .map_err(ProvError::from_card)?;
            let Some(src) = access.pin_source else {
                return Ok(status);
            };
            // Nobody types: read the pin-source now and verify in this same session.
            self.protect();
            let secret = read_pin_source(pin_kind, src)?;
            let pin = checked_pin(&cache.refused, pin_kind, &secret)?;
            presented = Some(Zeroizing::new(pin.bytes().to_vec()));
            present(s, cache, key, &pin, access.last_try)?;
            verified = Some(secret);
            Ok(status)
        });
        let r = match (r, verified) {
            (Ok(_), Some(secret)) => Ok(secret),
            (Ok(status), None) => {
                // No PC/SC transaction is open while the user types.
                self.protect();
                let secret = obtain_pin(pin_kind, status.tries(), access)?;
                let pin = checked_pin(&st.cache.refused, pin_kind, &secret)?;
                presented = Some(Zeroizing::new(pin.bytes().to_vec()));
                st.session(choice, |s, cache| {
                    present(s, cache, key, &pin, access.last_try)
                })
                .map(|()| secret)
            }
            (Err(e), _) => Err(e),
        };
        match r {
            Ok(secret) => {
                st.cache.pins.insert(pin_kind, secret);
                Ok(())
            }
            Err(e) => {
                if let (
                    ProvError::Card(CardError::WrongPin { .. } | CardError::Blocked { .. }),
                    Some(bytes),
                ) = (&e, presented)
                {
                    st.cache.refused.push((pin_kind, bytes));
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
    /// VERIFY (the kept PIN), SIGN, ended by a card reset. If the PIN was forgotten because
    /// the card went away, it is obtained again only from a pin-source (there is no prompt at
    /// signing time).
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
            s.sign_input(key, input).map_err(ProvError::from_card)
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

/// The PIN typed or read, checked offline and against the PINs the card refused before.
fn checked_pin(
    refused: &[(PinKind, Zeroizing<Vec<u8>>)],
    kind: PinKind,
    secret: &str,
) -> Result<AnyPin> {
    let pin = AnyPin::new(kind, secret).map_err(ProvError::from_card)?;
    if refused
        .iter()
        .any(|(k, b)| *k == kind && b.as_slice() == pin.bytes())
    {
        return Err(ProvError::AlreadyRefused { pin: kind });
    }
    Ok(pin)
}

/// VERIFY under the card crate's policy (counter read right before it), and the sign
/// certificate for the sign key. The session then ends with a card reset.
fn present(
    s: &mut Session<'_>,
    cache: &mut Cache,
    key: KeyKind,
    pin: &AnyPin,
    last_try: LastTry,
) -> Result<()> {
    card(s.verify(pin, last_try))?;
    let kind = cert_of(key);
    if s.cert_needs_pin(kind).is_some() && !cache.certs.contains_key(&kind) {
        let der = s.read_cert(kind).map_err(ProvError::from_card)?;
        cache.certs.insert(kind, der);
    }
    Ok(())
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

/// Reads a PIN from the pin-source (`file:` first line, or `env:`) through jpki-pin-source;
/// its error names a file without its path and never holds the value.
pub fn read_pin_source(pin: PinKind, src: &PinSource) -> Result<Zeroizing<String>> {
    src.read(&Request::default())
        .map_err(|e| ProvError::PinSource {
            pin,
            source_name: src.describe(),
            reason: e.reason(),
        })
}
