//! How APDUs reach a card: a [`Reader`] hands out exclusive [`Transport`]s (one
//! PC/SC transaction each), and [`Trace`] counts and logs every exchange.
//!
//! Logging masks the data of VERIFY (`20`) and CHANGE REFERENCE DATA (`24`):
//! they carry PINs. Nothing here retries a command — a retried VERIFY would
//! spend a second try of the user's PIN.

use crate::error::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One exclusive channel to the card for the length of an operation.
///
/// Dropping it ends the PC/SC transaction; if [`Transport::mark_verified`] was
/// called the card is reset at the end, so a verified PIN does not outlive the
/// operation.
pub trait Transport {
    /// Sends a command APDU and returns data ‖ SW1 SW2.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>>;
    /// Records that a PIN was verified in this transaction (reset the card at the end).
    fn mark_verified(&mut self);
}

/// A reader holding a card.
pub trait Reader: Send {
    /// The reader's name.
    fn name(&self) -> &str;
    /// Starts an exclusive transaction.
    fn begin(&mut self) -> Result<Box<dyn Transport + '_>>;
}

/// APDU counters, shared between a card handle and whoever wants to read them
/// (benchmarks, `--trace`).
#[derive(Debug, Default)]
pub struct Trace {
    apdus: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
}

/// A snapshot of [`Trace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceStats {
    /// Command APDUs sent.
    pub apdus: u64,
    /// Bytes sent.
    pub sent: u64,
    /// Bytes received (data + SW).
    pub received: u64,
}

impl Trace {
    /// Reads the counters.
    pub fn stats(&self) -> TraceStats {
        TraceStats {
            apdus: self.apdus.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
        }
    }

    /// Counts and logs one exchange.
    pub(crate) fn record(&self, cmd: &[u8], resp: &[u8]) {
        self.apdus.fetch_add(1, Ordering::Relaxed);
        self.sent.fetch_add(cmd.len() as u64, Ordering::Relaxed);
        self.received
            .fetch_add(resp.len() as u64, Ordering::Relaxed);
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(
                target: "jpki_card::apdu",
                "> {}  < {}",
                mask_command(cmd),
                mask_response(cmd, resp)
            );
        }
    }
}

/// Shared handle to a [`Trace`].
pub type SharedTrace = Arc<Trace>;

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hex of a command APDU with the data of VERIFY/CHANGE replaced by `**`.
pub fn mask_command(cmd: &[u8]) -> String {
    match cmd.get(1) {
        Some(0x20) | Some(0x24) if cmd.len() > 5 => {
            format!("{} <{} bytes masked>", hex(&cmd[..5]), cmd.len() - 5)
        }
        _ => hex(cmd),
    }
}

/// Hex of a response, with the data of READ BINARY replaced by its length: certificates and
/// the text AP hold the card owner's name, address and My Number, which have no place in logs.
pub fn mask_response(cmd: &[u8], resp: &[u8]) -> String {
    match (cmd.get(1), resp.len()) {
        (Some(0xB0 | 0xB1), n) if n > 2 => {
            format!("<{} bytes masked> {}", n - 2, hex(&resp[n - 2..]))
        }
        _ => hex(resp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_payload_is_masked() {
        let m = mask_command(&[0, 0x20, 0, 0x80, 4, b'1', b'2', b'3', b'4']);
        assert_eq!(m, "00 20 00 80 04 <4 bytes masked>");
        let m = mask_command(&[0, 0x24, 1, 0x80, 6, b'A', b'B', b'C', b'1', b'2', b'3']);
        assert!(!m.contains("41 42"), "{m}");
        assert_eq!(mask_command(&[0, 0xB0, 0, 0, 4]), "00 B0 00 00 04");
    }

    #[test]
    fn read_binary_data_is_masked_but_status_words_stay() {
        let r = mask_response(&[0, 0xB0, 0, 0, 4], &[b'T', b'a', b'r', b'o', 0x90, 0x00]);
        assert_eq!(r, "<4 bytes masked> 90 00");
        assert_eq!(mask_response(&[0, 0xB0, 0, 0, 4], &[0x69, 0x82]), "69 82");
        assert_eq!(
            mask_response(&[0x80, 0x2A, 0, 0x80], &[0xAB, 0x90, 0x00]),
            "AB 90 00"
        );
    }
}
