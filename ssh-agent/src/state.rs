//! What the agent holds between requests — the card handle and the PIN — and the PIN law as it
//! applies to them:
//! * the PIN is asked when the agent holds none — at the first signature — and then kept,
//!   zeroizing, for the agent's lifetime; each signature is one session with one VERIFY of
//!   that PIN (the card is reset after each session);
//! * the counter is read before asking, so the prompt says the tries left and a blocked PIN or
//!   a refused last try is not even asked for;
//! * a PIN the card rejects is forgotten at once and never sent again: the next request asks
//!   again, and a value equal to the rejected one is refused without touching the card (a PIN
//!   file that still holds it, say);
//! * a pulled card makes the agent forget the card and the PIN.

use crate::{key::auth_key, Config, Error};
use jpki_card::{AuthPin, Card, CardError, DigestInfo, HashAlg, KeyKind, PinKind, Secret};
use ssh_agent_lib::proto::{SignRequest, RSA_SHA2_256, RSA_SHA2_512};
use ssh_key::public::KeyData;

/// A signature, ready for the wire.
pub(crate) enum Signed {
    /// rsa-sha2-256 or rsa-sha2-512.
    Sha2(ssh_key::Signature),
    /// The raw PKCS#1 v1.5 signature of an `ssh-rsa` (SHA-1) request.
    Sha1(Vec<u8>),
}

/// The agent's state: the card (if found) and the PIN (if given and not rejected).
pub(crate) struct State {
    pub(crate) config: Config,
    card: Option<Card>,
    pin: Option<AuthPin>,
    /// The last value the card rejected: never presented again.
    rejected: Option<AuthPin>,
}

impl State {
    pub(crate) fn new(config: Config) -> State {
        State {
            config,
            card: None,
            pin: None,
            rejected: None,
        }
    }

    pub(crate) fn log(&self, msg: impl std::fmt::Display) {
        eprintln!("{}: {msg}", self.config.name);
    }

    /// Start-up: say which key is offered, or why none yet.
    pub(crate) fn announce(&mut self) {
        match self.current_key() {
            Ok(key) => {
                let fp = ssh_key::PublicKey::new(key, "").fingerprint(ssh_key::HashAlg::Sha256);
                let reader = self.card.as_ref().map(|c| c.reader_name()).unwrap_or("?");
                self.log(format!(
                    "offering the auth key {fp} of the card in reader \"{reader}\"; the PIN will come from {}",
                    self.config.pin_source_name
                ));
            }
            Err(e) => self.log(format!(
                "{e}; the agent starts anyway and looks for the card at each request"
            )),
        }
    }

    /// The auth key of the card now in the reader. The certificate is read on every call (no
    /// PIN, a few READ BINARY): that is also how a pulled card is noticed. A handle that fails
    /// is dropped with the PIN, and the card is looked for once more (a re-inserted card needs
    /// a new handle).
    pub(crate) fn current_key(&mut self) -> Result<KeyData, Error> {
        if let Some(card) = self.card.as_mut() {
            match auth_key(card) {
                Ok(key) => return Ok(key),
                Err(e) => {
                    tracing::debug!("card handle failed: {e}");
                    self.lose_card();
                }
            }
        }
        let mut card = Card::open(&self.config.reader)?;
        let key = auth_key(&mut card)?;
        self.card = Some(card);
        Ok(key)
    }

    /// Forgets the card handle and, since the next card may be another one (or the same after
    /// a power cycle), the PIN.
    fn lose_card(&mut self) {
        self.card = None;
        if self.pin.take().is_some() {
            self.log("the card was removed or reset: the PIN is forgotten and will be asked again");
        }
    }

    /// Signs a request, or says (for the log) why not.
    pub(crate) fn sign(&mut self, r: &SignRequest) -> Result<Signed, String> {
        // OpenSSH's own agent checks the flags in this order.
        let alg = if r.flags & RSA_SHA2_256 != 0 {
            HashAlg::Sha256
        } else if r.flags & RSA_SHA2_512 != 0 {
            HashAlg::Sha512
        } else if self.config.allow_sha1 {
            HashAlg::Sha1
        } else {
            return Err(
                "a client asked for an ssh-rsa signature, which uses SHA-1; refused (start the agent with --allow-sha1 to permit it)"
                    .into(),
            );
        };
        let key = self.current_key().map_err(|e| e.to_string())?;
        if r.credential.key_data() != &key {
            return Err("asked to sign with a key that is not the card's auth key".into());
        }
        let md = match alg {
            HashAlg::Sha1 => openssl::hash::MessageDigest::sha1(),
            HashAlg::Sha512 => openssl::hash::MessageDigest::sha512(),
            _ => openssl::hash::MessageDigest::sha256(),
        };
        let digest = openssl::hash::hash(md, &r.data).map_err(|e| format!("hashing: {e}"))?;
        let di = DigestInfo::new(alg, &digest).map_err(|e| e.to_string())?;

        let pin = match self.pin.take() {
            Some(p) => p,
            None => self.ask_pin()?,
        };
        let Some(card) = self.card.as_mut() else {
            return Err("the card went away".into());
        };
        let last_try = self.config.last_try;
        let result = card.session().and_then(|mut s| {
            s.verify(&pin, last_try)?;
            s.sign(KeyKind::Auth, &di)
        });
        let sig = match result {
            Ok(sig) => sig,
            Err(e) => return Err(self.card_failure(e, pin)),
        };
        self.pin = Some(pin);
        self.log(format!(
            "signed a request with the auth key ({})",
            alg_name(alg)
        ));
        let sig = sig.into_bytes();
        let hash = match alg {
            HashAlg::Sha1 => return Ok(Signed::Sha1(sig)),
            HashAlg::Sha512 => ssh_key::HashAlg::Sha512,
            _ => ssh_key::HashAlg::Sha256,
        };
        ssh_key::Signature::new(ssh_key::Algorithm::Rsa { hash: Some(hash) }, sig)
            .map(Signed::Sha2)
            .map_err(|e| format!("cannot encode the signature: {e}"))
    }

    /// Gets the PIN from the source, after checking the counter so the prompt can say the
    /// tries left and a blocked or last-try PIN is not even asked.
    fn ask_pin(&mut self) -> Result<AuthPin, String> {
        let Some(card) = self.card.as_mut() else {
            return Err("the card went away".into());
        };
        let status = card.session().and_then(|mut s| s.pin_status(PinKind::Auth));
        let status = match status {
            Ok(st) => st,
            Err(e) => return Err(self.card_failure_no_pin(e)),
        };
        status
            .may_present(PinKind::Auth, self.config.last_try)
            .map_err(|e| e.to_string())?;
        let c = &self.config;
        let pin = crate::pin::read(&c.pin_source, &c.pin_source_name, &c.name, status.tries())?;
        if self
            .rejected
            .as_ref()
            .is_some_and(|r| r.bytes() == pin.bytes())
        {
            return Err(format!(
                "the PIN from {} is the one the card rejected before; it is not sent again (no try spent) — correct it",
                self.config.pin_source_name
            ));
        }
        Ok(pin)
    }

    /// What a failed VERIFY or signature means, and the state updated to it.
    fn card_failure(&mut self, e: CardError, pin: AuthPin) -> String {
        match e {
            CardError::WrongPin { .. } => {
                self.rejected = Some(pin);
                format!(
                    "{e}: the card rejected the PIN from {}; it is forgotten and will be asked again at the next request",
                    self.config.pin_source_name
                )
            }
            CardError::Blocked { .. } | CardError::LastTryRefused { .. } => e.to_string(),
            e => self.card_failure_no_pin(e),
        }
    }

    fn card_failure_no_pin(&mut self, e: CardError) -> String {
        match e {
            e if e.is_connection_lost()
                || matches!(e, CardError::NoCard { .. } | CardError::NoReaders) =>
            {
                self.lose_card();
                format!("{e} (the agent keeps running: insert the card and retry)")
            }
            e => e.to_string(),
        }
    }
}

/// The SSH name of the signature algorithm.
fn alg_name(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Sha1 => "ssh-rsa, SHA-1",
        HashAlg::Sha512 => "rsa-sha2-512",
        _ => "rsa-sha2-256",
    }
}
