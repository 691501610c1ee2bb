//! In-process transport to a simulated card (`jpki-card-sim`), for tests only (feature
//! `virtual`, off by default: nothing shipped links the simulator). It behaves like the PC/SC
//! one: the card is reset at the end of a transaction in which a PIN was verified.

use crate::error::{CardError, Result};
use crate::transport::{Reader, Transport};
use jpki_card_sim::SimCard;
use std::sync::{Arc, Mutex};

/// A simulated card "in a reader".
#[derive(Clone)]
pub struct VirtualReader {
    card: Arc<Mutex<SimCard>>,
}

impl VirtualReader {
    /// Wraps a simulated card; the `Arc` lets a test inspect the card afterwards.
    pub fn new(card: Arc<Mutex<SimCard>>) -> VirtualReader {
        VirtualReader { card }
    }

    /// The simulated card.
    pub fn card(&self) -> &Arc<Mutex<SimCard>> {
        &self.card
    }
}

struct VirtualTx<'a> {
    card: &'a Mutex<SimCard>,
    verified: bool,
}

impl Reader for VirtualReader {
    fn name(&self) -> &str {
        "virtual"
    }

    fn begin(&mut self) -> Result<Box<dyn Transport + '_>> {
        Ok(Box::new(VirtualTx {
            card: &self.card,
            verified: false,
        }))
    }
}

impl Transport for VirtualTx<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let mut c = self
            .card
            .lock()
            .map_err(|_| CardError::Pcsc("simulated card poisoned".into()))?;
        Ok(c.process(apdu))
    }

    fn mark_verified(&mut self) {
        self.verified = true;
    }
}

impl Drop for VirtualTx<'_> {
    fn drop(&mut self) {
        if self.verified {
            if let Ok(mut c) = self.card.lock() {
                c.reset();
            }
        }
    }
}
