//! A real OpenSSH server for the end-to-end tests (`tests/tests/ssh.rs` logs in through the
//! jpki-sign agent, `tests/tests/pkcs11.rs` through the PKCS#11 module with `ssh -I`).

use crate::{free_port, run, run_timeout, stderr};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Debian's OpenSSH server.
pub const SSHD: &str = "/usr/sbin/sshd";

/// A running `sshd -D -e` on a free loopback port with its own config, host key and
/// authorized_keys; killed when dropped.
pub struct Sshd {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    /// Starts sshd accepting `authorized_key`; `extra` lines go into its config.
    pub fn start(authorized_key: &str, extra: &[&str]) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} missing: install openssh-server (scripts/deps.sh does)"
        );
        // sshd's privilege-separation directory; Debian's init scripts make it.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd (are we root?)");
        let dir = tempfile::tempdir().expect("tempdir");
        let host_key = dir.path().join("host_ed25519");
        let o = run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key));
        assert!(o.status.success(), "ssh-keygen: {}", stderr(&o));
        let keys = dir.path().join("authorized_keys");
        std::fs::write(&keys, format!("{authorized_key}\n")).expect("authorized_keys");
        let port = free_port();
        let mut config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
             AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             AuthenticationMethods publickey\nLogLevel VERBOSE\n",
            host_key.display(),
            dir.path().join("sshd.pid").display(),
            keys.display()
        );
        for l in extra {
            config.push_str(l);
            config.push('\n');
        }
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config).expect("sshd_config");
        let log = std::fs::File::create(dir.path().join("sshd.log")).expect("sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let mut sshd = Sshd { child, port, dir };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(st) = sshd.child.try_wait().expect("wait") {
                panic!("sshd exited ({st}): {}", sshd.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "sshd does not listen on port {port}: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    /// What sshd wrote to stderr so far (`-e`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `ssh … root@127.0.0.1 true` through the agent at `sock`, offering only
    /// the key in `pubkey_file`; `opts` are extra `-o` options.
    pub fn ssh(&self, sock: &Path, pubkey_file: &Path, opts: &[&str]) -> Output {
        let mut c = Command::new("ssh");
        c.args(["-F", "/dev/null"])
            .arg("-o")
            .arg(format!("IdentityAgent={}", sock.display()))
            .args(["-o", "IdentitiesOnly=yes", "-i"])
            .arg(pubkey_file)
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "PreferredAuthentications=publickey",
                "-o",
                "ConnectTimeout=10",
            ]);
        for o in opts {
            c.args(["-o", o]);
        }
        c.args(["-p", &self.port.to_string(), "root@127.0.0.1", "true"]);
        run_timeout(&mut c, 60)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
