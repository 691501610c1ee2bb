//! `jpki-sign gui` in a real browser (headless chromium via chromedriver)
//! against the simulated card in the second reader, and its security rules
//! with plain HTTP requests that must be refused.
//!
//! Browser flows: sign with a visible stamp and a seal image, download, check
//! with pdfsig and `jpki-sign verify`; a wrong password shows the tries left
//! and spends exactly one; the card pulled mid-signature shows the error and
//! no file comes out; verify a good and an attacked PDF; the page in Japanese;
//! PDFs dropped onto the drop zones (a script-built `DataTransfer` through the
//! page's own drop handlers); refused uploads explained in the page's language.
//! Screenshots of the main screens go to `target/gui-screenshots/`.

use jpki_card_sim::PinId;
use jpki_tests::pdf::{
    assert_pdfsig_all_valid, dark_pixels, minimal_pdf, minimal_pdf_with, stream_object,
};
use jpki_tests::webdriver::Browser;
use jpki_tests::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "abc123";

/// A running `jpki-sign gui --no-open` on the second reader, with its own
/// TMPDIR (to show it leaves nothing there) and its stderr in a file.
struct Gui {
    child: Child,
    url: String,
    port: u16,
    tmp: tempfile::TempDir,
    logdir: tempfile::TempDir,
}

impl Gui {
    fn start(extra: &[&str]) -> Gui {
        Gui::start_with_ca(Some(&pki_file("sign-ca.pem")), extra)
    }

    /// Without `ca`, verification trusts the sign CA read from the card.
    fn start_with_ca(ca: Option<&Path>, extra: &[&str]) -> Gui {
        let tmp = tempfile::tempdir().expect("tempdir");
        let logdir = tempfile::tempdir().expect("tempdir");
        let log = logdir.path().join("gui.log");
        let mut cmd = jpki_sign_second();
        cmd.args(["gui", "--no-open"]);
        if let Some(ca) = ca {
            cmd.arg("--ca").arg(ca);
        }
        let mut child = cmd
            .args(extra)
            .env("TMPDIR", tmp.path())
            .env("JPKI_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start jpki-sign gui");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the URL line");
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "first line: {url:?}");
        let port = url["http://127.0.0.1:".len()..]
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in the URL");
        Gui {
            child,
            url,
            port,
            tmp,
            logdir,
        }
    }

    fn token(&self) -> &str {
        self.url.split("?t=").nth(1).expect("token in the URL")
    }

    fn cookie(&self) -> String {
        format!("jpki_gui_{}={}", self.port, self.token())
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Files the server left in its TMPDIR.
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.tmp.path())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.logdir.path().join("gui.log")).unwrap_or_default()
    }

    /// Waits for the server to exit on its own.
    fn wait_exit(&mut self, within: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Gui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shots() -> PathBuf {
    bin_dir().parent().expect("target").join("gui-screenshots")
}

/// A 64×64 red seal (PNG).
fn seal_png(path: &Path) {
    let f = std::fs::File::create(path).expect("seal file");
    let mut e = png::Encoder::new(f, 64, 64);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().expect("png header");
    let mut px = Vec::with_capacity(64 * 64 * 4);
    for y in 0..64i32 {
        for x in 0..64i32 {
            let d = (x - 32) * (x - 32) + (y - 32) * (y - 32);
            let ring = (26 * 26..=31 * 31).contains(&d) || (d < 12 * 12);
            px.extend(if ring {
                [200, 30, 30, 255]
            } else {
                [0, 0, 0, 0]
            });
        }
    }
    w.write_image_data(&px).expect("png data");
}

/// Opens the page and waits until the card panel shows the sign password's tries.
fn open_page(b: &Browser, gui: &Gui) -> u64 {
    b.goto(&gui.url);
    let v = b.wait_for(
        "the card panel",
        "const e = document.getElementById('pin-sign'); return e && e.dataset.tries;",
    );
    let url = b.script("return location.href;", json!([]));
    assert_eq!(
        url,
        json!(format!("{}/", gui.origin())),
        "the token must leave the address bar"
    );
    v.as_str().and_then(|s| s.parse().ok()).expect("tries")
}

/// Chooses `pdf`, types `password`, clicks Sign and accepts the privacy notice.
fn sign_in_page(b: &Browser, pdfs: &[&Path], password: &str, shot: Option<&str>) {
    b.click("#tab-sign");
    let paths: Vec<String> = pdfs.iter().map(|p| p.display().to_string()).collect();
    b.type_into("#sign-files", &paths.join("\n"));
    b.type_into("#sign-password", password);
    b.click("#sign-go");
    b.wait_for(
        "the privacy notice",
        "return document.getElementById('privacy').open;",
    );
    if let Some(name) = shot {
        b.screenshot(&shots().join(name));
    }
    let notice = b.script(
        "return document.getElementById('privacy').innerText;",
        json!([]),
    );
    assert!(
        notice.as_str().unwrap_or("").contains("date of birth"),
        "{notice}"
    );
    b.click("#privacy-ok");
}

/// Waits for the sign result or error: (results, error text).
fn sign_outcome(b: &Browser) -> Value {
    b.wait_for(
        "the signing result",
        "const r = document.querySelectorAll('#sign-results .result');
         const e = document.getElementById('sign-error');
         if (r.length) return {valid: r[0].dataset.valid, text: r[0].innerText};
         if (!e.hidden) return {error: e.innerText};
         return null;",
    )
}

fn sign_stats(sim: &SecondSim) -> (u64, u64) {
    let st = sim.stats();
    (
        st.verifies.get(&PinId::Sign).copied().unwrap_or(0),
        st.failed_verifies.get(&PinId::Sign).copied().unwrap_or(0),
    )
}

#[test]
fn gui_signs_a_pdf_with_a_stamp_and_the_download_verifies() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let work = Scratch::new();
    let input = work.write("申請書.pdf", &minimal_pdf("1.7"));
    let seal = work.path("seal.png");
    seal_png(&seal);
    let b = Browser::start("en-US");
    assert_eq!(open_page(&b, &gui), 5);
    b.screenshot(&shots().join("card.png"));

    b.type_into("#sign-files", &input.display().to_string());
    b.type_into("#reason", "approved");
    b.click("#stamp");
    b.type_into("#seal", &seal.display().to_string());
    // The server renders the page; a click on it places the box (centred there).
    b.wait_for(
        "the page preview",
        "const i = document.getElementById('stamp-img'); return !i.hidden && i.complete && i.naturalWidth > 0;",
    );
    b.click("#stamp-preview");
    let xy = b.script(
        "return [document.getElementById('stamp-pos').value,
                 Number(document.getElementById('stamp-x').value),
                 Number(document.getElementById('stamp-y').value)];",
        json!([]),
    );
    assert_eq!(xy[0], json!("custom"), "{xy}");
    // The middle of the A4 page: (297.5 - 110, 421 - 27), give or take the rendering's rounding.
    let (x, y) = (xy[1].as_u64().unwrap_or(0), xy[2].as_u64().unwrap_or(0));
    assert!((180..=195).contains(&x) && (385..=400).contains(&y), "{xy}");
    b.screenshot(&shots().join("sign-form.png"));
    b.type_into("#sign-password", PASSWORD);
    b.click("#sign-go");
    b.wait_for(
        "the privacy notice",
        "return document.getElementById('privacy').open;",
    );
    b.screenshot(&shots().join("privacy.png"));
    b.click("#privacy-ok");
    let out = sign_outcome(&b);
    assert_eq!(out["valid"], json!("true"), "{out}");
    let text = out["text"].as_str().unwrap_or("");
    assert!(text.contains("VALID"), "{text}");
    assert!(text.contains("chains to trusted CA"), "{text}");
    b.screenshot(&shots().join("sign-result.png"));

    // The password field was emptied as the request was built.
    let pw = b.script(
        "return document.getElementById('sign-password').value;",
        json!([]),
    );
    assert_eq!(pw, json!(""));

    let signed = b.downloaded("申請書-signed.pdf");
    assert_pdfsig_all_valid(&signed, 1);
    assert_jpki_sign_verifies(&signed);
    // The stamp sits where the preview was clicked, where the input is blank.
    let (x, y) = (x as usize, y as usize);
    let stamp = [x, y, x + 220, y + 54];
    assert_eq!(dark_pixels(&input, stamp), 0);
    assert!(dark_pixels(&signed, stamp) > 100, "no visible stamp");

    assert_eq!(sign_stats(&sim), (1, 0), "exactly one VERIFY, accepted");
    assert_eq!(sim.stats().signatures, 1);
    // A second download of the same file is refused (served once).
    let again = b.script(
        "return fetch(document.querySelector('a.download').href).then(r => r.status);",
        json!([]),
    );
    assert_eq!(again, json!(404));
    assert!(
        gui.leftovers().is_empty(),
        "left behind: {:?}",
        gui.leftovers()
    );
    let log = gui.log();
    assert!(!log.contains(gui.token()), "token in the log:\n{log}");
    assert!(
        !log.to_uppercase().contains("ABC123"),
        "password in the log"
    );
}

#[test]
fn gui_wrong_password_shows_tries_left_and_spends_exactly_one() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let work = Scratch::new();
    let input = work.write("doc.pdf", &minimal_pdf("1.7"));
    let b = Browser::start("en-US");
    assert_eq!(open_page(&b, &gui), 5);
    sign_in_page(&b, &[&input], "abc124", None);
    let out = sign_outcome(&b);
    let err = out["error"].as_str().unwrap_or_default();
    assert!(err.contains("wrong sign password"), "{out}");
    assert!(err.contains('4'), "tries left must be shown: {err}");
    b.screenshot(&shots().join("wrong-password.png"));
    assert_eq!(sign_stats(&sim), (1, 1), "exactly one VERIFY, refused");
    assert_eq!(sim.tries(PinId::Sign), 4);
    assert_eq!(sim.stats().signatures, 0);
    // The panel follows the card.
    b.wait_for(
        "the panel to show 4 tries",
        "const e = document.getElementById('pin-sign'); return e && e.dataset.tries === '4';",
    );
    assert_eq!(sign_stats(&sim), (1, 1), "showing the tries spends none");
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

#[test]
fn gui_refuses_the_last_try_unless_ticked() {
    let sim = SecondSim::start(&["--sign-tries", "1"]);
    let gui = Gui::start(&[]);
    let work = Scratch::new();
    let input = work.write("doc.pdf", &minimal_pdf("1.7"));
    let b = Browser::start("en-US");
    assert_eq!(open_page(&b, &gui), 1);
    let warning = b.script(
        "return document.getElementById('pin-sign').innerText;",
        json!([]),
    );
    assert!(
        warning.as_str().unwrap_or("").contains("blocks"),
        "{warning}"
    );
    sign_in_page(&b, &[&input], PASSWORD, None);
    let out = sign_outcome(&b);
    let err = out["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("Use my last try"),
        "the page says what to do: {out}"
    );
    assert_eq!(sign_stats(&sim), (0, 0), "the last try must not be sent");
    // Ticked: it goes through (once).
    b.type_into("#sign-password", PASSWORD);
    b.click("#sign-last");
    b.click("#sign-go");
    let out = sign_outcome(&b);
    assert_eq!(out["valid"], json!("true"), "{out}");
    assert_eq!(sign_stats(&sim), (1, 0));
}

#[test]
fn gui_card_pulled_mid_signature_shows_the_error_and_writes_nothing() {
    let sim = SecondSim::start(&["--pull-on", "sign", "--reinsert-after-ms", "600"]);
    let gui = Gui::start(&[]);
    let work = Scratch::new();
    let input = work.write("doc.pdf", &minimal_pdf("1.7"));
    let b = Browser::start("en-US");
    assert_eq!(open_page(&b, &gui), 5);
    sign_in_page(&b, &[&input], PASSWORD, None);
    let out = sign_outcome(&b);
    let err = out["error"].as_str().unwrap_or_default();
    assert!(err.contains("removed"), "{out}");
    b.screenshot(&shots().join("card-pulled.png"));
    assert_eq!(sim.stats().faults, 1, "the fault must have fired");
    assert_eq!(sign_stats(&sim).1, 0, "no try spent");
    let links = b.script(
        "return document.querySelectorAll('a.download').length;",
        json!([]),
    );
    assert_eq!(links, json!(0));
    assert!(b.downloads().is_empty(), "downloaded: {:?}", b.downloads());
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

/// `signed` with an unsigned incremental update appended: the attack corpus's
/// incremental saving attack (bytes after the last signature).
fn with_unsigned_update(signed: &[u8]) -> Vec<u8> {
    let start = signed.len();
    let mut b = signed.to_vec();
    b.extend_from_slice(b"\n4 0 obj\n<< /Length 44 >>\nstream\nBT /F1 24 Tf 72 720 Td (Pay 1,000,000) Tj ET\nendstream\nendobj\n");
    let xref = b.len();
    b.extend_from_slice(
        format!("xref\n4 1\n{:010} 00000 n \ntrailer\n<< /Size 6 /Root 1 0 R /Prev {} >>\nstartxref\n{xref}\n%%EOF\n", start + 1, last_startxref(signed))
            .as_bytes(),
    );
    b
}

fn last_startxref(pdf: &[u8]) -> usize {
    let s = String::from_utf8_lossy(pdf);
    let at = s.rfind("startxref").expect("startxref");
    s[at + 9..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("startxref offset")
}

#[test]
fn gui_verifies_a_good_and_an_attacked_pdf() {
    let _sim = SecondSim::start(&[]);
    let work = Scratch::new();
    let input = work.write("doc.pdf", &minimal_pdf("1.7"));
    ok(&run_with_input(
        jpki_sign_second()
            .args(["--pin-file", "-", "sign"])
            .arg(&input),
        b"abc123\n",
    ));
    let good = work.path("doc-signed.pdf");
    let attacked = work.write(
        "attacked.pdf",
        &with_unsigned_update(&std::fs::read(&good).expect("signed")),
    );
    let o = run(jpki_sign().arg("verify").arg(&attacked));
    assert_eq!(o.status.code(), Some(6), "{}", stdout(&o));

    // No --ca: the trust anchor is the sign CA on the card.
    let gui = Gui::start_with_ca(None, &[]);
    let b = Browser::start("en-US");
    open_page(&b, &gui);
    b.click("#tab-verify");
    b.type_into(
        "#verify-files",
        &format!("{}\n{}", good.display(), attacked.display()),
    );
    b.click("#verify-go");
    let v = b.wait_for(
        "two reports",
        "const r = [...document.querySelectorAll('#verify-results .result')];
         return r.length == 2 ? r.map(e => [e.dataset.valid, e.innerText]) : null;",
    );
    b.screenshot(&shots().join("verify.png"));
    assert_eq!(v[0][0], json!("true"), "{v}");
    let good_text = v[0][1].as_str().unwrap_or_default();
    assert!(good_text.contains("chains to trusted CA"), "{good_text}");
    assert!(
        good_text.contains("Trust anchor: the JPKI signature CA certificate read from your card"),
        "{good_text}"
    );
    assert_eq!(v[1][0], json!("false"), "{v}");
    let bad_text = v[1][1].as_str().unwrap_or_default();
    assert!(bad_text.contains("NOT VALID"), "{bad_text}");
    assert!(bad_text.contains("appended"), "{bad_text}");
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

#[test]
fn gui_speaks_japanese_to_a_japanese_browser() {
    let _sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let b = Browser::start("ja");
    open_page(&b, &gui);
    let t = b.script("return document.body.innerText;", json!([]));
    let t = t.as_str().unwrap_or_default();
    assert!(t.contains("マイナンバーカードでPDFに電子署名"), "{t}");
    assert!(t.contains("署名用パスワード: 残り5回"), "{t}");
    b.screenshot(&shots().join("ja.png"));
    b.click("#lang-en");
    b.wait_for(
        "English",
        "return document.body.innerText.includes('PDF signatures with your My Number card');",
    );
}

// ---- the security rules, with plain HTTP ----------------------------------

/// Sends `head` (request line and headers, CRLF-separated, without the final
/// blank line) and `body`; returns the status and the whole answer.
fn raw(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let req = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn frames(options: &Value, secret: &[u8], files: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    let o = options.to_string();
    for part in [o.as_bytes(), secret]
        .into_iter()
        .chain(files.iter().copied())
    {
        b.extend((part.len() as u32).to_be_bytes());
        b.extend(part);
    }
    b
}

#[test]
fn gui_refuses_requests_that_break_the_rules_and_touches_nothing() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&["--max-upload", "1"]);
    let p = gui.port;
    let host = format!("Host: 127.0.0.1:{p}");
    let cookie = format!("Cookie: {}", gui.cookie());
    let origin = format!("Origin: {}", gui.origin());
    let sign_body = frames(
        &json!({"names": ["a.pdf"]}),
        b"ABC123",
        &[&minimal_pdf("1.7")],
    );
    let apdus = sim.stats().apdus;

    // Listening on loopback only.
    let tcp = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!("0100007F:{p:04X}");
    assert!(
        tcp.lines()
            .any(|l| l.split_whitespace().nth(1) == Some(&local)),
        "not bound to 127.0.0.1:{p}:\n{tcp}"
    );
    assert!(!tcp.contains(&format!("00000000:{p:04X}")));

    // No token at all, a wrong token, a wrong cookie.
    assert_eq!(raw(p, &format!("GET / HTTP/1.1\r\n{host}"), b"").0, 403);
    assert_eq!(
        raw(p, &format!("GET /api/card HTTP/1.1\r\n{host}"), b"").0,
        403
    );
    let wrong = format!("GET /?t={} HTTP/1.1\r\n{host}", "0".repeat(64));
    assert_eq!(raw(p, &wrong, b"").0, 403);
    let bad_cookie = format!("Cookie: jpki_gui_{p}={}", "0".repeat(64));
    assert_eq!(
        raw(
            p,
            &format!("GET /api/card HTTP/1.1\r\n{host}\r\n{bad_cookie}"),
            b""
        )
        .0,
        403
    );
    // A token-less POST that would sign.
    let post = |extra: &str| format!("POST /api/sign HTTP/1.1\r\n{host}\r\n{extra}");
    assert_eq!(raw(p, &post(&origin), &sign_body).0, 403);

    // DNS rebinding: the right token under another Host.
    let url_token = format!("/?t={}", gui.token());
    let rebound = format!("GET {url_token} HTTP/1.1\r\nHost: attacker.example:{p}");
    assert_eq!(raw(p, &rebound, b"").0, 403);

    // The URL token, once: a cookie that scripts and other sites cannot use.
    let (status, answer) = raw(p, &format!("GET {url_token} HTTP/1.1\r\n{host}"), b"");
    assert_eq!(status, 303, "{answer}");
    let set_cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("Set-Cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert_eq!(
        raw(p, &format!("GET {url_token} HTTP/1.1\r\n{host}"), b"").0,
        403
    );

    // With the cookie but another Host, or a foreign or missing Origin on a POST.
    let rebound = format!("GET /api/card HTTP/1.1\r\nHost: attacker.example:{p}\r\n{cookie}");
    assert_eq!(raw(p, &rebound, b"").0, 403);
    let foreign = format!("{cookie}\r\nOrigin: http://attacker.example");
    assert_eq!(raw(p, &post(&foreign), &sign_body).0, 403);
    let other_port = format!("{cookie}\r\nOrigin: http://127.0.0.1:{}", p.wrapping_add(1));
    assert_eq!(raw(p, &post(&other_port), &sign_body).0, 403);
    assert_eq!(raw(p, &post(&cookie), &sign_body).0, 403);
    assert_eq!(
        sim.stats().apdus,
        apdus,
        "a refused request reached the card"
    );
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());

    // The same requests with everything right are served, hardened, without CORS.
    let (status, answer) = raw(
        p,
        &format!("GET / HTTP/1.1\r\n{host}\r\n{cookie}\r\nOrigin: http://attacker.example"),
        b"",
    );
    assert_eq!(status, 200, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("content-security-policy: default-src 'none'; script-src 'self'"));
    assert!(lower.contains("x-frame-options: deny"));
    assert!(!lower.contains("access-control-"), "CORS header: {answer}");
    assert!(!answer.contains("http://") || !answer.contains("<script src=\"http"));

    // Too large: refused before the body is read.
    let big = format!(
        "POST /api/verify HTTP/1.1\r\n{host}\r\n{cookie}\r\n{origin}\r\nContent-Length: 2097152\r\nConnection: close\r\n\r\n"
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p)).expect("connect");
    s.write_all(big.as_bytes()).expect("send");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).expect("answer");
    assert_eq!(&head[9..12], b"413");
    drop(s);

    // A hostile PDF: the CLI's clear error, and the server goes on.
    let hostile = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer << /Root 1 0 R /Size 99999999999 >>\nstartxref\n999999\n%%EOF\n";
    let verify = frames(&json!({"names": ["evil.pdf"]}), b"", &[hostile]);
    let (status, answer) = raw(
        p,
        &format!("POST /api/verify HTTP/1.1\r\n{host}\r\n{cookie}\r\n{origin}"),
        &verify,
    );
    assert_eq!(status, 200, "{answer}");
    let json_start = answer.find("\r\n\r\n").map(|i| i + 4).unwrap_or(0);
    let v: Value = serde_json::from_str(&answer[json_start..]).expect("JSON answer");
    assert_eq!(v["results"][0]["valid"], json!(false), "{v}");
    assert!(v["results"][0]["error"].is_string(), "{v}");
    let (status, _) = raw(
        p,
        &format!("GET /api/card HTTP/1.1\r\n{host}\r\n{cookie}"),
        b"",
    );
    assert_eq!(status, 200, "the server must survive a hostile PDF");
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
    let log = gui.log();
    assert!(!log.contains(gui.token()), "token in the log:\n{log}");
    assert!(!log.contains("ABC123"), "password in the log:\n{log}");
}

#[test]
fn gui_stops_when_the_page_is_gone_and_leaves_nothing() {
    let _sim = SecondSim::start(&[]);
    let mut gui = Gui::start(&["--close-after", "2"]);
    assert!(
        gui.wait_exit(Duration::from_secs(30)),
        "the server must stop when nobody talks to it"
    );
    assert!(gui.leftovers().is_empty());
    // The page says goodbye when closed: the server stops soon after.
    let mut gui = Gui::start(&[]);
    let (status, _) = raw(
        gui.port,
        &format!(
            "POST /api/bye HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\nOrigin: {}",
            gui.port,
            gui.cookie(),
            gui.origin()
        ),
        b"",
    );
    assert_eq!(status, 200);
    assert!(
        gui.wait_exit(Duration::from_secs(60)),
        "bye must stop the server"
    );
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if std::fs::read(&p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
            {
                hits.push(p);
            }
        }
    }
    hits
}

#[test]
fn gui_card_tools_show_certificates_and_basic4_only_on_request() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let b = Browser::start("ja");
    open_page(&b, &gui);
    b.click("#tab-tools");
    let out = |what: &str| {
        b.wait_for(
            what,
            "const o = document.getElementById('tools-out').innerText;
             const e = document.getElementById('tools-error');
             return o || (e.hidden ? null : 'ERROR ' + e.innerText);",
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    };
    b.click("#cert-auth");
    let auth = out("the auth certificate");
    assert!(auth.contains("Certificate:"), "{auth}");
    assert!(
        sim.stats().verifies.is_empty(),
        "no PIN for the auth certificate"
    );

    b.type_into("#cert-password", PASSWORD);
    b.click("#cert-sign");
    b.wait_for(
        "the sign certificate",
        "return document.getElementById('tools-out').innerText.includes('Subject:') && document.getElementById('tools-out').innerText.includes('Mogi');",
    );
    assert_eq!(sign_stats(&sim), (1, 0));
    let pw = b.script(
        "return document.getElementById('cert-password').value;",
        json!([]),
    );
    assert_eq!(pw, json!(""));

    b.type_into("#text-pin", "1234");
    b.click("#basic4");
    b.wait_for(
        "basic 4 information",
        "return document.getElementById('tools-out').innerText.includes('架空県模擬市');",
    );
    let text = sim.stats().verifies.get(&PinId::Text).copied();
    assert_eq!(text, Some(1), "one text PIN VERIFY");
    b.screenshot(&shots().join("basic4.png"));
    b.click("#tools-clear");
    let cleared = b.script(
        "return document.getElementById('tools-out').innerText;",
        json!([]),
    );
    assert_eq!(cleared, json!(""));
    // Nothing personal stays in the browser: no storage, no cache (no-store).
    let profile = b.quit();
    let hits = files_containing(profile.path(), "架空県模擬市".as_bytes());
    assert!(hits.is_empty(), "the address is stored in {hits:?}");
    let log = gui.log();
    assert!(
        log.contains("POST /api/basic4"),
        "the debug log is on: {log}"
    );
    for secret in ["架空県模擬市", "試験", "ABC123", "abc123", gui.token()] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

#[test]
fn gui_card_panel_follows_the_card_without_reloading() {
    let mut sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let b = Browser::start("en-US");
    open_page(&b, &gui);
    sim.pull_card();
    let problem = b.wait_for(
        "the panel to say the card is gone",
        "const e = document.getElementById('card-problem'); return e.hidden ? null : e.innerText;",
    );
    assert!(
        problem.as_str().unwrap_or_default().contains("no card"),
        "{problem}"
    );
    b.screenshot(&shots().join("no-card.png"));
    sim.insert();
    b.wait_for(
        "the card to be back",
        "const e = document.getElementById('pin-sign'); return e && !document.getElementById('card-info').hidden;",
    );
    assert!(sim.stats().verifies.is_empty(), "the panel spends no try");
}

/// Two files, one of them large enough for a progress bar, one VERIFY.
#[test]
fn gui_signs_two_files_as_pades_with_one_password() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let work = Scratch::new();
    let a = work.write("a.pdf", &minimal_pdf("1.7"));
    // 24 MiB: the upload shows its progress.
    let big = stream_object(&vec![b'x'; 24 << 20]);
    let c = work.write("c.pdf", &minimal_pdf_with("1.4", &[&big]));
    let b = Browser::start("en-US");
    open_page(&b, &gui);
    b.click("#profile-pades");
    // A value that looks like an option stays a value for the CLI.
    b.type_into("#location", "--force");
    sign_in_page(&b, &[&a, &c], PASSWORD, None);
    let n = b.wait_for(
        "two results",
        "const r = document.querySelectorAll('#sign-results .result[data-valid=\"true\"]'); return r.length == 2 ? 2 : null;",
    );
    assert_eq!(n, json!(2));
    for name in ["a-signed.pdf", "c-signed.pdf"] {
        let p = b.downloaded(name);
        let report = assert_pdfsig_all_valid(&p, 1);
        assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    }
    let total = b.script(
        "return document.getElementById('sign-progress').max;",
        json!([]),
    );
    assert!(
        total.as_f64().unwrap_or(0.0) > f64::from(24 << 20),
        "upload progress total: {total}"
    );
    assert_eq!(sign_stats(&sim), (1, 0), "one password for both files");
    assert_eq!(sim.stats().signatures, 2);
}

/// A CA and a signer key + certificate made with the openssl CLI, for pyHanko.
fn pyhanko_pki(w: &Scratch) {
    let openssl = |args: &[&str]| ok(&run(std::process::Command::new("openssl").args(args)));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &w.s("ca.key"),
        "-out",
        &w.s("ca.pem"),
        "-days",
        "30",
        "-subj",
        "/CN=pyHanko test CA",
        "-addext",
        "basicConstraints=critical,CA:true",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &w.s("key.pem"),
        "-out",
        &w.s("req.csr"),
        "-subj",
        "/CN=pyHanko signer",
    ]);
    w.write(
        "ext",
        b"keyUsage=critical,digitalSignature,nonRepudiation\n",
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        &w.s("req.csr"),
        "-CA",
        &w.s("ca.pem"),
        "-CAkey",
        &w.s("ca.key"),
        "-CAcreateserial",
        "-out",
        &w.s("cert.pem"),
        "-days",
        "30",
        "-extfile",
        &w.s("ext"),
    ]);
}

#[test]
fn gui_verifies_a_pdf_signed_by_pyhanko() {
    let _sim = SecondSim::start(&[]);
    let w = Scratch::new();
    pyhanko_pki(&w);
    let input = w.write("form.pdf", &minimal_pdf("1.7"));
    let signed = w.path("form-pyhanko.pdf");
    // pyHanko from PyPI, installed by `make deps` (scripts/deps.sh).
    let o = run(std::process::Command::new("pyhanko")
        .args(["sign", "addsig", "--field", "Sig1", "pemder", "--no-pass"])
        .args([
            "--key",
            &w.s("key.pem"),
            "--cert",
            &w.s("cert.pem"),
            "--chain",
            &w.s("ca.pem"),
        ])
        .arg(&input)
        .arg(&signed));
    ok(&o);
    let gui = Gui::start_with_ca(Some(&w.path("ca.pem")), &[]);
    let b = Browser::start("en-US");
    open_page(&b, &gui);
    b.click("#tab-verify");
    b.type_into("#verify-files", &signed.display().to_string());
    b.click("#verify-go");
    let v = first_verify_result(&b);
    assert_eq!(v[0], json!("true"), "{v}");
    let text = v[1].as_str().unwrap_or_default();
    assert!(text.contains("CN=pyHanko signer"), "{text}");
    assert!(
        text.contains("chains to trusted CA CN=pyHanko test CA"),
        "{text}"
    );
    assert!(
        text.contains("Trust anchor: the CA certificate given with --ca"),
        "{text}"
    );
}

#[test]
fn gui_signs_files_named_on_the_command_line_next_to_them() {
    let sim = SecondSim::start(&[]);
    let work = Scratch::new();
    let input = work.write("doc.pdf", &minimal_pdf("1.7"));
    let gui = Gui::start(&[&work.s("doc.pdf")]);
    let b = Browser::start("en-US");
    open_page(&b, &gui);
    b.wait_for(
        "the command line's files",
        "return !document.getElementById('local-box').hidden && document.getElementById('local-list').innerText;",
    );
    let sign = |b: &Browser| {
        b.type_into("#sign-password", PASSWORD);
        b.click("#sign-go");
        b.script(
            "const d = document.getElementById('privacy'); if (d.open) document.getElementById('privacy-ok').click();",
            json!([]),
        );
        sign_outcome(b)
    };
    let out = sign(&b);
    assert_eq!(out["valid"], json!("true"), "{out}");
    let saved = work.path("doc-signed.pdf");
    let text = out["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!(
            "Saved as: {}",
            std::fs::canonicalize(&saved).unwrap().display()
        )),
        "{text}"
    );
    assert_pdfsig_all_valid(&saved, 1);
    assert!(b.downloads().is_empty(), "{:?}", b.downloads());
    assert_eq!(
        std::fs::read(&input).unwrap(),
        minimal_pdf("1.7"),
        "the original is untouched"
    );
    // Again: the CLI never overwrites silently, and refuses before the card is asked.
    b.script(
        "document.getElementById('sign-results').textContent = '';",
        json!([]),
    );
    let out = sign(&b);
    let err = out["error"].as_str().unwrap_or_default();
    assert!(err.contains("exists"), "{out}");
    assert_eq!(sign_stats(&sim), (1, 0), "no second VERIFY");
}

// ---- drag and drop, refusals in the page's language ------------------------

/// Drops `files` onto the drop zone `zone` and checks the page's own handlers
/// took them: `dragover` and `drop` cancelled (else the browser would open
/// the file), the files now in the zone's file input.
fn drop_onto(b: &Browser, zone: &str, input: &str, files: &[(&str, &[u8])]) {
    let events = b.drop_files(zone, files);
    let handled: Vec<(&str, bool)> = events.iter().map(|(t, p)| (t.as_str(), *p)).collect();
    assert_eq!(
        handled,
        [("dragenter", true), ("dragover", true), ("drop", true)],
        "the drop zone's listeners must take the drag"
    );
    let names = b.script(
        "return [...document.querySelector(arguments[0]).files].map(f => [f.name, f.size]);",
        json!([input]),
    );
    let expected: Vec<Value> = files.iter().map(|(n, b)| json!([n, b.len()])).collect();
    assert_eq!(
        names,
        json!(expected),
        "the dropped files must reach {input}"
    );
}

/// Types the password, clicks Sign (accepting the privacy notice if it is
/// shown) and waits for the outcome.
fn sign_chosen(b: &Browser) -> Value {
    b.type_into("#sign-password", PASSWORD);
    b.click("#sign-go");
    b.script(
        "const d = document.getElementById('privacy'); if (d.open) document.getElementById('privacy-ok').click();",
        json!([]),
    );
    sign_outcome(b)
}

#[test]
fn gui_signs_and_verifies_pdfs_dropped_onto_the_page() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let input = minimal_pdf("1.7");
    let b = Browser::start("en-US");
    assert_eq!(open_page(&b, &gui), 5);

    drop_onto(&b, "#sign-drop", "#sign-files", &[("見積書.pdf", &input)]);
    // The page's change handling ran: the file is listed with its size.
    let listed = b.wait_for(
        "the dropped file in the list",
        "return document.getElementById('sign-list').innerText;",
    );
    assert_eq!(listed, json!("見積書.pdf (1 KiB)"));
    b.screenshot(&shots().join("dropped.png"));
    let out = sign_chosen(&b);
    assert_eq!(out["valid"], json!("true"), "{out}");
    let signed = b.downloaded("見積書-signed.pdf");
    assert_pdfsig_all_valid(&signed, 1);
    assert_jpki_sign_verifies(&signed);
    // What was signed is exactly what was dropped: the original bytes come
    // first, the signature is an incremental update after them.
    let signed_bytes = std::fs::read(&signed).expect("signed file");
    assert!(
        signed_bytes.starts_with(&input),
        "the dropped bytes were not signed"
    );
    assert_eq!(sign_stats(&sim), (1, 0), "exactly one VERIFY, accepted");

    // The signed file dropped onto the verify zone is found valid.
    b.click("#tab-verify");
    drop_onto(
        &b,
        "#verify-drop",
        "#verify-files",
        &[("見積書-signed.pdf", &signed_bytes)],
    );
    b.click("#verify-go");
    let v = first_verify_result(&b);
    assert_eq!(v[0], json!("true"), "{v}");
    let text = v[1].as_str().unwrap_or_default();
    assert!(text.contains("見積書-signed.pdf"), "{text}");
    assert!(text.contains("chains to trusted CA"), "{text}");
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

fn has_kana(s: &str) -> bool {
    s.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))
}

/// `pdf` certified by pyHanko with DocMDP P=1 ("no changes allowed").
fn certified_no_changes(w: &Scratch, pdf: &[u8]) -> Vec<u8> {
    pyhanko_pki(w);
    let input = w.write("to-certify.pdf", pdf);
    let output = w.path("certified.pdf");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pyhanko_sign.py");
    ok(&run(std::process::Command::new("python3")
        .arg(script)
        .arg(&input)
        .arg(&output)
        .arg("--key")
        .arg(w.path("key.pem"))
        .arg("--cert")
        .arg(w.path("cert.pem"))
        .args(["--field", "Author", "--certify", "1"])));
    std::fs::read(&output).expect("certified PDF")
}

#[test]
fn gui_explains_refused_uploads_in_japanese() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&[]);
    let w = Scratch::new();
    let certified = certified_no_changes(&w, &minimal_pdf("1.7"));
    let b = Browser::start("ja");
    open_page(&b, &gui);
    let refused = |name: &str, bytes: &[u8]| -> String {
        drop_onto(&b, "#sign-drop", "#sign-files", &[(name, bytes)]);
        let out = sign_chosen(&b);
        out["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} must be refused: {out}"))
            .to_string()
    };

    // Not a PDF: the file's own name, in Japanese, and why.
    let err = refused("メモ.txt", "買い物: 牛乳".as_bytes());
    assert_eq!(
        err,
        "メモ.txtはPDFファイルではありません（%PDF- で始まっていません）"
    );
    b.screenshot(&shots().join("refused-ja.png"));
    // A broken PDF: lopdf's technical detail stays, inside a Japanese sentence.
    let err = refused("壊れた.pdf", b"%PDF-1.7\nthis is no PDF body\n");
    assert!(
        err.starts_with("壊れた.pdfをPDFとして読み込めません（壊れているか、PDFではありません）"),
        "{err}"
    );
    // Certified "no changes": signing would break the certification.
    let err = refused("証明済み.pdf", &certified);
    assert_eq!(
        err,
        "証明済み.pdfには署名できません: 「変更不可」の作成者署名（DocMDP P=1）があるため、署名を追加するとその証明が壊れます"
    );
    // An encrypted-looking PDF (an /Encrypt in the trailer).
    let encrypted = String::from_utf8_lossy(&minimal_pdf("1.7"))
        .replace(
            "/Root 1 0 R",
            "/Root 1 0 R /Encrypt << /Filter /Standard >>",
        )
        .into_bytes();
    let err = refused("暗号.pdf", &encrypted);
    assert!(err.starts_with("暗号.pdfは暗号化されています。"), "{err}");
    // Two uploads where one's signed copy would overwrite the other: the page
    // says to rename (the CLI would suggest --force, which the page lacks), and
    // no VERIFY is spent.
    let pdf = minimal_pdf("1.7");
    drop_onto(
        &b,
        "#sign-drop",
        "#sign-files",
        &[("a.pdf", &pdf), ("a-signed.pdf", &pdf)],
    );
    let out = sign_chosen(&b);
    assert_eq!(
        out["error"],
        json!("a-signed.pdfはすでにあります。a.pdfの署名済みファイルで上書きされてしまうため、どちらかのファイル名を変えてからもう一度署名してください"),
        "{out}"
    );
    // A seal that is not a picture.
    let gif = w.write("印影.gif", b"GIF89a");
    drop_onto(&b, "#sign-drop", "#sign-files", &[("a.pdf", &pdf)]);
    b.click("#stamp");
    b.type_into("#seal", &gif.display().to_string());
    let out = sign_chosen(&b);
    assert_eq!(
        out["error"],
        json!("印影.gifはPNG画像でもJPEG画像でもありません"),
        "{out}"
    );
    assert_eq!(
        sign_stats(&sim),
        (0, 0),
        "a refused file never reaches the card"
    );
    assert_eq!(sim.stats().signatures, 0);

    // Verifying a broken file says why, in Japanese.
    b.click("#tab-verify");
    drop_onto(
        &b,
        "#verify-drop",
        "#verify-files",
        &[("壊れた.pdf", b"%PDF-1.7\nthis is no PDF body\n")],
    );
    b.click("#verify-go");
    let v = b.wait_for(
        "the report",
        "const r = document.querySelector('#verify-results .result');
         return r ? [r.dataset.valid, r.querySelector('.verdict').innerText] : null;",
    );
    assert_eq!(v[0], json!("false"), "{v}");
    let verdict = v[1].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with("有効ではありません: ") && verdict.contains("PDFとして読み込めません"),
        "{verdict}"
    );
    for text in [&err, verdict] {
        assert!(has_kana(text) && !text.contains("cannot"), "{text}");
    }
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

#[test]
fn gui_refuses_a_too_large_upload_in_the_pages_language() {
    let sim = SecondSim::start(&[]);
    let gui = Gui::start(&["--max-upload", "1"]);
    let big = minimal_pdf_with("1.7", &[&stream_object(&vec![b'x'; 2 << 20])]);
    let b = Browser::start("ja");
    open_page(&b, &gui);
    drop_onto(&b, "#sign-drop", "#sign-files", &[("大きい.pdf", &big)]);
    let out = sign_chosen(&b);
    let err = out["error"].as_str().unwrap_or_default();
    assert_eq!(
        err,
        "ファイルが1MiBを超えています。jpki-sign コマンドで署名するか、--max-upload を付けて起動してください",
        "{out}"
    );
    assert_eq!(sign_stats(&sim), (0, 0));
    assert!(gui.leftovers().is_empty(), "{:?}", gui.leftovers());
}

/// `jpki-sign verify --ca sign-ca.pem` calls the file VALID.
fn assert_jpki_sign_verifies(signed: &std::path::Path) {
    let o = run(jpki_sign()
        .arg("verify")
        .arg(signed)
        .arg("--ca")
        .arg(pki_file("sign-ca.pem")));
    ok(&o);
    assert!(stdout(&o).contains("VALID"), "{}", stdout(&o));
}

/// `[valid, text]` of the first result on the verify tab, once it is there.
fn first_verify_result(b: &Browser) -> serde_json::Value {
    b.wait_for(
        "the report",
        "const r = document.querySelector('#verify-results .result');
         return r ? [r.dataset.valid, r.innerText] : null;",
    )
}
