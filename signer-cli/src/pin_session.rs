//! Getting at a key: ask for its PIN (prompt shows the tries left), then open
//! one card session with the PIN verified under the card crate's policy (one
//! VERIFY per PIN typed, counter queried first, never retried, last try only
//! with `--force-last-try`). `cert sign`, `cms sign` and PDF signing all go
//! through here; nothing else in the CLI sends a PIN.

use crate::error::CliError;
use crate::secret::read_pin;
use crate::Global;
use jpki_card::{AnyPin, Card, DigestInfo, HashAlg, KeyKind, LastTry, PinKind, Session};
use jpki_cms::{DigestInfoSigner, SignerError};

/// `--force-last-try` as the card crate's policy value.
pub fn last_try(g: &Global) -> LastTry {
    if g.force_last_try {
        LastTry::Allow
    } else {
        LastTry::Refuse
    }
}

/// Asks for the PIN of `kind` (terminal or `--pin-file`), showing the tries
/// left, which a short session reads first without spending any. The format is
/// checked offline; the card sees nothing yet.
pub fn ask_pin(card: &mut Card, g: &Global, kind: PinKind) -> Result<AnyPin, CliError> {
    let tries = card.session()?.pin_status(kind)?.tries();
    read_pin(kind, g.pin_file.as_deref(), tries)
}

/// Opens a session and verifies `pin` in it (exactly one VERIFY).
pub fn unlocked<'c>(card: &'c mut Card, g: &Global, pin: &AnyPin) -> Result<Session<'c>, CliError> {
    let mut s = card.session()?;
    s.verify(pin, last_try(g))?;
    Ok(s)
}

/// A verified session's key as a [`DigestInfoSigner`]: the one place where
/// the CMS and PDF libraries meet the card. A card error comes back through
/// `jpki_cms::Error::Signer` and is turned into [`CliError::Card`] again.
pub struct CardKeySigner<'s, 'c> {
    /// The session the key's PIN was verified in.
    pub session: &'s mut Session<'c>,
    /// Which key signs.
    pub key: KeyKind,
}

impl DigestInfoSigner for CardKeySigner<'_, '_> {
    fn sign_digest_info(&mut self, di: &jpki_cms::DigestInfo) -> Result<Vec<u8>, SignerError> {
        let di = DigestInfo::new(HashAlg::Sha256, di.hash())?;
        Ok(self.session.sign(self.key, &di)?.into_bytes())
    }
}
