//! Section 5 of `make bench`: one page load with TLS client authentication in headless
//! Chromium and Firefox ESR against nginx (`ssl_verify_client on`), with the card's auth key
//! through `libjpki-pkcs11.so`, through OpenSC's module, and with a software key in the NSS
//! database (the browser's own cost). The harness is the end-to-end tests' one
//! (`jpki_tests::browser`): private mount/PID namespaces, every run bounded.

use crate::fail;
use jpki_card_sim::Stats;
use jpki_tests::browser::{
    auto_select_policy, chromium, firefox, BrowserRun, NssDb, Site, TestPki, Tls,
};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const RUNS: usize = 3;
const LIMIT: Duration = Duration::from_secs(30);
/// OpenSC's tokens wait for a password dialog: this long is enough to see it.
const STUCK: Duration = Duration::from_secs(12);

#[derive(Clone, Copy, PartialEq)]
enum Key {
    Software,
    Jpki { pss: bool },
    OpenSc,
}

struct Bench {
    work: tempfile::TempDir,
    sim: PathBuf,
    module: PathBuf,
    pki: TestPki,
    env: Vec<(String, String)>,
}

pub fn benchmarks(bin: &Path, sim: &Path, out: &mut String) {
    let work = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
    let pki = TestPki::create(&work.path().join("pki"));
    std::fs::write(work.path().join("pin"), b"1234\n").unwrap_or_else(|e| fail(e));
    let b = Bench {
        env: vec![
            ("JPKI_READER".into(), "Virtual PCD 00 00".into()),
            (
                "JPKI_PKCS11_AUTH_PIN_SOURCE".into(),
                format!("file:{}", work.path().join("pin").display()),
            ),
            ("JPKI_PKCS11_AUTH_PIN_AT_SIGN".into(), "yes".into()),
            (
                "JPKI_PKCS11_CONF".into(),
                work.path().join("none.conf").display().to_string(),
            ),
        ],
        work,
        sim: sim.to_path_buf(),
        module: bin.join("libjpki_pkcs11.so"),
        pki,
    };
    let _ = writeln!(
        out,
        "## 6. A browser TLS handshake with client authentication\n\n\
         One headless page load (browser start to exit; Chromium `--dump-dom`, Firefox \
         `--screenshot`) against nginx with `ssl_verify_client on`; median of {RUNS} runs. \
         `libjpki-pkcs11.so` with `auth.pin-at-sign = yes` and `tokens = auth` (see README); APDUs, VERIFYs and signatures of the whole browser run. \
         The wall time is mostly the browser's own start-up: compare with the software key.\n"
    );
    let _ = writeln!(
        out,
        "| browser | key | TLS | APDUs | VERIFYs | signatures | wall s |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|");
    for browser in ["Chromium", "Firefox"] {
        for (key, tls) in [
            (Key::Software, Tls::V12),
            (Key::Jpki { pss: false }, Tls::V12),
            (Key::Jpki { pss: true }, Tls::Both),
            (Key::OpenSc, Tls::V12),
        ] {
            let _ = writeln!(out, "{}", b.row(browser, key, tls));
        }
    }
    let _ = writeln!(
        out,
        "\nOpenSC's JPKI tokens need `C_Login` without a protected authentication path: both \
         browsers wait for their password dialog, which a headless browser (or a kiosk) never \
         shows; no PIN reaches the card. On a desktop the user types the PIN into the browser.\n"
    );
}

impl Bench {
    fn row(&self, browser: &str, key: Key, tls: Tls) -> String {
        let (what, runs) = match key {
            Key::Software => ("software RSA-2048 key (NSS database)", RUNS),
            Key::Jpki { pss: false } => ("card via `libjpki-pkcs11.so`", RUNS),
            Key::Jpki { pss: true } => ("card via `libjpki-pkcs11.so`, `pss = yes`", RUNS),
            Key::OpenSc => ("card via OpenSC `opensc-pkcs11.so`", 1),
        };
        let tls_s = match tls {
            Tls::V12 => "1.2",
            Tls::Both => "1.3",
        };
        let mut times = Vec::new();
        let mut last = None;
        for i in 0..runs {
            let (r, d, page) = self.once(browser, key, tls, &format!("{browser}-{i}"));
            if page.is_none() {
                let why = if r.finished {
                    "no page: the handshake failed".to_string()
                } else {
                    format!(
                        "no handshake: waits for a password dialog ({} APDUs, {} VERIFYs in {} s)",
                        d.apdus,
                        d.verifies.values().sum::<u64>(),
                        r.elapsed.as_secs()
                    )
                };
                return format!("| {browser} | {what} | {tls_s} | {why} | | | |");
            }
            times.push(r.elapsed.as_secs_f64());
            last = Some(d);
        }
        times.sort_by(f64::total_cmp);
        let d = last.unwrap_or_default();
        format!(
            "| {browser} | {what} | {tls_s} | {} | {} | {} | {:.2} |",
            d.apdus,
            d.verifies.values().sum::<u64>(),
            d.signatures,
            times[times.len() / 2]
        )
    }

    /// One run: the browser's result, the card's counters for it, the page request line.
    fn once(
        &self,
        browser: &str,
        key: Key,
        tls: Tls,
        tag: &str,
    ) -> (BrowserRun, Stats, Option<String>) {
        let dir = self.work.path().join(format!("{tag}-{}", label(key, tls)));
        let client_cas = match key {
            Key::Software => self.pki.file("client-ca.pem"),
            _ => self.sim.join("pki/auth-ca.pem"),
        };
        let site = Site::start(&dir.join("nginx"), &self.pki, &client_cas, tls);
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Key::Jpki { pss: true } = key {
            env.push(("JPKI_PKCS11_PSS", "yes"));
        }
        // Only the auth token: a browser stops at every token that needs a login.
        env.push(("JPKI_PKCS11_TOKENS", "auth"));
        let home = dir.join("home");
        let db_dir = if browser == "Chromium" {
            home.join(".pki/nssdb")
        } else {
            home.join("profile")
        };
        let db = NssDb::create(&db_dir, &self.pki);
        match key {
            Key::Software => db.import_software_key(&self.pki),
            Key::Jpki { .. } => {
                db.add_module("jpki", &self.module, &env);
            }
            Key::OpenSc => db.add_module("opensc", Path::new(crate::OPENSC), &[]),
        }
        let limit = if key == Key::OpenSc { STUCK } else { LIMIT };
        let before = self.stats();
        let r = if browser == "Chromium" {
            chromium(
                &home,
                &site.url(),
                Some(&auto_select_policy(&site.url())),
                &env,
                limit,
            )
        } else {
            firefox(&home, &db_dir, &site.url(), &env, limit)
        };
        let after = self.stats();
        let d = Stats {
            apdus: after.apdus - before.apdus,
            signatures: after.signatures - before.signatures,
            verifies: after
                .verifies
                .iter()
                .map(|(p, n)| (*p, n - before.verifies.get(p).copied().unwrap_or(0)))
                .collect(),
            ..Stats::default()
        };
        let page = site.page_request().filter(|l| l.starts_with("/ 200 "));
        (r, d, page)
    }

    fn stats(&self) -> Stats {
        Stats::load(&self.sim.join("stats.json")).unwrap_or_default()
    }
}

fn label(key: Key, tls: Tls) -> String {
    let k = match key {
        Key::Software => "soft",
        Key::Jpki { pss: false } => "jpki",
        Key::Jpki { pss: true } => "jpki-pss",
        Key::OpenSc => "opensc",
    };
    format!("{k}-{tls:?}")
}
