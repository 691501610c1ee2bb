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

/// Markdown-safe text of a tool's error.
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

/// Wall seconds and peak RSS (KiB) of one run, from GNU time.
fn time_rss(what: &str, cmd: &[&str]) -> (f64, u64) {
    let report = tempfile::NamedTempFile::new().unwrap_or_else(|e| fail(e));
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(report.path())
        .args(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| fail(format!("{what}: {e} (is GNU time installed?)")));
    must_succeed(what, &o);
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let mut it = text.split_whitespace();
    let secs = it.next().and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let kib = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    (secs, kib)
}

/// `jpki-sign sign` of `input` into `signed`, then `jpki-sign verify` of it:
/// (wall s, peak RSS KiB) of each, best of three.
fn sign_and_verify(sign: &str, pw: &str, input: &str, signed: &str) -> ((f64, u64), (f64, u64)) {
    let s = best_of_3(
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
    let v = best_of_3("jpki-sign verify", &[sign, "verify", signed], || {});
    (s, v)
}

/// Best of three (fastest run; memory from the same run).
fn best_of_3(what: &str, cmd: &[&str], before: impl Fn()) -> (f64, u64) {
    (0..3)
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

fn pdf_benchmarks(env: &Env, out: &mut String) {
    let sign = env.bin.join("jpki-sign").display().to_string();
    let pw = env.s("pw");
    let _ = writeln!(out, "## 3. Large PDFs: sign and verify\n");
    let _ = writeln!(
        out,
        "Generated one-page PDFs with a big content stream; best of 3 runs; peak RSS from GNU time. \
         The floor is `sha256sum` + `cp` of the same file (what any signer must at least do: read, hash, write).\n"
    );
    let _ = writeln!(
        out,
        "| size | operation | wall s | peak RSS MiB | × floor |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|");
    let mut rss: Vec<(usize, u64)> = Vec::new();
    for mb in [20usize, 200] {
        let input = env.path(&format!("big{mb}.pdf"));
        write_pdf(&input, mb);
        let inp = input.display().to_string();
        let signed = env.s(&format!("big{mb}-signed.pdf"));
        let copy = env.s(&format!("copy{mb}.pdf"));
        let floor_hash = best_of_3("sha256sum", &["sha256sum", &inp], || {});
        let floor_cp = best_of_3("cp", &["cp", &inp, &copy], || {
            let _ = std::fs::remove_file(&copy);
        });
        let floor = floor_hash.0 + floor_cp.0;
        let (s, v) = sign_and_verify(&sign, &pw, &inp, &signed);
        let mib = |k: u64| format!("{:.0}", k as f64 / 1024.0);
        // pyHanko with a software key of the same size (it cannot reach the card but through
        // PKCS#11; the key does not change what it costs to parse, hash and write the PDF).
        let hanko = which("pyhanko").map(|py| {
            let py = py.display().to_string();
            let hs = env.s(&format!("hanko{mb}.pdf"));
            let r = best_of_3(
                "pyhanko sign addsig",
                &[
                    &py,
                    "sign",
                    "addsig",
                    "--field",
                    "Sig1",
                    "pemder",
                    "--key",
                    &env.s("soft.key"),
                    "--cert",
                    &env.s("soft.pem"),
                    "--no-pass",
                    &inp,
                    &hs,
                ],
                || {
                    let _ = std::fs::remove_file(&hs);
                },
            );
            let _ = std::fs::remove_file(&hs);
            r
        });
        let _ = writeln!(
            out,
            "| {mb} MiB | floor: sha256sum + cp | {floor:.2} | {} | 1.00 |",
            mib(floor_hash.1.max(floor_cp.1))
        );
        let sign_verify_rows = |out: &mut String, label: &str, s: (f64, u64), v: (f64, u64)| {
            for (what, r) in [("`jpki-sign sign`", s), ("`jpki-sign verify`", v)] {
                let _ = writeln!(
                    out,
                    "| {label} | {what} | {:.2} | {} | {:.2} |",
                    r.0,
                    mib(r.1),
                    r.0 / floor.max(1e-9)
                );
            }
        };
        sign_verify_rows(out, &format!("{mb} MiB"), s, v);
        match hanko {
            Some(h) => {
                let _ = writeln!(
                    out,
                    "| {mb} MiB | pyHanko `sign addsig` (software key) | {:.2} | {} | {:.2} |",
                    h.0,
                    mib(h.1),
                    h.0 / floor.max(1e-9)
                );
            }
            None => {
                let _ = writeln!(out, "| {mb} MiB | pyHanko | not installed (`pip install pyhanko pyhanko-cli`) | | |");
            }
        }
        rss.push((mb, s.1.max(v.1)));
        if mb == 200 && which("qpdf").is_some() {
            // The same file with object streams and a cross-reference stream,
            // the structure most producers write today.
            let objstm = env.s("big200-objstm.pdf");
            run(
                "qpdf --object-streams=generate",
                // Streams stay as they are: recompressing the big content
                // stream would make a small file, not a 200 MiB one.
                Command::new("qpdf").args([
                    "--object-streams=generate",
                    "--compress-streams=n",
                    "--decode-level=none",
                    &inp,
                    &objstm,
                ]),
            );
            let objstm_mib = std::fs::metadata(&objstm)
                .map(|m| m.len() as f64 / (1 << 20) as f64)
                .unwrap_or(0.0);
            let signed2 = env.s("big200-objstm-signed.pdf");
            let (s, v) = sign_and_verify(&sign, &pw, &objstm, &signed2);
            sign_verify_rows(
                out,
                &format!("{objstm_mib:.0} MiB, object + xref streams (qpdf)"),
                s,
                v,
            );
            let _ = std::fs::remove_file(&objstm);
            let _ = std::fs::remove_file(&signed2);
        }
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&signed);
        let _ = std::fs::remove_file(&copy);
    }
    if let [(a, ra), .., (b, rb)] = rss[..] {
        let _ = writeln!(
            out,
            "\nPeak RSS of jpki-sign: {:.0} MiB at {a} MiB, {:.0} MiB at {b} MiB. It reads the cross-reference \
             data and the few objects a signature touches by positioned reads, and hashes and copies the file \
             1 MiB at a time, so memory does not grow with the file (`pdf/src/reader.rs`).",
            ra as f64 / 1024.0,
            rb as f64 / 1024.0
        );
    }
    let _ = writeln!(out);

    // ---- 4. Batch -------------------------------------------------------------------------
    let n = 100;
    let mut files = Vec::new();
    for i in 0..n {
        let p = env.path(&format!("batch{i:03}.pdf"));
        write_pdf(&p, 0);
        files.push(p.display().to_string());
    }
    let mut cmd = Command::new(&sign);
    cmd.args(["sign", "--pin-file", &pw, "--force"])
        .args(&files);
    let before = env.stats();
    let start = Instant::now();
    run("jpki-sign sign ×100", &mut cmd);
    let took = start.elapsed();
    let after = env.stats();
    let _ = writeln!(out, "## 4. Batch: {n} PDFs, one password entry\n");
    let _ = writeln!(
        out,
        "| APDUs total | APDUs per document | VERIFYs | signatures | wall s | ms per document |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let verifies = after.verifies.values().sum::<u64>() - before.verifies.values().sum::<u64>();
    let apdus = after.apdus - before.apdus;
    let _ = writeln!(
        out,
        "| {apdus} | {:.2} | {verifies} | {} | {:.2} | {:.1} |\n",
        apdus as f64 / n as f64,
        after.signatures - before.signatures,
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / n as f64
    );
}

/// The provider options every `openssl` command of the benchmark takes.
const PROVIDERS: [&str; 4] = ["-provider", "jpki", "-provider", "default"];

/// The key URIs and PIN sources the commands use.
struct Keys {
    auth_key: String,
    sign_key: String,
    /// `file:` + the auth PIN file, for `-passin`.
    passin: String,
    /// `file:` + the sign password file, for `-passin`.
    pw_in: String,
    /// The sign certificate as PEM (libp11's engine cannot read it from the card).
    sign_pem: String,
}

impl Keys {
    fn new(env: &Env) -> Keys {
        Keys {
            auth_key: "jpki:auth?pin-source=file:".to_string() + &env.s("pin"),
            sign_key: "jpki:sign?pin-source=file:".to_string() + &env.s("pw"),
            passin: format!("file:{}", env.s("pin")),
            pw_in: format!("file:{}", env.s("pw")),
            // The engine cannot load certificates from the card: the signer certificate is the
            // PEM the simulator wrote (`jpki-sign cert sign` on a real card).
            sign_pem: env.sim.join("pki").join("sign.pem").display().to_string(),
        }
    }
}

/// `openssl dgst -sign` with the auth key through libp11's engine, into `out`.
fn engine_dgst(env: &Env, k: &Keys, out: &str) -> Command {
    let mut c = env.openssl_engine();
    c.args(["dgst", "-sha256", "-engine", "pkcs11", "-keyform", "engine"])
        .args(["-sign", LIBP11_AUTH_KEY, "-passin", &k.passin])
        .args(["-out", &env.s(out), &env.s("doc.txt")]);
    c
}

/// `openssl cms -sign` with the sign key through libp11's engine, into `out`.
fn engine_cms(env: &Env, k: &Keys, out: &str) -> Command {
    let mut c = env.openssl_engine();
    c.args(["cms", "-sign", "-engine", "pkcs11", "-keyform", "engine"])
        .args(["-binary", "-in", &env.s("doc.txt"), "-signer", &k.sign_pem])
        .args(["-inkey", LIBP11_SIGN_KEY, "-passin", &k.pw_in])
        .args(["-outform", "DER", "-out", &env.s(out)]);
    c
}

/// libp11's engine, if Debian's package put it there.
fn engine_cost(env: &Env, what: &str, cmd: &mut Command) -> Result<Cost, String> {
    if Path::new(LIBP11_ENGINE).exists() {
        try_cost(env, what, cmd)
    } else {
        Err(format!(
            "{LIBP11_ENGINE} is not installed (libengine-pkcs11-openssl)"
        ))
    }
}

/// Which of libp11's engine's signatures worked in table 1 (table 2 times only those).
struct Libp11 {
    dgst_works: bool,
    cms_works: bool,
}

fn main() {
    let env = Env::new();
    let keys = Keys::new(&env);
    let mut out = String::new();
    header(&mut out);
    let libp11 = apdu_economy(&env, &keys, &mut out);
    cms_overhead(&env, &keys, &libp11, &mut out);
    dgst_overhead(&env, &keys, &libp11, &mut out);
    pdf_benchmarks(&env, &mut out);
    pkcs11::benchmarks(&env, &mut out);

    let target = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("benches/RESULTS.md"));
    std::fs::write(&target, &out)
        .unwrap_or_else(|e| fail(format!("write {}: {e}", target.display())));
    print!("{out}");
    eprintln!("jpki-bench: wrote {}", target.display());
}

fn header(out: &mut String) {
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(
        out,
        "Written by `make bench` ({}). Machine: {}.",
        date(),
        machine()
    );
    let _ = writeln!(
        out,
        "Card: `jpki-card-sim` behind pcscd + vpcd (answers instantly; on a real card add a few ms per APDU and ~0.3–0.5 s per signature).\n"
    );
}

/// Table 1: APDUs, bytes, VERIFYs and signatures per operation, per tool.
fn apdu_economy(env: &Env, k: &Keys, out: &mut String) -> Libp11 {
    let p = PROVIDERS;
    let (auth_key, sign_key, passin) = (&k.auth_key, &k.sign_key, &k.passin);
    let _ = writeln!(
        out,
        "## 1. APDUs per operation (counted by the simulator)\n"
    );
    let _ = writeln!(
        out,
        "| operation | tool | APDUs | bytes | VERIFYs | signatures |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    let mut row = |op: &str, tool: &str, c: Result<Cost, String>| {
        let _ = match c {
            Ok(c) => writeln!(
                out,
                "| {op} | {tool} | {} | {} | {} | {} |",
                c.apdus, c.bytes, c.verifies, c.signatures
            ),
            Err(e) => writeln!(out, "| {op} | {tool} | fails: {} | | | |", md(&e)),
        };
    };
    let c = cost(
        env,
        "openssl dgst -sign (provider, pin-source)",
        env.openssl()
            .args(["dgst", "-sha256", "-sign", auth_key])
            .args(p)
            .args(["-out", &env.s("sig.bin"), &env.s("doc.txt")]),
    );
    row(
        "auth-key signature, fresh process",
        "jpki provider (`openssl dgst -sign 'jpki:auth?pin-source=file:…'`)",
        Ok(c),
    );
    let c = cost(
        env,
        "openssl dgst -sign -passin (provider)",
        env.openssl()
            .args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin", passin])
            .args(p)
            .args(["-out", &env.s("sig.bin"), &env.s("doc.txt")]),
    );
    row(
        "auth-key signature, fresh process",
        "jpki provider (`openssl dgst -sign jpki:auth -passin file:…`)",
        Ok(c),
    );
    let c = cost(
        env,
        "pkcs11-tool --sign (OpenSC)",
        Command::new("pkcs11-tool")
            .args([
                "--module",
                OPENSC,
                "--slot-index",
                "0",
                "--login",
                "--pin",
                "1234",
            ])
            .args(["--sign", "--mechanism", "SHA256-RSA-PKCS", "--id", "01"])
            .args(["-i", &env.s("doc.txt"), "-o", &env.s("p11.sig")]),
    );
    row(
        "auth-key signature, fresh process",
        "OpenSC (`pkcs11-tool --sign`)",
        Ok(c),
    );
    let libp11_dgst = engine_cost(
        env,
        "openssl dgst -engine pkcs11",
        &mut engine_dgst(env, k, "engine.sig"),
    );
    let libp11_dgst_works = libp11_dgst.is_ok();
    row(
        "auth-key signature, fresh process",
        "OpenSC via libp11's engine (`openssl dgst -engine pkcs11 -keyform engine -sign 'pkcs11:token=JPKI (User Authentication PIN);id=%01;type=private' -passin file:…`)",
        libp11_dgst,
    );
    let c = cost(
        env,
        "jpki-sign cert auth",
        Command::new(env.bin.join("jpki-sign")).args([
            "cert",
            "auth",
            "-o",
            &env.s("auth.pem"),
            "--force",
        ]),
    );
    row(
        "read the auth certificate",
        "jpki-sign (`cert auth`)",
        Ok(c),
    );
    let c = cost(
        env,
        "pkcs15-tool --read-certificate",
        Command::new("pkcs15-tool").args(["--read-certificate", "01", "-o", &env.s("p15.pem")]),
    );
    row(
        "read the auth certificate",
        "OpenSC (`pkcs15-tool --read-certificate`)",
        Ok(c),
    );
    let c = cost(
        env,
        "openssl cms -sign (provider)",
        env.openssl()
            .args(["cms", "-sign"])
            .args(p)
            .args(["-binary", "-in", &env.s("doc.txt"), "-signer", sign_key])
            .args([
                "-inkey",
                "jpki:sign",
                "-outform",
                "DER",
                "-out",
                &env.s("doc.p7s"),
            ]),
    );
    row(
        "CMS with the sign key (cert + key + signature)",
        "jpki provider (`openssl cms -sign`)",
        Ok(c),
    );
    let c = cost(
        env,
        "jpki-sign cms sign",
        Command::new(env.bin.join("jpki-sign")).args([
            "cms",
            "sign",
            "--detached",
            "--force",
            "--pin-file",
            &env.s("pw"),
            "-o",
            &env.s("cli.p7s"),
            &env.s("doc.txt"),
        ]),
    );
    row(
        "CMS with the sign key (cert + key + signature)",
        "jpki-sign (`cms sign`)",
        Ok(c),
    );
    let libp11_cms = engine_cost(
        env,
        "openssl cms -sign -engine pkcs11",
        &mut engine_cms(env, k, "engine.p7s"),
    );
    let libp11_cms_works = libp11_cms.is_ok();
    row(
        "CMS with the sign key (cert + key + signature)",
        "OpenSC via libp11's engine (`openssl cms -sign -engine pkcs11 -keyform engine -inkey 'pkcs11:token=JPKI (Digital Signature PIN);id=%02;type=private' -signer sign.pem -passin file:…`)",
        libp11_cms,
    );
    let _ = writeln!(out);
    if !libp11_cms_works {
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
    Libp11 {
        dgst_works: libp11_dgst_works,
        cms_works: libp11_cms_works,
    }
}

/// Table 2: `openssl cms -sign` with the card through the provider, a software key
/// and libp11's engine.
fn cms_overhead(env: &Env, k: &Keys, libp11: &Libp11, out: &mut String) {
    let p = PROVIDERS;
    let sign_key = &k.sign_key;
    run(
        "software key",
        Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=soft",
            "-days",
            "1",
            "-keyout",
            &env.s("soft.key"),
            "-out",
            &env.s("soft.pem"),
        ]),
    );
    let (card_min, card_med) = timing("cms -sign with the card", || {
        let mut c = env.openssl();
        c.args(["cms", "-sign"])
            .args(p)
            .args(["-binary", "-in", &env.s("doc.txt"), "-signer", sign_key])
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
    let (soft_min, soft_med) = timing("cms -sign with a software key", || {
        let mut c = Command::new("openssl");
        c.args(["cms", "-sign", "-binary", "-in", &env.s("doc.txt")])
            .args(["-signer", &env.s("soft.pem"), "-inkey", &env.s("soft.key")])
            .args(["-outform", "DER", "-out", &env.s("soft.p7s")]);
        c
    });
    let _ = writeln!(
        out,
        "## 2. Provider overhead: `openssl cms -sign`, 64 KiB document\n"
    );
    let _ = writeln!(out, "{RUNS} runs after a warm-up; wall time in ms.\n");
    let _ = writeln!(out, "| key | min | median |");
    let _ = writeln!(out, "|---|---:|---:|");
    let _ = writeln!(
        out,
        "| card via jpki provider (`-signer/-inkey jpki:sign`) | {} | {} |",
        ms(card_min),
        ms(card_med)
    );
    let _ = writeln!(
        out,
        "| software RSA-2048 key (default provider) | {} | {} |",
        ms(soft_min),
        ms(soft_med)
    );
    engine_row(
        out,
        "`-keyform engine -inkey pkcs11:…`",
        libp11
            .cms_works
            .then(|| try_timing("cms -sign through libp11", || engine_cms(env, k, "e.p7s"))),
    );
    let ratio = card_med.as_secs_f64() / soft_med.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "\nRatio card/software (median): **{ratio:.2}×**. The difference is the card path: PC/SC \
         connection and transactions through pcscd, the simulator's APDU round trips, the PIN \
         counter queries and VERIFYs (see table 1), and the signature check against the \
         certificate that the provider does before returning each signature.\n"
    );
}

/// Table 2b: the auth key, the key libp11's engine can use without a terminal.
fn dgst_overhead(env: &Env, k: &Keys, libp11: &Libp11, out: &mut String) {
    let p = PROVIDERS;
    let passin = &k.passin;
    let (jp_min, jp_med) = timing("dgst -sign with the card (provider)", || {
        let mut c = env.openssl();
        c.args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin", passin])
            .args(p)
            .args(["-out", &env.s("t.sig"), &env.s("doc.txt")]);
        c
    });
    let (sw_min, sw_med) = timing("dgst -sign with a software key", || {
        let mut c = Command::new("openssl");
        c.args(["dgst", "-sha256", "-sign", &env.s("soft.key")])
            .args(["-out", &env.s("s.sig"), &env.s("doc.txt")]);
        c
    });
    let _ = writeln!(
        out,
        "### Auth key: `openssl dgst -sha256 -sign`, 64 KiB document\n"
    );
    let _ = writeln!(out, "| key | min | median |");
    let _ = writeln!(out, "|---|---:|---:|");
    let _ = writeln!(
        out,
        "| card via jpki provider (`-sign jpki:auth -passin file:…`) | {} | {} |",
        ms(jp_min),
        ms(jp_med)
    );
    engine_row(
        out,
        "`-keyform engine -sign pkcs11:…`",
        libp11.dgst_works.then(|| {
            try_timing("dgst -sign through libp11", || {
                engine_dgst(env, k, "t2.sig")
            })
        }),
    );
    let _ = writeln!(
        out,
        "| software RSA-2048 key (default provider) | {} | {} |\n",
        ms(sw_min),
        ms(sw_med)
    );
}
