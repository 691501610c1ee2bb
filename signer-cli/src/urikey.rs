//! `jpki-sign uri-key`: a PEM file that *names* a card key (`-----BEGIN JPKI PROVIDER URI-----`).
//!
//! Programs that only accept a private-key file (nginx 1.22, curl 7.88, `openssl … -inkey`)
//! get the card key through it when the jpki OpenSSL provider is active (conf/jpki.cnf). The
//! file holds no secret and no key material; it does not touch the card.

use crate::cmd::{check_output, write_output};
use crate::error::CliError;
use clap::Args;
use jpki_uri::pem_uri;
use jpki_uri::JpkiUri;
use std::path::PathBuf;

pub const AFTER_HELP: &str = "\
Examples:
  jpki-sign uri-key jpki:auth -o auth-key.pem
  jpki-sign uri-key 'jpki:auth?pin-source=file:/etc/nginx/jpki-pin' -o /etc/nginx/jpki-auth.pem
  OPENSSL_CONF=/etc/jpki/jpki.cnf curl --cert auth.pem --key auth-key.pem --tls-max 1.2 https://…

URI attributes: reader=TEXT (reader-name substring), pin-source=file:/path or env:NAME
(where a program without a terminal finds the PIN), last-try=allow (may spend the last try).";

#[derive(Args, Debug)]
pub struct UriKeyArgs {
    /// The key: jpki:auth or jpki:sign, optionally with ?reader=…&pin-source=…
    pub uri: String,
    /// Write to this file instead of standard output (never overwrites silently: use --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: &UriKeyArgs) -> Result<(), CliError> {
    let uri = JpkiUri::parse(&a.uri).map_err(|e| CliError::Usage(e.to_string()))?;
    if !uri.object.is_key() {
        return Err(CliError::Usage(
            crate::i18n::Msg::NotAKey(&uri.base()).to_string(),
        ));
    }
    check_output(a.output.as_deref(), a.force)?;
    let pem = pem_uri::encode(&uri).map_err(|e| CliError::Usage(e.to_string()))?;
    write_output(a.output.as_deref(), pem.as_bytes())
}
