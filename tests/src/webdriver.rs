//! A small WebDriver client: Debian's `chromedriver` driving headless
//! `chromium`, for the browser tests of `jpki-sign gui`.
//!
//! Only the commands the tests use: navigate, find, click, type (also file
//! paths into `<input type=file>`), drop files onto an element, run a
//! script, screenshot. Each browser
//! gets a fresh profile and its own download directory, removed afterwards.

use crate::free_port;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromium under chromedriver, with one session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Value {
    let req = ureq::request(method, url).timeout(Duration::from_secs(120));
    let res = match body {
        Some(b) => req
            .set("Content-Type", "application/json")
            .send_string(&b.to_string()),
        None => req.call(),
    };
    let text = match res {
        Ok(r) => r.into_string().expect("WebDriver answer"),
        Err(ureq::Error::Status(code, r)) => {
            let t = r.into_string().unwrap_or_default();
            panic!("WebDriver {method} {url}: HTTP {code}: {t}")
        }
        Err(e) => panic!("WebDriver {method} {url}: {e}"),
    };
    let v: Value = serde_json::from_str(&text).expect("WebDriver JSON");
    v.get("value").cloned().unwrap_or(Value::Null)
}

impl Browser {
    /// Starts chromedriver and a headless chromium whose language is `lang` (`en-US`, `ja`).
    pub fn start(lang: &str) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (Debian package chromium-driver; scripts/deps.sh)");
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("tempdir");
        let downloads = tempfile::tempdir().expect("tempdir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1100,2000",
                    format!("--lang={lang}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "intl.accept_languages": lang,
                    "download.default_directory": downloads.path().display().to_string(),
                    "download.prompt_for_download": false,
                    "credentials_enable_service": false,
                    "profile.password_manager_enabled": false,
                }
            }
        }}});
        let v = call("POST", &format!("{base}/session"), Some(&caps));
        let session = v["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_string();
        let b = Browser {
            driver,
            base,
            session,
            profile,
            downloads,
        };
        // Headless chromium downloads only where told to, through the DevTools protocol.
        b.cmd(
            "POST",
            "goog/cdp/execute",
            Some(json!({"cmd": "Browser.setDownloadBehavior", "params": {
                "behavior": "allow",
                "downloadPath": b.downloads.path().display().to_string()
            }})),
        );
        b
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(
            method,
            &format!("{}/session/{}/{path}", self.base, self.session),
            body.as_ref(),
        )
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "url", Some(json!({ "url": url })));
    }

    /// The element matching `css` (panics if none).
    pub fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "element",
            Some(json!({"using": "css selector", "value": css})),
        );
        match v[ELEMENT].as_str() {
            Some(id) => id.to_string(),
            None => panic!("no element {css}: {v}"),
        }
    }

    /// Clicks the element matching `css`.
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("element/{e}/click"), Some(json!({})));
    }

    /// Types `text` into the element (a file path for a file input).
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Runs `js` (a function body; `arguments` are `args`) and returns its value.
    pub fn script(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            Some(json!({"script": js, "args": args})),
        )
    }

    /// Drops `files` (name, bytes) onto the element matching `css` the way a
    /// drag from the desktop arrives: WebDriver cannot drag a file from the
    /// OS, so a script builds a `DataTransfer` holding `File`s made from the
    /// bytes and dispatches `dragenter`, `dragover` and `drop` on the element,
    /// where the page's own listeners handle them. Returns, per event,
    /// whether a listener called `preventDefault()` (a drop zone must, or the
    /// browser would open the file instead).
    pub fn drop_files(&self, css: &str, files: &[(&str, &[u8])]) -> Vec<(String, bool)> {
        let files: Vec<Value> = files
            .iter()
            .map(|(name, bytes)| json!([name, openssl::base64::encode_block(bytes)]))
            .collect();
        let v = self.script(
            "const [css, files] = arguments;
             const zone = document.querySelector(css);
             if (!zone) return null;
             const dt = new DataTransfer();
             for (const [name, b64] of files) {
               const bin = atob(b64);
               const bytes = new Uint8Array(bin.length);
               for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
               dt.items.add(new File([bytes], name, { type: name.endsWith('.pdf') ? 'application/pdf' : '' }));
             }
             return ['dragenter', 'dragover', 'drop'].map((type) => {
               const e = new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt });
               zone.dispatchEvent(e);
               return [type, e.defaultPrevented];
             });",
            json!([css, files]),
        );
        let Some(events) = v.as_array() else {
            panic!("no element {css} to drop onto: {v}")
        };
        events
            .iter()
            .map(|e| (e[0].as_str().unwrap_or("").to_string(), e[1] == json!(true)))
            .collect()
    }

    /// Polls `js` until it returns something other than null/false/"" (up to 90 s).
    pub fn wait_for(&self, what: &str, js: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.script(js, json!([]));
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG screenshot of the window.
    pub fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "screenshot", None);
        let png = openssl::base64::decode_block(v.as_str().expect("base64 PNG")).expect("PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// The downloaded file called `name`, once complete (waits up to 60 s).
    /// Chromium reserves the final name with an empty file while the bytes
    /// go to a `.crdownload` file, so complete means: there, not empty, and
    /// no `.crdownload` left.
    pub fn downloaded(&self, name: &str) -> PathBuf {
        let p = self.downloads.path().join(name);
        let start = Instant::now();
        let complete = || {
            let partial = self.downloads().iter().any(|f| f.ends_with(".crdownload"));
            !partial && std::fs::metadata(&p).is_ok_and(|m| m.len() > 0)
        };
        while !complete() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} was not downloaded; the download directory holds {:?}",
                std::fs::read_dir(self.downloads.path())
                    .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    /// The names of the files in the download directory.
    pub fn downloads(&self) -> Vec<String> {
        std::fs::read_dir(self.downloads.path())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Closes the browser and returns its profile directory, to check what it stored.
    pub fn quit(mut self) -> tempfile::TempDir {
        self.stop();
        std::mem::replace(&mut self.profile, tempfile::tempdir().expect("tempdir"))
    }

    fn stop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}
