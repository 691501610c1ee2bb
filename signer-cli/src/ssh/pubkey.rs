//! The auth key as an OpenSSH public key (RFC 4253 §6.6 `ssh-rsa` blob).

use super::PubkeyArgs;
use crate::error::CliError;
use crate::Global;
use jpki_card::{Card, CertKind, CertificateDer, ReaderChoice};
use ssh_key::public::{KeyData, RsaPublicKey};
use ssh_key::{Mpint, PublicKey};

/// The RSA public key of a certificate, as OpenSSH key data.
pub fn key_data(cert: &CertificateDer) -> Result<KeyData, CliError> {
    let bad = |what: &str| CliError::Cert(what.to_string());
    let x509 = openssl::x509::X509::from_der(cert.as_bytes()).map_err(|e| bad(&e.to_string()))?;
    let rsa = x509
        .public_key()
        .and_then(|k| k.rsa())
        .map_err(|_| bad("the auth certificate does not hold an RSA key"))?;
    let mpint = |b: &openssl::bn::BigNumRef| {
        Mpint::from_positive_bytes(&b.to_vec())
            .map_err(|_| bad("the auth certificate's RSA key has an invalid number"))
    };
    Ok(KeyData::Rsa(RsaPublicKey {
        e: mpint(rsa.e())?,
        n: mpint(rsa.n())?,
    }))
}

/// Reads the auth certificate (no PIN on a plastic card) and returns its key.
pub fn read_auth_key(card: &mut Card) -> Result<KeyData, CliError> {
    if card.token().auth_cert_needs_pin() {
        return Err(CliError::Usage(format!(
            "the auth certificate of this token ({}) can only be read after the auth PIN; jpki-sign ssh supports the plastic My Number card",
            card.token()
        )));
    }
    let der = card.session()?.read_cert(CertKind::Auth)?;
    key_data(&der)
}

/// The `ssh-rsa AAAA… comment` line.
pub fn openssh_line(key: &KeyData, comment: &str) -> Result<String, CliError> {
    PublicKey::new(key.clone(), comment)
        .to_openssh()
        .map_err(|e| CliError::Cert(format!("cannot encode the key for OpenSSH: {e}")))
}

pub fn run(g: &Global, a: &PubkeyArgs) -> Result<(), CliError> {
    if a.comment.contains(['\n', '\r']) {
        return Err(CliError::Usage("the comment must be a single line".into()));
    }
    let mut card = Card::open(&ReaderChoice::from_env_or(g.reader.as_deref()))?;
    let key = read_auth_key(&mut card)?;
    println!("{}", openssh_line(&key, &a.comment)?);
    Ok(())
}
