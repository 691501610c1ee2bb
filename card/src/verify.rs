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

impl Session<'_> {
    /// Reads a PIN's counter without spending a try (SELECT IEF + empty VERIFY).
    pub fn pin_status(&mut self, pin: PinKind) -> Result<PinStatus> {
        self.select_ap(ap_of(pin))?;
        self.select_ef(pin.fid(), "SELECT of a PIN")?;
        self.query_selected(pin)
    }

    fn query_selected(&mut self, pin: PinKind) -> Result<PinStatus> {
        let r = self.exchange(&Command::new(0x00, 0x20, 0x00, 0x80))?;
        if let Some(n) = r.sw.counter() {
            return Ok(PinStatus::Tries(Tries::new(n)));
        }
        match r.sw {
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

    /// Presents a PIN under the policy of this module. On success the PIN stays
    /// verified until the session ends (then the card is reset).
    pub fn verify(&mut self, secret: &dyn Secret, last_try: LastTry) -> Result<()> {
        let pin = secret.kind();
        self.select_ap(ap_of(pin))?;
        self.select_ef(pin.fid(), "SELECT of a PIN")?;
        if let PinStatus::Tries(t) = self.query_selected(pin)? {
            if t.is_blocked() {
                return Err(CardError::Blocked { pin });
            }
            if t.is_last() && last_try == LastTry::Refuse {
                return Err(CardError::LastTryRefused { pin });
            }
        }
        let cmd = Command::new(0x00, 0x20, 0x00, 0x80).with_data(secret.bytes());
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
        self.verify(old, last_try)?;
        // VERIFY left the PIN IEF selected: P2=80 addresses it.
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
