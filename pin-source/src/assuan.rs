//! A minimal Assuan client for GnuPG's `pinentry` programs: greet, set the texts, `GETPIN`,
//! `BYE`. Only what a PIN prompt needs; no INQUIRE, no options beyond the terminal's.

use crate::Request;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use zeroize::Zeroizing;

/// Why `GETPIN` gave nothing.
pub(crate) enum Failure {
    Cancelled,
    Other(String),
}

/// gpg-error code of "Operation cancelled" (GPG_ERR_CANCELED with the pinentry source).
const CANCELLED: &str = "83886179";

struct Conversation {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Drop for Conversation {
    fn drop(&mut self) {
        let _ = self.input.write_all(b"BYE\n");
        let _ = self.child.wait();
    }
}

impl Conversation {
    /// Reads lines until `OK`/`ERR`; `D` lines are collected (percent-decoded).
    fn response(&mut self) -> Result<Zeroizing<String>, Failure> {
        let mut data = Zeroizing::new(String::new());
        loop {
            let mut line = Zeroizing::new(String::new());
            let n = self
                .output
                .read_line(&mut line)
                .map_err(|e| Failure::Other(format!("pinentry: {e}")))?;
            if n == 0 {
                return Err(Failure::Other("pinentry ended without an answer".into()));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line == "OK" || line.starts_with("OK ") {
                return Ok(data);
            }
            if let Some(err) = line.strip_prefix("ERR ") {
                if err.starts_with(CANCELLED) || err.contains("cancel") {
                    return Err(Failure::Cancelled);
                }
                return Err(Failure::Other(format!("pinentry said: {err}")));
            }
            if let Some(d) = line.strip_prefix("D ") {
                data.push_str(&unescape(d));
            }
            // "S …" status and "# …" comment lines carry nothing we need.
        }
    }

    fn command(&mut self, cmd: &str, arg: &str) -> Result<(), Failure> {
        let line = format!("{cmd} {}\n", escape(arg));
        self.input
            .write_all(line.as_bytes())
            .and_then(|()| self.input.flush())
            .map_err(|e| Failure::Other(format!("pinentry: {e}")))?;
        self.response().map(|_| ())
    }
}

/// Runs `program` and asks it for one PIN.
pub(crate) fn get_pin(program: &Path, request: &Request) -> Result<Zeroizing<String>, Failure> {
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Failure::Other(format!("cannot start {}: {e}", program.display())))?;
    let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err(Failure::Other("pinentry has no pipes".into()));
    };
    let mut c = Conversation {
        child,
        input,
        output: BufReader::new(output),
    };
    c.response()?; // the greeting
    if let Ok(tty) = std::env::var("GPG_TTY") {
        c.command("OPTION", &format!("ttyname={tty}"))?;
    }
    if let Ok(term) = std::env::var("TERM") {
        c.command("OPTION", &format!("ttytype={term}"))?;
    }
    c.command("SETTITLE", &request.title)?;
    c.command("SETDESC", &request.description)?;
    c.command("SETPROMPT", &request.prompt)?;
    if let Some(e) = &request.error {
        c.command("SETERROR", e)?;
    }
    c.input
        .write_all(b"GETPIN\n")
        .and_then(|()| c.input.flush())
        .map_err(|e| Failure::Other(format!("pinentry: {e}")))?;
    c.response()
}

/// Assuan percent-escaping of a command argument: `%`, CR and LF.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes `%XX` in a data line; a malformed escape is kept as it is.
fn unescape(s: &str) -> Zeroizing<String> {
    let b = s.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(b.len()));
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Zeroizing::new(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        assert_eq!(escape("a%b\nc"), "a%25b%0Ac");
        assert_eq!(unescape("a%25b%0Ac").as_str(), "a%b\nc");
        assert_eq!(unescape("50%").as_str(), "50%");
    }
}
