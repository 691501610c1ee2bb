//! Bridge from a [`SimCard`] to vsmartcard's vpcd reader driver, so pcscd sees a
//! real reader with our card in it.
//!
//! Protocol (design.md, vsmartcard 3.3): the card side is a TCP client of vpcd
//! (default 127.0.0.1:35963). Every message is a 2-byte big-endian length and
//! a payload; a 1-byte payload is a control (0 power off, 1 power on, 2 reset,
//! 4 "send your ATR"), anything longer is a command APDU answered with
//! data ‖ SW. Closing the connection is "card removed"; reconnecting is
//! "card inserted".

use crate::card::SimCard;
pub use crate::faults::Faults;
use crate::faults::{Action, PullWhen};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// How a connection to vpcd ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// vpcd closed it.
    VpcdClosed,
    /// A fault pulled the card: we closed it.
    Pulled,
}

/// Runs one connection to vpcd until vpcd closes it or a fault pulls the card. Returns an
/// error if the stream broke.
pub fn serve(
    stream: &mut TcpStream,
    card: &Arc<Mutex<SimCard>>,
    faults: &mut Faults,
) -> io::Result<Ended> {
    stream.set_nodelay(true)?;
    loop {
        // vpcd sends a message's length and body in two writes with Nagle on: the body waits
        // for our ACK of the length, which Linux delays up to 40 ms — per APDU. Quick ACKs
        // (re-armed before every read; the kernel drops the mode by itself) make the
        // simulator answer in microseconds, like the benchmark wants to see.
        let _ = rustix::net::sockopt::set_tcp_quickack(&*stream, true);
        let mut len = [0u8; 2];
        match stream.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Ended::VpcdClosed),
            Err(e) => return Err(e),
        }
        let n = u16::from_be_bytes(len) as usize;
        let mut msg = vec![0u8; n];
        let _ = rustix::net::sockopt::set_tcp_quickack(&*stream, true);
        stream.read_exact(&mut msg)?;
        let mut card = card
            .lock()
            .map_err(|_| io::Error::other("simulator state poisoned"))?;
        let reply = match msg.as_slice() {
            [0] | [1] | [2] => {
                card.reset();
                None
            }
            [4] => Some(card.atr().to_vec()),
            [_] => None,
            apdu => {
                if let Some(d) = faults.delay {
                    std::thread::sleep(d);
                }
                let ins = apdu.get(1).copied().unwrap_or(0);
                match faults.decide(apdu) {
                    Action::Pull(when) => {
                        if when == PullWhen::After {
                            card.process(apdu);
                        }
                        card.note_fault();
                        // Out of the reader the card has no power: volatile state is gone.
                        card.reset();
                        tracing::info!(ins, %when, "fault: card pulled");
                        drop(card);
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                        return Ok(Ended::Pulled);
                    }
                    Action::Sw(sw) => {
                        card.note_fault();
                        tracing::info!(ins, sw = format!("{sw:04X}"), "fault: status word");
                        Some(sw.to_be_bytes().to_vec())
                    }
                    Action::Pass => {
                        let mut r = card.process(apdu);
                        if faults.mangle(&mut r) {
                            card.note_fault();
                            tracing::info!(ins, "fault: 256-byte response truncated");
                        }
                        tracing::debug!(
                            ins,
                            sw = ?&r[r.len().saturating_sub(2)..],
                            "apdu"
                        );
                        Some(r)
                    }
                }
            }
        };
        drop(card);
        if let Some(r) = reply {
            let mut frame = Vec::with_capacity(r.len() + 2);
            frame.extend_from_slice(&(r.len() as u16).to_be_bytes());
            frame.extend_from_slice(&r);
            stream.write_all(&frame)?;
        }
    }
}
