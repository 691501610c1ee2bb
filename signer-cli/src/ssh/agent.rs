//! `jpki-sign ssh agent`: an ssh-agent (draft-miller-ssh-agent) whose only
//! identity is the card's auth key.
//!
//! Message types and their encoding come from `ssh-agent-lib` (its `proto`
//! module, built without default features). Its server side (`agent::listen`)
//! needs a tokio runtime and async sessions; an agent in front of one card
//! that signs one request at a time gains nothing from that, so the accept
//! loop and the 4-byte length framing (draft §3) are the few lines below,
//! with a thread per connection and the card behind a mutex.
//!
//! PIN handling (the policy of `jpki_card::verify` applies to every VERIFY):
//! * the PIN is asked when the agent holds none — at the first signature —
//!   and then kept, zeroizing, for the agent's lifetime; each signature is one
//!   session with one VERIFY of that PIN (the card is reset after each session);
//! * a PIN the card rejects is forgotten at once and never sent again: the next
//!   request asks again, and a value equal to the rejected one is refused
//!   without touching the card (a `--pin-file` that still holds it, say);
//! * the last try is refused unless `--force-last-try`; a blocked PIN is never sent;
//! * a pulled card makes the agent forget the card and the PIN; the next
//!   request after re-insertion finds the card again and asks for the PIN again.

use super::agent_pin;
use super::pubkey::read_auth_key;
use super::AgentArgs;
use crate::error::CliError;
use crate::Global;
use jpki_card::{
    AuthPin, Card, CardError, DigestInfo, HashAlg, KeyKind, LastTry, PinKind, ReaderChoice, Secret,
};
use jpki_pin_source::PinSource;
use ssh_agent_lib::proto::{Identity, Request, Response, SignRequest, RSA_SHA2_256, RSA_SHA2_512};
use ssh_agent_lib::ssh_encoding::{Decode, Encode};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg as SshHash, Signature};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// Largest message accepted, as OpenSSH's agent (`AGENT_MAX_LEN`).
const MAX_MESSAGE: usize = 256 * 1024;

fn log(msg: impl std::fmt::Display) {
    eprintln!("jpki-sign ssh agent: {msg}");
}

pub fn run(g: &Global, a: &AgentArgs) -> Result<(), CliError> {
    if a.comment.contains(['\n', '\r']) {
        return Err(CliError::Usage("the comment must be a single line".into()));
    }
    let source = agent_pin::choose(g.pin_file.as_ref())?;
    let socket = Socket::bind(a.socket.as_deref())?;
    let agent = Arc::new(Mutex::new(Agent {
        reader: ReaderChoice::from_env_or(g.reader.as_deref()),
        source,
        last_try: if g.force_last_try {
            LastTry::Allow
        } else {
            LastTry::Refuse
        },
        allow_sha1: a.allow_sha1,
        comment: a.comment.clone(),
        card: None,
        pin: None,
        rejected: None,
    }));
    lock(&agent).announce();

    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(&socket.path, stop.clone())?;

    let pid = std::process::id();
    let path = shell_quote(&socket.path.to_string_lossy());
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
    log(format!(
        "listening on {} (stop with SIGTERM or Ctrl-C)",
        socket.path.display()
    ));

    for conn in socket.listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match conn {
            Ok(stream) => {
                let agent = agent.clone();
                if let Err(e) = std::thread::Builder::new()
                    .name("ssh-agent-client".into())
                    .spawn(move || serve(stream, &agent))
                {
                    log(format!("cannot start a thread for a client: {e}"));
                }
            }
            Err(e) => {
                log(format!("accepting a connection failed: {e}"));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
    drop(socket);
    log("stopped; socket removed");
    Ok(())
}

/// A poisoned mutex only means a client thread panicked; the state itself is
/// still consistent (every field is replaced whole), so carry on with it.
fn lock(agent: &Mutex<Agent>) -> MutexGuard<'_, Agent> {
    agent.lock().unwrap_or_else(|p| p.into_inner())
}

/// On SIGTERM, SIGINT or SIGHUP: flag the stop and wake the accept loop by
/// connecting to our own socket.
fn watch_signals(path: &Path, stop: Arc<AtomicBool>) -> Result<(), CliError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|e| {
            CliError::Io {
                what: "cannot install signal handlers for",
                path: "the agent".into(),
                source: e,
            }
        })?;
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                log(format!("signal {sig} received, stopping"));
                stop.store(true, Ordering::SeqCst);
                let _ = UnixStream::connect(&path);
            }
        })
        .map_err(|e| CliError::Io {
            what: "cannot start the signal thread of",
            path: "the agent".into(),
            source: e,
        })?;
    Ok(())
}

/// The listening socket; dropping it removes the socket file (and the private
/// directory it was made in, if we made one).
struct Socket {
    listener: UnixListener,
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Socket {
    fn bind(path: Option<&Path>) -> Result<Socket, CliError> {
        let (path, dir) = match path {
            Some(p) => {
                remove_stale(p)?;
                (p.to_path_buf(), None)
            }
            None => {
                // 0700 directory, as ssh-agent's /tmp/ssh-XXXXXX (tempfile's
                // default would follow the umask, typically 0755).
                let d = tempfile::Builder::new()
                    .prefix("jpki-ssh-")
                    .permissions(std::fs::Permissions::from_mode(0o700))
                    .tempdir()
                    .map_err(|e| CliError::Io {
                        what: "cannot create a directory in",
                        path: std::env::temp_dir().display().to_string(),
                        source: e,
                    })?;
                (
                    d.path().join(format!("agent.{}", std::process::id())),
                    Some(d),
                )
            }
        };
        // The socket is created 0600: nobody else may even connect.
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
        let bound = UnixListener::bind(&path);
        rustix::process::umask(old);
        let listener = bound.map_err(|e| CliError::Io {
            what: "cannot listen on",
            path: path.display().to_string(),
            source: e,
        })?;
        Ok(Socket {
            listener,
            path,
            _dir: dir,
        })
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `-a PATH` that already exists: a socket nobody listens on any more (an
/// agent that was killed) is removed; anything else is left alone.
fn remove_stale(p: &Path) -> Result<(), CliError> {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return Ok(());
    };
    let in_use = || {
        CliError::Usage(format!(
            "{} exists (another agent?); stop it or choose another path",
            p.display()
        ))
    };
    if !meta.file_type().is_socket() {
        return Err(in_use());
    }
    match UnixStream::connect(p) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            log(format!("removing the stale socket {}", p.display()));
            std::fs::remove_file(p).map_err(|e| CliError::Io {
                what: "cannot remove the stale socket",
                path: p.display().to_string(),
                source: e,
            })
        }
        _ => Err(in_use()),
    }
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

/// One client connection: framed requests until it closes.
fn serve(mut stream: UnixStream, agent: &Mutex<Agent>) {
    // Only our own user (or root) may use the card, as OpenSSH's agent checks.
    match rustix::net::sockopt::socket_peercred(&stream) {
        Ok(cred) if cred.uid == rustix::process::geteuid() || cred.uid.is_root() => {}
        Ok(cred) => {
            log(format!(
                "refused a connection from uid {}",
                cred.uid.as_raw()
            ));
            return;
        }
        Err(e) => {
            log(format!(
                "cannot check who connected ({e}); connection closed"
            ));
            return;
        }
    }
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).is_err() {
            return; // the client closed the connection
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_MESSAGE {
            log(format!(
                "a client sent a message of {len} bytes; connection closed"
            ));
            return;
        }
        let mut body = vec![0u8; len];
        if stream.read_exact(&mut body).is_err() {
            return;
        }
        let reply = match Request::decode(&mut &body[..]) {
            Ok(req) => handle(agent, req),
            Err(e) => {
                tracing::debug!("undecodable request: {e}");
                Reply::Msg(Response::Failure)
            }
        };
        let bytes = match reply.encode() {
            Ok(b) => b,
            Err(e) => {
                log(format!("cannot encode a reply ({e}); answering failure"));
                Reply::FAILURE.to_vec()
            }
        };
        if stream.write_all(&bytes).is_err() {
            return;
        }
    }
}

fn handle(agent: &Mutex<Agent>, req: Request) -> Reply {
    match req {
        Request::RequestIdentities => {
            let mut a = lock(agent);
            match a.current_key() {
                Ok(key) => Reply::Msg(Response::IdentitiesAnswer(vec![Identity {
                    credential: key.into(),
                    comment: a.comment.clone(),
                }])),
                Err(e) => {
                    log(format!("{e}; offering no key"));
                    Reply::Msg(Response::IdentitiesAnswer(Vec::new()))
                }
            }
        }
        Request::SignRequest(r) => lock(agent).sign(&r),
        Request::Extension(ext) => {
            // ssh sends session-bind@openssh.com on every connection; we keep no
            // per-host constraints, so "unsupported" is the honest answer.
            tracing::debug!(extension = %ext.name, "extension not supported");
            Reply::Msg(Response::Failure)
        }
        other => {
            log(format!(
                "refused a request of type {} (adding, removing or locking keys): this agent only offers the card's key",
                other.message_id()
            ));
            Reply::Msg(Response::Failure)
        }
    }
}

/// What goes back to the client.
enum Reply {
    Msg(Response),
    /// An `ssh-rsa` (SHA-1) signature. `ssh_key::Signature` rightly refuses to
    /// build one, so its wire form is written here (draft §3.6, RFC 4253 §6.6):
    /// byte SSH_AGENT_SIGN_RESPONSE, string { string "ssh-rsa", string sig }.
    RsaSha1(Vec<u8>),
}

impl Reply {
    /// A framed SSH_AGENT_FAILURE.
    const FAILURE: [u8; 5] = [0, 0, 0, 1, 5];

    fn encode(&self) -> Result<Vec<u8>, ssh_agent_lib::ssh_encoding::Error> {
        let mut body = Vec::new();
        match self {
            Reply::Msg(r) => r.encode(&mut body)?,
            Reply::RsaSha1(sig) => {
                let mut blob = Vec::new();
                "ssh-rsa".encode(&mut blob)?;
                sig.as_slice().encode(&mut blob)?;
                14u8.encode(&mut body)?;
                blob.encode(&mut body)?;
            }
        }
        let mut framed = Vec::with_capacity(body.len() + 4);
        u32::try_from(body.len())
            .map_err(|_| ssh_agent_lib::ssh_encoding::Error::Length)?
            .encode(&mut framed)?;
        framed.extend_from_slice(&body);
        Ok(framed)
    }
}

/// The agent's state: the card (if found) and the PIN (if given and not rejected).
struct Agent {
    reader: ReaderChoice,
    source: PinSource,
    last_try: LastTry,
    allow_sha1: bool,
    comment: String,
    card: Option<Card>,
    pin: Option<AuthPin>,
    /// The last value the card rejected: never presented again.
    rejected: Option<AuthPin>,
}

impl Agent {
    /// Start-up: say which key is offered, or why none yet.
    fn announce(&mut self) {
        match self.current_key() {
            Ok(key) => {
                let fp = ssh_key::PublicKey::new(key, "").fingerprint(SshHash::Sha256);
                let reader = self.card.as_ref().map(|c| c.reader_name()).unwrap_or("?");
                log(format!(
                    "offering the auth key {fp} of the card in reader \"{reader}\"; the PIN will come from {}",
                    agent_pin::describe(&self.source)
                ));
            }
            Err(e) => log(format!(
                "{e}; the agent starts anyway and looks for the card at each request"
            )),
        }
    }

    /// The auth key of the card now in the reader. The certificate is read on
    /// every call (no PIN, a few READ BINARY): that is also how a pulled card
    /// is noticed. A handle that fails is dropped with the PIN, and the card
    /// is looked for once more (a re-inserted card needs a new handle).
    fn current_key(&mut self) -> Result<KeyData, CliError> {
        if let Some(card) = self.card.as_mut() {
            match read_auth_key(card) {
                Ok(key) => return Ok(key),
                Err(e) => {
                    tracing::debug!("card handle failed: {e}");
                    self.lose_card();
                }
            }
        }
        let mut card = Card::open(&self.reader)?;
        let key = read_auth_key(&mut card)?;
        self.card = Some(card);
        Ok(key)
    }

    /// Forgets the card handle and, since the next card may be another one
    /// (or the same after a power cycle), the PIN.
    fn lose_card(&mut self) {
        self.card = None;
        if self.pin.take().is_some() {
            log("the card was removed or reset: the PIN is forgotten and will be asked again");
        }
    }

    fn sign(&mut self, r: &SignRequest) -> Reply {
        match self.try_sign(r) {
            Ok(reply) => reply,
            Err(msg) => {
                log(format!("{msg}; signature refused"));
                Reply::Msg(Response::Failure)
            }
        }
    }

    fn try_sign(&mut self, r: &SignRequest) -> Result<Reply, String> {
        // OpenSSH's own agent checks the flags in this order.
        let alg = if r.flags & RSA_SHA2_256 != 0 {
            HashAlg::Sha256
        } else if r.flags & RSA_SHA2_512 != 0 {
            HashAlg::Sha512
        } else if self.allow_sha1 {
            HashAlg::Sha1
        } else {
            return Err(
                "a client asked for an ssh-rsa signature, which uses SHA-1; refused (start the agent with --allow-sha1 to permit it)"
                    .into(),
            );
        };
        let key = self.current_key().map_err(|e| e.to_string())?;
        if r.credential.key_data() != &key {
            return Err("asked to sign with a key that is not the card's auth key".into());
        }
        let md = match alg {
            HashAlg::Sha1 => openssl::hash::MessageDigest::sha1(),
            HashAlg::Sha512 => openssl::hash::MessageDigest::sha512(),
            _ => openssl::hash::MessageDigest::sha256(),
        };
        let digest = openssl::hash::hash(md, &r.data).map_err(|e| format!("hashing: {e}"))?;
        let di = DigestInfo::new(alg, &digest).map_err(|e| e.to_string())?;

        let pin = match self.pin.take() {
            Some(p) => p,
            None => self.ask_pin()?,
        };
        let Some(card) = self.card.as_mut() else {
            return Err("the card went away".into());
        };
        let result = card.session().and_then(|mut s| {
            s.verify(&pin, self.last_try)?;
            s.sign(KeyKind::Auth, &di)
        });
        match result {
            Ok(sig) => {
                self.pin = Some(pin);
                log(format!(
                    "signed a request with the auth key ({})",
                    alg_name(alg)
                ));
                let sig = sig.into_bytes();
                match alg {
                    HashAlg::Sha1 => Ok(Reply::RsaSha1(sig)),
                    _ => {
                        let hash = if alg == HashAlg::Sha512 {
                            SshHash::Sha512
                        } else {
                            SshHash::Sha256
                        };
                        Signature::new(Algorithm::Rsa { hash: Some(hash) }, sig)
                            .map(|s| Reply::Msg(Response::SignResponse(s)))
                            .map_err(|e| format!("cannot encode the signature: {e}"))
                    }
                }
            }
            Err(e) => Err(self.card_failure(e, pin)),
        }
    }

    /// Gets the PIN from the source, after checking the counter so the prompt
    /// can say the tries left and a blocked or last-try PIN is not even asked.
    fn ask_pin(&mut self) -> Result<AuthPin, String> {
        let Some(card) = self.card.as_mut() else {
            return Err("the card went away".into());
        };
        let status = card.session().and_then(|mut s| s.pin_status(PinKind::Auth));
        let status = match status {
            Ok(st) => st,
            Err(e) => return Err(self.card_failure_no_pin(e)),
        };
        status
            .may_present(PinKind::Auth, self.last_try)
            .map_err(|e| e.to_string())?;
        let tries = status.tries();
        let pin = agent_pin::read(&self.source, tries)?;
        if self
            .rejected
            .as_ref()
            .is_some_and(|r| r.bytes() == pin.bytes())
        {
            return Err(format!(
                "the PIN from {} is the one the card rejected before; it is not sent again (no try spent) — correct it",
                agent_pin::describe(&self.source)
            ));
        }
        Ok(pin)
    }

    /// Logs what a failed VERIFY or signature means and updates the state.
    fn card_failure(&mut self, e: CardError, pin: AuthPin) -> String {
        match e {
            CardError::WrongPin { .. } => {
                self.rejected = Some(pin);
                format!(
                    "{e}: the card rejected the PIN from {}; it is forgotten and will be asked again at the next request",
                    agent_pin::describe(&self.source)
                )
            }
            CardError::Blocked { .. } | CardError::LastTryRefused { .. } => e.to_string(),
            e => self.card_failure_no_pin(e),
        }
    }

    fn card_failure_no_pin(&mut self, e: CardError) -> String {
        match e {
            e if e.is_connection_lost()
                || matches!(e, CardError::NoCard { .. } | CardError::NoReaders) =>
            {
                self.lose_card();
                format!("{e} (the agent keeps running: insert the card and retry)")
            }
            e => e.to_string(),
        }
    }
}

/// The SSH name of the signature algorithm.
fn alg_name(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Sha1 => "ssh-rsa, SHA-1",
        HashAlg::Sha512 => "rsa-sha2-512",
        _ => "rsa-sha2-256",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_reply_has_the_ssh_rsa_wire_form() {
        let b = Reply::RsaSha1(vec![0xAB; 3]).encode().unwrap();
        // len | 14 | string(string("ssh-rsa") string(sig))
        let mut want = vec![0, 0, 0, 23, 14, 0, 0, 0, 18, 0, 0, 0, 7];
        want.extend_from_slice(b"ssh-rsa");
        want.extend_from_slice(&[0, 0, 0, 3, 0xAB, 0xAB, 0xAB]);
        assert_eq!(b, want);
    }

    #[test]
    fn failure_reply_is_framed() {
        assert_eq!(
            Reply::Msg(Response::Failure).encode().unwrap(),
            Reply::FAILURE.to_vec()
        );
    }

    /// An agent whose reader does not exist: every card access fails cleanly.
    fn cardless_agent() -> Mutex<Agent> {
        Mutex::new(Agent {
            reader: ReaderChoice::Named("no reader is called like this".into()),
            source: PinSource::File("/nonexistent/pin".into()),
            last_try: LastTry::Refuse,
            allow_sha1: false,
            comment: "test".into(),
            card: None,
            pin: None,
            rejected: None,
        })
    }

    /// Sends one framed request body and returns the framed reply.
    fn roundtrip(s: &mut UnixStream, body: &[u8]) -> Vec<u8> {
        s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut len = [0u8; 4];
        s.read_exact(&mut len).unwrap();
        let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut reply).unwrap();
        [len.to_vec(), reply].concat()
    }

    fn encoded(req: &Request) -> Vec<u8> {
        let mut v = Vec::new();
        req.encode(&mut v).unwrap();
        v
    }

    #[test]
    fn protocol_without_a_card() {
        let (mut client, server) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || serve(server, &cardless_agent()));
        // No card: an empty identity list (SSH_AGENT_IDENTITIES_ANSWER, count 0).
        assert_eq!(
            roundtrip(&mut client, &encoded(&Request::RequestIdentities)),
            [0, 0, 0, 5, 12, 0, 0, 0, 0]
        );
        // Key management and locking are refused.
        for req in [
            Request::RemoveAllIdentities,
            Request::Lock("x".into()),
            Request::Unlock("x".into()),
        ] {
            assert_eq!(roundtrip(&mut client, &encoded(&req)), Reply::FAILURE);
        }
        // An unknown message type is answered, not fatal.
        assert_eq!(roundtrip(&mut client, &[200, 1, 2]), Reply::FAILURE);
        // SHA-1 is refused before the card is even looked for.
        let key = KeyData::Rsa(ssh_key::public::RsaPublicKey {
            e: ssh_key::Mpint::from_positive_bytes(&[1, 0, 1]).unwrap(),
            n: ssh_key::Mpint::from_positive_bytes(&[0xC5; 256]).unwrap(),
        });
        let sign = |flags| {
            Request::SignRequest(SignRequest {
                credential: key.clone().into(),
                data: b"session data".to_vec(),
                flags,
            })
        };
        assert_eq!(roundtrip(&mut client, &encoded(&sign(0))), Reply::FAILURE);
        // SHA-2 without a card: failure too, and the connection stays usable.
        assert_eq!(
            roundtrip(&mut client, &encoded(&sign(RSA_SHA2_256))),
            Reply::FAILURE
        );
        // An oversized message closes the connection.
        client.write_all(&(1u32 << 20).to_be_bytes()).unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        t.join().unwrap();
    }

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(
            shell_quote("/tmp/jpki-ssh-a1/agent.12"),
            "/tmp/jpki-ssh-a1/agent.12"
        );
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }
}
