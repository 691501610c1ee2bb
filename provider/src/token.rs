//! The card as the provider sees it: one connection per process, the PINs verified so far,
//! and the certificates read so far.
//!
//! PIN rules (design.md; the card crate's `verify` module enforces them per VERIFY):
//! * the counter is read **before** asking, so the prompt shows the tries left, and a blocked
//!   PIN or a refused last try fails without asking at all;
//! * one prompt per key per process: a PIN the card accepted is kept (zeroizing) and presented
//!   again for each signature — OpenSSL offers no callback at signing time, and the card
//!   forgets the verification when a session ends;
//! * APDU economy: the session that identifies the card also reads the PIN counter and the
//!   (free) certificate of the key; a PIN from a pin-source is verified in that same session.
//!   The load's VERIFY is left standing on the card for [`KEEP_VERIFIED`], so the signature
//!   that usually follows at once (`openssl dgst -sign`, a TLS handshake) costs one APDU and
//!   no second VERIFY. That state ends with the signature's session (a reset), or at the
//!   deadline through a timer thread that resets the card, or when the connection or the
//!   provider goes away; if the card lost it meanwhile (another program selected an
//!   application, a reset), the signature goes the ordinary way: counter, VERIFY, SIGN;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long the PIN verified at key load stays verified on the card, waiting for the signature
/// that usually follows at once. Until then any program that reaches the reader could use the
/// key, so it is short; a later signature presents the kept PIN again.
pub const KEEP_VERIFIED: Duration = Duration::from_secs(2);

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
    /// The reader's name, for the timer's reset.
    reader: String,
    /// A PIN verification left standing on the card after the load.
    kept: Option<Kept>,
}

impl Drop for Open {
    fn drop(&mut self) {
        // (A forked child forgets its parent's `Open` instead of dropping it.)
        if let Some(k) = self.kept.take() {
            if k.claim() {
                if let Ok(mut s) = self.card.session() {
                    s.reset_when_done();
                }
            }
        }
    }
}

/// A verified state left on the card by [`jpki_card::Session::keep_verified`], and the timer
/// that ends it at [`KEEP_VERIFIED`] if nothing uses it first.
struct Kept {
    pin: PinKind,
    /// True while the state is unused; whoever turns it false (the signature, the timer, a
    /// dropped connection) owns ending it.
    live: Arc<AtomicBool>,
    timer: Option<std::thread::JoinHandle<()>>,
}

impl Kept {
    /// Starts the timer; `None` if no thread could be started (then the caller resets now).
    fn start(pin: PinKind, reader: &str) -> Option<Kept> {
        let live = Arc::new(AtomicBool::new(true));
        let flag = live.clone();
        let reader = reader.to_string();
        let deadline = Instant::now() + KEEP_VERIFIED;
        // The timer touches no state of ours (no lock it could hold across a fork): only the
        // flag and a PC/SC connection of its own.
        let timer = std::thread::Builder::new()
            .name("jpki-keep-verified".into())
            .spawn(move || {
                while flag.load(Ordering::SeqCst) {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    std::thread::park_timeout(deadline - now);
                }
                if flag.swap(false, Ordering::SeqCst) {
                    tracing::debug!(target: "jpki_provider", "kept PIN verification unused; resetting the card");
                    if let Err(e) = jpki_card::pcsc::reset_card(&reader) {
                        tracing::debug!(target: "jpki_provider", "resetting the card: {e}");
                    }
                }
            })
            .ok()?;
        Some(Kept {
            pin,
            live,
            timer: Some(timer),
        })
    }

    /// Takes the state over and stops the timer: true if the state was still unused (the
    /// caller's next session must then end with a reset). Must not be called inside a PC/SC
    /// transaction: the timer may be waiting for one to reset the card.
    fn claim(mut self) -> bool {
        let unused = self.live.swap(false, Ordering::SeqCst);
        if let Some(t) = self.timer.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        unused
    }
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
            // pcscd: closing them from the child would act on the parent's connection (and a
            // kept verification is the parent's to end).
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
                        reader: card.reader_name().to_string(),
                        card,
                        kept: None,
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

    /// After a session that ended with [`Session::keep_verified`]: starts the timer that ends
    /// the state, or ends it now if no timer can run.
    fn keep(&mut self, pin: PinKind) {
        let Some(o) = self.open.as_mut() else { return };
        if let Some(old) = o.kept.take() {
            // Replaced by the new verification (same card state): only stop its timer.
            old.claim();
        }
        o.kept = Kept::start(pin, &o.reader);
        if o.kept.is_none() {
            if let Ok(mut s) = o.card.session() {
                s.reset_when_done();
            }
        }
    }

    /// Takes over a verification kept on this connection: (whether the card may still hold
    /// it — then the next session must end with a reset —, whether it is `pin`'s).
    fn claim_kept(&mut self, choice: &ReaderChoice, pin: PinKind) -> (bool, bool) {
        current(&mut self.open, choice);
        match self.open.as_mut().and_then(|o| o.kept.take()) {
            Some(k) => {
                let same = k.pin == pin;
                (k.claim(), same)
            }
            None => (false, false),
        }
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
    /// (2) counter again and VERIFY. The verification is kept on the card for the signature.
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
                st.keep(pin_kind);
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

    /// Signs with a key whose PIN was verified at load time. Right after the load the card
    /// still holds that verification: one session with only the SIGN (checked with `check`,
    /// the public key's verification, since no SELECT made sure which application answers).
    /// Otherwise one session of SELECT, counter, VERIFY (the kept PIN), SIGN. If the PIN was
    /// forgotten because the card went away, it is obtained again only from a pin-source
    /// (there is no prompt at signing time).
    pub fn sign(
        &self,
        choice: &ReaderChoice,
        key: KeyKind,
        input: &SignInput,
        access: &Access<'_>,
        check: &dyn Fn(&[u8]) -> bool,
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
        let (kept, same) = st.claim_kept(choice, pin_kind);
        let r = st.session(choice, |s, _| {
            if kept {
                // Ends the kept state whatever happens in this session.
                s.reset_when_done();
            }
            if kept && same {
                let fast = match input {
                    SignInput::Pkcs1(di) => s.sign_if_verified(key, di),
                    SignInput::PssSha256(h) => s.sign_pss_sha256_if_verified(key, h),
                }
                .map_err(ProvError::from_card)?;
                match fast {
                    Some(sig) if check(sig.as_bytes()) => return Ok(sig),
                    Some(_) => tracing::debug!(target: "jpki_provider", "a signature without SELECT does not match the key; signing the ordinary way"),
                    None => {}
                }
            }
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

    /// Ends a PIN verification still kept on the card (provider teardown): the provider may
    /// be unloaded next, and its timer thread with it.
    pub fn end_kept(&self) {
        let mut st = self.lock();
        if st
            .open
            .as_ref()
            .is_some_and(|o| o.pid == std::process::id())
        {
            if let Some(o) = st.open.as_mut() {
                if let Some(k) = o.kept.take() {
                    if k.claim() {
                        if let Ok(mut s) = o.card.session() {
                            s.reset_when_done();
                        }
                    }
                }
            }
        }
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

/// VERIFY under the card crate's policy (counter read right before it), the sign certificate
/// for the sign key, and the verification kept for the signature that usually follows.
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
    s.keep_verified();
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
