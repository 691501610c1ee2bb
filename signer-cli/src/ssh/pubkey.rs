//! The auth key as an OpenSSH public key (RFC 4253 §6.6 `ssh-rsa` blob).

use super::PubkeyArgs;
use crate::error::CliError;
use crate::Global;
use jpki_card::{Card, ReaderChoice};
use ssh_key::public::KeyData;
use ssh_key::PublicKey;

/// Reads the auth certificate (no PIN on a plastic card) and returns its key.
pub fn read_auth_key(card: &mut Card) -> Result<KeyData, CliError> {
    Ok(jpki_ssh_agent::auth_key(card)?)
}

/// The `ssh-rsa AAAA… comment` line.
pub fn openssh_line(key: &KeyData, comment: &str) -> Result<String, CliError> {
    PublicKey::new(key.clone(), comment)
        .to_openssh()
        .map_err(|e| CliError::Cert(format!("cannot encode the key for OpenSSH: {e}")))
}

pub fn run(g: &Global, a: &PubkeyArgs) -> Result<(), CliError> {
    if a.comment.contains(['\n', '\r']) {
        return Err(CliError::Usage(
            crate::i18n::Msg::CommentOneLine.to_string(),
        ));
    }
    let mut card = Card::open(&ReaderChoice::from_env_or(g.reader.as_deref()))?;
    let key = read_auth_key(&mut card)?;
    println!("{}", openssh_line(&key, &a.comment)?);
    Ok(())
}
