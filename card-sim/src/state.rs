//! What the card keeps across power cycles (PIN values and retry counters) and
//! what the simulator counts for tests (APDUs, VERIFYs, signatures).
//!
//! Counters are non-volatile on the real card (spec §6.3), so the simulator
//! writes them to its `--state` file after every change, with write-then-rename
//! so that a killed simulator never leaves a torn file. Statistics go to a
//! separate `--stats` file that tests read to prove how many tries a client
//! really spent.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A PIN object of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinId {
    /// JPKI 利用者証明用暗証番号, IEF 0018.
    Auth,
    /// JPKI 署名用パスワード, IEF 001B.
    Sign,
    /// Text AP 暗証番号, IEF 0011.
    Text,
    /// Text AP 照合番号A (the 個人番号), IEF 0014.
    TextA,
    /// Text AP 照合番号B, IEF 0015.
    TextB,
}

impl PinId {
    /// Every PIN, in a stable order.
    pub const ALL: [PinId; 5] = [
        PinId::Auth,
        PinId::Sign,
        PinId::Text,
        PinId::TextA,
        PinId::TextB,
    ];

    /// Whether `value` has the format the card accepts for this PIN on CHANGE.
    pub fn format_ok(self, value: &[u8]) -> bool {
        match self {
            PinId::Auth | PinId::Text => value.len() == 4 && value.iter().all(u8::is_ascii_digit),
            PinId::Sign => {
                (6..=16).contains(&value.len())
                    && value
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
            PinId::TextA => value.len() == 12 && value.iter().all(u8::is_ascii_digit),
            PinId::TextB => value.len() == 14 && value.iter().all(u8::is_ascii_digit),
        }
    }
}

/// One PIN's persistent state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PinState {
    /// The reference value the card compares with.
    pub value: String,
    /// Tries left (0 = blocked).
    pub tries: u8,
    /// The counter's maximum, restored on success.
    pub max: u8,
}

/// Everything non-volatile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CardState {
    /// PIN objects by id.
    pub pins: BTreeMap<PinId, PinState>,
}

impl CardState {
    /// Factory state with the given secrets (design.md defaults: 1234 / ABC123 / 1234).
    pub fn new(auth: &str, sign: &str, text: &str, my_number: &str, text_b: &str) -> CardState {
        let mut pins = BTreeMap::new();
        let mut put = |id, v: &str, max| {
            pins.insert(
                id,
                PinState {
                    value: v.to_string(),
                    tries: max,
                    max,
                },
            );
        };
        put(PinId::Auth, auth, 3);
        put(PinId::Sign, sign, 5);
        put(PinId::Text, text, 3);
        // Retry limits of 照合番号A/B are unknown (spec §17.9) [?]; 10 is a guess
        // that keeps tests from blocking them by accident.
        put(PinId::TextA, my_number, 10);
        put(PinId::TextB, text_b, 10);
        CardState { pins }
    }

    /// Loads a state file.
    pub fn load(path: &Path) -> std::io::Result<CardState> {
        let s = std::fs::read_to_string(path)?;
        serde_json::from_str(&s).map_err(std::io::Error::other)
    }

    /// Saves atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        write_json_atomic(path, self)
    }
}

/// What the simulator counts; the basis of "our client spends exactly what the
/// user typed" tests and of the APDU benchmarks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Command APDUs processed (controls like power/reset excluded).
    pub apdus: u64,
    /// Command bytes received.
    pub bytes_in: u64,
    /// Response bytes sent (data + SW).
    pub bytes_out: u64,
    /// VERIFY commands carrying a value, per PIN — each may spend a try.
    pub verifies: BTreeMap<PinId, u64>,
    /// VERIFY commands that failed (wrong value or blocked), per PIN.
    pub failed_verifies: BTreeMap<PinId, u64>,
    /// Empty VERIFY (counter queries), per PIN.
    pub queries: BTreeMap<PinId, u64>,
    /// Successful COMPUTE DIGITAL SIGNATURE.
    pub signatures: u64,
    /// Power-on / reset events.
    pub resets: u64,
    /// Faults injected by the simulator's fault options (pulls, status words, truncations).
    #[serde(default)]
    pub faults: u64,
}

impl Stats {
    /// Loads a stats file.
    pub fn load(path: &Path) -> std::io::Result<Stats> {
        let s = std::fs::read_to_string(path)?;
        serde_json::from_str(&s).map_err(std::io::Error::other)
    }

    /// Saves atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        write_json_atomic(path, self)
    }

    /// VERIFYs with data sent to one PIN.
    pub fn verifies_of(&self, pin: PinId) -> u64 {
        self.verifies.get(&pin).copied().unwrap_or(0)
    }
}

fn write_json_atomic<T: Serialize>(path: &Path, v: &T) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(v).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}
