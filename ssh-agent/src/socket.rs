//! The listening Unix socket: created 0600 (nobody else may even connect), in a new 0700
//! directory when the caller names no path, removed when dropped. A path that already exists
//! is taken over only when it is a socket nobody listens on any more.

use crate::Error;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The agent's socket; dropping it removes the socket file (and the private directory it was
/// made in, if it made one).
pub struct Socket {
    pub(crate) listener: UnixListener,
    path: PathBuf,
    pub(crate) stop: Arc<AtomicBool>,
    _dir: Option<tempfile::TempDir>,
}

/// Stops an agent's [`crate::Agent::serve`] from another thread (a signal handler's, say).
#[derive(Clone)]
pub struct Stopper {
    stop: Arc<AtomicBool>,
    path: PathBuf,
}

impl Stopper {
    /// Flags the stop and wakes the accept loop by connecting to the socket.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.path);
    }
}

impl Socket {
    /// Listens on `path`; `log` hears of a stale socket being removed.
    pub(crate) fn bind(path: &Path, log: &dyn Fn(String)) -> Result<Socket, Error> {
        remove_stale(path, log)?;
        Socket::listen(path.to_path_buf(), None)
    }

    /// Listens on `agent.PID` in a new 0700 directory under the temporary directory, as
    /// ssh-agent's `/tmp/ssh-XXXXXX`.
    pub(crate) fn bind_private() -> Result<Socket, Error> {
        // tempfile's default mode would follow the umask, typically 0755.
        let d = tempfile::Builder::new()
            .prefix("jpki-ssh-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|e| Error::Io {
                what: "cannot create a directory in",
                path: std::env::temp_dir().display().to_string(),
                source: e,
            })?;
        let path = d.path().join(format!("agent.{}", std::process::id()));
        Socket::listen(path, Some(d))
    }

    fn listen(path: PathBuf, dir: Option<tempfile::TempDir>) -> Result<Socket, Error> {
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
        let bound = UnixListener::bind(&path);
        rustix::process::umask(old);
        let listener = bound.map_err(|e| Error::Io {
            what: "cannot listen on",
            path: path.display().to_string(),
            source: e,
        })?;
        Ok(Socket {
            listener,
            path,
            stop: Arc::new(AtomicBool::new(false)),
            _dir: dir,
        })
    }

    /// Where clients connect (`SSH_AUTH_SOCK`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle that ends [`crate::Agent::serve`] on this socket.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stop: self.stop.clone(),
            path: self.path.clone(),
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A path that already exists: a socket nobody listens on any more (an agent that was killed)
/// is removed; anything else is left alone.
fn remove_stale(p: &Path, log: &dyn Fn(String)) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return Ok(());
    };
    let in_use = || {
        Error::Usage(format!(
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
            std::fs::remove_file(p).map_err(|e| Error::Io {
                what: "cannot remove the stale socket",
                path: p.display().to_string(),
                source: e,
            })
        }
        _ => Err(in_use()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_socket_is_0600_in_a_0700_directory_and_removed_on_drop() {
        let s = Socket::bind_private().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(s.path()), 0o600);
        let dir = s.path().parent().unwrap().to_path_buf();
        assert_eq!(mode(&dir), 0o700);
        let path = s.path().to_path_buf();
        drop(s);
        assert!(!path.exists() && !dir.exists());
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_file_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sock");
        drop(UnixListener::bind(&p).unwrap()); // the file stays, nobody listens
        let logged = std::cell::RefCell::new(Vec::new());
        let s = Socket::bind(&p, &|m| logged.borrow_mut().push(m)).unwrap();
        assert!(logged.borrow()[0].contains("stale socket"));
        // In use now: refused.
        assert!(matches!(Socket::bind(&p, &|_| {}), Err(Error::Usage(_))));
        drop(s);
        std::fs::write(&p, b"not a socket").unwrap();
        assert!(matches!(Socket::bind(&p, &|_| {}), Err(Error::Usage(_))));
        assert_eq!(std::fs::read(&p).unwrap(), b"not a socket");
    }
}
