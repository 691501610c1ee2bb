//! TLS client authentication with the card's auth key through the provider: `openssl
//! s_client` → `openssl s_server`, curl 7.88 → nginx 1.22, and nginx as the client of an
//! upstream that demands a certificate. Loopback only, free ports, every server stopped by a
//! drop guard.
//!
//! TLS 1.3 needs RSA-PSS: tested both with the card's PSS mode enabled (`pss=card`) and
//! without it (the handshake fails with advice to cap at TLS 1.2).

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const P: [&str; 4] = ["-provider", "jpki", "-provider", "default"];

/// A server process, killed when dropped.
struct Daemon {
    child: Child,
    what: &'static str,
}

impl Daemon {
    fn spawn(what: &'static str, cmd: &mut Command, port: u16) -> Daemon {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        let mut d = Daemon { child, what };
        wait_until(what, Duration::from_secs(20), || {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("{} exited early: {st}", d.what);
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        d
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master then stops its workers (a SIGKILLed master would leave
        // them running, orphaned). SIGKILL only if it does not go within a few seconds.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory with a server certificate (software key) and the PIN file.
struct Tls(Scratch);

impl std::ops::Deref for Tls {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        &self.0
    }
}

impl Tls {
    fn new() -> Tls {
        let t = Tls(Scratch::new());
        let o = run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
            "-keyout",
            &t.s("srv.key"),
            "-out",
            &t.s("srv.pem"),
        ]));
        ok(&o);
        t.write("pin", b"1234\n");
        t
    }

    /// `openssl s_server` demanding a client certificate from the test auth CA.
    fn s_server(&self, port: u16, log: &str) -> Daemon {
        let out = std::fs::File::create(self.path(log)).expect("log");
        let err = out.try_clone().expect("log");
        Daemon::spawn(
            "openssl s_server",
            Command::new("openssl")
                .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
                .args(["-cert", &self.s("srv.pem"), "-key", &self.s("srv.key")])
                .args(["-Verify", "1", "-CAfile"])
                .arg(pki_file("auth-ca.pem"))
                .arg("-www")
                .stdout(out)
                .stderr(err),
            port,
        )
    }

    fn s_client(&self, port: u16, args: &[&str]) -> Output {
        run_with_input(
            openssl()
                // -ign_eof: read the server's whole answer after the request on stdin.
                .args([
                    "s_client",
                    "-ign_eof",
                    "-connect",
                    &format!("127.0.0.1:{port}"),
                ])
                .args(P)
                .arg("-cert")
                .arg(pki_file("auth.pem"))
                .args(["-pass", &format!("file:{}", self.s("pin"))])
                .args(["-CAfile", &self.s("srv.pem")])
                .args(args),
            b"GET / HTTP/1.0\r\n\r\n",
        )
    }

    /// A PEM-URI key file for the auth key.
    fn uri_key(&self, name: &str, uri: &str) -> String {
        let o = run(Command::new(bin("jpki-sign")).args(["uri-key", uri, "-o", &self.s(name)]));
        ok(&o);
        self.s(name)
    }
}

/// The auth certificate's serial as s_server prints it in its status page.
fn auth_subject_cn() -> String {
    let o = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "multiline", "-in"])
        .arg(pki_file("auth.pem")));
    stdout(&o)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("commonName")
                .map(|v| v.trim_start_matches([' ', '=']).to_string())
        })
        .expect("CN of the auth certificate")
}

#[test]
fn s_client_authenticates_with_the_card_over_tls12() {
    let t = Tls::new();
    let port = free_port();
    let _srv = t.s_server(port, "server.log");
    let o = t.s_client(
        port,
        &[
            "-key",
            "jpki:auth",
            "-tls1_2",
            "-sigalgs",
            "RSA+SHA256:RSA+SHA384",
        ],
    );
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("Protocol  : TLSv1.2"), "{out}");
    // s_server -www sends back what it saw; the client certificate is the card's.
    assert!(out.contains("Client certificate"), "{out}");
    assert!(
        out.contains(&auth_subject_cn()),
        "server saw the card's certificate:\n{out}"
    );
}

#[test]
fn tls13_without_card_pss_fails_with_advice_and_with_pss_succeeds() {
    let t = Tls::new();
    let port = free_port();
    let _srv = t.s_server(port, "server.log");
    let o = t.s_client(port, &["-key", "jpki:auth", "-tls1_3"]);
    assert!(!o.status.success() || !stdout(&o).contains("Client certificate"));
    let err = stderr(&o);
    assert!(err.contains("cap the connection at TLS 1.2"), "{err}");
    assert!(err.contains("pss = card"), "{err}");

    let before = main_stats().signatures;
    let o = t.s_client(port, &["-key", "jpki:auth?pss=card", "-tls1_3"]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("TLSv1.3"), "{out}");
    assert!(out.contains(&auth_subject_cn()), "{out}");
    assert_eq!(
        main_stats().signatures,
        before + 1,
        "one PSS signature by the card"
    );
}

/// nginx with its own prefix, config and logs under `dir`.
fn nginx(dir: &Path, conf_body: &str, port: u16, env: &[(&str, &Path)]) -> Daemon {
    for d in ["logs", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).expect("nginx dirs");
    }
    let conf = dir.join("nginx.conf");
    let user = if is_root() { "user root;" } else { "" };
    std::fs::write(
        &conf,
        format!(
            "{user}\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;\n\
             uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n{conf_body}\n}}\n",
            d = dir.display()
        ),
    )
    .expect("nginx.conf");
    let mut cmd = Command::new("/usr/sbin/nginx");
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .args(["-e", &format!("{}/logs/error.log", dir.display())]);
    cmd.env_remove("OPENSSL_CONF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    Daemon::spawn("nginx", &mut cmd, port)
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).stdout.starts_with(b"0\n")
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    use std::io::Write;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("write");
    let mut r = String::new();
    let _ = s.read_to_string(&mut r);
    r
}

#[test]
fn curl_presents_the_card_key_to_nginx() {
    let t = Tls::new();
    let port = free_port();
    let ng = t.path("ngx");
    let _nginx = nginx(
        &ng,
        &format!(
            "log_format cert '$status $ssl_client_verify \"$ssl_client_s_dn\"';\n\
             server {{\n listen 127.0.0.1:{port} ssl;\n access_log {d}/logs/access.log cert;\n\
             ssl_certificate {srv}; ssl_certificate_key {key};\n\
             ssl_client_certificate {ca}; ssl_verify_client on;\n\
             location / {{ return 200 \"hello $ssl_client_s_dn_legacy\\n\"; }}\n}}",
            d = ng.display(),
            srv = t.s("srv.pem"),
            key = t.s("srv.key"),
            ca = pki_file("auth-ca.pem").display()
        ),
        port,
        &[],
    );
    let key = t.uri_key("auth-key.pem", "jpki:auth");
    let o = run(Command::new("curl")
        .env("OPENSSL_CONF", conf_file("jpki-tls12.cnf"))
        .env("OPENSSL_MODULES", provider_modules())
        .args(["-sS", "--fail", "--cacert", &t.s("srv.pem")])
        .arg("--cert")
        .arg(pki_file("auth.pem"))
        .args(["--key", &key, "--pass", "1234"])
        .arg(format!("https://127.0.0.1:{port}/")));
    ok(&o);
    assert!(stdout(&o).starts_with("hello "), "{}", stdout(&o));
    let log = std::fs::read_to_string(ng.join("logs/access.log")).expect("access log");
    assert!(log.contains("200 SUCCESS"), "{log}");
    assert!(log.contains(&auth_subject_cn()), "{log}");
}

#[test]
fn curl_with_a_wrong_pin_fails_clearly_and_spends_one_try() {
    let sim = SecondSim::start(&[]);
    let t = Tls::new();
    let port = free_port();
    let _srv = t.s_server(port, "server.log");
    let key = t.uri_key("auth-key.pem", "jpki:auth?reader=Virtual%20PCD%2000%2001");
    let o = run(Command::new("curl")
        .env("OPENSSL_CONF", conf_file("jpki-tls12.cnf"))
        .env("OPENSSL_MODULES", provider_modules())
        .args(["-sS", "--cacert", &t.s("srv.pem")])
        .arg("--cert")
        .arg(pki_file("auth.pem"))
        .args(["--key", &key, "--pass", "9876"])
        .arg(format!("https://127.0.0.1:{port}/")));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("wrong auth PIN") && err.contains("2 tries left"),
        "{err}"
    );
    assert_eq!(sim.tries(PinId::Auth), 2);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
}

#[test]
fn nginx_authenticates_to_an_upstream_with_the_card_and_survives_reload() {
    let t = Tls::new();
    let up = free_port();
    let _upstream = t.s_server(up, "upstream.log");
    let port = free_port();
    let ng = t.path("ngx");
    let key = t.uri_key(
        "auth-key.pem",
        &format!("jpki:auth?pin-source=file:{}", t.s("pin")),
    );
    let modules = provider_modules();
    let conf = conf_file("jpki.cnf");
    let nginx = nginx(
        &ng,
        &format!(
            "server {{\n listen 127.0.0.1:{port};\n access_log off;\n\
             location / {{\n  proxy_pass https://127.0.0.1:{up};\n\
             proxy_ssl_certificate {cert}; proxy_ssl_certificate_key {key};\n\
             proxy_ssl_protocols TLSv1.2; proxy_ssl_session_reuse off;\n\
             proxy_ssl_conf_command SignatureAlgorithms RSA+SHA256:RSA+SHA384:RSA+SHA512;\n }}\n}}",
            cert = pki_file("auth.pem").display(),
        ),
        port,
        &[("OPENSSL_CONF", &conf), ("OPENSSL_MODULES", &modules)],
    );
    let before = main_stats();
    let r = http_get(port, "/");
    assert!(
        r.starts_with("HTTP/1.1 200"),
        "{r}\n{}",
        t.text("ngx/logs/error.log")
    );
    assert!(
        r.contains(&auth_subject_cn()),
        "upstream saw the card's certificate:\n{r}"
    );
    // Reload: the master re-reads the config and forks new workers, which reconnect to the card.
    let o = run(Command::new("/usr/sbin/nginx")
        .env("OPENSSL_CONF", &conf)
        .env("OPENSSL_MODULES", &modules)
        .arg("-p")
        .arg(&ng)
        .arg("-c")
        .arg(ng.join("nginx.conf"))
        .args([
            "-e",
            &format!("{}/logs/error.log", ng.display()),
            "-s",
            "reload",
        ]));
    ok(&o);
    let mut r = String::new();
    wait_until("nginx after reload", Duration::from_secs(20), || {
        r = http_get(port, "/");
        r.starts_with("HTTP/1.1 200")
    });
    assert!(r.contains(&auth_subject_cn()), "{r}");
    let after = main_stats();
    assert!(
        after.signatures >= before.signatures + 2,
        "{before:?} {after:?}"
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
    drop(nginx);
}

#[test]
fn nginx_with_a_wrong_pin_in_its_pin_source_stops_with_a_clear_error() {
    let sim = SecondSim::start(&[]);
    let t = Tls::new();
    t.write("badpin", b"9876\n");
    let ng = t.path("ngx");
    std::fs::create_dir_all(ng.join("logs")).expect("logs");
    std::fs::create_dir_all(ng.join("tmp")).expect("tmp");
    let key = t.uri_key(
        "auth-key.pem",
        &format!(
            "jpki:auth?reader=Virtual%20PCD%2000%2001&pin-source=file:{}",
            t.s("badpin")
        ),
    );
    let conf = ng.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\nevents {{}}\n\
             http {{ client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp;\n\
             server {{ listen 127.0.0.1:{port}; access_log off;\n\
             location / {{ proxy_pass https://127.0.0.1:9;\n\
             proxy_ssl_certificate {cert}; proxy_ssl_certificate_key {key}; }} }} }}\n",
            d = ng.display(),
            port = free_port(),
            cert = pki_file("auth.pem").display(),
        ),
    )
    .expect("conf");
    // nginx loads proxy_ssl_certificate_key at start-up: a wrong PIN must stop it there, with
    // the reason in its output, not leave it running (or hanging on a prompt).
    let o = run(Command::new("/usr/sbin/nginx")
        .env("OPENSSL_CONF", conf_file("jpki.cnf"))
        .env("OPENSSL_MODULES", provider_modules())
        .arg("-p")
        .arg(&ng)
        .arg("-c")
        .arg(&conf)
        .args(["-e", &format!("{}/logs/error.log", ng.display())]));
    assert!(!o.status.success());
    let all = format!(
        "{}{}{}",
        stderr(&o),
        stdout(&o),
        t.text("ngx/logs/error.log")
    );
    assert!(
        all.contains("wrong auth PIN") && all.contains("2 tries left"),
        "{all}"
    );
    assert_eq!(sim.tries(PinId::Auth), 2);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
}
