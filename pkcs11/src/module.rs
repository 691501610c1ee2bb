//! The module's state and the operations behind the entry points, in safe Rust: slots and
//! tokens, sessions, login under the PIN law, object search, attributes, signing.
//!
//! Slot 0 is the auth key's token (利用者証明用), slot 1 the sign key's (署名用), both on the
//! reader the config names. One `Mutex` guards everything (`CKF_OS_LOCKING_OK`): the card is
//! one device and its commands run one at a time anyway.
//!
//! The PIN law: a PIN is checked offline first (`CKR_PIN_LEN_RANGE`, `CKR_PIN_INVALID`, nothing
//! sent), refused PINs are never sent again, and jpki-card reads the counter before every
//! VERIFY, never presents a blocked PIN, and refuses the last try unless `last-try = allow`.
//! `C_Login` VERIFYs once (so a typo is reported at once) in a session that ends with a card
//! reset; the PIN is then kept (zeroizing) while logged in and each signature is one session
//! of counter, VERIFY, SIGN, reset: no verified state outlives the operation that needed it,
//! and the sign key needs no context-specific login (`CKA_ALWAYS_AUTHENTICATE` false).

use crate::config::{Config, KeyConfig};
use crate::error::{rv, P11Error, Result};
use crate::mechanism::Input;
use crate::object::{attribute, Kind, Object, Value};
use crate::token::CardAccess;
use cryptoki_sys::*;
use jpki_card::{AnyPin, KeyKind, PinKind, PinStatus};
use jpki_pin_source::Request;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

/// One attribute of a search template: its type and value (`None`: a length no value of
/// this attribute has, left unread).
pub type SearchAttr = (CK_ATTRIBUTE_TYPE, Option<Vec<u8>>);

/// Slots, in order.
pub const SLOTS: [KeyKind; 2] = [KeyKind::Auth, KeyKind::Sign];

/// The key of a slot id.
pub fn slot_key(slot: CK_SLOT_ID) -> Result<KeyKind> {
    match slot {
        0 => Ok(KeyKind::Auth),
        1 => Ok(KeyKind::Sign),
        _ => rv(CKR_SLOT_ID_INVALID),
    }
}

/// The slot id of a key.
pub fn slot_id(key: KeyKind) -> CK_SLOT_ID {
    match key {
        KeyKind::Auth => 0,
        KeyKind::Sign => 1,
    }
}

struct SignOp {
    input: Input,
}

struct Session {
    key: KeyKind,
    rw: bool,
    generation: u64,
    find: Option<VecDeque<CK_OBJECT_HANDLE>>,
    sign: Option<SignOp>,
}

/// Everything `C_Initialize` sets up.
pub struct Module {
    pid: u32,
    config: Config,
    card: CardAccess,
    sessions: HashMap<CK_SESSION_HANDLE, Session>,
    next_session: CK_SESSION_HANDLE,
    logins: HashMap<KeyKind, Zeroizing<String>>,
    login_generation: u64,
    /// Presence last reported by `C_WaitForSlotEvent`.
    reported_present: Option<bool>,
    pending_events: VecDeque<CK_SLOT_ID>,
}

static MODULE: Mutex<Option<Module>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<Module>> {
    // A panic inside leaves nothing half-done that matters more than being usable again:
    // the card session it held ended with it.
    MODULE.lock().unwrap_or_else(|p| p.into_inner())
}

/// `C_Initialize`.
pub fn initialize() -> Result<()> {
    let mut g = lock();
    if let Some(m) = g.as_ref() {
        if m.pid == std::process::id() {
            return rv(CKR_CRYPTOKI_ALREADY_INITIALIZED);
        }
    }
    // A forked child: drop the parent's state (its card handle is abandoned, not closed).
    *g = None;
    // Diagnostics to stderr only when asked (`JPKI_PKCS11_LOG=jpki_card=trace` shows
    // the APDUs, VERIFY data masked by jpki-card); a host's own subscriber is left alone.
    if let Ok(filter) = std::env::var("JPKI_PKCS11_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let config = Config::load().map_err(|e| {
        eprintln!("{e}");
        P11Error::Rv(CKR_GENERAL_ERROR)
    })?;
    *g = Some(Module {
        pid: std::process::id(),
        card: CardAccess::new(config.reader.clone()),
        config,
        sessions: HashMap::new(),
        next_session: 1,
        logins: HashMap::new(),
        login_generation: 0,
        reported_present: None,
        pending_events: VecDeque::new(),
    });
    Ok(())
}

/// `C_Finalize`: sessions, logins and the card connection go.
pub fn finalize() -> Result<()> {
    let mut g = lock();
    match g.take() {
        Some(m) if m.pid == std::process::id() => Ok(()),
        _ => rv(CKR_CRYPTOKI_NOT_INITIALIZED),
    }
}

/// Runs `f` on the initialized module of this process.
pub fn with<T>(f: impl FnOnce(&mut Module) -> Result<T>) -> Result<T> {
    let mut g = lock();
    match g.as_mut() {
        Some(m) if m.pid == std::process::id() => f(m),
        Some(_) => {
            // Inherited through fork() without C_Initialize in this process.
            *g = None;
            rv(CKR_CRYPTOKI_NOT_INITIALIZED)
        }
        None => rv(CKR_CRYPTOKI_NOT_INITIALIZED),
    }
}

/// What `C_GetTokenInfo` shows (text fields not yet padded).
pub struct TokenInfo {
    pub label: &'static str,
    pub serial: String,
    pub flags: CK_FLAGS,
    pub min_pin: CK_ULONG,
    pub max_pin: CK_ULONG,
    pub sessions: CK_ULONG,
    pub rw_sessions: CK_ULONG,
}

/// The flags that carry a PIN counter read without spending a try.
pub fn counter_flags(pin: PinKind, status: PinStatus) -> CK_FLAGS {
    match status {
        PinStatus::Verified => 0,
        PinStatus::Tries(t) if t.is_blocked() => CKF_USER_PIN_LOCKED,
        PinStatus::Tries(t) => {
            let mut f = 0;
            if t.get() < pin.max_tries() {
                f |= CKF_USER_PIN_COUNT_LOW;
            }
            if t.is_last() {
                f |= CKF_USER_PIN_FINAL_TRY;
            }
            f
        }
    }
}

impl Module {
    fn keyconf(&self, key: KeyKind) -> &KeyConfig {
        self.config.key(key)
    }

    /// Drops sessions and logins of a card that is gone.
    fn sync_generation(&mut self) {
        let g = self.card.generation;
        if !self.card.is_open() || self.login_generation != g {
            self.logins.clear();
            self.login_generation = g;
        }
        let open = self.card.is_open();
        self.sessions.retain(|_, s| open && s.generation == g);
    }

    /// Whether the reader holds the card (the open connection is checked without an APDU).
    pub fn present(&mut self) -> bool {
        let p = self.card.present();
        self.sync_generation();
        p
    }

    /// `C_GetSlotInfo`'s presence: as [`Module::present`], and a card opened now has the
    /// slot's PIN counter read in the identifying session, since every consumer seen
    /// (pkcs11-tool, Java, NSS) asks for that slot's token info next.
    pub fn slot_present(&mut self, key: KeyKind) -> bool {
        let p = self.card.present_noting(Some(key.pin()));
        self.sync_generation();
        p
    }

    /// `C_GetSlotList`.
    pub fn slot_list(&mut self, token_present: bool) -> Vec<CK_SLOT_ID> {
        if token_present && !self.present() {
            return Vec::new();
        }
        self.config.tokens.iter().map(|k| slot_id(*k)).collect()
    }

    /// A slot the configuration hides (`tokens`) does not exist for callers.
    fn require_shown(&self, key: KeyKind) -> Result<()> {
        if self.config.tokens.contains(&key) {
            Ok(())
        } else {
            rv(CKR_SLOT_ID_INVALID)
        }
    }

    fn require_present(&mut self) -> Result<()> {
        if self.present() {
            Ok(())
        } else {
            rv(CKR_TOKEN_NOT_PRESENT)
        }
    }

    /// `C_GetTokenInfo`.
    pub fn token_info(&mut self, key: KeyKind) -> Result<TokenInfo> {
        self.require_shown(key)?;
        // An open card is checked without an APDU; a card not yet opened is identified by the
        // counter read below, in one session with it (no SELECT of its own).
        if self.card.is_open() {
            self.require_present()?;
        }
        let counted = self.card.counter(key.pin());
        self.sync_generation();
        if !self.card.is_open() {
            return rv(CKR_TOKEN_NOT_PRESENT);
        }
        let conf = self.keyconf(key).clone();
        let pin = key.pin();
        let mut flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_WRITE_PROTECTED;
        if !conf.pin_at_sign {
            flags |= CKF_LOGIN_REQUIRED;
            if conf.pin_source.is_some() {
                flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
            }
        }
        // A counter the card would not tell leaves the flags without it.
        if let Ok(st) = counted {
            flags |= counter_flags(pin, st);
        }
        let serial = self
            .card
            .cached_cert(jpki_card::CertKind::Auth)
            .map(|c| c.serial_hex())
            .unwrap_or_default();
        let serial = serial[serial.len().saturating_sub(16)..].to_string();
        let count = |rw_only: bool| {
            self.sessions
                .values()
                .filter(|s| s.key == key && (!rw_only || s.rw))
                .count() as CK_ULONG
        };
        let (min_pin, max_pin) = match key {
            KeyKind::Auth => (4, 4),
            KeyKind::Sign => (6, 16),
        };
        Ok(TokenInfo {
            label: match key {
                KeyKind::Auth => "JPKI 利用者証明用 Auth",
                KeyKind::Sign => "JPKI 署名用 Sign",
            },
            serial,
            flags,
            min_pin,
            max_pin,
            sessions: count(false),
            rw_sessions: count(true),
        })
    }

    /// `C_GetMechanismList`.
    pub fn mechanisms(&self) -> Vec<CK_MECHANISM_TYPE> {
        crate::mechanism::list(self.config.pss)
    }

    /// `C_OpenSession`.
    pub fn open_session(&mut self, key: KeyKind, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
        if flags & CKF_SERIAL_SESSION == 0 {
            return rv(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
        }
        self.require_shown(key)?;
        self.require_present()?;
        let h = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            h,
            Session {
                key,
                rw: flags & CKF_RW_SESSION != 0,
                generation: self.card.generation,
                find: None,
                sign: None,
            },
        );
        Ok(h)
    }

    fn session(&mut self, h: CK_SESSION_HANDLE) -> Result<&mut Session> {
        self.sync_generation();
        self.sessions
            .get_mut(&h)
            .ok_or(P11Error::Rv(CKR_SESSION_HANDLE_INVALID))
    }

    fn session_key(&mut self, h: CK_SESSION_HANDLE) -> Result<KeyKind> {
        Ok(self.session(h)?.key)
    }

    /// `C_CloseSession`; the last session of a token logs it out.
    pub fn close_session(&mut self, h: CK_SESSION_HANDLE) -> Result<()> {
        let key = self.session_key(h)?;
        self.sessions.remove(&h);
        if !self.sessions.values().any(|s| s.key == key) {
            self.logins.remove(&key);
        }
        Ok(())
    }

    /// `C_CloseAllSessions`.
    pub fn close_all(&mut self, key: KeyKind) {
        self.sessions.retain(|_, s| s.key != key);
        self.logins.remove(&key);
    }

    /// `C_GetSessionInfo`: (slot, state, flags).
    pub fn session_info(
        &mut self,
        h: CK_SESSION_HANDLE,
    ) -> Result<(CK_SLOT_ID, CK_STATE, CK_FLAGS)> {
        let s = self.session(h)?;
        let (key, rw) = (s.key, s.rw);
        let user = self.logins.contains_key(&key);
        let state = match (rw, user) {
            (false, false) => CKS_RO_PUBLIC_SESSION,
            (false, true) => CKS_RO_USER_FUNCTIONS,
            (true, false) => CKS_RW_PUBLIC_SESSION,
            (true, true) => CKS_RW_USER_FUNCTIONS,
        };
        let flags = CKF_SERIAL_SESSION | if rw { CKF_RW_SESSION } else { 0 };
        Ok((slot_id(key), state, flags))
    }

    /// The PIN from the token's pin-source, after the counter says it may be presented.
    fn pin_from_source(&mut self, key: KeyKind) -> Result<Zeroizing<String>> {
        let conf = self.keyconf(key).clone();
        let Some(src) = conf.pin_source else {
            return rv(CKR_ARGUMENTS_BAD);
        };
        let pin = key.pin();
        let status = self.card.counter(pin)?;
        status.may_present(pin, conf.last_try)?;
        Ok(src.read(&request(pin, status))?)
    }

    /// `C_Login`. `pin` is `None` for the protected authentication path.
    pub fn login(
        &mut self,
        h: CK_SESSION_HANDLE,
        user: CK_USER_TYPE,
        pin: Option<&[u8]>,
    ) -> Result<()> {
        let key = self.session_key(h)?;
        match user {
            CKU_USER if self.logins.contains_key(&key) => return rv(CKR_USER_ALREADY_LOGGED_IN),
            CKU_USER => {}
            // Accepted for consumers that insist, although no key asks for it.
            CKU_CONTEXT_SPECIFIC => {
                if self.session(h)?.sign.is_none() {
                    return rv(CKR_OPERATION_NOT_INITIALIZED);
                }
            }
            CKU_SO => return rv(CKR_PIN_INCORRECT),
            _ => return rv(CKR_USER_TYPE_INVALID),
        }
        let text = match pin {
            Some(bytes) => Zeroizing::new(
                std::str::from_utf8(bytes)
                    .map_err(|_| P11Error::Rv(CKR_PIN_INVALID))?
                    .to_string(),
            ),
            None => self.pin_from_source(key)?,
        };
        let checked = self.card.checked_pin(key.pin(), &text)?;
        let last_try = self.keyconf(key).last_try;
        self.card
            .login(key, &checked, last_try)
            .inspect_err(|_| self.sync_generation())?;
        self.sync_generation();
        self.logins.insert(key, text);
        Ok(())
    }

    /// `C_Logout`.
    pub fn logout(&mut self, h: CK_SESSION_HANDLE) -> Result<()> {
        let key = self.session_key(h)?;
        if self.logins.remove(&key).is_none() {
            return rv(CKR_USER_NOT_LOGGED_IN);
        }
        Ok(())
    }

    fn visible(&self, obj: Object) -> bool {
        let conf = self.keyconf(obj.key);
        !obj.is_private(conf.pin_at_sign) || self.logins.contains_key(&obj.key)
    }

    /// The object a handle names in this session's token, if the session may see it.
    fn object(&mut self, h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> Result<Object> {
        let key = self.session_key(h)?;
        match Object::from_handle(o) {
            Some(obj) if obj.key == key && self.visible(obj) => Ok(obj),
            _ => rv(CKR_OBJECT_HANDLE_INVALID),
        }
    }

    /// The certificate behind an object's attributes; a pin-at-sign sign token gets the
    /// password from its pin-source to read it.
    fn cert_for(&mut self, obj: Object) -> Result<crate::cert::Cert> {
        let kind = obj.cert_kind();
        match self.card.cert(kind) {
            Err(P11Error::Rv(CKR_USER_NOT_LOGGED_IN)) if self.keyconf(obj.key).pin_at_sign => {
                let text = self.pin_from_source(obj.key)?;
                let pin = self.card.checked_pin(obj.key.pin(), &text)?;
                let last_try = self.keyconf(obj.key).last_try;
                self.card.login(obj.key, &pin, last_try)?;
                self.card.cert(kind)
            }
            r => r,
        }
    }

    /// Attribute values of an object, in the order asked.
    pub fn attributes(
        &mut self,
        h: CK_SESSION_HANDLE,
        o: CK_OBJECT_HANDLE,
        types: &[CK_ATTRIBUTE_TYPE],
    ) -> Result<Vec<Value>> {
        let obj = self.object(h, o)?;
        let cert = if types.iter().any(|t| obj.needs_cert(*t)) {
            Some(self.cert_for(obj).inspect_err(|_| self.sync_generation())?)
        } else {
            None
        };
        let private = obj.is_private(self.keyconf(obj.key).pin_at_sign);
        types
            .iter()
            .map(|t| attribute(obj, *t, private, cert.as_ref()))
            .collect()
    }

    fn matches(&mut self, obj: Object, template: &[SearchAttr]) -> Result<bool> {
        let private = obj.is_private(self.keyconf(obj.key).pin_at_sign);
        // Attributes answered without the card first: most searches end there.
        let mut order: Vec<&SearchAttr> = template.iter().collect();
        order.sort_by_key(|(t, _)| obj.needs_cert(*t));
        for (t, want) in order {
            // A value whose length could not match was never read: no match.
            let Some(want) = want else {
                return Ok(false);
            };
            let cert = if obj.needs_cert(*t) {
                Some(self.cert_for(obj)?)
            } else {
                None
            };
            match attribute(obj, *t, private, cert.as_ref())? {
                Value::Bytes(v) if v == *want => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// `C_FindObjectsInit`.
    pub fn find_init(&mut self, h: CK_SESSION_HANDLE, template: &[SearchAttr]) -> Result<()> {
        let s = self.session(h)?;
        if s.find.is_some() {
            return rv(CKR_OPERATION_ACTIVE);
        }
        let key = s.key;
        let mut found = VecDeque::new();
        for obj in Object::of(key) {
            if self.visible(obj) {
                match self.matches(obj, template) {
                    Ok(true) => found.push_back(obj.handle()),
                    Ok(false) => {}
                    // A certificate that cannot be read (yet) does not match.
                    Err(P11Error::Rv(CKR_USER_NOT_LOGGED_IN)) => {}
                    Err(e) => {
                        self.sync_generation();
                        return Err(e);
                    }
                }
            }
        }
        self.session(h)?.find = Some(found);
        Ok(())
    }

    /// `C_FindObjects`.
    pub fn find(&mut self, h: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>> {
        let s = self.session(h)?;
        let f = s
            .find
            .as_mut()
            .ok_or(P11Error::Rv(CKR_OPERATION_NOT_INITIALIZED))?;
        let n = max.min(f.len());
        Ok(f.drain(..n).collect())
    }

    /// `C_FindObjectsFinal`.
    pub fn find_final(&mut self, h: CK_SESSION_HANDLE) -> Result<()> {
        match self.session(h)?.find.take() {
            Some(_) => Ok(()),
            None => rv(CKR_OPERATION_NOT_INITIALIZED),
        }
    }

    /// `C_SignInit`.
    pub fn sign_init(
        &mut self,
        h: CK_SESSION_HANDLE,
        mech: CK_MECHANISM_TYPE,
        pss: Option<&CK_RSA_PKCS_PSS_PARAMS>,
        key: CK_OBJECT_HANDLE,
    ) -> Result<()> {
        let s_key = self.session_key(h)?;
        if self.session(h)?.sign.is_some() {
            return rv(CKR_OPERATION_ACTIVE);
        }
        let obj = match Object::from_handle(key) {
            Some(o) if o.key == s_key => o,
            _ => return rv(CKR_KEY_HANDLE_INVALID),
        };
        if !self.visible(obj) {
            return rv(CKR_USER_NOT_LOGGED_IN);
        }
        if obj.kind != Kind::PrivateKey {
            return rv(CKR_KEY_FUNCTION_NOT_PERMITTED);
        }
        let input = Input::start(mech, pss, self.config.pss)?;
        self.session(h)?.sign = Some(SignOp { input });
        Ok(())
    }

    /// Signature length of a session's key.
    fn sig_len(&self, key: KeyKind) -> usize {
        self.card
            .cached_cert(crate::token::cert_of(key))
            .map_or(256, |c| c.n.len())
    }

    /// `C_SignUpdate`.
    pub fn sign_update(&mut self, h: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        let s = self.session(h)?;
        let op = s
            .sign
            .as_mut()
            .ok_or(P11Error::Rv(CKR_OPERATION_NOT_INITIALIZED))?;
        let r = op.input.update(data);
        if r.is_err() {
            s.sign = None;
        }
        r
    }

    /// `C_Sign` (`data` = `Some`) or `C_SignFinal` (`None`). `cap` is the caller's buffer size,
    /// `None` for a length query; the operation goes on after a length query or a buffer too
    /// small, and ends otherwise.
    pub fn sign(
        &mut self,
        h: CK_SESSION_HANDLE,
        data: Option<&[u8]>,
        cap: Option<usize>,
    ) -> Result<SignOutput> {
        let key = self.session_key(h)?;
        if self.session(h)?.sign.is_none() {
            return rv(CKR_OPERATION_NOT_INITIALIZED);
        }
        let len = self.sig_len(key);
        match cap {
            None => return Ok(SignOutput::Length(len)),
            Some(c) if c < len => return Ok(SignOutput::TooSmall(len)),
            Some(_) => {}
        }
        let Some(mut op) = self.session(h)?.sign.take() else {
            return rv(CKR_OPERATION_NOT_INITIALIZED);
        };
        if let Some(d) = data {
            op.input.update(d)?;
        }
        let input = op.input.finish()?;
        let text = match self.logins.get(&key) {
            Some(t) => t.clone(),
            None if self.keyconf(key).pin_at_sign => self.pin_from_source(key)?,
            None => return rv(CKR_USER_NOT_LOGGED_IN),
        };
        let pin: AnyPin = self.card.checked_pin(key.pin(), &text)?;
        let last_try = self.keyconf(key).last_try;
        let r = self.card.sign(key, &pin, last_try, &input);
        if let Err(P11Error::Card(
            jpki_card::CardError::WrongPin { .. } | jpki_card::CardError::Blocked { .. },
        )) = &r
        {
            // Another card, or the PIN changed meanwhile: log out, never present it again.
            self.logins.remove(&key);
        }
        self.sync_generation();
        r.map(SignOutput::Signature)
    }

    /// `C_WaitForSlotEvent` without blocking: a slot whose token came or went since the last
    /// call, if any.
    pub fn slot_event(&mut self) -> Option<CK_SLOT_ID> {
        if let Some(s) = self.pending_events.pop_front() {
            return Some(s);
        }
        let now = self.present();
        let before = self.reported_present.replace(now);
        if before.is_some_and(|b| b != now) {
            self.pending_events.push_back(1);
            return Some(0);
        }
        None
    }
}

/// Result of [`Module::sign`].
pub enum SignOutput {
    /// The caller asked for the length.
    Length(usize),
    /// The caller's buffer is too small; this is the length.
    TooSmall(usize),
    /// The checked signature.
    Signature(Vec<u8>),
}

/// What pinentry shows: which PIN, tries left, in Japanese and English.
fn request(pin: PinKind, status: PinStatus) -> Request {
    let (ja, en) = match pin {
        PinKind::Sign => (
            "署名用パスワード（英大文字・数字 6〜16桁）",
            "sign password (6-16 of A-Z, 0-9)",
        ),
        _ => ("利用者証明用暗証番号（数字4桁）", "auth PIN (4 digits)"),
    };
    let tries = match status.tries() {
        Some(t) => format!("\n残り{}回 / {t} left", t.get()),
        None => String::new(),
    };
    Request {
        title: "マイナンバーカード / My Number card".into(),
        description: format!("{ja}を入力してください。\nEnter the {en}.{tries}"),
        prompt: if pin == PinKind::Sign {
            "パスワード / Password:"
        } else {
            "暗証番号 / PIN:"
        }
        .into(),
        error: None,
    }
}
