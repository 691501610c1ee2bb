//! Finding the card and opening sessions on it.
//!
//! A reader is chosen by a name substring, or as the first reader whose card
//! answers SELECT of the JPKI application and whose token label (EF 0006) is
//! a JPKI token — never by ATR, which contactless readers make up. Old Juki
//! cards are refused here, with a message saying so.

use crate::error::{CardError, Result};
use crate::pcsc::PcscContext;
use crate::session::Session;
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

/// Which reader to use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReaderChoice {
    /// The first reader holding a JPKI card.
    #[default]
    Auto,
    /// The reader whose name contains this text (case-insensitive).
    Named(String),
}

impl ReaderChoice {
    /// `None` or empty → [`ReaderChoice::Auto`].
    pub fn from_option(s: Option<&str>) -> ReaderChoice {
        match s {
            Some(s) if !s.is_empty() => ReaderChoice::Named(s.to_string()),
            _ => ReaderChoice::Auto,
        }
    }
}

/// A JPKI card in a reader.
pub struct Card {
    reader: Box<dyn Reader>,
    token: TokenKind,
    trace: SharedTrace,
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
        let candidates: Vec<&String> = match choice {
            ReaderChoice::Auto => readers.iter().collect(),
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
                v
            }
        };
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
                Ok(found) => return Ok(found),
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
        let (token, out) = {
            let tx = reader.begin()?;
            let mut s = Session::new(tx, &trace, TokenKind::Unknown(String::new()));
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
            },
            out,
        ))
    }

    /// A simulated card in process (`--reader virtual`, unit tests).
    #[cfg(feature = "virtual")]
    pub fn open_virtual(reader: crate::VirtualReader) -> Result<Card> {
        Card::from_reader(Box::new(reader))
    }

    /// Starts an exclusive session (one PC/SC transaction).
    pub fn session(&mut self) -> Result<Session<'_>> {
        let tx = self.reader.begin()?;
        Ok(Session::new(tx, &self.trace, self.token.clone()))
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
