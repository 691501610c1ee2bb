//! The loop: listen on 127.0.0.1 (random port), apply [`super::security`]
//! to every request, hand the allowed ones to [`super::api`], and stop when
//! the page is gone, nothing happens for too long, or on SIGINT/SIGTERM/SIGHUP.
//!
//! One request at a time: the card is one device, and a signature must not
//! interleave with a status poll. Requests queue while a signature runs.

use super::api::{self, State};
use super::backend::Settings;
use super::security::{self, Guard, Token, Verdict};
use super::text::Text;
use super::GuiArgs;
use crate::error::CliError;
use crate::Global;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long after the page said goodbye (closed or reloaded) the server
/// waits for it to come back before it stops.
const BYE_GRACE: Duration = Duration::from_secs(10);

/// Serves until closed or idle.
pub fn serve(g: &Global, a: &GuiArgs) -> Result<(), CliError> {
    let server = tiny_http::Server::http("127.0.0.1:0")
        .map_err(|e| CliError::Usage(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| CliError::Usage("cannot listen on 127.0.0.1".into()))?;
    let token = Token::new().map_err(|e| CliError::Usage(format!("no random numbers: {e}")))?;
    let mut guard = Guard::new(token, port);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| CliError::Io {
            what: "cannot handle signals",
            path: "gui".into(),
            source: e,
        })?;
    }
    let absolute = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
    };
    let mut local = Vec::new();
    for f in &a.files {
        let abs = std::fs::canonicalize(f)
            .ok()
            .filter(|p| p.is_file())
            .ok_or_else(|| CliError::Io {
                what: "cannot read",
                path: f.display().to_string(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })?;
        local.push(abs);
    }
    let mut state = State::new(
        Settings {
            reader: g.reader.clone(),
            ca: absolute(&a.ca),
            tsa_ca: absolute(&a.tsa_ca),
        },
        a.max_upload.saturating_mul(1 << 20),
        local,
    );
    // Held until the server stops: the redirect file the browser was opened with.
    let _launcher = announce(&guard, a.no_open, port);

    let close_after = Duration::from_secs(a.close_after);
    let idle = Duration::from_secs(a.idle_timeout);
    while !stop.load(Ordering::Relaxed)
        && state.last_seen.elapsed() < close_after
        && state.last_action.elapsed() < idle
        && !matches!(state.bye, Some(t) if t.elapsed() >= BYE_GRACE)
    {
        let req = match server.recv_timeout(Duration::from_millis(500)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!("accept: {e}");
                continue;
            }
        };
        // Never the query (the first URL carries the token) nor a download id.
        let path = security::split_url(req.url()).0;
        let shown = if path.starts_with("/api/download/") {
            "/api/download/…"
        } else {
            path
        };
        tracing::debug!("{} {shown}", req.method());
        match guard.check(&req) {
            Verdict::Refused(why) => {
                tracing::debug!("refused: {why}");
                api::refuse(req, 403, &Text::Forbidden);
            }
            Verdict::Exchange => {
                state.touch(true);
                api::redirect_home(req, guard.cookie_header());
            }
            Verdict::Allowed => api::handle(&mut state, req),
        }
    }
    eprintln!("{}", Text::Stopped.text(crate::i18n::lang()));
    Ok(())
}

/// `--no-open`: the URL as the first line of stdout; else opens the browser — through a
/// redirect file, as Jupyter does, so that the one-time token never stands on a command line
/// (`xdg-open URL` and the browser it starts would show it to every local user in `ps`).
fn announce(guard: &Guard, no_open: bool, port: u16) -> Option<tempfile::TempDir> {
    let url = guard.first_url();
    if no_open {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{url}").and_then(|()| out.flush());
        return None;
    }
    let launcher = redirect_file(&url);
    let opened = launcher.as_ref().is_some_and(|(_, file)| {
        std::process::Command::new("xdg-open")
            .arg(file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    });
    if opened {
        let plain = format!("http://127.0.0.1:{port}/");
        eprintln!("{}", Text::Started(&plain).text(crate::i18n::lang()));
    } else {
        // No browser to open: the owner opens the URL by hand.
        println!("{url}");
    }
    launcher.map(|(dir, _)| dir)
}

/// A page that sends the browser on to `url`, in a directory only this user can read.
fn redirect_file(url: &str) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("jpki-gui.")
        .tempdir()
        .ok()?;
    // 0700 before the token is written (the directory was made with the umask's mode).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).ok()?;
    let file = dir.path().join("open.html");
    // The URL is ours (loopback address, port, hex token): nothing in it needs escaping.
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\">\
         <title>jpki-sign</title><a href=\"{url}\">jpki-sign</a>\n"
    );
    std::fs::write(&file, page).ok()?;
    Some((dir, file))
}

#[cfg(test)]
mod tests {
    use super::redirect_file;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_browser_is_opened_through_a_private_redirect_file() {
        let url = "http://127.0.0.1:4242/?t=0123abcd";
        let (dir, file) = redirect_file(url).expect("redirect file");
        let mode = std::fs::metadata(dir.path())
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "only the owner may read the token: {mode:o}"
        );
        let page = std::fs::read_to_string(&file).expect("page");
        assert!(page.contains(&format!("content=\"0;url={url}\"")), "{page}");
        // What xdg-open gets on its command line: a path, not the token.
        assert!(!file.to_string_lossy().contains("0123abcd"));
        drop(dir);
        assert!(!file.exists(), "removed when the server stops");
    }
}
