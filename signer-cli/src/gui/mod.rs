//! `jpki-sign gui`: a local web page for card owners who do not use a
//! terminal — sign and verify PDFs, see the card and its PIN tries.
//!
//! `jpki-sign` serves the page itself on 127.0.0.1 (a random port), with every
//! asset embedded in the binary, so it works offline. The page talks to a
//! small JSON API ([`api`]); signing and verifying go through [`backend`],
//! which runs this same program's `sign`, `verify`, `cert` and `card basic4`
//! commands, so the page gets exactly the CLI's checks, messages and PIN law.
//!
//! What it refuses to do: listen beyond loopback; answer a request without
//! the per-run token, with a foreign `Host` or (when it changes something) a
//! foreign `Origin` ([`security`]); keep a PIN, a password or personal data
//! anywhere but in the one request that needs it; leave a file behind.

mod api;
mod backend;
mod body;
mod card;
mod preview;
mod security;
mod server;
mod text;

use crate::error::CliError;
use crate::Global;
use clap::Args;
use std::path::PathBuf;

/// `jpki-sign gui`.
#[derive(Args, Debug)]
pub struct GuiArgs {
    /// PDF files to offer for signing; their signed copies are saved next to
    /// them (NAME-signed.pdf, as `jpki-sign sign` does) instead of downloaded.
    #[arg(value_name = "PDF")]
    pub files: Vec<PathBuf>,
    /// Print the page's URL as the first line of standard output instead of
    /// opening it in the default browser.
    #[arg(long)]
    pub no_open: bool,
    /// Trusted CA certificates (PEM) for verifying signatures (as `verify --ca`).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Trusted CA certificates (PEM) of time-stamping authorities (as `verify --tsa-ca`).
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,
    /// Stop when the page has not been heard from for this many seconds
    /// (the open page checks in every few seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub close_after: u64,
    /// Stop after this many seconds without anything done on the page.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub idle_timeout: u64,
    /// Largest upload accepted, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub max_upload: u64,
}

/// Runs `gui` until the page is closed or idle.
pub fn run(g: &Global, a: &GuiArgs) -> Result<(), CliError> {
    for ca in a.ca.iter().chain(&a.tsa_ca) {
        crate::cms_cmd::check_ca_file(ca)?;
    }
    server::serve(g, a)
}
