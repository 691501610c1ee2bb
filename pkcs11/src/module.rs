//! The module's state and the operations behind the entry points, in safe Rust: slots and
//! tokens, sessions, login under the PIN law, object search, attributes, signing.
//!
//! Every reader the configuration allows (`reader`, else `JPKI_READER`, else every reader that
//! is not virtual) gets two slots, numbered in the order the module first saw the reader:
//! reader *i* has slot 2*i* for the auth key's token (利用者証明用) and 2*i*+1 for the sign
//! key's (署名用). With no such reader yet, slots 0 and 1 exist without a token, and the first
//! reader plugged in takes them. Each reader has its own card connection, certificates, PIN
//! counters and logins. One `Mutex` guards everything (`CKF_OS_LOCKING_OK`): PC/SC runs the
//! commands of one card one at a time anyway.
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
use jpki_card::{AnyPin, KeyKind, PinKind, PinStatus, ReaderChoice};
use jpki_pin_source::Request;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

/// One attribute of a search template: its type and value (`None`: a length no value of
/// this attribute has, left unread).
pub type SearchAttr = (CK_ATTRIBUTE_TYPE, Option<Vec<u8>>);

/// A slot: one key's token on one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The reader's number, in the order the module first saw it.
    pub reader: usize,
    /// The key.
    pub key: KeyKind,
}

impl Slot {
    /// The slot a slot id names, if the id has that form (whether the reader exists is the
    /// module's question).
    pub fn from_id(id: CK_SLOT_ID) -> Result<Slot> {
        let reader = usize::try_from(id / 2).map_err(|_| P11Error::Rv(CKR_SLOT_ID_INVALID))?;
        let key = match id & 1 {
            0 => KeyKind::Auth,
            _ => KeyKind::Sign,
        };
        Ok(Slot { reader, key })
    }

    /// The slot id.
    pub fn id(self) -> CK_SLOT_ID {
        let key = match self.key {
            KeyKind::Auth => 0,
            KeyKind::Sign => 1,
        };
        self.reader as CK_SLOT_ID * 2 + key
    }
}

/// One reader's card and logins.
struct ReaderSlots {
    /// The PC/SC name; `None` until a reader is there to take slots 0 and 1.
    name: Option<String>,
    card: CardAccess,
    logins: HashMap<KeyKind, Zeroizing<String>>,
    login_generation: u64,
    /// Presence last reported by `C_WaitForSlotEvent`.
    reported_present: Option<bool>,
}

impl ReaderSlots {
    fn new(name: Option<String>) -> ReaderSlots {
        // Without a reader the connection looks for an exact name nobody has: no token.
        let choice = ReaderChoice::Exact(name.clone().unwrap_or_default());
        ReaderSlots {
            name,
            card: CardAccess::new(choice),
            logins: HashMap::new(),
            login_generation: 0,
            reported_present: None,
        }
    }
}

struct SignOp {
    input: Input,
}

struct Session {
    slot: Slot,
    rw: bool,
    generation: u64,
    find: Option<VecDeque<CK_OBJECT_HANDLE>>,
    sign: Option<SignOp>,
}

/// Everything `C_Initialize` sets up.
pub struct Module {
    pid: u32,
    config: Config,
    readers: Vec<ReaderSlots>,
    /// Whether `C_WaitForSlotEvent` has looked: readers found later start as "no card", so
    /// their card counts as an arrival.
    events_started: bool,
    sessions: HashMap<CK_SESSION_HANDLE, Session>,
    next_session: CK_SESSION_HANDLE,
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
        readers: vec![ReaderSlots::new(None)],
        events_started: false,
        config,
        sessions: HashMap::new(),
        next_session: 1,
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
    pub label: String,
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

    /// Takes in readers that appeared since the last look (PC/SC's reader list, no APDU):
    /// the first one binds slots 0 and 1 if no reader had, the others get new slots. A
    /// reader that goes away keeps its slots (without a token), so slot ids never move.
    fn discover(&mut self) {
        let Ok(names) = jpki_card::card::eligible_readers(&self.config.reader) else {
            return;
        };
        for name in names {
            if self
                .readers
                .iter()
                .any(|r| r.name.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            let mut found = ReaderSlots::new(Some(name));
            if self.events_started {
                found.reported_present = Some(false);
            }
            match self.readers.iter_mut().find(|r| r.name.is_none()) {
                Some(unbound) => *unbound = found,
                None => self.readers.push(found),
            }
        }
    }

    /// The reader of a slot the configuration shows; `CKR_SLOT_ID_INVALID` otherwise.
    fn reader(&mut self, slot: Slot) -> Result<&mut ReaderSlots> {
        if !self.config.tokens.contains(&slot.key) {
            return rv(CKR_SLOT_ID_INVALID);
        }
        // A caller may open a slot without listing slots first (slot 0 is well known).
        if !matches!(self.readers.get(slot.reader), Some(r) if r.name.is_some()) {
            self.discover();
        }
        self.readers
            .get_mut(slot.reader)
            .ok_or(P11Error::Rv(CKR_SLOT_ID_INVALID))
    }

    /// Drops sessions and logins of a reader's card that is gone.
    fn sync_generation(&mut self, reader: usize) {
        let Some(r) = self.readers.get_mut(reader) else {
            return;
        };
        let g = r.card.generation;
        let open = r.card.is_open();
        if !open || r.login_generation != g {
            r.logins.clear();
            r.login_generation = g;
        }
        self.sessions
            .retain(|_, s| s.slot.reader != reader || (open && s.generation == g));
    }

    /// Whether the reader holds the card (the open connection is checked without an APDU).
    fn present(&mut self, reader: usize) -> bool {
        let p = self
            .readers
            .get_mut(reader)
            .is_some_and(|r| r.card.present());
        self.sync_generation(reader);
        p
    }

    /// `C_GetSlotInfo`'s presence: as [`Module::present`], and a card opened now has the
    /// slot's PIN counter read in the identifying session, since every consumer seen
    /// (pkcs11-tool, Java, NSS) asks for that slot's token info next.
    pub fn slot_present(&mut self, slot: Slot) -> Result<bool> {
        let p = self.reader(slot)?.card.present_noting(Some(slot.key.pin()));
        self.sync_generation(slot.reader);
        Ok(p)
    }

    /// Checks that a slot exists (mechanism queries).
    pub fn require_slot(&mut self, slot: Slot) -> Result<()> {
        self.reader(slot).map(|_| ())
    }

    /// `C_GetSlotList`.
    pub fn slot_list(&mut self, token_present: bool) -> Vec<CK_SLOT_ID> {
        self.discover();
        let mut ids = Vec::new();
        for reader in 0..self.readers.len() {
            if token_present && !self.present(reader) {
                continue;
            }
            for key in &self.config.tokens {
                ids.push(Slot { reader, key: *key }.id());
            }
        }
        ids
    }

    fn require_present(&mut self, reader: usize) -> Result<()> {
        if self.present(reader) {
            Ok(())
        } else {
            rv(CKR_TOKEN_NOT_PRESENT)
        }
    }

    /// `C_GetTokenInfo`.
    pub fn token_info(&mut self, slot: Slot) -> Result<TokenInfo> {
        let key = slot.key;
        // An open card is checked without an APDU; a card not yet opened is identified by the
        // counter read below, in one session with it (no SELECT of its own).
        if self.reader(slot)?.card.is_open() {
            self.require_present(slot.reader)?;
        }
        let counted = self.reader(slot)?.card.counter(key.pin());
        self.sync_generation(slot.reader);
        let card = &self.reader(slot)?.card;
        if !card.is_open() {
            return rv(CKR_TOKEN_NOT_PRESENT);
        }
        let serial = card
            .cached_cert(jpki_card::CertKind::Auth)
            .map(|c| c.serial_hex())
            .unwrap_or_default();
        let serial = serial[serial.len().saturating_sub(16)..].to_string();
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
        let count = |rw_only: bool| {
            self.sessions
                .values()
                .filter(|s| s.slot == slot && (!rw_only || s.rw))
                .count() as CK_ULONG
        };
        let (min_pin, max_pin) = match key {
            KeyKind::Auth => (4, 4),
            KeyKind::Sign => (6, 16),
        };
        Ok(TokenInfo {
            label: token_label(slot),
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
    pub fn open_session(&mut self, slot: Slot, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
        if flags & CKF_SERIAL_SESSION == 0 {
            return rv(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
        }
        self.reader(slot)?;
        self.require_present(slot.reader)?;
        let generation = self.reader(slot)?.card.generation;
        let h = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            h,
            Session {
                slot,
                rw: flags & CKF_RW_SESSION != 0,
                generation,
                find: None,
                sign: None,
            },
        );
        Ok(h)
    }

    /// A session of a card still there (sessions of a card that went are gone).
    fn session(&mut self, h: CK_SESSION_HANDLE) -> Result<&mut Session> {
        if let Some(reader) = self.sessions.get(&h).map(|s| s.slot.reader) {
            self.sync_generation(reader);
        }
        self.sessions
            .get_mut(&h)
            .ok_or(P11Error::Rv(CKR_SESSION_HANDLE_INVALID))
    }

    fn session_slot(&mut self, h: CK_SESSION_HANDLE) -> Result<Slot> {
        Ok(self.session(h)?.slot)
    }

    fn logins(&mut self, slot: Slot) -> &mut HashMap<KeyKind, Zeroizing<String>> {
        &mut self.readers[slot.reader].logins
    }

    fn logged_in(&self, slot: Slot) -> bool {
        self.readers
            .get(slot.reader)
            .is_some_and(|r| r.logins.contains_key(&slot.key))
    }

    fn card(&mut self, slot: Slot) -> &mut CardAccess {
        &mut self.readers[slot.reader].card
    }

    /// `C_CloseSession`; the last session of a token logs it out.
    pub fn close_session(&mut self, h: CK_SESSION_HANDLE) -> Result<()> {
        let slot = self.session_slot(h)?;
        self.sessions.remove(&h);
        if !self.sessions.values().any(|s| s.slot == slot) {
            self.logins(slot).remove(&slot.key);
        }
        Ok(())
    }

    /// `C_CloseAllSessions`.
    pub fn close_all(&mut self, slot: Slot) -> Result<()> {
        self.reader(slot)?;
        self.sessions.retain(|_, s| s.slot != slot);
        self.logins(slot).remove(&slot.key);
        Ok(())
    }

    /// `C_GetSessionInfo`: (slot, state, flags).
    pub fn session_info(
        &mut self,
        h: CK_SESSION_HANDLE,
    ) -> Result<(CK_SLOT_ID, CK_STATE, CK_FLAGS)> {
        let s = self.session(h)?;
        let (slot, rw) = (s.slot, s.rw);
        let user = self.logged_in(slot);
        let state = match (rw, user) {
            (false, false) => CKS_RO_PUBLIC_SESSION,
            (false, true) => CKS_RO_USER_FUNCTIONS,
            (true, false) => CKS_RW_PUBLIC_SESSION,
            (true, true) => CKS_RW_USER_FUNCTIONS,
        };
        let flags = CKF_SERIAL_SESSION | if rw { CKF_RW_SESSION } else { 0 };
        Ok((slot.id(), state, flags))
    }

    /// The PIN from the token's pin-source, after the counter says it may be presented.
    fn pin_from_source(&mut self, slot: Slot) -> Result<Zeroizing<String>> {
        let conf = self.keyconf(slot.key).clone();
        let Some(src) = conf.pin_source else {
            return rv(CKR_ARGUMENTS_BAD);
        };
        let pin = slot.key.pin();
        let status = self.card(slot).counter(pin)?;
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
        let slot = self.session_slot(h)?;
        let key = slot.key;
        match user {
            CKU_USER if self.logged_in(slot) => return rv(CKR_USER_ALREADY_LOGGED_IN),
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
            None => self.pin_from_source(slot)?,
        };
        let checked = self.card(slot).checked_pin(key.pin(), &text)?;
        let last_try = self.keyconf(key).last_try;
        let r = self.card(slot).login(key, &checked, last_try);
        self.sync_generation(slot.reader);
        r?;
        self.logins(slot).insert(key, text);
        Ok(())
    }

    /// `C_Logout`.
    pub fn logout(&mut self, h: CK_SESSION_HANDLE) -> Result<()> {
        let slot = self.session_slot(h)?;
        if self.logins(slot).remove(&slot.key).is_none() {
            return rv(CKR_USER_NOT_LOGGED_IN);
        }
        Ok(())
    }

    fn visible(&self, slot: Slot, obj: Object) -> bool {
        let conf = self.keyconf(obj.key);
        !obj.is_private(conf.pin_at_sign) || self.logged_in(slot)
    }

    /// The object a handle names in this session's token, if the session may see it.
    fn object(&mut self, h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> Result<Object> {
        let slot = self.session_slot(h)?;
        match Object::from_handle(o) {
            Some(obj) if obj.key == slot.key && self.visible(slot, obj) => Ok(obj),
            _ => rv(CKR_OBJECT_HANDLE_INVALID),
        }
    }

    /// The certificate behind an object's attributes; a pin-at-sign sign token gets the
    /// password from its pin-source to read it.
    fn cert_for(&mut self, slot: Slot, obj: Object) -> Result<crate::cert::Cert> {
        let kind = obj.cert_kind();
        match self.card(slot).cert(kind) {
            Err(P11Error::Rv(CKR_USER_NOT_LOGGED_IN)) if self.keyconf(obj.key).pin_at_sign => {
                let text = self.pin_from_source(slot)?;
                let pin = self.card(slot).checked_pin(obj.key.pin(), &text)?;
                let last_try = self.keyconf(obj.key).last_try;
                self.card(slot).login(obj.key, &pin, last_try)?;
                self.card(slot).cert(kind)
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
        let slot = self.session_slot(h)?;
        let obj = self.object(h, o)?;
        let cert = if types.iter().any(|t| obj.needs_cert(*t)) {
            Some(
                self.cert_for(slot, obj)
                    .inspect_err(|_| self.sync_generation(slot.reader))?,
            )
        } else {
            None
        };
        let private = obj.is_private(self.keyconf(obj.key).pin_at_sign);
        types
            .iter()
            .map(|t| attribute(obj, *t, private, cert.as_ref()))
            .collect()
    }

    fn matches(&mut self, slot: Slot, obj: Object, template: &[SearchAttr]) -> Result<bool> {
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
                Some(self.cert_for(slot, obj)?)
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
        let slot = s.slot;
        let mut found = VecDeque::new();
        for obj in Object::of(slot.key) {
            if self.visible(slot, obj) {
                match self.matches(slot, obj, template) {
                    Ok(true) => found.push_back(obj.handle()),
                    Ok(false) => {}
                    // A certificate that cannot be read (yet) does not match.
                    Err(P11Error::Rv(CKR_USER_NOT_LOGGED_IN)) => {}
                    Err(e) => {
                        self.sync_generation(slot.reader);
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
        let slot = self.session_slot(h)?;
        if self.session(h)?.sign.is_some() {
            return rv(CKR_OPERATION_ACTIVE);
        }
        let obj = match Object::from_handle(key) {
            Some(o) if o.key == slot.key => o,
            _ => return rv(CKR_KEY_HANDLE_INVALID),
        };
        if !self.visible(slot, obj) {
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
    fn sig_len(&mut self, slot: Slot) -> usize {
        self.card(slot)
            .cached_cert(crate::token::cert_of(slot.key))
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
        let slot = self.session_slot(h)?;
        let key = slot.key;
        if self.session(h)?.sign.is_none() {
            return rv(CKR_OPERATION_NOT_INITIALIZED);
        }
        let len = self.sig_len(slot);
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
        let logged_in = self.logins(slot).get(&key).cloned();
        let text = match logged_in {
            Some(t) => t,
            None if self.keyconf(key).pin_at_sign => self.pin_from_source(slot)?,
            None => return rv(CKR_USER_NOT_LOGGED_IN),
        };
        let pin: AnyPin = self.card(slot).checked_pin(key.pin(), &text)?;
        let last_try = self.keyconf(key).last_try;
        let r = self.card(slot).sign(key, &pin, last_try, &input);
        if let Err(P11Error::Card(
            jpki_card::CardError::WrongPin { .. } | jpki_card::CardError::Blocked { .. },
        )) = &r
        {
            // Another card, or the PIN changed meanwhile: log out, never present it again.
            self.logins(slot).remove(&key);
        }
        self.sync_generation(slot.reader);
        r.map(SignOutput::Signature)
    }

    /// `C_WaitForSlotEvent` without blocking: a slot whose token came or went since the last
    /// call (both slots of the reader are reported), if any. A reader plugged in meanwhile
    /// counts as one whose card came, if it holds one.
    pub fn slot_event(&mut self) -> Option<CK_SLOT_ID> {
        if let Some(s) = self.pending_events.pop_front() {
            return Some(s);
        }
        self.discover();
        self.events_started = true;
        for reader in 0..self.readers.len() {
            let now = self.present(reader);
            let before = self.readers[reader].reported_present.replace(now);
            if before.is_some_and(|b| b != now) {
                for key in [KeyKind::Auth, KeyKind::Sign] {
                    self.pending_events.push_back(Slot { reader, key }.id());
                }
            }
        }
        self.pending_events.pop_front()
    }
}

/// A token's label: which key, in Japanese and English; a card in the second and later
/// readers is told apart by the reader's number (labels are what NSS and pkcs11 URIs name).
fn token_label(slot: Slot) -> String {
    let base = match slot.key {
        KeyKind::Auth => "JPKI 利用者証明用 Auth",
        KeyKind::Sign => "JPKI 署名用 Sign",
    };
    match slot.reader {
        0 => base.to_string(),
        n => format!("{base} ({})", n + 1),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ids_pair_the_two_keys_of_each_reader() {
        for id in 0..8 {
            let slot = Slot::from_id(id).unwrap();
            assert_eq!(slot.id(), id);
            assert_eq!(slot.reader as CK_SLOT_ID, id / 2);
        }
        assert_eq!(Slot::from_id(0).unwrap().key, KeyKind::Auth);
        assert_eq!(Slot::from_id(3).unwrap().key, KeyKind::Sign);
        assert_eq!(token_label(Slot::from_id(1).unwrap()), "JPKI 署名用 Sign");
        assert_eq!(
            token_label(Slot::from_id(2).unwrap()),
            "JPKI 利用者証明用 Auth (2)"
        );
        // Labels stay within CK_TOKEN_INFO's 32 bytes up to reader 99.
        assert!(token_label(Slot::from_id(197).unwrap()).len() <= 32);
    }
}
