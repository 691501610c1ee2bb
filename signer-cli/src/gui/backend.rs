//! The one place the page's actions reach the CLI's signing and verifying
//! code: each runs this same executable's sub-command (`sign`, `verify`,
//! `cert`, `card basic4`) on files in a private temporary directory, with
//! the secret on its standard input (`--pin-file -`).
//!
//! Why a child process and not a function call: the page then gets exactly
//! the CLI's behaviour — its PIN law (`--force-last-try` only when the user
//! ticked it), its hardened PDF parsing, its messages with tries left and
//! its exit codes — and a hostile PDF that crashed the parser would take down
//! the child, not the server. The secret is never in an argument, a file or
//! the environment; it goes through a pipe and the child zeroizes it.

use super::text::Text;
use crate::i18n::Lang;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// Settings every child gets from the `gui` command line.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub reader: Option<String>,
    pub ca: Option<PathBuf>,
    pub tsa_ca: Option<PathBuf>,
}

/// A child's outcome.
#[derive(Debug)]
pub struct Outcome {
    /// The CLI's exit code (0 success, 3 card, 4 PIN, 6 not valid …).
    pub code: i32,
    pub stdout: String,
    /// The CLI's one-line error without the `jpki-sign: error: ` prefix.
    pub error: Option<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// What to sign with.
#[derive(Debug, Default)]
pub struct SignOptions {
    pub pades: bool,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub allow_last_try: bool,
    /// Page (1 = first) and box `X,Y,W,H` of a visible signature.
    pub stamp: Option<(u32, Option<String>)>,
    pub stamp_image: Option<PathBuf>,
}

fn base(s: &Settings, lang: Lang, dir: &Path) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("jpki-sign"));
    let mut c = Command::new(exe);
    c.current_dir(dir)
        .arg("--lang")
        .arg(match lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        })
        .env_remove("JPKI_LOG");
    if let Some(r) = &s.reader {
        c.arg("--reader").arg(r);
    }
    c
}

fn run(mut c: Command, lang: Lang, secret: Option<&[u8]>) -> Outcome {
    c.stdin(if secret.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            return Outcome {
                code: 1,
                stdout: String::new(),
                error: Some(Text::CannotStart(&e).text(lang)),
            }
        }
    };
    if let (Some(secret), Some(mut stdin)) = (secret, child.stdin.take()) {
        let mut line = Zeroizing::new(secret.to_vec());
        line.push(b'\n');
        // A child that fails before reading closes the pipe: its exit says why.
        let _ = stdin.write_all(&line);
    }
    match child.wait_with_output() {
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let error = err
                .lines()
                .rev()
                .find(|l| l.starts_with("jpki-sign: "))
                .map(|l| {
                    let l = l.trim_start_matches("jpki-sign: ");
                    l.split_once(": ").map(|(_, m)| m).unwrap_or(l).to_string()
                });
            Outcome {
                code: o.status.code().unwrap_or(5),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                error: error.or_else(|| (!o.status.success()).then(|| Text::ChildDied.text(lang))),
            }
        }
        Err(_) => Outcome {
            code: 1,
            stdout: String::new(),
            error: Some(Text::ChildDied.text(lang)),
        },
    }
}

fn file_name(p: &Path) -> &std::ffi::OsStr {
    p.file_name().unwrap_or(p.as_os_str())
}

/// `jpki-sign sign FILES…` (absolute paths; each gets NAME-signed.pdf next to
/// it). Uploads, which are in `dir`, are named by their file name only, so
/// the CLI's messages name the file the owner chose, not a temporary path.
pub fn sign(
    s: &Settings,
    lang: Lang,
    dir: &Path,
    files: &[PathBuf],
    o: &SignOptions,
    password: &[u8],
) -> Outcome {
    let mut c = base(s, lang, dir);
    c.args(["--pin-file", "-"]);
    if o.allow_last_try {
        c.arg("--force-last-try");
    }
    c.arg("sign");
    if o.pades {
        c.arg("--pades");
    }
    if let Some(r) = o.reason.as_deref().filter(|r| !r.is_empty()) {
        // `--reason=…`: a value starting with `-` stays a value.
        c.arg(format!("--reason={r}"));
    }
    if let Some(l) = o.location.as_deref().filter(|l| !l.is_empty()) {
        c.arg(format!("--location={l}"));
    }
    if let Some((page, rect)) = &o.stamp {
        c.arg("--stamp").arg("--stamp-page").arg(page.to_string());
        if let Some(r) = rect {
            c.arg(format!("--stamp-rect={r}"));
        }
        if let Some(img) = &o.stamp_image {
            // `./-NAME`: a name starting with `-` stays a value.
            let shown = img.strip_prefix(dir).map(|n| match n.to_str() {
                Some(s) if s.starts_with('-') => Path::new(".").join(n),
                _ => n.to_path_buf(),
            });
            c.arg("--stamp-image").arg(shown.as_deref().unwrap_or(img));
        }
    }
    c.arg("--");
    c.args(files.iter().map(|f| f.strip_prefix(dir).unwrap_or(f)));
    run(c, lang, Some(password))
}

/// `jpki-sign verify FILE` in `dir`: the CLI's report, in words; the chain
/// is checked up to `ca` if given.
pub fn verify(s: &Settings, lang: Lang, dir: &Path, file: &Path, ca: Option<&Path>) -> Outcome {
    let mut c = base(s, lang, dir);
    c.arg("verify");
    if let Some(ca) = ca {
        c.arg("--ca").arg(ca);
    }
    if let Some(ca) = &s.tsa_ca {
        c.arg("--tsa-ca").arg(ca);
    }
    c.arg("--").arg(file_name(file));
    run(c, lang, None)
}

/// `jpki-sign cert auth|sign --text` (the sign certificate needs the password).
pub fn cert(
    s: &Settings,
    lang: Lang,
    dir: &Path,
    sign: bool,
    password: &[u8],
    allow_last_try: bool,
) -> Outcome {
    let mut c = base(s, lang, dir);
    if sign {
        if allow_last_try {
            c.arg("--force-last-try");
        }
        c.args(["--pin-file", "-", "cert", "sign", "--text"]);
        run(c, lang, Some(password))
    } else {
        c.args(["cert", "auth", "--text"]);
        run(c, lang, None)
    }
}

/// `jpki-sign card basic4` with the text PIN.
pub fn basic4(s: &Settings, lang: Lang, dir: &Path, pin: &[u8], allow_last_try: bool) -> Outcome {
    let mut c = base(s, lang, dir);
    c.args(["--pin-file", "-"]);
    if allow_last_try {
        c.arg("--force-last-try");
    }
    c.args(["card", "basic4"]);
    run(c, lang, Some(pin))
}

/// The file `sign` wrote for `input`.
pub fn signed_name(input: &Path) -> PathBuf {
    crate::pdf::sign::default_output(input)
}
