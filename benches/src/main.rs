//! `make bench`: measures what card owners feel, against the simulated card behind real pcscd,
//! side by side with OpenSC, and writes `benches/RESULTS.md`.
//!
//! * APDUs and bytes per operation, counted by the simulator (`--stats`): on a real card each
//!   APDU costs milliseconds and a signature hundreds, so round trips are the speed users feel.
//! * Provider overhead: `openssl cms -sign` with the card key vs a software key of the same
//!   size (min and median of several runs; the simulator answers instantly, so this is the
//!   software cost: process start, PC/SC round trips, PIN handling).
//! * The same operations through OpenSC's PKCS#11 module in `openssl` by libp11's engine
//!   (Debian `libengine-pkcs11-openssl`), where that works; where it does not, the error it
//!   gives is recorded instead of a number.
//!
//! Run by `make bench` (which builds, starts the simulator, runs this, stops it). Needs
//! `openssl`, OpenSC (`pkcs11-tool`) and the built `jpki-sign`, `libjpki.so`. It never spends a
//! PIN try: every PIN it sends is the simulator's correct one.
#![forbid(unsafe_code)]

mod browser;
mod pkcs11;

use jpki_card_sim::Stats;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
/// libp11's OpenSSL engine (Debian `libengine-pkcs11-openssl`).
const LIBP11_ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";
/// The auth key in OpenSC's JPKI PKCS#11 view: one slot per PIN, so the token must be named
/// (without it libp11 says "Multiple matching slots (2); will not try to login").
const LIBP11_AUTH_KEY: &str =
    "pkcs11:token=JPKI%20%28User%20Authentication%20PIN%29;id=%01;type=private";
/// The sign key (id 02, in the sign-password slot).
const LIBP11_SIGN_KEY: &str =
    "pkcs11:token=JPKI%20%28Digital%20Signature%20PIN%29;id=%02;type=private";
const RUNS: usize = 7;

struct Env {
    bin: PathBuf,
    sim: PathBuf,
    modules: PathBuf,
    work: tempfile::TempDir,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("jpki-bench: {msg}");
    std::process::exit(1)
}

impl Env {
    fn new() -> Env {
        let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("own path: {e}")));
        let bin = exe
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| fail("no target directory"));
        let sim = std::env::var_os("JPKI_SIM_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| fail("JPKI_SIM_DIR is not set: run through `make bench`"));
        let work = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
        let modules = work.path().join("modules");
        std::fs::create_dir_all(&modules).unwrap_or_else(|e| fail(e));
        std::os::unix::fs::symlink(bin.join("libjpki.so"), modules.join("jpki.so"))
            .unwrap_or_else(|e| fail(format!("module link: {e}")));
        let e = Env {
            bin,
            sim,
            modules,
            work,
        };
        e.write("doc.txt", &vec![b'x'; 64 * 1024]);
        e.write("pw", b"ABC123\n");
        e.write("pin", b"1234\n");
        e.write(
            "engine.cnf",
            format!(
                "openssl_conf = openssl_init\n\
                 [openssl_init]\nengines = engine_sect\n\
                 [engine_sect]\npkcs11 = pkcs11_sect\n\
                 [pkcs11_sect]\nengine_id = pkcs11\ndynamic_path = {LIBP11_ENGINE}\n\
                 MODULE_PATH = {OPENSC}\ninit = 0\n"
            )
            .as_bytes(),
        );
        e
    }
    /// `openssl` with libp11's engine configured for OpenSC's module, in a session of its own
    /// (`setsid`): libp11 asks some PINs on /dev/tty only, and a benchmark must fail there,
    /// not wait for someone to type.
    fn openssl_engine(&self) -> Command {
        let mut c = Command::new("setsid");
        c.args(["-w", "openssl"])
            .env("OPENSSL_CONF", self.path("engine.cnf"));
        c
    }
    fn path(&self, n: &str) -> PathBuf {
        self.work.path().join(n)
    }
    fn s(&self, n: &str) -> String {
        self.path(n).display().to_string()
    }
    fn write(&self, n: &str, b: &[u8]) {
        std::fs::write(self.path(n), b).unwrap_or_else(|e| fail(format!("write {n}: {e}")));
    }
    fn stats(&self) -> Stats {
        Stats::load(&self.sim.join("stats.json")).unwrap_or_default()
    }
    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.env("OPENSSL_MODULES", &self.modules)
            .env_remove("OPENSSL_CONF");
        c
    }
    /// `openssl` with our provider and the default one (`-provider jpki -provider default`
    /// go after the subcommand's name).
    fn openssl_jpki(&self, subcommand: &[&str]) -> Command {
        let mut c = self.openssl();
        c.args(subcommand)
            .args(["-provider", "jpki", "-provider", "default"]);
        c
    }
    /// The `jpki-sign` under test (the build next to this binary).
    fn jpki_sign(&self) -> String {
        self.bin.join("jpki-sign").display().to_string()
    }
    /// The build profile measured: the name of the target directory (`release`, `debug`).
    fn profile(&self) -> String {
        self.bin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unknown".into())
    }
    /// `openssl dgst -sign` with the auth key through libp11's engine, into `out`.
    fn engine_dgst(&self, out: &str) -> Command {
        let mut c = self.openssl_engine();
        c.args(["dgst", "-sha256", "-engine", "pkcs11", "-keyform", "engine"])
            .args(["-sign", LIBP11_AUTH_KEY, "-passin", &self.passin("pin")])
            .args(["-out", &self.s(out), &self.s("doc.txt")]);
        c
    }
    /// `openssl cms -sign` with the sign key through libp11's engine, into `out`. The engine
    /// cannot load certificates from the card: the signer certificate is the PEM the simulator
    /// wrote (`jpki-sign cert sign` on a real card).
    fn engine_cms(&self, out: &str) -> Command {
        let sign_pem = self.sim.join("pki").join("sign.pem").display().to_string();
        let mut c = self.openssl_engine();
        c.args(["cms", "-sign", "-engine", "pkcs11", "-keyform", "engine"])
            .args(["-binary", "-in", &self.s("doc.txt"), "-signer", &sign_pem])
            .args(["-inkey", LIBP11_SIGN_KEY, "-passin", &self.passin("pw")])
            .args(["-outform", "DER", "-out", &self.s(out)]);
        c
    }
    /// `file:` + a secret file of the work directory, for `-passin`.
    fn passin(&self, name: &str) -> String {
        format!("file:{}", self.s(name))
    }
    /// A `jpki:` URI with a pin-source file.
    fn key_uri(&self, key: &str, secret: &str) -> String {
        format!("jpki:{key}?pin-source=file:{}", self.s(secret))
    }
}

/// Runs a command to success (or stops the benchmark with its stderr).
fn run(what: &str, cmd: &mut Command) {
    let o = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| fail(format!("{what}: {e}")));
    must_succeed(what, &o);
}

/// Stops the benchmark with the command's stderr unless it succeeded.
fn must_succeed(what: &str, o: &std::process::Output) {
    if !o.status.success() {
        fail(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
}

/// Runs a command; `Err` with the last lines of its stderr if it fails.
fn try_run(what: &str, cmd: &mut Command) -> Result<(), String> {
    let o = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if o.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    Err(format!("exit {}: {tail}", o.status.code().unwrap_or(-1)))
}

/// APDUs, bytes, VERIFYs and signatures one command costs on the card.
struct Cost {
    apdus: u64,
    bytes: u64,
    verifies: u64,
    signatures: u64,
}

fn cost(env: &Env, what: &str, cmd: &mut Command) -> Cost {
    try_cost(env, what, cmd).unwrap_or_else(|e| fail(format!("{what} failed: {e}")))
}

/// [`cost`] of a command that may fail (a third-party tool): `Err` says how.
fn try_cost(env: &Env, what: &str, cmd: &mut Command) -> Result<Cost, String> {
    let a = env.stats();
    try_run(what, cmd)?;
    let b = env.stats();
    let v = |s: &Stats| s.verifies.values().sum::<u64>();
    Ok(Cost {
        apdus: b.apdus - a.apdus,
        bytes: (b.bytes_in + b.bytes_out) - (a.bytes_in + a.bytes_out),
        verifies: v(&b) - v(&a),
        signatures: b.signatures - a.signatures,
    })
}

/// The libp11 engine's row of a timing table: its times, or why it fails
/// (`None`: it already failed in table 1).
fn engine_row(out: &mut String, how: &str, timed: Option<Result<(Duration, Duration), String>>) {
    let _ = match timed {
        Some(Ok((min, med))) => writeln!(
            out,
            "| card via OpenSC + libp11 engine ({how}) | {} | {} |",
            ms(min),
            ms(med)
        ),
        Some(Err(e)) => writeln!(
            out,
            "| card via OpenSC + libp11 engine | fails: {} | |",
            md(&e)
        ),
        None => writeln!(
            out,
            "| card via OpenSC + libp11 engine | fails (see table 1) | |"
        ),
    };
}

/// Markdown-safe text of a tool's error.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'")
}

/// Wall time of `RUNS` runs (after one warm-up): (min, median).
fn timing(what: &str, mut make: impl FnMut() -> Command) -> (Duration, Duration) {
    run(what, &mut make());
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run(what, &mut make());
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[0], t[RUNS / 2])
}

/// [`timing`] of a command that may fail: `Err` says how.
fn try_timing(
    what: &str,
    mut make: impl FnMut() -> Command,
) -> Result<(Duration, Duration), String> {
    try_run(what, &mut make())?;
    let mut t = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        try_run(what, &mut make())?;
        t.push(start.elapsed());
    }
    t.sort();
    Ok((t[0], t[RUNS / 2]))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|k| format!("{} GiB", k / 1024 / 1024))
        .unwrap_or_default();
    let openssl = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {mem}; {openssl}; OpenSC {}",
        opensc_version()
    )
}

fn opensc_version() -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "opensc"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// A PDF of about `mb` MiB: one page whose content stream is padded with a comment block.
/// Written by hand (a dozen objects) so the benchmark needs no PDF generator.
fn write_pdf(path: &Path, mb: usize) {
    use std::io::Write;
    let f = std::fs::File::create(path).unwrap_or_else(|e| fail(format!("create pdf: {e}")));
    let mut w = std::io::BufWriter::new(f);
    let mut off = Vec::new();
    let mut pos = 0usize;
    let put = |w: &mut std::io::BufWriter<std::fs::File>, b: &[u8], pos: &mut usize| {
        w.write_all(b)
            .unwrap_or_else(|e| fail(format!("write pdf: {e}")));
        *pos += b.len();
    };
    put(&mut w, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", &mut pos);
    let text = b"BT /F1 24 Tf 72 720 Td (jpki benchmark) Tj ET\n";
    let pad_line = [b'%'; 1023];
    let lines = mb * 1024;
    let len = text.len() + lines * 1024;
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        Vec::new(), // the content stream, written below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    for (i, o) in objs.iter().enumerate() {
        off.push(pos);
        put(&mut w, format!("{} 0 obj\n", i + 1).as_bytes(), &mut pos);
        if i == 3 {
            put(
                &mut w,
                format!("<< /Length {len} >>\nstream\n").as_bytes(),
                &mut pos,
            );
            put(&mut w, text, &mut pos);
            for _ in 0..lines {
                put(&mut w, &pad_line, &mut pos);
                put(&mut w, b"\n", &mut pos);
            }
            put(&mut w, b"\nendstream", &mut pos);
        } else {
            put(&mut w, o, &mut pos);
        }
        put(&mut w, b"\nendobj\n", &mut pos);
    }
    let xref = pos;
    let mut t = format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1);
    for o in &off {
        t.push_str(&format!("{o:010} 00000 n \n"));
    }
    t.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objs.len() + 1
    ));
    put(&mut w, t.as_bytes(), &mut pos);
    w.flush()
        .unwrap_or_else(|e| fail(format!("write pdf: {e}")));
}

/// Wall seconds (measured here, to the millisecond; GNU time's own `%e` has only 10 ms) and
/// peak RSS (KiB, from GNU time) of one run.
fn time_rss(what: &str, cmd: &[&str]) -> (f64, u64) {
    let report = tempfile::NamedTempFile::new().unwrap_or_else(|e| fail(e));
    let start = Instant::now();
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(report.path())
        .args(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| fail(format!("{what}: {e} (is GNU time installed?)")));
    let secs = start.elapsed().as_secs_f64();
    must_succeed(what, &o);
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let kib = text
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    (secs, kib)
}

/// `jpki-sign sign` of `input` into `signed`, then `jpki-sign verify` of it:
/// (wall s, peak RSS KiB) of each, best of [`FILE_RUNS`].
fn sign_and_verify(sign: &str, pw: &str, input: &str, signed: &str) -> ((f64, u64), (f64, u64)) {
    let s = best_of(
        "jpki-sign sign",
        &[
            sign,
            "sign",
            "--pin-file",
            pw,
            "-o",
            signed,
            "--force",
            input,
        ],
        || {},
    );
    let v = best_of("jpki-sign verify", &[sign, "verify", signed], || {});
    (s, v)
}

/// Runs of each large-file measurement; the fastest counts (the machine may be shared).
const FILE_RUNS: usize = 5;

/// Best of [`FILE_RUNS`] (fastest run; memory from the same run).
fn best_of(what: &str, cmd: &[&str], before: impl Fn()) -> (f64, u64) {
    (0..FILE_RUNS)
        .map(|_| {
            before();
            time_rss(what, cmd)
        })
        .fold((f64::MAX, 0), |a, b| if b.0 < a.0 { b } else { a })
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(prog))
            .find(|p| p.is_file())
    })
}

/// A markdown table being written: `| a | b | … |` lines.
fn table_row(out: &mut String, cells: &[&str]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

/// Title, machine, date, build profile.
fn header(env: &Env, out: &mut String) {
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(
        out,
        "Written by `make bench` ({}). Machine: {}.",
        date(),
        machine()
    );
    let _ = writeln!(
        out,
        "Build profile: **{}** (`jpki-sign`, `jpki.so` and this benchmark from `target/{}`).",
        env.profile(),
        env.profile()
    );
    let _ = writeln!(
        out,
        "Card: `jpki-card-sim` behind pcscd + vpcd (answers instantly; on a real card add a few ms per APDU and ~0.3–0.5 s per signature).\n"
    );
}

/// Whether libp11's engine managed each operation in table 1 (then it is timed in table 2).
struct Libp11 {
    dgst: bool,
    cms: bool,
}

/// Table 1: APDUs, bytes, VERIFYs and signatures per operation, ours against OpenSC's.
fn apdu_table(env: &Env, out: &mut String) -> Libp11 {
    let _ = writeln!(
        out,
        "## 1. APDUs per operation (counted by the simulator)\n"
    );
    table_row(
        out,
        &[
            "operation",
            "tool",
            "APDUs",
            "bytes",
            "VERIFYs",
            "signatures",
        ],
    );
    table_row(out, &["---", "---", "---:", "---:", "---:", "---:"]);
    let mut row = |op: &str, tool: &str, c: Result<Cost, String>| match c {
        Ok(c) => {
            let _ = writeln!(
                out,
                "| {op} | {tool} | {} | {} | {} | {} |",
                c.apdus, c.bytes, c.verifies, c.signatures
            );
        }
        Err(e) => {
            let _ = writeln!(out, "| {op} | {tool} | fails: {} | | | |", md(&e));
        }
    };
    const AUTH_SIG: &str = "auth-key signature, fresh process";
    const CMS: &str = "CMS with the sign key (cert + key + signature)";
    const AUTH_CERT: &str = "read the auth certificate";
    let doc = env.s("doc.txt");
    let sig = env.s("sig.bin");

    let mut dgst = env.openssl_jpki(&["dgst", "-sha256", "-sign", &env.key_uri("auth", "pin")]);
    dgst.args(["-out", &sig, &doc]);
    let c = cost(env, "openssl dgst -sign (provider, pin-source)", &mut dgst);
    row(
        AUTH_SIG,
        "jpki provider (`openssl dgst -sign 'jpki:auth?pin-source=file:…'`)",
        Ok(c),
    );
    let passin = env.passin("pin");
    let mut dgst = env.openssl_jpki(&["dgst", "-sha256", "-sign", "jpki:auth"]);
    dgst.args(["-passin", &passin, "-out", &sig, &doc]);
    let c = cost(env, "openssl dgst -sign -passin (provider)", &mut dgst);
    row(
        AUTH_SIG,
        "jpki provider (`openssl dgst -sign jpki:auth -passin file:…`)",
        Ok(c),
    );
    let mut p11 = Command::new("pkcs11-tool");
    p11.args(["--module", OPENSC, "--slot-index", "0", "--login"])
        .args(["--pin", "1234", "--sign", "--mechanism", "SHA256-RSA-PKCS"])
        .args(["--id", "01", "-i", &doc, "-o", &env.s("p11.sig")]);
    let c = cost(env, "pkcs11-tool --sign (OpenSC)", &mut p11);
    row(AUTH_SIG, "OpenSC (`pkcs11-tool --sign`)", Ok(c));
    let libp11_dgst = engine_cost(
        env,
        "openssl dgst -engine pkcs11",
        &mut env.engine_dgst("engine.sig"),
    );
    let libp11 = Libp11 {
        dgst: libp11_dgst.is_ok(),
        cms: false,
    };
    row(
        AUTH_SIG,
        "OpenSC via libp11's engine (`openssl dgst -engine pkcs11 -keyform engine -sign 'pkcs11:token=JPKI (User Authentication PIN);id=%01;type=private' -passin file:…`)",
        libp11_dgst,
    );

    let mut cert = Command::new(env.jpki_sign());
    cert.args(["cert", "auth", "-o", &env.s("auth.pem"), "--force"]);
    let c = cost(env, "jpki-sign cert auth", &mut cert);
    row(AUTH_CERT, "jpki-sign (`cert auth`)", Ok(c));
    let mut p15 = Command::new("pkcs15-tool");
    p15.args(["--read-certificate", "01", "-o", &env.s("p15.pem")]);
    let c = cost(env, "pkcs15-tool --read-certificate", &mut p15);
    row(
        AUTH_CERT,
        "OpenSC (`pkcs15-tool --read-certificate`)",
        Ok(c),
    );

    let mut cms = env.openssl_jpki(&["cms", "-sign"]);
    cms.args([
        "-binary",
        "-in",
        &doc,
        "-signer",
        &env.key_uri("sign", "pw"),
    ])
    .args([
        "-inkey",
        "jpki:sign",
        "-outform",
        "DER",
        "-out",
        &env.s("doc.p7s"),
    ]);
    let c = cost(env, "openssl cms -sign (provider)", &mut cms);
    row(CMS, "jpki provider (`openssl cms -sign`)", Ok(c));
    let mut cli = Command::new(env.jpki_sign());
    cli.args([
        "cms",
        "sign",
        "--detached",
        "--force",
        "--pin-file",
        &env.s("pw"),
    ])
    .args(["-o", &env.s("cli.p7s"), &doc]);
    let c = cost(env, "jpki-sign cms sign", &mut cli);
    row(CMS, "jpki-sign (`cms sign`)", Ok(c));
    let libp11_cms = engine_cost(
        env,
        "openssl cms -sign -engine pkcs11",
        &mut env.engine_cms("engine.p7s"),
    );
    let libp11 = Libp11 {
        cms: libp11_cms.is_ok(),
        ..libp11
    };
    row(
        CMS,
        "OpenSC via libp11's engine (`openssl cms -sign -engine pkcs11 -keyform engine -inkey 'pkcs11:token=JPKI (Digital Signature PIN);id=%02;type=private' -signer sign.pem -passin file:…`)",
        libp11_cms,
    );
    let _ = writeln!(out);
    if !libp11.cms {
        let _ = writeln!(
            out,
            "libp11's engine and the sign key: OpenSC marks the JPKI sign key \
             `CKA_ALWAYS_AUTHENTICATE`, so after the login with `-passin` the engine asks for the \
             password a second time at signing time, and only through the terminal \
             (`Enter PKCS#11 key PIN for Digital Signature Key:`); without one (as here, and in \
             any server or script) the signature fails with the error above. The engine also \
             cannot load the sign certificate from the card: `-signer` takes a file.\n"
        );
    }
    libp11
}

/// [`try_cost`] of a libp11 engine command, if Debian's package put the engine there.
fn engine_cost(env: &Env, what: &str, cmd: &mut Command) -> Result<Cost, String> {
    if Path::new(LIBP11_ENGINE).exists() {
        try_cost(env, what, cmd)
    } else {
        Err(format!(
            "{LIBP11_ENGINE} is not installed (libengine-pkcs11-openssl)"
        ))
    }
}

/// A timing table's row: key, min, median.
fn timing_row(out: &mut String, key: &str, (min, med): (Duration, Duration)) {
    table_row(out, &[key, &ms(min), &ms(med)]);
}

/// Table 2: the provider's wall time against a software key of the same size.
fn provider_overhead(env: &Env, out: &mut String, libp11: &Libp11) {
    let soft_key = env.s("soft.key");
    let soft_pem = env.s("soft.pem");
    let mut req = Command::new("openssl");
    req.args([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=soft",
    ])
    .args(["-days", "1", "-keyout", &soft_key, "-out", &soft_pem]);
    run("software key", &mut req);
    let doc = env.s("doc.txt");
    let sign_key = env.key_uri("sign", "pw");
    let card = timing("cms -sign with the card", || {
        let mut c = env.openssl_jpki(&["cms", "-sign"]);
        c.args(["-binary", "-in", &doc, "-signer", &sign_key])
            .args([
                "-inkey",
                "jpki:sign",
                "-outform",
                "DER",
                "-out",
                &env.s("card.p7s"),
            ]);
        c
    });
    let soft = timing("cms -sign with a software key", || {
        let mut c = Command::new("openssl");
        c.args(["cms", "-sign", "-binary", "-in", &doc])
            .args(["-signer", &soft_pem, "-inkey", &soft_key])
            .args(["-outform", "DER", "-out", &env.s("soft.p7s")]);
        c
    });
    let _ = writeln!(
        out,
        "## 2. Provider overhead: `openssl cms -sign`, 64 KiB document\n"
    );
    let _ = writeln!(out, "{RUNS} runs after a warm-up; wall time in ms.\n");
    table_row(out, &["key", "min", "median"]);
    table_row(out, &["---", "---:", "---:"]);
    timing_row(
        out,
        "card via jpki provider (`-signer/-inkey jpki:sign`)",
        card,
    );
    timing_row(out, "software RSA-2048 key (default provider)", soft);
    engine_row(
        out,
        "`-keyform engine -inkey pkcs11:…`",
        libp11
            .cms
            .then(|| try_timing("cms -sign through libp11", || env.engine_cms("e.p7s"))),
    );
    let ratio = card.1.as_secs_f64() / soft.1.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "\nRatio card/software (median): **{ratio:.2}×**. The difference is the card path: PC/SC \
         connection and transactions through pcscd, the simulator's APDU round trips, the PIN \
         counter queries and VERIFYs (see table 1), and the signature check against the \
         certificate that the provider does before returning each signature.\n"
    );

    // The auth key too: the key libp11's engine can use without a terminal.
    let passin = env.passin("pin");
    let card = timing("dgst -sign with the card (provider)", || {
        let mut c = env.openssl_jpki(&["dgst", "-sha256", "-sign", "jpki:auth"]);
        c.args(["-passin", &passin, "-out", &env.s("t.sig"), &doc]);
        c
    });
    let soft = timing("dgst -sign with a software key", || {
        let mut c = Command::new("openssl");
        c.args(["dgst", "-sha256", "-sign", &soft_key])
            .args(["-out", &env.s("s.sig"), &doc]);
        c
    });
    let _ = writeln!(
        out,
        "### Auth key: `openssl dgst -sha256 -sign`, 64 KiB document\n"
    );
    table_row(out, &["key", "min", "median"]);
    table_row(out, &["---", "---:", "---:"]);
    timing_row(
        out,
        "card via jpki provider (`-sign jpki:auth -passin file:…`)",
        card,
    );
    engine_row(
        out,
        "`-keyform engine -sign pkcs11:…`",
        libp11
            .dgst
            .then(|| try_timing("dgst -sign through libp11", || env.engine_dgst("t2.sig"))),
    );
    timing_row(out, "software RSA-2048 key (default provider)", soft);
    let _ = writeln!(out);
}

/// What every signer of a file must at least do, measured on this machine: read and hash it
/// (`openssl dgst -sha256`, the fastest SHA-256 here) and write a copy (`cp`), each best of
/// [`FILE_RUNS`]. `durable` is for reference, not part of the floor: `cp`, then `sync --data`
/// of the copy, as `jpki-sign` makes its output durable before renaming it.
struct Floor {
    hash: (f64, u64),
    copy: (f64, u64),
    durable: (f64, u64),
}

impl Floor {
    fn measure(input: &str, copy: &str) -> Floor {
        let hash = best_of(
            "openssl dgst",
            &["openssl", "dgst", "-sha256", input],
            || {},
        );
        let copy_t = best_of("cp", &["cp", input, copy], || {
            let _ = std::fs::remove_file(copy);
        });
        let durable = best_of(
            "cp + sync",
            &[
                "sh",
                "-c",
                "cp \"$0\" \"$1\" && sync --data \"$1\"",
                input,
                copy,
            ],
            || {
                let _ = std::fs::remove_file(copy);
            },
        );
        let _ = std::fs::remove_file(copy);
        Floor {
            hash,
            copy: copy_t,
            durable,
        }
    }
    fn secs(&self) -> f64 {
        (self.hash.0 + self.copy.0).max(1e-9)
    }
    fn rows(&self, out: &mut String, label: &str) {
        let _ = writeln!(
            out,
            "| {label} | floor, part 1: `openssl dgst -sha256` | {:.3} | {} | |",
            self.hash.0,
            mib(self.hash.1)
        );
        let _ = writeln!(
            out,
            "| {label} | floor, part 2: `cp` | {:.3} | {} | |",
            self.copy.0,
            mib(self.copy.1)
        );
        let _ = writeln!(
            out,
            "| {label} | **floor** = part 1 + part 2 | {:.3} | | 1.00 |",
            self.secs()
        );
        self.row(
            out,
            label,
            "for reference, not in the floor: `cp` + `sync --data` of the copy",
            self.durable,
        );
    }
    /// A measured row with its ratio to the floor.
    fn row(&self, out: &mut String, label: &str, what: &str, r: (f64, u64)) {
        let _ = writeln!(
            out,
            "| {label} | {what} | {:.3} | {} | {:.2} |",
            r.0,
            mib(r.1),
            r.0 / self.secs()
        );
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

/// pyHanko's `sign addsig` of `input` with a software key of the same size, best of [`FILE_RUNS`], if
/// pyHanko is on PATH (it reaches a card only through PKCS#11; the key does not change what
/// parsing, hashing and writing the PDF cost).
fn pyhanko(env: &Env, input: &str, mb: usize) -> Option<(f64, u64)> {
    let py = which("pyhanko")?.display().to_string();
    let hs = env.s(&format!("hanko{mb}.pdf"));
    let (key, cert) = (env.s("soft.key"), env.s("soft.pem"));
    let r = best_of(
        "pyhanko sign addsig",
        &[
            &py,
            "sign",
            "addsig",
            "--field",
            "Sig1",
            "pemder",
            "--key",
            &key,
            "--cert",
            &cert,
            "--no-pass",
            input,
            &hs,
        ],
        || {
            let _ = std::fs::remove_file(&hs);
        },
    );
    let _ = std::fs::remove_file(&hs);
    Some(r)
}

/// The 200 MiB file rewritten by qpdf with object streams and a cross-reference stream (the
/// structure most producers write today), signed and verified: rows against the same floor.
fn objstm_rows(env: &Env, out: &mut String, input: &str, floor: &Floor) {
    if which("qpdf").is_none() {
        let _ = writeln!(out, "| object + xref streams | qpdf not installed | | | |");
        return;
    }
    let objstm = env.s("big-objstm.pdf");
    // Streams stay as they are: recompressing the big content stream would make a small
    // file, not a 200 MiB one.
    let mut qpdf = Command::new("qpdf");
    qpdf.args(["--object-streams=generate", "--compress-streams=n"])
        .args(["--decode-level=none", input, &objstm]);
    run("qpdf --object-streams=generate", &mut qpdf);
    let size = std::fs::metadata(&objstm)
        .map(|m| m.len() as f64 / (1 << 20) as f64)
        .unwrap_or(0.0);
    let signed = env.s("big-objstm-signed.pdf");
    let (s, v) = sign_and_verify(&env.jpki_sign(), &env.s("pw"), &objstm, &signed);
    let label = format!("{size:.0} MiB, object + xref streams (qpdf)");
    floor.row(out, &label, "`jpki-sign sign`", s);
    floor.row(out, &label, "`jpki-sign verify`", v);
    let _ = std::fs::remove_file(&objstm);
    let _ = std::fs::remove_file(&signed);
}

/// Table 3: large PDFs signed and verified, against the read-hash-write floor.
fn pdf_benchmarks(env: &Env, out: &mut String) {
    let sign = env.jpki_sign();
    let pw = env.s("pw");
    let _ = writeln!(out, "## 3. Large PDFs: sign and verify\n");
    let _ = writeln!(
        out,
        "Generated one-page PDFs with a big content stream; best of {FILE_RUNS} runs (files in \
         the page cache); wall time measured around each process; peak RSS from GNU time. The **floor** is what any signer must at least do, \
         done the fastest way this machine knows, measured in the same run: read and hash the \
         file with `openssl dgst -sha256` (OpenSSL's SHA-256, using the CPU's SHA instructions \
         where there are any), plus write a copy with `cp`. `jpki-sign sign` hashes while it \
         copies, in one pass over the file, and also parses the PDF, builds the CMS, fsyncs the \
         output and asks the card; `× floor` is its wall time divided by the floor's.\n"
    );
    table_row(
        out,
        &["size", "operation", "wall s", "peak RSS MiB", "× floor"],
    );
    table_row(out, &["---:", "---", "---:", "---:", "---:"]);
    let mut rss: Vec<(usize, u64)> = Vec::new();
    for mb in [20usize, 200] {
        let input = env.s(&format!("big{mb}.pdf"));
        write_pdf(Path::new(&input), mb);
        let signed = env.s(&format!("big{mb}-signed.pdf"));
        let floor = Floor::measure(&input, &env.s(&format!("copy{mb}.pdf")));
        let (s, v) = sign_and_verify(&sign, &pw, &input, &signed);
        let label = format!("{mb} MiB");
        floor.rows(out, &label);
        floor.row(out, &label, "`jpki-sign sign`", s);
        floor.row(out, &label, "`jpki-sign verify`", v);
        match pyhanko(env, &input, mb) {
            Some(h) => floor.row(out, &label, "pyHanko `sign addsig` (software key)", h),
            None => {
                let _ = writeln!(
                    out,
                    "| {label} | pyHanko | not installed (`pip install pyhanko pyhanko-cli`) | | |"
                );
            }
        }
        rss.push((mb, s.1.max(v.1)));
        if mb == 200 {
            objstm_rows(env, out, &input, &floor);
        }
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&signed);
    }
    if let [(a, ra), .., (b, rb)] = rss[..] {
        let _ = writeln!(
            out,
            "\nPeak RSS of jpki-sign: {} MiB at {a} MiB, {} MiB at {b} MiB. It reads the cross-reference \
             data and the few objects a signature touches by positioned reads, and hashes and copies the file \
             1 MiB at a time, so memory does not grow with the file (`pdf/src/reader.rs`).",
            mib(ra),
            mib(rb)
        );
    }
    let _ = writeln!(out);
}

/// Table 4: 100 small PDFs signed with one password entry.
fn batch(env: &Env, out: &mut String) {
    let n = 100;
    let files: Vec<String> = (0..n)
        .map(|i| {
            let p = env.path(&format!("batch{i:03}.pdf"));
            write_pdf(&p, 0);
            p.display().to_string()
        })
        .collect();
    let mut cmd = Command::new(env.jpki_sign());
    cmd.args(["sign", "--pin-file", &env.s("pw"), "--force"])
        .args(&files);
    let before = env.stats();
    let start = Instant::now();
    run("jpki-sign sign ×100", &mut cmd);
    let took = start.elapsed().as_secs_f64();
    let after = env.stats();
    let _ = writeln!(out, "## 4. Batch: {n} PDFs, one password entry\n");
    table_row(
        out,
        &[
            "APDUs total",
            "APDUs per document",
            "VERIFYs",
            "signatures",
            "wall s",
            "ms per document",
        ],
    );
    table_row(out, &["---:"; 6]);
    let verifies = after.verifies.values().sum::<u64>() - before.verifies.values().sum::<u64>();
    let apdus = after.apdus - before.apdus;
    let _ = writeln!(
        out,
        "| {apdus} | {:.2} | {verifies} | {} | {took:.2} | {:.1} |\n",
        apdus as f64 / n as f64,
        after.signatures - before.signatures,
        took * 1000.0 / n as f64
    );
}

/// Writes the results to the file named on the command line (default `benches/RESULTS.md`)
/// and to stdout.
fn write_results(out: &str) {
    let target = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("benches/RESULTS.md"));
    std::fs::write(&target, out)
        .unwrap_or_else(|e| fail(format!("write {}: {e}", target.display())));
    print!("{out}");
    eprintln!("jpki-bench: wrote {}", target.display());
}

fn main() {
    let env = Env::new();
    let mut out = String::new();
    header(&env, &mut out);
    let libp11 = apdu_table(&env, &mut out);
    provider_overhead(&env, &mut out, &libp11);
    pdf_benchmarks(&env, &mut out);
    batch(&env, &mut out);
    pkcs11::benchmarks(&env, &mut out);
    browser::benchmarks(&env.bin, &env.sim, &mut out);
    write_results(&out);
}
