//! The page's JSON API and its embedded assets. Every handler here runs
//! after [`super::security`] allowed the request.
//!
//! * `GET /api/card?lang=` — the card panel ([`super::card`]), also the page's heartbeat;
//! * `POST /api/sign`, `/api/verify`, `/api/cert`, `/api/basic4` — an upload
//!   ([`super::body`]) handed to [`super::backend`] in a private temporary
//!   directory that is removed before the answer is sent;
//! * `POST /api/preview` — a picture of one page, to place the visible signature on;
//! * `GET /api/local` — the files named on the command line (signed in place);
//! * `GET /api/download/ID` — a signed PDF, once;
//! * `POST /api/bye` — the page is being closed.
//!
//! Personal data (basic 4 information, the sign certificate) is only in the
//! answer to the request that asked for it, marked `no-store`.

use super::backend::{self, Settings, SignOptions};
use super::body::{self, Named, Upload};
use super::security::{self, header};
use super::text::{lang_of, query_lang, Text};
use crate::i18n::Lang;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;
use tiny_http::{Header, Method, Request, Response};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STRINGS_JS: &str = include_str!("assets/strings.js");
const STYLE: &str = include_str!("assets/style.css");
const ICON: &str = include_str!("assets/icon.svg");

/// What the server keeps between requests: no secret, no personal data.
pub struct State {
    settings: Settings,
    limit: u64,
    /// Files named on the command line: signed in place (NAME-signed.pdf next to them).
    local: Vec<PathBuf>,
    /// Signed PDFs waiting for their one download: id → (name, bytes).
    downloads: HashMap<String, (String, Vec<u8>)>,
    pub last_seen: Instant,
    pub last_action: Instant,
    pub bye: Option<Instant>,
}

impl State {
    pub fn new(settings: Settings, limit: u64, local: Vec<PathBuf>) -> State {
        State {
            settings,
            limit,
            local,
            downloads: HashMap::new(),
            last_seen: Instant::now(),
            last_action: Instant::now(),
            bye: None,
        }
    }

    /// A request arrived (`action`: the owner did something, not a poll).
    pub fn touch(&mut self, action: bool) {
        self.last_seen = Instant::now();
        self.bye = None;
        if action {
            self.last_action = Instant::now();
        }
    }
}

/// Routes an allowed request.
pub fn handle(state: &mut State, req: Request) {
    let (path, query) = security::split_url(req.url());
    let path = path.to_string();
    let asked = query_lang(query);
    let lang = asked.unwrap_or(Lang::En);
    let get = matches!(req.method(), Method::Get | Method::Head);
    state.touch(path != "/api/card");
    match (get, path.as_str()) {
        (true, "/") => asset(req, INDEX, "text/html; charset=utf-8"),
        (true, "/app.js") => asset(req, APP_JS, "text/javascript; charset=utf-8"),
        (true, "/strings.js") => asset(req, STRINGS_JS, "text/javascript; charset=utf-8"),
        (true, "/style.css") => asset(req, STYLE, "text/css; charset=utf-8"),
        (true, "/favicon.ico" | "/icon.svg") => asset(req, ICON, "image/svg+xml"),
        (true, "/api/card") => {
            let v = super::card::status(state.settings.reader.as_deref(), lang);
            send_json(req, 200, &v);
        }
        (true, "/api/local") => {
            let files: Vec<String> = state
                .local
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            send_json(req, 200, &json!({ "files": files }));
        }
        (true, p) if p.starts_with("/api/download/") => {
            let id = &p["/api/download/".len()..];
            match state.downloads.remove(id) {
                Some((name, bytes)) => download(req, &name, bytes),
                None => refuse_in(req, 404, &Text::DownloadGone, asked),
            }
        }
        (false, "/api/bye") => {
            state.bye = Some(Instant::now());
            send_json(req, 200, &json!({"ok": true}));
        }
        (false, "/api/sign") => upload(state, req, asked, sign),
        (false, "/api/verify") => upload(state, req, asked, verify),
        (false, "/api/cert") => upload(state, req, asked, cert),
        (false, "/api/basic4") => upload(state, req, asked, basic4),
        (false, "/api/preview") => upload(state, req, asked, preview),
        _ => refuse_in(req, 404, &Text::NotFound, asked),
    }
    // A long signature is not silence from the page.
    state.last_seen = Instant::now();
}

/// The options every upload carries.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Options {
    lang: String,
    names: Vec<String>,
    /// Index in `names` of the seal image (sign with a stamp).
    seal: Option<usize>,
    pades: bool,
    reason: Option<String>,
    location: Option<String>,
    allow_last_try: bool,
    stamp: bool,
    stamp_page: Option<u32>,
    /// `X,Y,W,H` in points, or empty for the CLI's default (bottom right).
    stamp_rect: Option<String>,
    /// `auth` or `sign` (`/api/cert`).
    which: String,
    /// Sign the files named on the command line (saved next to them), not uploads.
    local: bool,
}

impl Named for Options {
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }
}

type Handler = fn(&mut State, Lang, Upload<Options>, &std::path::Path) -> (u16, Value);

/// Reads an upload into a fresh private directory, runs `f`, removes the
/// directory. `asked`: the page's language from the URL, for the answers
/// given before the options (which carry it too) are read.
fn upload(state: &mut State, mut req: Request, asked: Option<Lang>, f: Handler) {
    let limit_mib = state.limit >> 20;
    match req.body_length() {
        Some(n) if (n as u64) <= state.limit => {}
        Some(_) => return refuse_in(req, 413, &Text::TooLarge(limit_mib), asked),
        None => return refuse_in(req, 411, &Text::NoLength, asked),
    }
    let dir = match tempfile::Builder::new().prefix(".jpki-gui-").tempdir() {
        Ok(d) => d,
        Err(e) => return refuse_in(req, 500, &Text::NoTempDir(&e), asked),
    };
    let parsed = body::read_upload::<Options>(req.as_reader(), state.limit, dir.path());
    let (status, value) = match parsed {
        Ok(u) => {
            let lang = asked.unwrap_or_else(|| lang_of(Some(&u.options.lang)));
            f(state, lang, u, dir.path())
        }
        Err(e) => (
            400,
            json!({"ok": false, "error": in_lang(&Text::BadUpload(&e), asked)}),
        ),
    };
    // The directory (uploads, outputs, the seal image) goes before the answer.
    drop(dir);
    send_json(req, status, &value);
}

/// The trust anchor for verifying: `--ca`, else the sign CA read from the
/// card (written into the request's private `dir`), else none (the report
/// then says the chain was not checked). With its kind for the page.
fn trust_anchor(state: &State, dir: &std::path::Path) -> (Option<PathBuf>, &'static str) {
    if let Some(ca) = &state.settings.ca {
        return (Some(ca.clone()), "file");
    }
    let from_card = super::card::sign_ca_pem(state.settings.reader.as_deref()).and_then(|pem| {
        let p = dir.join(".card-sign-ca.pem");
        std::fs::write(&p, pem).ok().map(|()| p)
    });
    match from_card {
        Some(p) => (Some(p), "card"),
        None => (None, "none"),
    }
}

fn failed(o: &backend::Outcome) -> Value {
    json!({"ok": false, "code": o.code, "error": o.error})
}

fn sign_options(o: &Options, seal: Option<&PathBuf>) -> SignOptions {
    SignOptions {
        pades: o.pades,
        reason: o.reason.clone(),
        location: o.location.clone(),
        allow_last_try: o.allow_last_try,
        stamp: o.stamp.then(|| {
            (
                o.stamp_page.unwrap_or(1).max(1),
                o.stamp_rect.clone().filter(|r| !r.trim().is_empty()),
            )
        }),
        stamp_image: seal.filter(|_| o.stamp).cloned(),
    }
}

fn sign(state: &mut State, lang: Lang, u: Upload<Options>, dir: &std::path::Path) -> (u16, Value) {
    let o = &u.options;
    let (pdfs, seal): (Vec<_>, Vec<_>) = u
        .files
        .iter()
        .enumerate()
        .partition(|(i, _)| Some(*i) != o.seal);
    let pdfs: Vec<PathBuf> = if o.local {
        state.local.clone()
    } else {
        pdfs.into_iter().map(|(_, p)| p.clone()).collect()
    };
    if pdfs.is_empty() {
        return (400, json!({"ok": false, "error": Text::NoFiles.text(lang)}));
    }
    if let Some(error) = output_clash(&pdfs, lang) {
        return (200, json!({"ok": false, "error": error}));
    }
    let opts = sign_options(o, seal.first().map(|(_, p)| *p));
    let out = backend::sign(&state.settings, lang, dir, &pdfs, &opts, &u.secret);
    if !out.ok() {
        return (200, failed(&out));
    }
    let mut results = Vec::new();
    let anchor = trust_anchor(state, dir);
    for input in &pdfs {
        match signed_result(state, lang, input, o.local, &anchor) {
            Ok(r) => results.push(r),
            Err((name, e)) => {
                let error = Text::CannotKeep(&name, &e).text(lang);
                return (200, json!({"ok": false, "error": error}));
            }
        }
    }
    (200, json!({"ok": true, "results": results}))
}

/// A signed copy that would replace a file already there (another upload, or a local file),
/// said the page's way: the CLI refuses too, but tells the user to pass `--force`, which the
/// page does not offer.
fn output_clash(pdfs: &[PathBuf], lang: Lang) -> Option<String> {
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    pdfs.iter().find_map(|input| {
        let signed = backend::signed_name(input);
        signed.exists().then(|| {
            Text::OutputExists {
                signed: &name(&signed),
                input: &name(input),
            }
            .text(lang)
        })
    })
}

/// The verification report of `input`'s signed copy; an uploaded one is
/// kept for its one download, a local one stays where `sign` saved it.
fn signed_result(
    state: &mut State,
    lang: Lang,
    input: &std::path::Path,
    local: bool,
    (ca, anchor): &(Option<PathBuf>, &'static str),
) -> Result<Value, (String, std::io::Error)> {
    let signed = backend::signed_name(input);
    let name = signed
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = signed.parent().unwrap_or(std::path::Path::new("/"));
    let check = backend::verify(&state.settings, lang, dir, &signed, ca.as_deref());
    let mut v = json!({
        "name": name,
        "anchor": anchor,
        "valid": check.ok(),
        "report": check.stdout,
        "error": check.error,
    });
    if local {
        v["saved"] = json!(signed.display().to_string());
    } else {
        let bytes = std::fs::read(&signed).map_err(|e| (name.clone(), e))?;
        let id = security::Token::new()
            .map(|t| t.as_str()[..32].to_string())
            .map_err(|e| (name.clone(), std::io::Error::other(e)))?;
        state.downloads.insert(id.clone(), (name, bytes));
        v["download"] = json!(id);
    }
    Ok(v)
}

fn verify(
    state: &mut State,
    lang: Lang,
    u: Upload<Options>,
    dir: &std::path::Path,
) -> (u16, Value) {
    if u.files.is_empty() {
        return (400, json!({"ok": false, "error": Text::NoFiles.text(lang)}));
    }
    let (ca, anchor) = trust_anchor(state, dir);
    let results: Vec<Value> = u
        .files
        .iter()
        .map(|f| {
            let check = backend::verify(&state.settings, lang, dir, f, ca.as_deref());
            json!({
                "name": f.file_name().map(|n| n.to_string_lossy().into_owned()),
                "anchor": anchor,
                "valid": check.ok(),
                "report": check.stdout,
                "error": check.error,
            })
        })
        .collect();
    (200, json!({"ok": true, "results": results}))
}

fn preview(state: &mut State, _: Lang, u: Upload<Options>, dir: &std::path::Path) -> (u16, Value) {
    let page = u.options.stamp_page.unwrap_or(1);
    let pdf = if u.options.local {
        state.local.first()
    } else {
        u.files.first()
    };
    match pdf.and_then(|f| super::preview::render(f, page, dir)) {
        Some(p) => (
            200,
            json!({
                "ok": true,
                "png": openssl::base64::encode_block(&p.png),
                "width_pt": p.width_pt,
                "height_pt": p.height_pt,
            }),
        ),
        None => (200, json!({"ok": false})),
    }
}

fn cert(state: &mut State, lang: Lang, u: Upload<Options>, dir: &std::path::Path) -> (u16, Value) {
    let sign = u.options.which == "sign";
    let out = backend::cert(
        &state.settings,
        lang,
        dir,
        sign,
        &u.secret,
        u.options.allow_last_try,
    );
    if !out.ok() {
        return (200, failed(&out));
    }
    (200, json!({"ok": true, "text": out.stdout}))
}

fn basic4(
    state: &mut State,
    lang: Lang,
    u: Upload<Options>,
    dir: &std::path::Path,
) -> (u16, Value) {
    let out = backend::basic4(
        &state.settings,
        lang,
        dir,
        &u.secret,
        u.options.allow_last_try,
    );
    if !out.ok() {
        return (200, failed(&out));
    }
    (200, json!({"ok": true, "text": out.stdout}))
}

fn respond(req: Request, status: u16, content_type: &str, body: Vec<u8>, extra: Vec<Header>) {
    let mut r = Response::from_data(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type));
    for h in security::hardening_headers().into_iter().chain(extra) {
        r.add_header(h);
    }
    if let Err(e) = req.respond(r) {
        tracing::debug!("answer not delivered: {e}");
    }
}

fn asset(req: Request, body: &str, content_type: &str) {
    respond(req, 200, content_type, body.as_bytes().to_vec(), Vec::new());
}

fn send_json(req: Request, status: u16, v: &Value) {
    respond(
        req,
        status,
        "application/json",
        v.to_string().into_bytes(),
        Vec::new(),
    );
}

/// An error answer for a request that did not say its language (refused
/// by the security rules): both languages.
pub fn refuse(req: Request, status: u16, t: &Text) {
    refuse_in(req, status, t, None);
}

/// An error answer in the page's language (`lang=` in the URL), else both.
fn refuse_in(req: Request, status: u16, t: &Text, lang: Option<Lang>) {
    send_json(
        req,
        status,
        &json!({"ok": false, "error": in_lang(t, lang)}),
    );
}

fn in_lang(t: &Text, lang: Option<Lang>) -> String {
    match lang {
        Some(l) => t.text(l),
        None => format!("{} / {}", t.text(Lang::Ja), t.text(Lang::En)),
    }
}

/// The token URL's answer: the cookie, and `/` without the token.
pub fn redirect_home(req: Request, cookie: Header) {
    respond(
        req,
        303,
        "text/plain",
        Vec::new(),
        vec![cookie, header("Location", "/")],
    );
}

fn download(req: Request, name: &str, bytes: Vec<u8>) {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    respond(
        req,
        200,
        "application/pdf",
        bytes,
        vec![header("Content-Disposition", &disposition)],
    );
}
