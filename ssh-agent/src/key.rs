//! The card's auth key as OpenSSH key data (RFC 4253 §6.6 `ssh-rsa` blob), read from the auth
//! certificate, which a plastic My Number card gives out without a PIN.

use crate::Error;
use jpki_card::{Card, CertKind, CertificateDer};
use ssh_key::public::{KeyData, RsaPublicKey};
use ssh_key::Mpint;

/// The RSA public key of a certificate, as OpenSSH key data.
pub fn key_data(cert: &CertificateDer) -> Result<KeyData, Error> {
    let bad = |what: &str| Error::Cert(what.to_string());
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

/// Reads the auth certificate (no PIN on a plastic card) and returns its key. Tokens whose
/// auth certificate needs the PIN are refused: listing keys must never cost a PIN.
pub fn auth_key(card: &mut Card) -> Result<KeyData, Error> {
    if card.token().auth_cert_needs_pin() {
        return Err(Error::Usage(format!(
            "the auth certificate of this token ({}) can only be read after the auth PIN; jpki-sign ssh supports the plastic My Number card",
            card.token()
        )));
    }
    let der = card.session()?.read_cert(CertKind::Auth)?;
    key_data(&der)
}
