//! Getting a PIN from the user: a terminal prompt that shows the tries left, or
//! `--pin-file`. Never from an argument (it would sit in shell history and `ps`).

use crate::error::CliError;
use crate::i18n::Msg;
use jpki_card::{AnyPin, PinKind, Tries};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use zeroize::Zeroizing;

/// Reads the PIN for `kind`, from `pin_file` or by prompting on the terminal.
/// The format is checked offline here, before anything reaches the card.
pub fn read_pin(
    kind: PinKind,
    pin_file: Option<&Path>,
    tries: Option<Tries>,
) -> Result<AnyPin, CliError> {
    let raw: Zeroizing<String> = match pin_file {
        Some(p) if p == Path::new("-") => {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| io("cannot read", "standard input", e))?;
            line
        }
        Some(p) => {
            let all = Zeroizing::new(
                std::fs::read_to_string(p)
                    .map_err(|e| io("cannot read PIN file", PIN_FILE_UNNAMED, e))?,
            );
            Zeroizing::new(all.lines().next().unwrap_or("").to_string())
        }
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(CliError::Usage(Msg::NoTerminal(kind).to_string()));
            }
            let prompt = Msg::PinPrompt(kind, tries.map(|t| t.get())).to_string();
            Zeroizing::new(
                rpassword::prompt_password(prompt)
                    .map_err(|e| io("cannot read", "the terminal", e))?,
            )
        }
    };
    Ok(AnyPin::new(kind, raw.trim_end_matches(['\r', '\n']))?)
}

/// Reads a new PIN: from `file`, or on the terminal twice (they must match).
pub fn read_new_pin(kind: PinKind, file: Option<&Path>) -> Result<AnyPin, CliError> {
    if file.is_some() {
        return read_pin(kind, file, None);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(Msg::NoTerminalNew(kind).to_string()));
    }
    let a = Zeroizing::new(
        rpassword::prompt_password(Msg::NewPinPrompt(kind).to_string())
            .map_err(|e| io("cannot read", "the terminal", e))?,
    );
    let b = Zeroizing::new(
        rpassword::prompt_password(Msg::RepeatPinPrompt(kind).to_string())
            .map_err(|e| io("cannot read", "the terminal", e))?,
    );
    if *a != *b {
        return Err(CliError::Usage(Msg::NewPinsDiffer.to_string()));
    }
    Ok(AnyPin::new(kind, &a)?)
}

/// How errors name the `--pin-file` file: never by its path, since a PIN typed where the path
/// belonged (`--pin-file 1234`) would be echoed to the terminal and any log.
pub const PIN_FILE_UNNAMED: &str = "(--pin-file)";

fn io(what: &'static str, path: &str, source: std::io::Error) -> CliError {
    CliError::Io {
        what,
        path: path.to_string(),
        source,
    }
}

/// Keeps PINs out of core dumps (and out of other same-user processes' ptrace and
/// /proc/PID/mem): `jpki-sign` may hold a PIN for its whole run (the ssh agent, batch signing).
/// Where the OS refuses, nothing else changes — the PIN buffers are zeroized either way.
pub fn protect_process() {
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        tracing::debug!("could not disable core dumps: {e}");
    }
}

#[cfg(test)]
mod protect_tests {
    #[test]
    fn the_process_is_no_longer_dumpable() {
        super::protect_process();
        assert_eq!(
            rustix::process::dumpable_behavior().ok(),
            Some(rustix::process::DumpableBehavior::NotDumpable)
        );
    }
}
