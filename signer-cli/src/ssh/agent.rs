//! `jpki-sign ssh agent`: the command-line layer over jpki-ssh-agent. It chooses where the PIN
//! comes from (`--pin-file`, `SSH_ASKPASS`, the terminal), binds the socket, installs the
//! signal handlers, prints the shell lines like ssh-agent, and converts the agent's error into
//! the CLI's once. Serving, the card and the PIN law are the library's.
//!
//! `SSH_ASKPASS` is used as OpenSSH uses it: when it is set and there is no terminal to ask on,
//! or when `SSH_ASKPASS_REQUIRE` is `force` or `prefer`.

use super::AgentArgs;
use crate::error::CliError;
use crate::i18n::Msg;
use crate::Global;
use jpki_card::{LastTry, ReaderChoice};
use jpki_pin_source::{foreground_terminal, PinSource};
use jpki_ssh_agent::{Agent, Config, Stopper};
use std::io::Write;
use std::path::PathBuf;

pub const AFTER_HELP: &str = "\
The agent runs in the foreground until SIGTERM or SIGINT (Ctrl-C), then removes its socket.
On standard output it prints, like ssh-agent, the lines a shell needs:
  SSH_AUTH_SOCK=/tmp/jpki-ssh-XXXXXX/agent.PID; export SSH_AUTH_SOCK;
Use it from another shell with that variable set, or with `ssh -o IdentityAgent=PATH`.

The auth PIN is asked at the first signature and kept (in memory, wiped at exit)
until the card rejects it or is pulled out. It comes from --pin-file FILE (read
again whenever needed), else SSH_ASKPASS (when set and there is no terminal, or
SSH_ASKPASS_REQUIRE=force|prefer), else the terminal. A wrong PIN is logged here
with the tries left and never sent twice; the client just sees the agent refuse.

Only rsa-sha2-256 and rsa-sha2-512 signatures are made; SHA-1 `ssh-rsa` needs
--allow-sha1. Adding or removing keys is refused: the only key is the card's.

Example:
  jpki-sign ssh pubkey >> ~/.ssh/authorized_keys     (on the server)
  jpki-sign ssh agent -a ~/.ssh/jpki.sock &
  SSH_AUTH_SOCK=~/.ssh/jpki.sock ssh user@host";

/// What every log line of the agent starts with.
const NAME: &str = "jpki-sign ssh agent";

pub fn run(g: &Global, a: &AgentArgs) -> Result<(), CliError> {
    let source = choose(g.pin_file.as_ref())?;
    let mut config = Config::new(ReaderChoice::from_env_or(g.reader.as_deref()), source);
    config.pin_source_name = describe(&config.pin_source);
    config.last_try = if g.force_last_try {
        LastTry::Allow
    } else {
        LastTry::Refuse
    };
    config.allow_sha1 = a.allow_sha1;
    config.comment = a.comment.clone();
    config.name = NAME.into();
    let agent = Agent::new(config)?;
    let socket = match a.socket.as_deref() {
        Some(p) => agent.bind(p)?,
        None => agent.bind_private()?,
    };
    agent.announce();
    watch_signals(&agent, socket.stopper())?;

    let pid = std::process::id();
    let path = shell_quote(&socket.path().to_string_lossy());
    let mut out = std::io::stdout().lock();
    let printed = writeln!(out, "SSH_AUTH_SOCK={path}; export SSH_AUTH_SOCK;")
        .and_then(|_| writeln!(out, "SSH_AGENT_PID={pid}; export SSH_AGENT_PID;"))
        .and_then(|_| writeln!(out, "echo Agent pid {pid};"))
        .and_then(|_| out.flush());
    drop(out);
    if let Err(e) = printed {
        // Nobody may read stdout (started with `&` and closed): keep serving.
        tracing::debug!("cannot print the environment lines: {e}");
    }
    agent.log(format!(
        "listening on {} (stop with SIGTERM or Ctrl-C)",
        socket.path().display()
    ));
    agent.serve(socket);
    agent.log("stopped; socket removed");
    Ok(())
}

/// Chooses the source from `--pin-file` and the environment. A file is read anew each time the
/// agent needs the PIN, so `-` (standard input, readable once) is refused.
fn choose(pin_file: Option<&PathBuf>) -> Result<PinSource, CliError> {
    if let Some(p) = pin_file {
        if p.as_os_str() == "-" {
            return Err(CliError::Usage(Msg::AgentPinFileDash.to_string()));
        }
        return Ok(PinSource::File(p.clone()));
    }
    if let Some(askpass) = PinSource::openssh_askpass() {
        return Ok(askpass);
    }
    if foreground_terminal() {
        return Ok(PinSource::Terminal);
    }
    Err(CliError::Usage(Msg::AgentNoPinSource.to_string()))
}

/// Says where the PIN comes from, for log lines (never the PIN, never the file's path: a PIN
/// typed where the path belonged would land in the log).
fn describe(source: &PinSource) -> String {
    match source {
        PinSource::File(_) => "the PIN file given with --pin-file".into(),
        PinSource::Askpass(p) => format!("SSH_ASKPASS ({})", p.display()),
        other => other.describe(),
    }
}

/// On SIGTERM, SIGINT or SIGHUP: stop the agent (which then removes its socket).
fn watch_signals(agent: &Agent, stopper: Stopper) -> Result<(), CliError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|e| {
            CliError::Io {
                what: "cannot install signal handlers for",
                path: "the agent".into(),
                source: e,
            }
        })?;
    let agent = agent.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                agent.log(format!("signal {sig} received, stopping"));
                stopper.stop();
            }
        })
        .map_err(|e| CliError::Io {
            what: "cannot start the signal thread of",
            path: "the agent".into(),
            source: e,
        })?;
    Ok(())
}

/// Single-quotes a path for the `SSH_AUTH_SOCK=…` line when it needs it.
fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(
            shell_quote("/tmp/jpki-ssh-a1/agent.12"),
            "/tmp/jpki-ssh-a1/agent.12"
        );
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn a_pin_file_is_named_without_its_path_and_dash_is_refused() {
        let src = choose(Some(&PathBuf::from("/run/QZ7PASS93"))).unwrap();
        assert_eq!(src, PinSource::File("/run/QZ7PASS93".into()));
        assert_eq!(describe(&src), "the PIN file given with --pin-file");
        assert!(choose(Some(&PathBuf::from("-"))).is_err());
    }
}
