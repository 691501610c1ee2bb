//! The PIN policy: the one place that sends VERIFY and CHANGE REFERENCE DATA.
//!
//! Every client of a card counts against the same on-card counter, and a
//! blocked PIN costs the owner a trip to the city office. So, always:
//!
//! 1. the PIN's format was checked offline when its type was built
//!    ([`crate::pin`]); nothing malformed reaches the card;
//! 2. the counter is queried (empty VERIFY, costs nothing) right before the
//!    VERIFY, in the same transaction;
//! 3. a blocked PIN is never presented; the last try is only spent when the
//!    caller passed [`LastTry::Allow`];
//! 4. a VERIFY is sent exactly once — never retried, whatever comes back;
//! 5. the error carries the tries left.

use crate::error::{CardError, Result};
use crate::pin::{LastTry, PinKind, Secret, Tries};
use crate::session::{Ap, Session};
use jpki_apdu::{Command, StatusWord as Sw};

/// What an empty VERIFY says about a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStatus {
    /// Not verified; this many tries left (0 = blocked).
    Tries(Tries),
    /// Already verified in this session (some cards answer `90 00`, spec §6.3).
    Verified,
}

impl PinStatus {
    /// The policy's gate, before a PIN is asked for and again before it is presented: a blocked
    /// PIN is never presented, the last try only with [`LastTry::Allow`].
    pub fn may_present(self, pin: PinKind, last_try: LastTry) -> Result<()> {
        if let PinStatus::Tries(t) = self {
            if t.is_blocked() {
                return Err(CardError::Blocked { pin });
            }
            if t.is_last() && last_try == LastTry::Refuse {
                return Err(CardError::LastTryRefused { pin });
            }
        }
        Ok(())
    }

    /// Tries left, if the card said.
    pub fn tries(self) -> Option<Tries> {
        match self {
            PinStatus::Tries(t) => Some(t),
            PinStatus::Verified => None,
        }
    }
}

fn ap_of(pin: PinKind) -> Ap {
    match pin {
        PinKind::Auth | PinKind::Sign => Ap::Jpki,
        PinKind::Text => Ap::Text,
    }
}

/// `P2` naming a PIN by its short EF id (`80|SFI`, spec §4 [C]): no SELECT needed.
fn sfi_p2(pin: PinKind) -> u8 {
    0x80 | (pin.fid() & 0x1F) as u8
}

/// Whether a status word says "this addressing form is not understood" (then the client falls
/// back to SELECT + `P2=80`; no try can have been spent: P1/P2 are checked before the PIN).
pub(crate) fn addressing_refused(sw: Sw) -> bool {
    matches!(sw, Sw::WRONG_P1P2 | Sw::FILE_NOT_FOUND)
}

impl Session<'_> {
    /// Reads a PIN's counter without spending a try (empty VERIFY naming the PIN by SFI).
    pub fn pin_status(&mut self, pin: PinKind) -> Result<PinStatus> {
        self.select_ap(ap_of(pin))?;
        self.query(pin).map(|(status, _)| status)
    }

    /// Empty VERIFY: by SFI, or after SELECT if the card refuses that form. Returns the P2
    /// that worked, so the VERIFY that follows addresses the PIN the same way.
    fn query(&mut self, pin: PinKind) -> Result<(PinStatus, u8)> {
        let r = self.exchange(&Command::new(0x00, 0x20, 0x00, sfi_p2(pin)))?;
        if addressing_refused(r.sw) {
            tracing::debug!(sw = %r.sw, "VERIFY by SFI refused; selecting the PIN instead");
            self.select_ef(pin.fid(), "SELECT of a PIN")?;
            return self.query_selected(pin).map(|s| (s, 0x80));
        }
        status_of(pin, r.sw).map(|s| (s, sfi_p2(pin)))
    }

    fn query_selected(&mut self, pin: PinKind) -> Result<PinStatus> {
        let r = self.exchange(&Command::new(0x00, 0x20, 0x00, 0x80))?;
        status_of(pin, r.sw)
    }

    /// Presents a PIN under the policy of this module. On success the PIN stays
    /// verified until the session ends (then the card is reset).
    pub fn verify(&mut self, secret: &dyn Secret, last_try: LastTry) -> Result<()> {
        let pin = secret.kind();
        self.select_ap(ap_of(pin))?;
        let (status, p2) = self.query(pin)?;
        self.present(secret, status, p2, last_try)
    }

    /// The policy's checks on the counter just read, then the one VERIFY.
    fn present(
        &mut self,
        secret: &dyn Secret,
        status: PinStatus,
        p2: u8,
        last_try: LastTry,
    ) -> Result<()> {
        let pin = secret.kind();
        status.may_present(pin, last_try)?;
        let cmd = Command::new(0x00, 0x20, 0x00, p2).with_data(secret.bytes());
        // Once the VERIFY is on its way the card may count it: a lost card must not be
        // reported as "no try spent".
        let r = self
            .exchange(&cmd)
            .map_err(|e| if_lost(e, CardError::LostDuringVerify { pin }))?;
        match r.sw {
            Sw::OK => {
                self.mark_verified();
                tracing::debug!(pin = pin.id(), "PIN verified");
                Ok(())
            }
            sw => Err(verify_failure(pin, sw)),
        }
    }

    /// Changes a PIN: verify the old one (policy above), then CHANGE REFERENCE DATA.
    /// `new` must be the same kind as `old`.
    pub fn change_pin(
        &mut self,
        old: &dyn Secret,
        new: &dyn Secret,
        last_try: LastTry,
    ) -> Result<()> {
        let pin = old.kind();
        if new.kind() != pin {
            return Err(CardError::BadPinFormat {
                pin,
                reason: "the new PIN is of another kind",
            });
        }
        // CHANGE REFERENCE DATA by SFI is not confirmed on real cards (spec [?]): select the
        // PIN IEF and address it with P2=80 for the counter, the VERIFY and the CHANGE.
        self.select_ap(ap_of(pin))?;
        self.select_ef(pin.fid(), "SELECT of a PIN")?;
        let status = self.query_selected(pin)?;
        self.present(old, status, 0x80, last_try)?;
        let r = self
            .exchange(&Command::new(0x00, 0x24, 0x01, 0x80).with_data(new.bytes()))
            .map_err(|e| if_lost(e, CardError::LostDuringChange { pin }))?;
        match r.sw {
            Sw::OK => Ok(()),
            Sw::WRONG_DATA | Sw::WRONG_LENGTH => Err(CardError::BadPinFormat {
                pin,
                reason: "the card refused the new value's format",
            }),
            sw => Err(CardError::Unexpected {
                op: "CHANGE REFERENCE DATA",
                sw,
            }),
        }
    }
}

/// What an empty VERIFY's status word says.
fn status_of(pin: PinKind, sw: Sw) -> Result<PinStatus> {
    if let Some(n) = sw.counter() {
        return Ok(PinStatus::Tries(Tries::new(n)));
    }
    match sw {
        Sw::OK => Ok(PinStatus::Verified),
        // Some cards and clients use 69 83 / 69 84 for "blocked" (spec §17.2).
        Sw::AUTH_BLOCKED | Sw::REF_DATA_LOCKED => Ok(PinStatus::Tries(Tries::new(0))),
        sw => Err(CardError::Unexpected {
            op: match pin {
                PinKind::Auth | PinKind::Sign => "a PIN status query",
                PinKind::Text => "a text-AP PIN status query",
            },
            sw,
        }),
    }
}

/// `instead` when `e` says the card went away (after the command may have reached it).
fn if_lost(e: CardError, instead: CardError) -> CardError {
    match e {
        CardError::CardRemoved
        | CardError::NoAnswer
        | CardError::CardReset
        | CardError::ServiceLost
        | CardError::Pcsc(_) => instead,
        e => e,
    }
}

fn verify_failure(pin: PinKind, sw: Sw) -> CardError {
    match sw.counter() {
        Some(0) => CardError::Blocked { pin },
        Some(n) => CardError::WrongPin {
            pin,
            left: Tries::new(n),
        },
        None if sw == Sw::REF_DATA_LOCKED || sw == Sw::AUTH_BLOCKED => CardError::Blocked { pin },
        None => CardError::Unexpected { op: "VERIFY", sw },
    }
}
