//! An ssh-agent (draft-miller-ssh-agent) whose only identity is the My Number card's auth key.
//!
//! OpenSSH's `rsa-sha2-256` / `rsa-sha2-512` signatures (RFC 8332) are plain PKCS#1 v1.5
//! signatures over a SHA-256 / SHA-512 DigestInfo — exactly what the card computes — so the
//! card's auth key works with stock `ssh`, `sshd` and `ssh-keygen -Y` through this agent.
//!
//! The caller chooses the socket path, the reader and where the PIN comes from (a
//! [`PinSource`]); the agent serves on that socket until stopped, one thread per connection
//! and the card behind a mutex, and reports each event on standard error as one line
//! starting with [`Config::name`]. Message types and their encoding come from
//! `ssh-agent-lib` (its `proto` module); its server side needs an async runtime, which an agent
//! in front of one card that signs one request at a time does not.
//!
//! What it refuses: adding, removing or locking keys (the only key is the card's); SHA-1
//! `ssh-rsa` signatures unless [`Config::allow_sha1`]; connections from other users than its
//! own (or root). The PIN law of jpki-card applies to every VERIFY: the counter is read before
//! asking, a PIN the card rejected is never presented again, the last try is refused unless
//! [`Config::last_try`] allows it, a blocked PIN is never sent, and each signature is one card
//! session ended by a reset. The PIN is kept (zeroizing) until the card rejects it or is
//! pulled out.
//!
//! ```
//! use jpki_ssh_agent::{Agent, Config};
//! use jpki_card::ReaderChoice;
//! use jpki_pin_source::PinSource;
//! use std::io::{Read, Write};
//!
//! let mut config = Config::new(
//!     ReaderChoice::Named("a reader that is not there".into()),
//!     PinSource::File("/run/user/1000/jpki-pin".into()),
//! );
//! config.name = "my-agent".into();
//! let agent = Agent::new(config)?;
//! let socket = agent.bind_private()?; // or agent.bind(path)
//! let (path, stopper) = (socket.path().to_path_buf(), socket.stopper());
//! let server = std::thread::spawn(move || agent.serve(socket));
//!
//! // SSH_AGENTC_REQUEST_IDENTITIES; no card here, so the list is empty.
//! let mut client = std::os::unix::net::UnixStream::connect(&path)?;
//! client.write_all(&[0, 0, 0, 1, 11])?;
//! let mut reply = [0u8; 9];
//! client.read_exact(&mut reply)?;
//! assert_eq!(reply, [0, 0, 0, 5, 12, 0, 0, 0, 0]);
//!
//! stopper.stop(); // from a signal handler, say
//! server.join().expect("agent thread");
//! assert!(!path.exists(), "the socket is removed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod key;
mod pin;
mod protocol;
mod socket;
mod state;

pub use error::Error;
pub use key::{auth_key, key_data};
pub use socket::{Socket, Stopper};

use jpki_card::{LastTry, ReaderChoice};
use jpki_pin_source::PinSource;
use protocol::Shared;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The comment after the key when none is given: no personal data (the auth certificate
/// carries none either, but a comment travels far).
pub const DEFAULT_COMMENT: &str = "jpki-auth";

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which reader holds the card.
    pub reader: ReaderChoice,
    /// Where the auth PIN comes from, asked whenever the agent holds none.
    pub pin_source: PinSource,
    /// How log lines name the PIN source (never a PIN file's path).
    pub pin_source_name: String,
    /// Whether the very last try may be spent.
    pub last_try: LastTry,
    /// Also answer SHA-1 `ssh-rsa` signature requests.
    pub allow_sha1: bool,
    /// The comment `ssh-add -l` shows (one line).
    pub comment: String,
    /// Starts every log line and the PIN prompt.
    pub name: String,
}

impl Config {
    /// The defaults: last try refused, no SHA-1, [`DEFAULT_COMMENT`], named `jpki-ssh-agent`.
    pub fn new(reader: ReaderChoice, pin_source: PinSource) -> Config {
        Config {
            reader,
            pin_source_name: pin_source.describe(),
            pin_source,
            last_try: LastTry::Refuse,
            allow_sha1: false,
            comment: DEFAULT_COMMENT.into(),
            name: "jpki-ssh-agent".into(),
        }
    }
}

/// A running agent's state, shared by its connections. Cloning gives another handle to the
/// same agent.
#[derive(Clone)]
pub struct Agent {
    shared: Arc<Shared>,
}

impl Agent {
    /// An agent that has not looked for the card yet. Refuses a comment of several lines.
    pub fn new(config: Config) -> Result<Agent, Error> {
        if config.comment.contains(['\n', '\r']) {
            return Err(Error::Usage("the comment must be a single line".into()));
        }
        Ok(Agent {
            shared: Arc::new(Shared::new(state::State::new(config))),
        })
    }

    /// Listens on `path` (created 0600). An existing socket nobody listens on is replaced;
    /// anything else at that path is left alone and refused.
    pub fn bind(&self, path: &Path) -> Result<Socket, Error> {
        Socket::bind(path, &|m| self.log(m))
    }

    /// Listens in a new private (0700) directory under the temporary directory.
    pub fn bind_private(&self) -> Result<Socket, Error> {
        Socket::bind_private()
    }

    /// Looks for the card and logs which key is offered, or why none yet (the agent starts
    /// anyway and looks again at each request).
    pub fn announce(&self) {
        protocol::lock(&self.shared.state).announce();
    }

    /// Writes one log line, prefixed with the agent's name, to standard error.
    pub fn log(&self, msg: impl std::fmt::Display) {
        self.shared.log(msg);
    }

    /// Serves connections on `socket` until its [`Stopper`] is used, then removes the socket.
    pub fn serve(&self, socket: Socket) {
        for conn in socket.listener.incoming() {
            if socket.stop.load(Ordering::SeqCst) {
                break;
            }
            match conn {
                Ok(stream) => {
                    let shared = self.shared.clone();
                    if let Err(e) = std::thread::Builder::new()
                        .name("ssh-agent-client".into())
                        .spawn(move || protocol::serve(stream, &shared))
                    {
                        self.log(format!("cannot start a thread for a client: {e}"));
                    }
                }
                Err(e) => {
                    self.log(format!("accepting a connection failed: {e}"));
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        }
    }
}
