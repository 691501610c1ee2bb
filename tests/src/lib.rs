//! Shared helpers of the end-to-end tests.
//!
//! The tests run against the real stack: pcscd + vpcd + `jpki-card-sim`. The
//! main simulated card (reader "Virtual PCD 00 00") is started by
//! `make sim-up` and only used in ways that leave its counters as they were.
//! Tests that spend PIN tries or need another card variant start their own
//! simulator in the second vpcd slot ("Virtual PCD 00 01") with [`SecondSim`]
//! and must run one at a time (`--test-threads=1`, as `make test` does).
//!
//! Both readers are virtual, which jpki never chooses by itself: `scripts/with-sim.sh` sets
//! `JPKI_READER` to the main reader, and tests of the second reader or of the reader choice
//! name their reader explicitly (`--reader`, `?reader=`).
#![forbid(unsafe_code)]

pub mod browser;
pub mod pdf;
pub mod sshd;
pub mod webdriver;

use jpki_card_sim::{CardState, PinId, Stats};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Name of the reader the main simulator sits in.
pub const MAIN_READER: &str = "Virtual PCD 00 00";
/// Name of the reader [`SecondSim`] uses.
pub const SECOND_READER: &str = "Virtual PCD 00 01";

/// `target/debug` (where cargo put the binaries under test).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// Path of a workspace binary.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is not built; run `cargo build --workspace` first",
        p.display()
    );
    p
}

/// The directory `make sim-up` writes to (`JPKI_SIM_DIR`, default `target/sim`).
pub fn sim_dir() -> PathBuf {
    std::env::var_os("JPKI_SIM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| bin_dir().parent().expect("target").join("sim"))
}

/// The test PKI as PEM files of the main simulator, failing clearly if it is not up.
pub fn pki_file(name: &str) -> PathBuf {
    let p = sim_dir().join("pki").join(name);
    assert!(
        p.exists(),
        "{} missing: the end-to-end tests need the simulator; run `make sim-up` (or `make test`)",
        p.display()
    );
    p
}

/// Runs a command and returns its output (stdin closed).
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// A free TCP port on loopback (bound, then released for the server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs a command with stdin closed, killing it (and failing) after `secs` seconds.
pub fn run_timeout(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} did not finish within {secs} s; stdout: {}; stderr: {}",
                stdout(&o),
                stderr(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command with `input` on stdin.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let written = child.stdin.take().expect("stdin").write_all(input);
    // A program that fails before it reads its input (a missing file, say) closes the pipe
    // first; that is its answer, not the test's failure.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait")
}

/// Loads `default`, then the built `jpki` provider into this test process
/// (for tests that use the provider through the openssl crate); they stay
/// loaded while the returned handles live, and are unloaded `jpki` first.
pub fn load_providers() -> [openssl::provider::Provider; 2] {
    openssl::provider::Provider::set_default_search_path(
        None,
        &provider_modules().display().to_string(),
    )
    .expect("module path");
    let default = openssl::provider::Provider::load(None, "default").expect("default provider");
    let jpki = openssl::provider::Provider::load(None, "jpki").expect("jpki provider");
    [jpki, default]
}

/// Asserts that a command succeeded, showing its exit status and output if not.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether a card is present in `reader` (pcsc directly, independent of our card crate).
pub fn card_present(reader: &str) -> bool {
    let Ok(ctx) = pcsc::Context::establish(pcsc::Scope::User) else {
        return false;
    };
    let Ok(name) = std::ffi::CString::new(reader) else {
        return false;
    };
    ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .is_ok()
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A simulator in the second vpcd slot, with its own state and stats files.
/// Dropping it pulls the card and waits until PC/SC sees the reader empty.
pub struct SecondSim {
    child: Child,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

/// `nsenter --net=…` into the network namespace of the pcscd sim-up started
/// (`target/sim/vpcd-netns`), where vpcd's ports are; nothing if sim-up used a running pcscd.
fn in_vpcd_netns(program: &Path) -> Command {
    match std::fs::read_to_string(sim_dir().join("vpcd-netns")) {
        Ok(ns) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", ns.trim())).arg(program);
            c
        }
        Err(_) => Command::new(program),
    }
}

fn spawn_sim(dir: &Path, args: &[String]) -> Child {
    in_vpcd_netns(&bin("jpki-card-sim"))
        .args(["--vpcd", "127.0.0.1:35964", "--state"])
        .arg(dir.join("state.json"))
        .arg("--stats")
        .arg(dir.join("stats.json"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jpki-card-sim")
}

impl SecondSim {
    /// Starts `jpki-card-sim` with extra `args` and waits until the card is present.
    pub fn start(args: &[&str]) -> SecondSim {
        assert!(
            !card_present(SECOND_READER),
            "a card is already in {SECOND_READER}; is another test or simulator using it?"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let child = spawn_sim(dir.path(), &args);
        let sim = SecondSim { child, dir, args };
        sim.wait_present();
        sim
    }

    /// Pulls the card (stops the simulator) and inserts it again with the same
    /// state file, as a power cycle of a real card.
    pub fn restart(&mut self) {
        self.pull();
        self.child = spawn_sim(self.dir.path(), &self.args);
        self.wait_present();
    }

    /// Pulls the card and leaves the reader empty until [`SecondSim::insert`].
    pub fn pull_card(&mut self) {
        self.pull();
    }

    /// Inserts the card pulled by [`SecondSim::pull_card`] again (same state file).
    pub fn insert(&mut self) {
        self.child = spawn_sim(self.dir.path(), &self.args);
        self.wait_present();
    }

    fn wait_present(&self) {
        wait_until("the second simulated card", Duration::from_secs(20), || {
            card_present(SECOND_READER)
        });
    }

    fn pull(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let start = Instant::now();
        while card_present(SECOND_READER) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the simulator counted so far.
    pub fn stats(&self) -> Stats {
        Stats::load(&self.dir.path().join("stats.json")).unwrap_or_default()
    }

    /// The card's non-volatile state (PIN counters).
    pub fn state(&self) -> CardState {
        CardState::load(&self.dir.path().join("state.json")).expect("state file")
    }

    /// Tries left on a PIN, as the card itself knows them.
    pub fn tries(&self, pin: PinId) -> u8 {
        self.state().pins.get(&pin).map(|p| p.tries).expect("pin")
    }
}

impl Drop for SecondSim {
    fn drop(&mut self) {
        self.pull();
    }
}

/// The environment of a process whose messages are English whatever the
/// developer's locale: `LANG=C`, `LC_ALL` and `LC_MESSAGES` removed. A test of
/// Japanese messages sets `LANG` again.
pub fn english(c: &mut Command) -> &mut Command {
    c.env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
}

/// `jpki-sign` with English messages ([`english`]).
pub fn jpki_sign() -> Command {
    let mut c = Command::new(bin("jpki-sign"));
    english(&mut c);
    c
}

/// `jpki-sign` with the second reader selected.
pub fn jpki_sign_second() -> Command {
    let mut c = jpki_sign();
    c.args(["--reader", SECOND_READER]);
    c
}

/// `jpki-sign` with the main reader selected.
pub fn jpki_sign_main() -> Command {
    let mut c = jpki_sign();
    c.args(["--reader", MAIN_READER]);
    c
}

/// Checks a PKCS#1 v1.5 SHA-256 signature over `data` with the `openssl`
/// command line, against the public key of the certificate `cert_pem`.
pub fn assert_openssl_verifies_sha256(cert_pem: &Path, data: &Path, sig: &Path) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pubkey = dir.path().join("pub.pem");
    let o = run(Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(cert_pem)
        .arg("-out")
        .arg(&pubkey));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&pubkey)
        .arg("-signature")
        .arg(sig)
        .arg(data));
    assert_eq!(stdout(&o).trim(), "Verified OK", "{}", stderr(&o));
}

/// The directory holding `jpki.so` for `OPENSSL_MODULES`: cargo builds the provider as
/// `libjpki.so`, OpenSSL looks for `<name>.so`, so a symlink is made next to it.
pub fn provider_modules() -> PathBuf {
    let lib = bin("libjpki.so");
    let dir = bin_dir().join("ossl-modules");
    std::fs::create_dir_all(&dir).expect("create target/debug/ossl-modules");
    let link = dir.join("jpki.so");
    if std::fs::read_link(&link).ok().as_deref() != Some(lib.as_path()) {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&lib, &link).expect("symlink jpki.so");
    }
    dir
}

/// The repository's `conf/` directory.
pub fn conf_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("conf")
        .join(name)
}

/// `openssl` that finds the jpki provider module (no config: pass `-provider` options).
pub fn openssl() -> Command {
    let mut c = Command::new("openssl");
    c.env("OPENSSL_MODULES", provider_modules())
        .env_remove("OPENSSL_CONF");
    c
}

/// What the main simulator counted so far.
pub fn main_stats() -> Stats {
    Stats::load(&sim_dir().join("stats.json")).unwrap_or_default()
}

/// A temporary working directory for one test, with short path helpers.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Scratch {
    /// A new empty directory (removed when dropped).
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// The same as a string (for command lines).
    pub fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
    /// Writes a file and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write scratch file");
        p
    }
    /// A file's text, or "" if it does not exist (logs of servers that never started).
    pub fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}
