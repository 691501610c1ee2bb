//! Fault injection where a real reader or card fails: the card pulled out in the middle of
//! an operation, a status word the card was not expected to give, the reader bug that
//! mangles responses of exactly 256 data bytes, a slow card.
//!
//! Faults are decided per command APDU by [`Faults::decide`] in the vpcd bridge
//! ([`crate::vpcd::serve`]); the card itself ([`crate::SimCard`]) stays a faithful card.
//! Every fault that fires is counted in [`crate::Stats::faults`], so a test can prove that
//! the fault it set up really happened.
//!
//! Commands are named as on the simulator's command line ([`CmdMatch`]): `select`, `read`,
//! `verify` (VERIFY carrying a PIN), `query` (empty VERIFY: counter query), `change`, `sign`,
//! or an instruction byte in hex (`B0`, `2A`, …) for any command with that INS.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Which command APDUs a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdMatch {
    /// Any command with this INS.
    Ins(u8),
    /// VERIFY with data (presents a PIN: may spend a try).
    Verify,
    /// VERIFY without data (counter query: spends nothing).
    Query,
}

impl CmdMatch {
    /// Whether `apdu` is such a command.
    pub fn matches(self, apdu: &[u8]) -> bool {
        let ins = apdu.get(1).copied();
        match self {
            CmdMatch::Ins(i) => ins == Some(i),
            // Case 1 (4 bytes) or a case 2 with Le only: no data field.
            CmdMatch::Verify => ins == Some(0x20) && apdu.len() > 5,
            CmdMatch::Query => ins == Some(0x20) && apdu.len() <= 5,
        }
    }
}

impl FromStr for CmdMatch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "select" => CmdMatch::Ins(0xA4),
            "read" => CmdMatch::Ins(0xB0),
            "verify" => CmdMatch::Verify,
            "query" => CmdMatch::Query,
            "change" => CmdMatch::Ins(0x24),
            "sign" => CmdMatch::Ins(0x2A),
            h if h.len() == 2 => CmdMatch::Ins(u8::from_str_radix(h, 16).map_err(|_| {
                format!("{s:?} is not a command name or a hex INS byte")
            })?),
            _ => {
                return Err(format!(
                    "{s:?}: expected select, read, verify, query, change, sign or a hex INS byte (e.g. B0)"
                ))
            }
        })
    }
}

/// Which occurrences of a matching command a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nth {
    /// Only the n-th (1-based, counted over the simulator's whole run).
    Once(u32),
    /// Every one.
    Always,
}

impl Nth {
    fn hits(self, seen: u32) -> bool {
        match self {
            Nth::Once(n) => seen == n,
            Nth::Always => true,
        }
    }
}

fn parse_nth(s: Option<&str>) -> Result<Nth, String> {
    match s {
        None => Ok(Nth::Once(1)),
        Some("always") | Some("all") => Ok(Nth::Always),
        Some(n) => match n.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Nth::Once(n)),
            _ => Err(format!("{n:?}: expected a count from 1, or \"always\"")),
        },
    }
}

/// `--pull-on CMD[:N]`: the card is pulled at the N-th command of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullOn {
    /// Which commands.
    pub cmd: CmdMatch,
    /// Which occurrence.
    pub nth: u32,
}

impl FromStr for PullOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut it = s.splitn(2, ':');
        let cmd = it.next().unwrap_or_default().parse()?;
        match parse_nth(it.next())? {
            Nth::Once(nth) => Ok(PullOn { cmd, nth }),
            Nth::Always => Err("a card can only be pulled once per insertion; give a count".into()),
        }
    }
}

/// `--sw-on CMD:SW[:N|:always]`: the card answers SW instead of doing the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwOn {
    /// Which commands.
    pub cmd: CmdMatch,
    /// The status word answered (no data).
    pub sw: u16,
    /// Which occurrences.
    pub nth: Nth,
}

impl FromStr for SwOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut it = s.splitn(3, ':');
        let cmd = it.next().unwrap_or_default().parse()?;
        let sw = it.next().ok_or("expected CMD:SW, e.g. sign:6F00")?;
        let sw = match u16::from_str_radix(sw, 16) {
            Ok(v) if sw.len() == 4 => v,
            _ => return Err(format!("{sw:?}: expected a status word as 4 hex digits")),
        };
        Ok(SwOn {
            cmd,
            sw,
            nth: parse_nth(it.next())?,
        })
    }
}

/// When, relative to the card doing the command, a pull happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullWhen {
    /// The command never reached the card: nothing changed on it.
    Before,
    /// The card did the command (a VERIFY counted, a PIN changed), then was pulled before
    /// its answer left: what a real card does when it loses power after the command arrived.
    #[default]
    After,
}

impl FromStr for PullWhen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "before" => Ok(PullWhen::Before),
            "after" => Ok(PullWhen::After),
            _ => Err(format!("{s:?}: expected before or after")),
        }
    }
}

impl fmt::Display for PullWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PullWhen::Before => "before",
            PullWhen::After => "after",
        })
    }
}

/// What to do with one command APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Let the card answer it.
    Pass,
    /// Close the connection to vpcd (card removed); with [`PullWhen::After`] the card does
    /// the command first.
    Pull(PullWhen),
    /// Answer this status word without doing the command.
    Sw(u16),
}

/// The faults of one simulator run (configuration plus what has fired so far).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Extra delay before every APDU response (a slow card).
    pub delay: Option<Duration>,
    /// Pull the card at the N-th command APDU of the run (1-based).
    pub pull_at_apdu: Option<u64>,
    /// Pull the card at the N-th command of a kind.
    pub pull_on: Vec<PullOn>,
    /// Whether the pulled command reached the card.
    pub pull_when: PullWhen,
    /// Answer status words instead of doing commands.
    pub sw_on: Vec<SwOn>,
    /// Responses carrying exactly 256 data bytes lose their last this-many data bytes
    /// (the status word stays): the reader bug of budget (often contactless) readers
    /// that mishandle the 256-byte case of a short Le. 256 = all data lost.
    pub truncate_256: Option<u16>,
    /// The reader carries short APDUs only: a command with extended length fields is
    /// answered `67 00` (wrong length) and never reaches the card.
    pub short_apdus_only: bool,
    /// What was seen so far (start from the default).
    pub seen: Seen,
}

/// Counts of commands seen, per fault (opaque).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    apdus: u64,
    pull: Vec<u32>,
    sw: Vec<u32>,
}

impl Faults {
    /// Decides what happens to the next command APDU (call once per command, in order).
    pub fn decide(&mut self, apdu: &[u8]) -> Action {
        let seen = &mut self.seen;
        seen.apdus += 1;
        seen.pull.resize(self.pull_on.len(), 0);
        seen.sw.resize(self.sw_on.len(), 0);
        let mut action = Action::Pass;
        if self.short_apdus_only && is_extended(apdu) {
            return Action::Sw(0x6700);
        }
        if self.pull_at_apdu == Some(seen.apdus) {
            action = Action::Pull(self.pull_when);
        }
        for (p, seen) in self.pull_on.iter().zip(seen.pull.iter_mut()) {
            if p.cmd.matches(apdu) {
                *seen += 1;
                if *seen == p.nth && action == Action::Pass {
                    action = Action::Pull(self.pull_when);
                }
            }
        }
        for (s, seen) in self.sw_on.iter().zip(seen.sw.iter_mut()) {
            if s.cmd.matches(apdu) {
                *seen += 1;
                if s.nth.hits(*seen) && action == Action::Pass {
                    action = Action::Sw(s.sw);
                }
            }
        }
        action
    }

    /// Applies the reader's 256-byte bug to a response (data ‖ SW); true if it fired.
    pub fn mangle(&self, resp: &mut Vec<u8>) -> bool {
        match self.truncate_256 {
            Some(n) if resp.len() == 256 + 2 => {
                let n = usize::from(n.min(256));
                resp.drain(256 - n..256);
                n > 0
            }
            _ => false,
        }
    }
}

/// Whether a command APDU uses extended length fields: after the header, a `00` byte that
/// is not a short case-2 `Le = 00` (cases 2E, 3E and 4E are all at least 7 bytes long).
fn is_extended(apdu: &[u8]) -> bool {
    apdu.len() >= 7 && apdu[4] == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFY: [u8; 9] = [0, 0x20, 0, 0x80, 4, b'1', b'2', b'3', b'4'];
    const QUERY: [u8; 4] = [0, 0x20, 0, 0x80];
    const SIGN: [u8; 6] = [0x80, 0x2A, 0, 0x80, 1, 0];

    #[test]
    fn parses_the_command_line_forms() {
        assert_eq!(
            "verify:2".parse::<PullOn>(),
            Ok(PullOn {
                cmd: CmdMatch::Verify,
                nth: 2
            })
        );
        assert_eq!(
            "b0".parse::<PullOn>(),
            Ok(PullOn {
                cmd: CmdMatch::Ins(0xB0),
                nth: 1
            })
        );
        assert_eq!(
            "sign:6F00:always".parse::<SwOn>(),
            Ok(SwOn {
                cmd: CmdMatch::Ins(0x2A),
                sw: 0x6F00,
                nth: Nth::Always
            })
        );
        assert!("sign".parse::<SwOn>().is_err());
        assert!("sign:6F0".parse::<SwOn>().is_err());
        assert!("frobnicate".parse::<PullOn>().is_err());
        assert!("verify:0".parse::<PullOn>().is_err());
        assert!("verify:always".parse::<PullOn>().is_err());
    }

    #[test]
    fn a_short_only_reader_refuses_extended_commands_alone() {
        let mut f = Faults {
            short_apdus_only: true,
            ..Faults::default()
        };
        // READ BINARY with extended Le 0x02E8, then the same with short Le 00 (256).
        assert_eq!(
            f.decide(&[0, 0xB0, 0, 0xFF, 0, 0x02, 0xE8]),
            Action::Sw(0x6700)
        );
        assert_eq!(f.decide(&[0, 0xB0, 0, 0xFF, 0]), Action::Pass);
        assert_eq!(f.decide(&VERIFY), Action::Pass);
        assert_eq!(f.decide(&SIGN), Action::Pass);
    }

    #[test]
    fn verify_and_query_are_told_apart() {
        assert!(CmdMatch::Verify.matches(&VERIFY));
        assert!(!CmdMatch::Verify.matches(&QUERY));
        assert!(CmdMatch::Query.matches(&QUERY));
        assert!(CmdMatch::Ins(0x20).matches(&QUERY) && CmdMatch::Ins(0x20).matches(&VERIFY));
    }

    #[test]
    fn pulls_fire_once_at_the_nth_match() {
        let mut f = Faults {
            pull_on: vec!["verify:2".parse().unwrap()],
            ..Faults::default()
        };
        assert_eq!(f.decide(&QUERY), Action::Pass);
        assert_eq!(f.decide(&VERIFY), Action::Pass);
        assert_eq!(f.decide(&QUERY), Action::Pass);
        assert_eq!(f.decide(&VERIFY), Action::Pull(PullWhen::After));
        assert_eq!(f.decide(&VERIFY), Action::Pass);
        let mut f = Faults {
            pull_at_apdu: Some(2),
            pull_when: PullWhen::Before,
            ..Faults::default()
        };
        assert_eq!(f.decide(&SIGN), Action::Pass);
        assert_eq!(f.decide(&SIGN), Action::Pull(PullWhen::Before));
        assert_eq!(f.decide(&SIGN), Action::Pass);
    }

    #[test]
    fn status_words_once_or_always() {
        let mut f = Faults {
            sw_on: vec!["sign:6581".parse().unwrap()],
            ..Faults::default()
        };
        assert_eq!(f.decide(&SIGN), Action::Sw(0x6581));
        assert_eq!(f.decide(&SIGN), Action::Pass);
        let mut f = Faults {
            sw_on: vec!["2A:6F00:always".parse().unwrap()],
            ..Faults::default()
        };
        assert_eq!(f.decide(&VERIFY), Action::Pass);
        assert_eq!(f.decide(&SIGN), Action::Sw(0x6F00));
        assert_eq!(f.decide(&SIGN), Action::Sw(0x6F00));
    }

    #[test]
    fn only_responses_of_exactly_256_data_bytes_are_truncated() {
        let f = Faults {
            truncate_256: Some(1),
            ..Faults::default()
        };
        let mut r = vec![7u8; 256];
        r.extend_from_slice(&[0x90, 0x00]);
        assert!(f.mangle(&mut r));
        assert_eq!(r.len(), 257);
        assert_eq!(&r[255..], &[0x90, 0x00]);
        let mut r = vec![7u8; 257];
        assert!(!f.mangle(&mut r));
        assert_eq!(r.len(), 257);
        let f = Faults {
            truncate_256: Some(256),
            ..Faults::default()
        };
        let mut r = vec![7u8; 258];
        r[256] = 0x90;
        r[257] = 0x00;
        assert!(f.mangle(&mut r));
        assert_eq!(r, vec![0x90, 0x00]);
    }
}
