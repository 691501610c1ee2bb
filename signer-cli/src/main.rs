//! `jpki-sign`: the card owner's command line.
//!
//! A thin layer over the libraries: argument parsing, prompts, output in
//! Japanese or English. Card information, PIN status without spending a try,
//! the four certificates, PDF signing and verification ([`pdf`], over
//! `jpki-pdf`), CMS signatures and RFC 3161 timestamps ([`cms_cmd`], over
//! `jpki-cms`), SSH ([`ssh`]). Every PIN goes through [`pin_session`], the one
//! place where the libraries' signer meets the card. Errors are converted
//! once, in [`error::report`], to one line on stderr and a documented exit
//! code.
#![forbid(unsafe_code)]

mod basic4_and_docs;
mod cmd;
mod cms_cmd;
mod error;
mod gui;
mod i18n;
mod pdf;
mod pin_session;
mod secret;
mod ssh;
mod urikey;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  other error (file I/O, bad arguments to a sub-command)
  2  usage error (unknown option, missing argument)
  3  no usable card: pcscd not running, no reader, no card, not a My Number card,
     or the card was removed (or lost contact), or pcscd stopped, during the operation
  4  PIN problem: wrong PIN, blocked PIN, last try refused, bad PIN format
  5  the card failed or answered unexpectedly
  6  a signature did not verify (verify, cms verify)

Messages are in Japanese when LC_ALL, LC_MESSAGES or LANG says ja (e.g. LANG=ja_JP.UTF-8),
in English otherwise; --lang overrides. This help and --json output stay English.

PINs are never taken as arguments: on a terminal jpki-sign asks for them;
otherwise pass --pin-file FILE (first line; `-` reads standard input).

Examples:
  jpki-sign doc.pdf                   sign a PDF (writes doc-signed.pdf; asks for the sign password)
  jpki-sign verify doc-signed.pdf --ca ca.pem   check every signature of a PDF
  jpki-sign cms sign data.bin --detached        CMS signature data.bin.p7s
  jpki-sign card                      which reader, which card
  jpki-sign pin status                tries left of every PIN (spends none)
  jpki-sign pin change sign           change the sign password (asks for old and new)
  jpki-sign cert auth --pem           the authentication certificate
  jpki-sign cert sign -o sign.pem     the signature certificate (asks for the password)
  jpki-sign ssh pubkey                the auth key as an OpenSSH public key (no PIN)
  jpki-sign ssh agent -a SOCKET       an ssh-agent signing with the auth key
  jpki-sign gui                       sign and verify PDFs in a local web page";

/// Sign documents with the Japanese My Number card (JPKI).
#[derive(Parser, Debug)]
#[command(name = "jpki-sign", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Args, Debug)]
pub struct Global {
    /// Use the reader whose name contains this text (default: the first real reader holding a
    /// My Number card; virtual readers such as "Virtual PCD" only when named here or in JPKI_READER).
    #[arg(long, global = true, env = "JPKI_READER")]
    pub reader: Option<String>,
    /// Read the PIN or password from this file's first line (`-` = standard input).
    #[arg(long, global = true, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// Allow spending the very last PIN try (a wrong PIN then blocks the card).
    #[arg(long, global = true)]
    pub force_last_try: bool,
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// Language of the messages (default: from LC_ALL, LC_MESSAGES, LANG).
    #[arg(long, global = true, value_enum, value_name = "LANG")]
    pub lang: Option<i18n::Lang>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the reader and what kind of card is in it (`card basic4`: 基本4情報).
    Card(basic4_and_docs::CardArgs),
    /// PIN status and management.
    #[command(subcommand)]
    Pin(PinCommand),
    /// Print a certificate from the card.
    Cert(CertArgs),
    /// Write a key file that points at a card key, for programs that only take key files.
    #[command(after_help = urikey::AFTER_HELP)]
    UriKey(urikey::UriKeyArgs),
    /// SSH with the auth key: OpenSSH public key, ssh-agent.
    #[command(subcommand)]
    Ssh(ssh::SshCommand),
    /// CMS (PKCS#7) signatures of any file.
    #[command(subcommand)]
    Cms(cms_cmd::CmsCommand),
    /// Sign PDF files with the sign key (also: `jpki-sign FILE.pdf …`).
    #[command(after_help = pdf::sign::AFTER_HELP)]
    Sign(pdf::sign::SignArgs),
    /// Verify every signature of PDF files (exit 6 if any is not valid).
    #[command(after_help = pdf::verify_cmd::AFTER_HELP)]
    Verify(pdf::verify_cmd::VerifyArgs),
    /// A local web page to sign and verify PDFs without a terminal (opens the browser).
    Gui(gui::GuiArgs),
    /// Print a shell completion script.
    Completions(basic4_and_docs::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Subcommand, Debug)]
pub enum PinCommand {
    /// Tries left for the auth PIN, the sign password and the text PIN. Spends no try.
    Status,
    /// Change the auth PIN or the sign password (the current one is verified first: one try).
    Change(ChangeArgs),
}

/// Which PIN to change.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PinName {
    /// The 4-digit auth PIN (利用者証明用暗証番号).
    Auth,
    /// The 6-16 character sign password (署名用パスワード).
    Sign,
}

#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// Which PIN.
    #[arg(value_enum)]
    pub which: PinName,
    /// Read the NEW PIN from this file's first line (the current one comes from --pin-file or the terminal).
    #[arg(long, value_name = "FILE")]
    pub new_pin_file: Option<PathBuf>,
}

/// Which certificate.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CertName {
    /// User-authentication certificate (no PIN needed).
    Auth,
    /// Signature certificate (needs the sign password; contains name and address).
    Sign,
    /// CA of the authentication certificate.
    AuthCa,
    /// CA of the signature certificate.
    SignCa,
}

#[derive(Args, Debug)]
pub struct CertArgs {
    /// Which certificate.
    #[arg(value_enum)]
    pub which: CertName,
    /// Output format.
    #[arg(long, value_enum, default_value = "pem")]
    pub format: CertFormat,
    /// PEM output (same as --format pem).
    #[arg(long, conflicts_with_all = ["format", "der", "text"])]
    pub pem: bool,
    /// DER output (same as --format der).
    #[arg(long, conflicts_with_all = ["format", "pem", "text"])]
    pub der: bool,
    /// Human-readable output (same as --format text).
    #[arg(long, conflicts_with_all = ["format", "pem", "der"])]
    pub text: bool,
    /// Write to this file instead of standard output (never overwrites silently: use --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CertFormat {
    Pem,
    Der,
    Text,
}

fn main() -> ExitCode {
    secret::protect_process();
    // `jpki-sign doc.pdf` = `jpki-sign sign doc.pdf`.
    let cli = Cli::parse_from(pdf::default_to_sign(std::env::args_os().collect()));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("JPKI_LOG"))
        .with_writer(std::io::stderr)
        .init();
    i18n::init(cli.global.lang);
    match cmd::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => error::report(&e),
    }
}
