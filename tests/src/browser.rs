//! Real browsers doing TLS client authentication: headless Chromium and Firefox ESR against
//! nginx with `ssl_verify_client on`, each with its own NSS database holding a PKCS#11 module
//! (or a software key).
//!
//! What it provides: a throw-away PKI for the server (and a software client key), a [`Site`]
//! (nginx on a free loopback port whose page shows `$ssl_client_s_dn` and reports back that the
//! browser rendered it), an NSS database ([`NssDb`]), and bounded browser runs
//! ([`chromium`], [`firefox`]).
//!
//! What it refuses to do: write outside temporary directories. Chromium reads its managed
//! policies only from `/etc/chromium/policies/managed`, so every browser runs in private mount
//! and PID namespaces (`unshare`): a tmpfs over `/etc/chromium` holds the policy, and killing
//! the namespace's first process on a timeout takes every browser process with it. Needs root
//! (as `scripts/isolate.sh` does).

use crate::{free_port, ok, run, stdout};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// OpenSC's PKCS#11 module (Debian `opensc`).
pub const OPENSC_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

/// The server side PKI of a test: a server CA, a leaf for `127.0.0.1` (Firefox refuses a CA
/// certificate as a server's own), and a software client key from a client CA.
pub struct TestPki {
    dir: PathBuf,
}

impl TestPki {
    /// Makes the keys and certificates in `dir` with the `openssl` command line.
    pub fn create(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("pki dir");
        let p = TestPki {
            dir: dir.to_path_buf(),
        };
        p.ca("server-ca", "/CN=jpki test server CA");
        p.leaf(
            "server",
            "/CN=127.0.0.1",
            "server-ca",
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
        );
        p.ca("client-ca", "/CN=jpki test client CA");
        p.leaf(
            "client",
            "/C=JP/CN=software client",
            "client-ca",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
        );
        ok(&run(Command::new("openssl")
            .args(["pkcs12", "-export", "-name", "software client"])
            .args(["-passout", "pass:test", "-in"])
            .arg(p.file("client.pem"))
            .arg("-inkey")
            .arg(p.file("client.key"))
            .arg("-out")
            .arg(p.file("client.p12"))));
        p
    }

    /// A file of this PKI (`server-ca.pem`, `server.pem`, `server.key`, `client-ca.pem`,
    /// `client.p12` with the password `test`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn ca(&self, name: &str, subject: &str) {
        ok(&run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", subject])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign"])
            .arg("-keyout")
            .arg(self.file(&format!("{name}.key")))
            .arg("-out")
            .arg(self.file(&format!("{name}.pem")))));
    }

    fn leaf(&self, name: &str, subject: &str, ca: &str, ext: &str) {
        let ext_file = self.file(&format!("{name}.ext"));
        std::fs::write(&ext_file, ext).expect("extensions file");
        let csr = self.file(&format!("{name}.csr"));
        ok(&run(Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject])
            .arg("-keyout")
            .arg(self.file(&format!("{name}.key")))
            .arg("-out")
            .arg(&csr)));
        ok(&run(Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-set_serial", "2", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(self.file(&format!("{ca}.pem")))
            .arg("-CAkey")
            .arg(self.file(&format!("{ca}.key")))
            .arg("-extfile")
            .arg(&ext_file)
            .arg("-out")
            .arg(self.file(&format!("{name}.pem")))));
    }
}

/// Which TLS versions nginx offers.
#[derive(Clone, Copy, Debug)]
pub enum Tls {
    /// `ssl_protocols TLSv1.2 TLSv1.3` (the browser picks 1.3).
    Both,
    /// `ssl_protocols TLSv1.2`: a site capped at TLS 1.2.
    V12,
}

/// nginx demanding a client certificate from `client_cas`, on a free loopback port. Its page
/// shows `$ssl_client_s_dn` in `<p id="dn">` and a script requests `/received?dn=…` with the
/// text the browser rendered; the access log has one line per request:
/// `URI STATUS PROTOCOL VERIFY "DN"`. Stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Site {
    child: Child,
    dir: PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Site {
    /// Starts nginx with its prefix, config and logs under `dir`.
    pub fn start(dir: &Path, pki: &TestPki, client_cas: &Path, tls: Tls) -> Site {
        for d in ["logs", "tmp"] {
            std::fs::create_dir_all(dir.join(d)).expect("nginx dirs");
        }
        let port = free_port();
        let protocols = match tls {
            Tls::Both => "TLSv1.2 TLSv1.3",
            Tls::V12 => "TLSv1.2",
        };
        let page = "<html><body><p id=\"dn\">$ssl_client_s_dn</p><script>fetch(\"/received?dn=\"\
                    +encodeURIComponent(document.getElementById(\"dn\").textContent))</script>\
                    </body></html>";
        let conf = format!(
            "{user}\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\n\
             error_log {d}/logs/error.log info;\nevents {{ worker_connections 64; }}\n\
             http {{\n client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp;\n\
             fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n\
             log_format cert '$request_uri $status $ssl_protocol $ssl_client_verify \"$ssl_client_s_dn\"';\n\
             server {{\n  listen 127.0.0.1:{port} ssl;\n  access_log {d}/logs/access.log cert;\n\
             ssl_certificate {srv}; ssl_certificate_key {key};\n  ssl_protocols {protocols};\n\
             ssl_client_certificate {ca}; ssl_verify_client on;\n\
             location = /received {{ return 204; }}\n\
             location = /favicon.ico {{ return 404; }}\n\
             location / {{ default_type text/html; return 200 '{page}'; }}\n }}\n}}\n",
            user = if is_root() { "user root;" } else { "" },
            d = dir.display(),
            srv = pki.file("server.pem").display(),
            key = pki.file("server.key").display(),
            ca = client_cas.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .args(["-e", &format!("{}/logs/error.log", dir.display())])
            .env_remove("OPENSSL_CONF")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut site = Site {
            child,
            dir: dir.to_path_buf(),
            port,
        };
        crate::wait_until("nginx", Duration::from_secs(20), || {
            if let Ok(Some(st)) = site.child.try_wait() {
                panic!("nginx exited early: {st}\n{}", site.error_log());
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        site
    }

    /// `https://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }

    /// The access log so far ("" before the first request).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/access.log")).unwrap_or_default()
    }

    /// nginx's error log (TLS handshake failures are logged at `info`).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }

    /// The access log line of the page request (`/ 200 …`), if the browser sent one.
    pub fn page_request(&self) -> Option<String> {
        self.access_log()
            .lines()
            .find(|l| l.starts_with("/ "))
            .map(str::to_string)
    }

    /// The DN the browser rendered and reported back through `/received`, decoded.
    pub fn rendered_dn(&self) -> Option<String> {
        self.access_log().lines().find_map(|l| {
            let q = l.strip_prefix("/received?dn=")?;
            let enc = q.split(' ').next()?;
            Some(percent_decode(enc))
        })
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker (a SIGKILLed master would orphan it).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).stdout.starts_with(b"0\n")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        });
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A certificate's subject as nginx's `$ssl_client_s_dn` prints it (RFC 2253).
pub fn subject_dn(cert_pem: &Path) -> String {
    let o = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(cert_pem));
    ok(&o);
    stdout(&o).trim().trim_start_matches("subject=").to_string()
}

/// An NSS database (`sql:`), created empty without a password, trusting the test server CA.
pub struct NssDb {
    /// The directory (`HOME/.pki/nssdb` for Chromium, the profile for Firefox).
    pub dir: PathBuf,
}

impl NssDb {
    /// A new database in `dir` (created if missing).
    pub fn create(dir: &Path, pki: &TestPki) -> NssDb {
        std::fs::create_dir_all(dir).expect("nss dir");
        let db = NssDb {
            dir: dir.to_path_buf(),
        };
        ok(&run(db.certutil().args(["-N", "--empty-password"])));
        ok(&run(db
            .certutil()
            .args(["-A", "-n", "jpki test server CA", "-t", "C,,", "-i"])
            .arg(pki.file("server-ca.pem"))));
        db
    }

    fn sql(&self) -> String {
        format!("sql:{}", self.dir.display())
    }

    fn certutil(&self) -> Command {
        let mut c = Command::new("certutil");
        c.args(["-d", &self.sql()]);
        c
    }

    /// Imports the software client key and certificate (`client.p12`).
    pub fn import_software_key(&self, pki: &TestPki) {
        ok(&run(Command::new("pk12util")
            .args(["-d", &self.sql(), "-W", "test", "-i"])
            .arg(pki.file("client.p12"))));
    }

    /// Registers a PKCS#11 module (`modutil -add`). modutil loads it once to check it; `env`
    /// is the environment it needs for that (its reader, its PIN source).
    pub fn add_module(&self, name: &str, lib: &Path, env: &[(&str, &str)]) {
        ok(&run(Command::new("modutil")
            .args(["-dbdir", &self.sql(), "-force", "-add", name, "-libfile"])
            .arg(lib)
            .envs(env.iter().copied())));
    }
}

/// How a bounded browser run ended.
#[derive(Debug)]
pub struct BrowserRun {
    /// Exited on its own (else it was killed at the timeout).
    pub finished: bool,
    /// Its exit status if it finished.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `script` (a `sh -c` text, arguments `$1…`) in private mount and PID namespaces, killed
/// with everything it started after `timeout`.
fn run_bounded(
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    dir: &Path,
    timeout: Duration,
) -> BrowserRun {
    let out_path = dir.join("browser.stdout");
    let err_path = dir.join("browser.stderr");
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut cmd = Command::new("unshare");
    // --kill-child: SIGKILL to the namespace's first process when unshare dies; the kernel then
    // kills every other process in the PID namespace.
    cmd.args([
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
        "sh",
        "-ec",
        script,
        "browser",
    ])
    .args(args)
    .envs(env.iter().copied())
    .stdin(Stdio::null())
    .stdout(out)
    .stderr(err)
    .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start unshare");
    let guard = KillGroup(Some(child.id()));
    let mut status = None;
    while start.elapsed() < timeout {
        if let Ok(Some(st)) = child.try_wait() {
            status = Some(st);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = start.elapsed();
    // Also after a normal exit: a browser helper that left the namespace's process group.
    drop(guard);
    let _ = child.wait();
    BrowserRun {
        finished: status.is_some(),
        code: status.and_then(|s| s.code()),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        elapsed,
    }
}

/// Kills a process group when dropped (also when a test panics mid-run).
struct KillGroup(Option<u32>);

impl Drop for KillGroup {
    fn drop(&mut self) {
        if let Some(pg) = self.0.take() {
            kill_group(pg);
        }
    }
}

fn kill_group(pg: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pg}")])
        .stderr(Stdio::null())
        .status();
}

/// Chromium's managed policy that picks the first certificate for `url` without a dialog.
pub fn auto_select_policy(url: &str) -> String {
    let origin = url.trim_end_matches('/');
    let rule = serde_json::json!({ "pattern": origin, "filter": {} }).to_string();
    serde_json::json!({ "AutoSelectCertificateForUrls": [rule] }).to_string()
}

/// Headless Chromium with `HOME=home` (its NSS database is `home/.pki/nssdb`), the managed
/// `policy` (JSON) if any, `--dump-dom url`; `env` for the PKCS#11 module it loads.
pub fn chromium(
    home: &Path,
    url: &str,
    policy: Option<&str>,
    env: &[(&str, &str)],
    timeout: Duration,
) -> BrowserRun {
    let policy_file = home.join("policy.json");
    if let Some(p) = policy {
        std::fs::write(&policy_file, p).expect("policy file");
    }
    let user_data = home.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&user_data);
    std::fs::create_dir_all(&user_data).expect("user data dir");
    // Chromium reads managed policies only from /etc/chromium/policies/managed: a tmpfs over
    // /etc/chromium in this private mount namespace, never a file in the real /etc.
    let script = r#"
mount -t tmpfs -o mode=0755 jpki-browser-test /etc/chromium
mkdir -p /etc/chromium/policies/managed
if [ -s "$3" ]; then cp "$3" /etc/chromium/policies/managed/jpki-test.json; fi
exec chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$2" --dump-dom "$1"
"#;
    let home_s = home.display().to_string();
    let cache = format!("{home_s}/.cache");
    let config = format!("{home_s}/.config");
    let mut all_env = vec![
        ("HOME", home_s.as_str()),
        ("XDG_CACHE_HOME", cache.as_str()),
        ("XDG_CONFIG_HOME", config.as_str()),
    ];
    all_env.extend_from_slice(env);
    let pol_s = if policy.is_some() {
        policy_file.display().to_string()
    } else {
        String::new()
    };
    run_bounded(
        script,
        &[url, &user_data.display().to_string(), &pol_s],
        &all_env,
        home,
        timeout,
    )
}

/// Prefs of a Firefox profile for the tests: the client certificate chosen without a dialog,
/// and nothing that reaches for the network on its own.
pub const FIREFOX_USER_JS: &str = r#"user_pref("security.default_personal_cert", "Select Automatically");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("security.OCSP.enabled", 0);
user_pref("services.settings.server", "");
"#;

/// Headless Firefox ESR with the profile `profile` (an [`NssDb`] directory; `user.js` is
/// written here), `--screenshot` of `url`: it exits once the page has loaded.
pub fn firefox(
    home: &Path,
    profile: &Path,
    url: &str,
    env: &[(&str, &str)],
    timeout: Duration,
) -> BrowserRun {
    std::fs::write(profile.join("user.js"), FIREFOX_USER_JS).expect("user.js");
    let shot = home.join("screenshot.png");
    let script = r#"exec firefox-esr --headless --no-remote --profile "$1" --screenshot "$2" "$3""#;
    let home_s = home.display().to_string();
    let cache = format!("{home_s}/.cache");
    let config = format!("{home_s}/.config");
    let mut all_env = vec![
        ("HOME", home_s.as_str()),
        ("XDG_CACHE_HOME", cache.as_str()),
        ("XDG_CONFIG_HOME", config.as_str()),
        ("MOZ_HEADLESS", "1"),
    ];
    all_env.extend_from_slice(env);
    run_bounded(
        script,
        &[
            &profile.display().to_string(),
            &shot.display().to_string(),
            url,
        ],
        &all_env,
        home,
        timeout,
    )
}
