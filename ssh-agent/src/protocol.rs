//! One client connection: the 4-byte length framing of draft-miller-ssh-agent §3, the message
//! types of `ssh-agent-lib`, and the answers. Only listing the card's key and signing with it
//! are served; adding, removing or locking keys is refused.

use crate::state::{Signed, State};
use ssh_agent_lib::proto::{Identity, Request, Response};
use ssh_agent_lib::ssh_encoding::{Decode, Encode};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, MutexGuard};

/// Largest message accepted, as OpenSSH's agent (`AGENT_MAX_LEN`).
const MAX_MESSAGE: usize = 256 * 1024;

/// A poisoned mutex only means a client thread panicked; the state itself is still consistent
/// (every field is replaced whole), so carry on with it.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The state and the agent's name, which logging needs without waiting for the lock (held
/// while a person types the PIN).
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(state: State) -> Shared {
        Shared {
            name: state.config.name.clone(),
            state: Mutex::new(state),
        }
    }

    pub(crate) fn log(&self, msg: impl std::fmt::Display) {
        eprintln!("{}: {msg}", self.name);
    }
}

/// Framed requests until the client closes the connection.
pub(crate) fn serve(mut stream: UnixStream, shared: &Shared) {
    // Only our own user (or root) may use the card, as OpenSSH's agent checks.
    match rustix::net::sockopt::socket_peercred(&stream) {
        Ok(cred) if cred.uid == rustix::process::geteuid() || cred.uid.is_root() => {}
        Ok(cred) => {
            shared.log(format!(
                "refused a connection from uid {}",
                cred.uid.as_raw()
            ));
            return;
        }
        Err(e) => {
            shared.log(format!(
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
            shared.log(format!(
                "a client sent a message of {len} bytes; connection closed"
            ));
            return;
        }
        let mut body = vec![0u8; len];
        if stream.read_exact(&mut body).is_err() {
            return;
        }
        let reply = match Request::decode(&mut &body[..]) {
            Ok(req) => handle(&shared.state, req),
            Err(e) => {
                tracing::debug!("undecodable request: {e}");
                Reply::Msg(Response::Failure)
            }
        };
        let bytes = match reply.encode() {
            Ok(b) => b,
            Err(e) => {
                shared.log(format!("cannot encode a reply ({e}); answering failure"));
                Reply::FAILURE.to_vec()
            }
        };
        if stream.write_all(&bytes).is_err() {
            return;
        }
    }
}

fn handle(state: &Mutex<State>, req: Request) -> Reply {
    let mut st = lock(state);
    match req {
        Request::RequestIdentities => match st.current_key() {
            Ok(key) => Reply::Msg(Response::IdentitiesAnswer(vec![Identity {
                credential: key.into(),
                comment: st.config.comment.clone(),
            }])),
            Err(e) => {
                st.log(format!("{e}; offering no key"));
                Reply::Msg(Response::IdentitiesAnswer(Vec::new()))
            }
        },
        Request::SignRequest(r) => match st.sign(&r) {
            Ok(Signed::Sha2(sig)) => Reply::Msg(Response::SignResponse(sig)),
            Ok(Signed::Sha1(sig)) => Reply::RsaSha1(sig),
            Err(msg) => {
                st.log(format!("{msg}; signature refused"));
                Reply::Msg(Response::Failure)
            }
        },
        Request::Extension(ext) => {
            // ssh sends session-bind@openssh.com on every connection; we keep no per-host
            // constraints, so "unsupported" is the honest answer.
            tracing::debug!(extension = %ext.name, "extension not supported");
            Reply::Msg(Response::Failure)
        }
        other => {
            st.log(format!(
                "refused a request of type {} (adding, removing or locking keys): this agent only offers the card's key",
                other.message_id()
            ));
            Reply::Msg(Response::Failure)
        }
    }
}

/// What goes back to the client.
pub(crate) enum Reply {
    Msg(Response),
    /// An `ssh-rsa` (SHA-1) signature. `ssh_key::Signature` rightly refuses to build one, so
    /// its wire form is written here (draft §3.6, RFC 4253 §6.6): byte SSH_AGENT_SIGN_RESPONSE,
    /// string { string "ssh-rsa", string sig }.
    RsaSha1(Vec<u8>),
}

impl Reply {
    /// A framed SSH_AGENT_FAILURE.
    pub(crate) const FAILURE: [u8; 5] = [0, 0, 0, 1, 5];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use jpki_card::ReaderChoice;
    use jpki_pin_source::PinSource;
    use ssh_agent_lib::proto::{SignRequest, RSA_SHA2_256};
    use ssh_key::public::KeyData;

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
    fn cardless_agent() -> Shared {
        let mut c = Config::new(
            ReaderChoice::Named("no reader is called like this".into()),
            PinSource::File("/nonexistent/pin".into()),
        );
        c.comment = "test".into();
        Shared::new(State::new(c))
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
}
