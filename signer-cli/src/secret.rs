//! Getting a PIN from the user: a terminal prompt that shows the tries left, or
//! `--pin-file`. Never from an argument (it would sit in shell history and `ps`).

use crate::exit::CliError;
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
                    .map_err(|e| io("cannot read PIN file", &p.display().to_string(), e))?,
            );
            Zeroizing::new(all.lines().next().unwrap_or("").to_string())
        }
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(CliError::Usage(format!(
                    "the {kind} is needed but there is no terminal to ask on; pass --pin-file FILE (or --pin-file - to read standard input)"
                )));
            }
            let left = tries.map(|t| format!(" ({t} left)")).unwrap_or_default();
            let prompt = format!("Enter your {kind}{left}: ");
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
        return Err(CliError::Usage(format!(
            "the new {kind} is needed but there is no terminal to ask on; pass --new-pin-file FILE"
        )));
    }
    let a = Zeroizing::new(
        rpassword::prompt_password(format!("New {kind}: "))
            .map_err(|e| io("cannot read", "the terminal", e))?,
    );
    let b = Zeroizing::new(
        rpassword::prompt_password(format!("Repeat the new {kind}: "))
            .map_err(|e| io("cannot read", "the terminal", e))?,
    );
    if *a != *b {
        return Err(CliError::Usage(
            "the two entries of the new PIN differ; nothing was changed".into(),
        ));
    }
    Ok(AnyPin::new(kind, &a)?)
}

fn io(what: &'static str, path: &str, source: std::io::Error) -> CliError {
    CliError::Io {
        what,
        path: path.to_string(),
        source,
    }
}
