//! `jpki-sign ssh pubkey` and `jpki-sign ssh agent` against real OpenSSH:
//! an `sshd` started here on a loopback port, the stock `ssh`, `ssh-add` and
//! `ssh-keygen`, and the simulated card behind pcscd.
//!
//! sshd runs as the test's user (root in CI) with a generated config: its own
//! host key, `AuthorizedKeysFile` pointing at a temp file holding the output
//! of `jpki-sign ssh pubkey`, `StrictModes no`, `UsePAM no`. Every process
//! started here is killed by a drop guard, also when an assertion fails.

use jpki_card_sim::PinId;
use jpki_tests::sshd::Sshd;
use jpki_tests::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Sends SIGTERM with kill(1) (the CLI crate and the tests use no `unsafe`).
fn sigterm(child: &Child) {
    let o = run(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::piped()));
    assert!(o.status.success(), "kill -TERM: {}", stderr(&o));
}

fn wait_exit(child: &mut Child, secs: u64) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "process {} did not exit within {secs} s",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `jpki-sign ssh agent`; its stderr goes to a file the test reads.
struct Agent {
    child: Child,
    sock: PathBuf,
    stdout_lines: Vec<String>,
    dir: tempfile::TempDir,
}

impl Agent {
    /// Starts the agent on the second reader with `pin` in its PIN file and
    /// extra `args`; `explicit_socket`: `-a PATH` in a temp dir, else the default path.
    fn start(pin: &str, args: &[&str], explicit_socket: bool) -> Agent {
        Agent::start_with(Some(pin), None, args, explicit_socket)
    }

    /// As [`Agent::start`], the PIN from a file or from an `SSH_ASKPASS` program.
    fn start_with(
        pin: Option<&str>,
        askpass: Option<&Path>,
        args: &[&str],
        explicit_socket: bool,
    ) -> Agent {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("agent.log")).expect("agent.log");
        let mut cmd = jpki_sign_second();
        if let Some(pin) = pin {
            let pin_file = dir.path().join("pin");
            std::fs::write(&pin_file, format!("{pin}\n")).expect("pin file");
            cmd.arg("--pin-file").arg(&pin_file);
        }
        match askpass {
            // "force": use it even if the tests run on a terminal.
            Some(a) => cmd
                .env("SSH_ASKPASS", a)
                .env("SSH_ASKPASS_REQUIRE", "force"),
            None => cmd.env_remove("SSH_ASKPASS"),
        };
        cmd.args(["ssh", "agent"]);
        if explicit_socket {
            cmd.arg("-a").arg(dir.path().join("agent.sock"));
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start jpki-sign ssh agent");
        // Like ssh-agent: the environment lines come once it listens.
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let lines: Vec<String> = BufReader::new(out)
                .lines()
                .take(3)
                .map_while(Result::ok)
                .collect();
            let _ = tx.send(lines);
        });
        let mut agent = Agent {
            child,
            sock: PathBuf::new(),
            stdout_lines: Vec::new(),
            dir,
        };
        let lines = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the agent printed no SSH_AUTH_SOCK line: {}", agent.log()));
        let first = lines.first().cloned().unwrap_or_default();
        let sock = first
            .strip_prefix("SSH_AUTH_SOCK=")
            .and_then(|s| s.strip_suffix("; export SSH_AUTH_SOCK;"))
            .unwrap_or_else(|| panic!("unexpected first line {first:?}: {}", agent.log()));
        agent.sock = PathBuf::from(sock);
        agent.stdout_lines = lines;
        assert!(
            std::fs::symlink_metadata(&agent.sock)
                .map(|m| m.file_type().is_socket())
                .unwrap_or(false),
            "{} is not a socket",
            agent.sock.display()
        );
        agent
    }

    fn pin_file(&self) -> PathBuf {
        self.dir.path().join("pin")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// `ssh-add` with `args` talking to this agent.
    fn ssh_add(&self, args: &[&str]) -> Output {
        run_timeout(
            Command::new("ssh-add")
                .args(args)
                .env("SSH_AUTH_SOCK", &self.sock),
            30,
        )
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `jpki-sign ssh pubkey` of the card in the second reader, written to a file.
fn export_pubkey(dir: &Path) -> (String, PathBuf) {
    let o = run(jpki_sign_second().args(["ssh", "pubkey"]));
    assert!(o.status.success(), "ssh pubkey: {}", stderr(&o));
    let line = stdout(&o).trim().to_string();
    let file = dir.join("card.pub");
    std::fs::write(&file, format!("{line}\n")).expect("card.pub");
    (line, file)
}

/// The SHA256 fingerprint `ssh-keygen -lf` prints for a public key file.
fn fingerprint(pubkey_file: &Path) -> String {
    let o = run(Command::new("ssh-keygen").arg("-lf").arg(pubkey_file));
    assert!(o.status.success(), "ssh-keygen -lf: {}", stderr(&o));
    let out = stdout(&o);
    let fp = out
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("ssh-keygen -lf printed {out:?}"));
    assert!(fp.starts_with("SHA256:"), "{out}");
    fp.to_string()
}

fn assert_login_ok(o: &Output, sshd: &Sshd, agent: &Agent) {
    assert!(
        o.status.success(),
        "ssh failed ({}): {}\n--- agent:\n{}\n--- sshd:\n{}",
        o.status,
        stderr(o),
        agent.log(),
        sshd.log()
    );
}

fn assert_login_refused(o: &Output) {
    // ssh exits 255 on its own errors, here "Permission denied (publickey)".
    assert_eq!(o.status.code(), Some(255), "{}", stderr(o));
    assert!(
        stderr(o).contains("Permission denied"),
        "ssh should fail on authentication: {}",
        stderr(o)
    );
}

#[test]
fn pubkey_is_the_auth_certificate_key() {
    // The main card: no PIN is involved, nothing changes on it.
    let o = run(jpki_sign_main().args(["ssh", "pubkey", "--comment", "my card"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stdout(&o);
    let fields: Vec<&str> = line.trim().splitn(3, ' ').collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert_eq!(fields[0], "ssh-rsa");
    assert_eq!(fields[2], "my card");
    // Independently: OpenSSH's own conversion of the certificate's public key.
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("auth-pub.pem");
    let o = run(Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(pki_file("auth.pem"))
        .arg("-out")
        .arg(&pem));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(Command::new("ssh-keygen")
        .args(["-i", "-m", "PKCS8", "-f"])
        .arg(&pem));
    assert!(o.status.success(), "{}", stderr(&o));
    let theirs = stdout(&o);
    let theirs: Vec<&str> = theirs.split_whitespace().collect();
    assert_eq!(theirs.first(), Some(&"ssh-rsa"));
    assert_eq!(theirs.get(1), Some(&fields[1]), "key blob differs");
}

#[test]
fn ssh_logs_in_through_the_agent() {
    let sim = SecondSim::start(&[]);
    let agent = Agent::start("1234", &[], true);
    let (line, pubkey_file) = export_pubkey(agent.dir.path());
    let sshd = Sshd::start(&line, &[]);
    let fp = fingerprint(&pubkey_file);

    // ssh-add -l lists the card's key, with the fingerprint ssh-keygen computes.
    let o = agent.ssh_add(&["-l"]);
    assert!(o.status.success(), "{}\n{}", stderr(&o), agent.log());
    let listed = stdout(&o);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with("2048 ")
            && listed.contains(&fp)
            && listed.trim_end().ends_with("jpki-auth (RSA)"),
        "ssh-add -l: {listed} (want {fp})"
    );
    assert_eq!(
        sim.stats().verifies_of(PinId::Auth),
        0,
        "listing needs no PIN"
    );

    // Default algorithm (rsa-sha2-512 for OpenSSH 9), then forced rsa-sha2-256.
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_ok(&o, &sshd, &agent);
    let o = sshd.ssh(
        &agent.sock,
        &pubkey_file,
        &["PubkeyAcceptedAlgorithms=rsa-sha2-256"],
    );
    assert_login_ok(&o, &sshd, &agent);
    let log = sshd.log();
    assert_eq!(
        log.matches("Accepted publickey for root from 127.0.0.1")
            .count(),
        2,
        "{log}"
    );
    assert!(log.contains(&format!("ssh2: RSA {fp}")), "{log}");
    // The agent saw both signature flags (SSH_AGENT_RSA_SHA2_512, then _256).
    let alog = agent.log();
    let (i512, i256) = (alog.find("(rsa-sha2-512)"), alog.find("(rsa-sha2-256)"));
    assert!(
        matches!((i512, i256), (Some(a), Some(b)) if a < b),
        "agent log: {alog}"
    );
    // The PIN was read once and presented once per signature (each signature is
    // one card session, reset afterwards), never more.
    let stats = sim.stats();
    assert_eq!(stats.signatures, 2);
    assert_eq!(stats.verifies_of(PinId::Auth), 2);
    assert_eq!(
        stats
            .failed_verifies
            .get(&PinId::Auth)
            .copied()
            .unwrap_or(0),
        0
    );
    assert_eq!(sim.tries(PinId::Auth), 3);
}

#[test]
fn agent_prints_its_socket_refuses_key_changes_and_cleans_up_on_sigterm() {
    let _sim = SecondSim::start(&[]);
    let mut agent = Agent::start("1234", &[], false);
    // ssh-agent's output format, and a private socket in a private directory.
    assert_eq!(
        agent.stdout_lines.get(1),
        Some(&format!(
            "SSH_AGENT_PID={}; export SSH_AGENT_PID;",
            agent.child.id()
        ))
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&agent.sock), 0o600, "socket mode");
    let sock_dir = agent.sock.parent().unwrap().to_path_buf();
    assert_eq!(mode(&sock_dir), 0o700, "socket directory mode");

    // Adding and removing identities is refused: the only key is the card's.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let o = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = agent.ssh_add(&[key.to_str().unwrap()]);
    assert!(!o.status.success(), "ssh-add KEY must fail: {}", stdout(&o));
    let o = agent.ssh_add(&["-D"]);
    assert!(!o.status.success(), "ssh-add -D must fail: {}", stdout(&o));
    let o = agent.ssh_add(&["-l"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "still only the card key");
    assert!(agent.log().contains("refused a request"), "{}", agent.log());

    // SIGTERM: exit 0, socket and its directory gone.
    sigterm(&agent.child);
    let st = wait_exit(&mut agent.child, 10);
    assert!(st.success(), "agent exit status {st}: {}", agent.log());
    assert!(!agent.sock.exists(), "socket left behind");
    assert!(!sock_dir.exists(), "socket directory left behind");
    assert!(agent.log().contains("socket removed"), "{}", agent.log());
}

#[test]
fn wrong_pin_is_logged_spent_once_and_never_resent() {
    let sim = SecondSim::start(&[]);
    let agent = Agent::start("9999", &[], true);
    let (line, pubkey_file) = export_pubkey(agent.dir.path());
    let sshd = Sshd::start(&line, &[]);

    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_refused(&o);
    let log = agent.log();
    assert!(
        log.contains("wrong auth PIN") && log.contains("2 tries left"),
        "agent log: {log}"
    );
    assert!(log.contains("signature refused"), "{log}");
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
    assert_eq!(sim.tries(PinId::Auth), 2);

    // The PIN file still holds the rejected PIN: the agent does not send it again.
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_refused(&o);
    assert!(
        agent.log().contains("not sent again"),
        "agent log: {}",
        agent.log()
    );
    assert_eq!(
        sim.stats().verifies_of(PinId::Auth),
        1,
        "a wrong PIN was re-sent"
    );
    assert_eq!(sim.tries(PinId::Auth), 2);

    // Corrected, the next request asks again (reads the file) and works.
    std::fs::write(agent.pin_file(), "1234\n").unwrap();
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_ok(&o, &sshd, &agent);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 2);
    assert_eq!(sim.tries(PinId::Auth), 3, "a good PIN resets the counter");
    // No PIN in the log (compared as whole numbers: pids and paths hold digits).
    let log = agent.log();
    assert!(
        !log.split(|c: char| !c.is_ascii_digit())
            .any(|w| w == "9999" || w == "1234"),
        "a PIN in the agent's log: {log}"
    );
}

#[test]
fn last_try_is_not_spent_by_the_agent() {
    let sim = SecondSim::start(&["--auth-tries", "1"]);
    let agent = Agent::start("1234", &[], true);
    let (line, pubkey_file) = export_pubkey(agent.dir.path());
    let sshd = Sshd::start(&line, &[]);
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_refused(&o);
    assert!(agent.log().contains("only 1 try left"), "{}", agent.log());
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
    assert_eq!(sim.tries(PinId::Auth), 1);
}

#[test]
fn pulled_card_fails_cleanly_and_works_after_reinsertion() {
    let mut sim = SecondSim::start(&[]);
    let agent = Agent::start("1234", &[], true);
    let (line, pubkey_file) = export_pubkey(agent.dir.path());
    let sshd = Sshd::start(&line, &[]);
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_ok(&o, &sshd, &agent);

    sim.pull_card();
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_refused(&o);
    let log = agent.log();
    assert!(
        log.contains("the card was removed or reset: the PIN is forgotten"),
        "agent log: {log}"
    );
    assert!(log.contains("no card in reader"), "agent log: {log}");
    let o = agent.ssh_add(&["-l"]);
    assert!(
        stdout(&o).contains("no identities") || stderr(&o).contains("no identities"),
        "ssh-add -l without a card: {} {}",
        stdout(&o),
        stderr(&o)
    );

    // Re-inserted: found again, PIN asked again (from the file), login works.
    sim.insert();
    let o = sshd.ssh(&agent.sock, &pubkey_file, &[]);
    assert_login_ok(&o, &sshd, &agent);
    // The re-inserted simulator counts from zero.
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
    assert_eq!(sim.stats().signatures, 1);
}

#[test]
fn sha1_ssh_rsa_is_refused_unless_allowed() {
    let sim = SecondSim::start(&[]);
    let agent = Agent::start("1234", &[], true);
    let (line, pubkey_file) = export_pubkey(agent.dir.path());
    // OpenSSH 8.8+ disables ssh-rsa on both sides; turn it back on for this test.
    let sshd = Sshd::start(&line, &["PubkeyAcceptedAlgorithms +ssh-rsa"]);
    let sha1 = ["PubkeyAcceptedAlgorithms=ssh-rsa"];

    let o = sshd.ssh(&agent.sock, &pubkey_file, &sha1);
    assert_login_refused(&o);
    assert!(
        agent.log().contains("SHA-1") && agent.log().contains("--allow-sha1"),
        "{}",
        agent.log()
    );
    assert_eq!(
        sim.stats().verifies_of(PinId::Auth),
        0,
        "no PIN spent on a refusal"
    );

    let allowing = Agent::start("1234", &["--allow-sha1"], true);
    let o = sshd.ssh(&allowing.sock, &pubkey_file, &sha1);
    assert_login_ok(&o, &sshd, &allowing);
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    assert_eq!(sim.stats().signatures, 1);
}

#[test]
fn askpass_is_asked_once_with_the_tries_left_and_signatures_verify() {
    let sim = SecondSim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // An SSH_ASKPASS program that records its prompt and answers the PIN.
    let prompts = dir.path().join("prompts");
    let askpass = dir.path().join("askpass.sh");
    std::fs::write(
        &askpass,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\necho 1234\n",
            prompts.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o755)).unwrap();
    let agent = Agent::start_with(None, Some(&askpass), &[], true);
    let (_, pubkey_file) = export_pubkey(dir.path());

    // ssh-keygen -Y sign with only a public key file signs through the agent.
    let msg = dir.path().join("msg.txt");
    std::fs::write(&msg, b"signed by the My Number card through ssh-agent\n").unwrap();
    let sig = dir.path().join("msg.txt.sig");
    for _ in 0..2 {
        // ssh-keygen asks before overwriting a signature: start clean each time.
        let _ = std::fs::remove_file(&sig);
        let o = run_timeout(
            Command::new("ssh-keygen")
                .args(["-Y", "sign", "-n", "file", "-f"])
                .arg(&pubkey_file)
                .arg(&msg)
                .env("SSH_AUTH_SOCK", &agent.sock),
            60,
        );
        assert!(o.status.success(), "{}\n{}", stderr(&o), agent.log());
        assert!(sig.exists(), "no signature written: {}", stderr(&o));
    }
    let allowed = dir.path().join("allowed_signers");
    let key = std::fs::read_to_string(&pubkey_file).unwrap();
    std::fs::write(&allowed, format!("card {key}")).unwrap();
    // Verified by OpenSSH against the exported key, the message on stdin.
    let o = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "file", "-I", "card", "-f"])
        .arg(&allowed)
        .arg("-s")
        .arg(&sig)
        .stdin(std::fs::File::open(&msg).unwrap())
        .output()
        .expect("ssh-keygen -Y verify");
    assert!(o.status.success(), "{} {}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("Good \"file\" signature"),
        "{}",
        stdout(&o)
    );

    // One prompt for two signatures, saying the tries left; one VERIFY each.
    let asked = std::fs::read_to_string(&prompts).unwrap_or_default();
    assert_eq!(asked.lines().count(), 1, "prompts: {asked}");
    assert!(
        asked.contains("auth PIN") && asked.contains("3 tries left"),
        "{asked}"
    );
    assert_eq!(sim.stats().signatures, 2);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 2);
}
