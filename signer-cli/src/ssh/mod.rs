//! `jpki-sign ssh`: the auth key of the card as an OpenSSH key.
//!
//! OpenSSH's `rsa-sha2-256` / `rsa-sha2-512` signatures (RFC 8332) are plain
//! PKCS#1 v1.5 signatures over a SHA-256 / SHA-512 DigestInfo — exactly what
//! the card computes — so the card's auth key works with stock `ssh` and
//! `sshd` through an agent:
//!
//! * [`pubkey`]: `ssh-rsa AAAA… comment` from the auth certificate (no PIN);
//! * [`agent`]: an ssh-agent on a Unix socket that signs with the card (jpki-ssh-agent),
//!   the PIN from `--pin-file`, `SSH_ASKPASS` or the terminal.

pub mod agent;
pub mod pubkey;

use crate::error::CliError;
use crate::Global;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The comment put after the key when none is given: no personal data (the
/// auth certificate carries none either, but a comment travels far).
pub const DEFAULT_COMMENT: &str = jpki_ssh_agent::DEFAULT_COMMENT;

/// `jpki-sign ssh …`
#[derive(Subcommand, Debug)]
pub enum SshCommand {
    /// Print the auth key as an OpenSSH public key line (for authorized_keys). No PIN needed.
    Pubkey(PubkeyArgs),
    /// Run an ssh-agent that signs with the card's auth key (asks for the auth PIN once).
    Agent(AgentArgs),
}

#[derive(Args, Debug)]
pub struct PubkeyArgs {
    /// Comment after the key.
    #[arg(long, default_value = DEFAULT_COMMENT)]
    pub comment: String,
}

#[derive(Args, Debug)]
#[command(after_help = agent::AFTER_HELP)]
pub struct AgentArgs {
    /// Listen on this socket path (default: a new private directory under $TMPDIR).
    #[arg(short = 'a', value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Also answer SHA-1 `ssh-rsa` signature requests (refused by default: SHA-1 is broken).
    #[arg(long)]
    pub allow_sha1: bool,
    /// Comment shown by `ssh-add -l`.
    #[arg(long, default_value = DEFAULT_COMMENT)]
    pub comment: String,
}

/// Runs an `ssh` sub-command.
pub fn run(g: &Global, cmd: &SshCommand) -> Result<(), CliError> {
    match cmd {
        SshCommand::Pubkey(a) => pubkey::run(g, a),
        SshCommand::Agent(a) => agent::run(g, a),
    }
}
