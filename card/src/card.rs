//! Finding the card and opening sessions on it.
//!
//! A reader is chosen by a name substring, or as the first reader whose card
//! answers SELECT of the JPKI application and whose token label (EF 0006) is
//! a JPKI token — never by ATR, which contactless readers make up. Old Juki
//! cards are refused here, with a message saying so.
//!
//! The automatic choice never takes a virtual (software) reader such as vsmartcard's
//! "Virtual PCD 00 00": whoever reaches its driver — another local user, a host on the
//! network — can put a card of their own making there, and the PIN the user types would go to
//! it. Such readers are used only when named ([`ReaderChoice::from_env_or`]: `--reader`,
//! `reader=`, or `JPKI_READER`), and then the process says so once on stderr.

use crate::error::{CardError, Result};
use crate::pcsc::PcscContext;
use crate::session::{ReadMode, Session};
use crate::token::TokenKind;
use crate::transport::{Reader, SharedTrace, TraceStats};

/// Status words by which a card says it has no such application, file or command.
fn not_here(sw: jpki_apdu::StatusWord) -> bool {
    use jpki_apdu::StatusWord as Sw;
    [
        Sw::FILE_NOT_FOUND,
        Sw::WRONG_P1P2,
        Sw::INS_NOT_SUPPORTED,
        Sw::CLA_NOT_SUPPORTED,
        Sw::INCOMPATIBLE_FILE,
        Sw::NO_CURRENT_EF,
        Sw::SECURITY_NOT_SATISFIED,
        Sw::CONDITIONS_NOT_SATISFIED,
        Sw::DATA_NOT_FOUND,
        Sw::OFFSET_OUTSIDE,
    ]
    .contains(&sw)
}

/// The environment variable every front door honours to name the reader (a name substring,
/// as `--reader`), when the command line, URI or configuration names none.
pub const READER_ENV: &str = "JPKI_READER";

/// Setting this environment variable to `off` silences the one-line notice that a virtual
/// reader is in use (the test harness sets it: its tests compare stderr exactly).
pub const VIRTUAL_NOTICE_ENV: &str = "JPKI_VIRTUAL_READER_NOTICE";

/// Which reader to use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReaderChoice {
    /// The first real reader holding a JPKI card; virtual readers
    /// ([`is_virtual_reader`]) are skipped.
    #[default]
    Auto,
    /// The reader whose name contains this text (case-insensitive), virtual or not.
    Named(String),
    /// The reader with exactly this name: one of the names [`eligible_readers`] gave, for a
    /// front door that keeps one connection per reader (the PKCS#11 module's slots).
    Exact(String),
}

impl ReaderChoice {
    /// `None` or empty → [`ReaderChoice::Auto`]. Ignores `JPKI_READER`: front doors use
    /// [`ReaderChoice::from_env_or`].
    pub fn from_option(s: Option<&str>) -> ReaderChoice {
        match s {
            Some(s) if !s.is_empty() => ReaderChoice::Named(s.to_string()),
            _ => ReaderChoice::Auto,
        }
    }

    /// The choice of a front door: the `explicit` name (`--reader`, `?reader=`, `reader =` in
    /// a configuration) if given and not empty, else the environment variable
    /// [`READER_ENV`] (`JPKI_READER`) if set and not empty, else [`ReaderChoice::Auto`].
    pub fn from_env_or(explicit: Option<&str>) -> ReaderChoice {
        match explicit.filter(|s| !s.is_empty()) {
            Some(s) => ReaderChoice::Named(s.to_string()),
            None => ReaderChoice::from_option(std::env::var(READER_ENV).ok().as_deref()),
        }
    }

    /// Of the PC/SC reader names `readers`, those this choice may use, in order: for
    /// [`ReaderChoice::Auto`] every reader that is not virtual (possibly none), for
    /// [`ReaderChoice::Named`] every reader whose name contains the text (an error naming
    /// the readers present if none does).
    pub fn eligible<'r>(&self, readers: &'r [String]) -> Result<Vec<&'r String>> {
        match self {
            ReaderChoice::Auto => Ok(readers.iter().filter(|r| !is_virtual_reader(r)).collect()),
            ReaderChoice::Named(f) => {
                let needle = f.to_lowercase();
                let v: Vec<&String> = readers
                    .iter()
                    .filter(|r| r.to_lowercase().contains(&needle))
                    .collect();
                if v.is_empty() {
                    return Err(CardError::NoReaderMatches {
                        filter: f.clone(),
                        available: readers.join(", "),
                    });
                }
                Ok(v)
            }
            ReaderChoice::Exact(name) => match readers.iter().find(|r| *r == name) {
                Some(r) => Ok(vec![r]),
                None => Err(CardError::NoReaderMatches {
                    filter: name.clone(),
                    available: readers.join(", "),
                }),
            },
        }
    }
}

/// Whether `name` is a virtual (software) reader, which the automatic choice skips:
/// vsmartcard's vpcd ("Virtual PCD 00 00"; also the reader of jCardSim and of vsmartcard's
/// Android remote reader), Windows' TPM-backed "Microsoft Virtual Smart Card", and any other
/// reader whose name says "virtual". PC/SC offers no better mark than the name; a driver
/// that lies about its name needs root to install.
pub fn is_virtual_reader(name: &str) -> bool {
    let n = name.to_lowercase();
    n.contains("virtual") || n.contains("vpcd") || n.contains("pcsc-relay")
}

/// The PC/SC readers `choice` may use, in the order [`Card::open`] tries them (one PKCS#11
/// slot per reader, say). Empty when [`ReaderChoice::Auto`] finds only virtual readers or
/// none at all.
pub fn eligible_readers(choice: &ReaderChoice) -> Result<Vec<String>> {
    let readers = PcscContext::establish()?.readers()?;
    Ok(choice.eligible(&readers)?.into_iter().cloned().collect())
}

/// Says once per process, on stderr, that a virtual reader is in use (it was named).
fn notice_virtual(reader: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if !is_virtual_reader(reader) || std::env::var(VIRTUAL_NOTICE_ENV).as_deref() == Ok("off") {
        return;
    }
    ONCE.call_once(|| {
        eprintln!(
            "jpki: using the virtual (software) reader \"{reader}\" because it was named \
             explicitly; its card is whatever a program on this machine made it"
        );
    });
}

/// A JPKI card in a reader.
pub struct Card {
    reader: Box<dyn Reader>,
    token: TokenKind,
    trace: SharedTrace,
    reads: ReadMode,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("reader", &self.reader.name())
            .field("token", &self.token)
            .finish()
    }
}

impl Card {
    /// Finds a JPKI card through PC/SC.
    pub fn open(choice: &ReaderChoice) -> Result<Card> {
        Card::open_then(choice, |_| Ok(())).map(|(card, _)| card)
    }

    /// Finds a JPKI card through PC/SC and runs `then` in the session that identified it, so
    /// the first operation costs no SELECT and no transaction of its own. The card is handed
    /// back also when `then` fails; `then` runs once, on the card that was chosen.
    pub fn open_then<T>(
        choice: &ReaderChoice,
        then: impl FnOnce(&mut Session<'_>) -> Result<T>,
    ) -> Result<(Card, Result<T>)> {
        let mut then = Some(then);
        let ctx = PcscContext::establish()?;
        let readers = ctx.readers()?;
        if readers.is_empty() {
            return Err(CardError::NoReaders);
        }
        let candidates = choice.eligible(&readers)?;
        if candidates.is_empty() {
            let skipped: Vec<String> = readers.iter().map(|r| format!("\"{r}\"")).collect();
            return Err(CardError::OnlyVirtualReaders {
                skipped: skipped.join(", "),
            });
        }
        // Remember the most telling failure: a foreign or unsupported card says
        // more than an empty reader.
        let mut best: Option<CardError> = None;
        for name in candidates {
            let attempt = ctx.connect(name).and_then(|r| {
                Card::from_reader_then(Box::new(r), |s| match then.take() {
                    Some(f) => f(s),
                    None => Err(CardError::Pcsc("internal: open_then ran twice".into())),
                })
            });
            match attempt {
                Ok(found) => {
                    notice_virtual(name);
                    return Ok(found);
                }
                Err(e) => {
                    tracing::debug!(reader = %name, "skipping reader: {e}");
                    let rank = |e: &CardError| match e {
                        CardError::NoCard { .. } => 0,
                        CardError::NotJpki { .. } => 1,
                        _ => 2,
                    };
                    if best.as_ref().is_none_or(|b| rank(&e) >= rank(b)) {
                        best = Some(e);
                    }
                }
            }
        }
        Err(match (best, choice) {
            (Some(CardError::NoCard { .. }), ReaderChoice::Auto) => CardError::NoCard {
                reader: "any reader".into(),
            },
            (Some(e), _) => e,
            (None, _) => CardError::NoReaders,
        })
    }

    /// Identifies the card in `reader` (SELECT JPKI AP + token label) and refuses
    /// anything that is not a supported JPKI token.
    pub fn from_reader(reader: Box<dyn Reader>) -> Result<Card> {
        Card::from_reader_then(reader, |_| Ok(())).map(|(card, _)| card)
    }

    /// [`Card::from_reader`], then `then` in the same session (see [`Card::open_then`]).
    pub fn from_reader_then<T>(
        mut reader: Box<dyn Reader>,
        then: impl FnOnce(&mut Session<'_>) -> Result<T>,
    ) -> Result<(Card, Result<T>)> {
        let name = reader.name().to_string();
        let trace = SharedTrace::default();
        let reads = ReadMode::from_env();
        let (token, out) = {
            let tx = reader.begin()?;
            let mut s = Session::new(tx, &trace, &reads, TokenKind::Unknown(String::new()));
            let token = match s.read_token() {
                Ok(t) => t,
                // "No such application/file/command": another kind of card. Other status
                // words (6F 00, 65 81, …) are a JPKI card failing, and are reported as such
                // (found by fault injection: a 6F 00 to READ BINARY said "not a My Number card").
                Err(CardError::Unexpected { sw, .. }) if not_here(sw) => {
                    return Err(CardError::NotJpki { reader: name })
                }
                Err(CardError::Malformed { .. }) => {
                    return Err(CardError::NotJpki { reader: name })
                }
                Err(e) => return Err(e),
            };
            if !token.is_supported() {
                return Err(CardError::UnsupportedToken {
                    reader: name,
                    token,
                });
            }
            s.set_token(token.clone());
            (token, then(&mut s))
        };
        Ok((
            Card {
                reader,
                token,
                trace,
                reads,
            },
            out,
        ))
    }

    /// A simulated card in process (unit tests; feature `virtual`).
    #[cfg(feature = "virtual")]
    pub fn open_virtual(reader: crate::VirtualReader) -> Result<Card> {
        Card::from_reader(Box::new(reader))
    }

    /// Starts an exclusive session (one PC/SC transaction).
    pub fn session(&mut self) -> Result<Session<'_>> {
        let tx = self.reader.begin()?;
        Ok(Session::new(
            tx,
            &self.trace,
            &self.reads,
            self.token.clone(),
        ))
    }

    /// Sends only short APDUs from now on, as `JPKI_SHORT_APDUS=1` does for every handle: for
    /// a reader that garbles extended APDUs instead of refusing them. (One that refuses them
    /// is noticed without this: the first refusal switches the handle to short reads.)
    pub fn use_short_apdus_only(&mut self) {
        self.reads.refuse_extended();
    }

    /// The reader's name.
    pub fn reader_name(&self) -> &str {
        self.reader.name()
    }

    /// What kind of JPKI token this is.
    pub fn token(&self) -> &TokenKind {
        &self.token
    }

    /// APDUs exchanged so far by this handle (including identification).
    pub fn trace(&self) -> TraceStats {
        self.trace.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn software_readers_are_virtual_real_ones_are_not() {
        for v in [
            "Virtual PCD 00 00",
            "Virtual PCD 00 01",
            "Microsoft Virtual Smart Card 0",
            "vpcd 00 00",
        ] {
            assert!(is_virtual_reader(v), "{v}");
        }
        for r in [
            "ACS ACR39U ICC Reader 00 00",
            "SONY FeliCa Port/PaSoRi 4.0 00 00",
            "Identiv uTrust 3700 F CL Reader [uTrust 3700 F CL Reader] 00 00",
            "Gemalto PC Twin Reader 00 00",
        ] {
            assert!(!is_virtual_reader(r), "{r}");
        }
    }

    #[test]
    fn auto_skips_virtual_readers_a_name_does_not() {
        let readers = names(&["Virtual PCD 00 00", "ACS ACR39U 00 00", "Virtual PCD 00 01"]);
        let auto = ReaderChoice::Auto.eligible(&readers).unwrap();
        assert_eq!(auto, vec!["ACS ACR39U 00 00"]);
        let only_virtual = names(&["Virtual PCD 00 00", "Virtual PCD 00 01"]);
        assert!(ReaderChoice::Auto
            .eligible(&only_virtual)
            .unwrap()
            .is_empty());
        let named = ReaderChoice::Named("pcd 00 01".into());
        assert_eq!(named.eligible(&readers).unwrap(), vec!["Virtual PCD 00 01"]);
        let missing = ReaderChoice::Named("nothing".into()).eligible(&readers);
        assert!(matches!(missing, Err(CardError::NoReaderMatches { .. })));
    }

    #[test]
    fn an_explicit_name_beats_the_environment_which_beats_auto() {
        // The only test in this crate that touches JPKI_READER.
        std::env::set_var(READER_ENV, "Virtual PCD 00 00");
        assert_eq!(
            ReaderChoice::from_env_or(Some("ACS")),
            ReaderChoice::Named("ACS".into())
        );
        assert_eq!(
            ReaderChoice::from_env_or(None),
            ReaderChoice::Named("Virtual PCD 00 00".into())
        );
        assert_eq!(
            ReaderChoice::from_env_or(Some("")),
            ReaderChoice::Named("Virtual PCD 00 00".into())
        );
        std::env::set_var(READER_ENV, "");
        assert_eq!(ReaderChoice::from_env_or(None), ReaderChoice::Auto);
        std::env::remove_var(READER_ENV);
        assert_eq!(ReaderChoice::from_env_or(None), ReaderChoice::Auto);
    }
}
