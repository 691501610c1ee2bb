//! The PC/SC transport (pcsc crate → libpcsclite → pcscd).
//!
//! Shared mode, so other programs (OpenSC, browsers' middleware) can use the
//! card between our operations; each operation runs in one
//! `SCardBeginTransaction` so their APDUs cannot interleave with ours.
//! Readers are listed here; which one holds a JPKI card is decided in
//! [`crate::card`], by the card's answers, not its ATR.

use crate::error::{CardError, Result};
use crate::transport::{Reader, Transport};

/// Maps a PC/SC error to what it means for the user.
pub(crate) fn map_err(e: pcsc::Error, reader: &str) -> CardError {
    use pcsc::Error as E;
    match e {
        E::NoService => CardError::NoService,
        // The socket to pcscd broke (pcsc-lite's SCARD_F_COMM_ERROR), or pcscd shut down:
        // found by the fault tests as a bare "internal communications error".
        E::ServiceStopped | E::CommError => CardError::ServiceLost,
        E::NoSmartcard => CardError::NoCard {
            reader: reader.to_string(),
        },
        E::RemovedCard | E::ReaderUnavailable | E::UnknownReader => CardError::CardRemoved,
        E::ResetCard => CardError::CardReset,
        E::NoReadersAvailable => CardError::NoReaders,
        other => CardError::Pcsc(other.to_string()),
    }
}

/// A PC/SC context (connection to pcscd).
pub struct PcscContext {
    ctx: pcsc::Context,
}

impl PcscContext {
    /// Connects to pcscd.
    pub fn establish() -> Result<PcscContext> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| map_err(e, ""))?;
        Ok(PcscContext { ctx })
    }

    /// Names of all readers.
    pub fn readers(&self) -> Result<Vec<String>> {
        match self.ctx.list_readers_owned() {
            Ok(v) => Ok(v
                .into_iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect()),
            Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(map_err(e, "")),
        }
    }

    /// Connects to the card in `reader` (shared mode, T=0 or T=1).
    pub fn connect(&self, reader: &str) -> Result<PcscReader> {
        let cname = std::ffi::CString::new(reader).map_err(|_| CardError::NoReaderMatches {
            filter: reader.to_string(),
            available: String::new(),
        })?;
        let card = self
            .ctx
            .connect(&cname, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .map_err(|e| map_err(e, reader))?;
        Ok(PcscReader {
            card: Some(card),
            name: reader.to_string(),
        })
    }
}

/// A connected card in a PC/SC reader.
pub struct PcscReader {
    /// Always `Some` until dropped (an `Option` only so `Drop` can choose the disposition).
    card: Option<pcsc::Card>,
    name: String,
}

impl Drop for PcscReader {
    fn drop(&mut self) {
        // pcsc::Card's own Drop disconnects with SCARD_RESET_CARD: every program exit would
        // reset the card, under other programs' feet (found by the 8-process test: a READ
        // BINARY in another process's transaction answered 69 86). Our transactions already
        // reset when a PIN was verified, so leaving the card is safe.
        if let Some(card) = self.card.take() {
            if let Err((card, e)) = card.disconnect(pcsc::Disposition::LeaveCard) {
                tracing::debug!("disconnecting from the card: {e}");
                // Not dropped: that would reset the card after all.
                std::mem::forget(card);
            }
        }
    }
}

struct PcscTransaction<'a> {
    tx: Option<pcsc::Transaction<'a>>,
    reader: &'a str,
    verified: bool,
    /// Response buffer, allocated once per transaction rather than per APDU.
    buf: Vec<u8>,
}

impl Reader for PcscReader {
    fn name(&self) -> &str {
        &self.name
    }

    fn begin(&mut self) -> Result<Box<dyn Transport + '_>> {
        // After a transaction that ended with a reset (ours, to drop a verified
        // PIN, or another program's), PC/SC wants the handle reconnected before
        // it can be used again. Nothing was sent yet, so this spends nothing.
        // Another program's transaction may end with a reset at any moment, also between a
        // check and our SCardBeginTransaction: reconnect and try again, a few times. Nothing
        // was sent yet, so this spends nothing. (`transaction2` hands the card back on error,
        // which is what makes the retry loop expressible.)
        let name = &self.name;
        let mut card = self.card.as_mut().ok_or(CardError::CardRemoved)?;
        let mut attempts = 0;
        let tx = loop {
            attempts += 1;
            match card.transaction2() {
                Ok(tx) => break tx,
                Err((c, pcsc::Error::ResetCard)) if attempts < 8 => {
                    c.reconnect(
                        pcsc::ShareMode::Shared,
                        pcsc::Protocols::ANY,
                        pcsc::Disposition::LeaveCard,
                    )
                    .map_err(|e| map_err(e, name))?;
                    card = c;
                }
                Err((_, e)) => return Err(map_err(e, name)),
            }
        };
        Ok(Box::new(PcscTransaction {
            tx: Some(tx),
            reader: name,
            verified: false,
            buf: vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        }))
    }
}

impl Transport for PcscTransaction<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let tx = self.tx.as_ref().ok_or(CardError::CardRemoved)?;
        let r = tx
            .transmit(apdu, &mut self.buf)
            .map_err(|e| map_err(e, self.reader))?;
        if r.len() < 2 {
            // A card always answers with a status word. vpcd (and so a reader whose card
            // goes away in the middle of a command) hands back an empty answer *with success*
            // (found by the fault tests: a pulled card was reported as "malformed data").
            // Ask PC/SC what became of the card.
            let len = r.len();
            let status = tx.status2_owned();
            tracing::debug!(len, status = ?status.as_ref().map(|s| s.status()), "answer without a status word");
            return Err(match status {
                Err(e) => map_err(e, self.reader),
                Ok(s) if !s.status().contains(pcsc::Status::PRESENT) => CardError::CardRemoved,
                Ok(_) => CardError::NoAnswer,
            });
        }
        Ok(r.to_vec())
    }

    fn mark_verified(&mut self) {
        self.verified = true;
    }
}

impl Drop for PcscTransaction<'_> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            // Reset after a VERIFY so the verified state dies with the operation;
            // otherwise leave the card as it is (a reset costs a real card ~100 ms).
            let disp = if self.verified {
                pcsc::Disposition::ResetCard
            } else {
                pcsc::Disposition::LeaveCard
            };
            if let Err((_, e)) = tx.end(disp) {
                tracing::debug!("ending PC/SC transaction: {e}");
            }
        }
    }
}
