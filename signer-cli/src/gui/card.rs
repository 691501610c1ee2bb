//! The card panel: reader, card kind and tries left of every PIN, read
//! without spending a try (the counters are queried, nothing is verified).

use crate::i18n::{self, Lang, Msg};
use jpki_card::{Card, CertKind, PinKind, PinStatus, ReaderChoice, TokenKind};
use serde_json::{json, Value};

/// The panel's state as JSON: `{"ok":true,"reader","kind","pins":[…]}` or
/// `{"ok":false,"problem"}` with what is wrong and what to do.
pub fn status(reader: Option<&str>, lang: Lang) -> Value {
    match read(reader, lang) {
        Ok(v) => v,
        Err(e) => json!({"ok": false, "problem": i18n::card_error(&e, lang)}),
    }
}

/// The sign CA certificate on the card (read without a PIN) as PEM, the
/// trust anchor for verifying when `gui` was started without `--ca`.
pub fn sign_ca_pem(reader: Option<&str>) -> Option<Vec<u8>> {
    let mut card = Card::open(&ReaderChoice::from_option(reader)).ok()?;
    let der = card.session().ok()?.read_cert(CertKind::SignCa).ok()?;
    openssl::x509::X509::from_der(der.as_bytes())
        .and_then(|x| x.to_pem())
        .ok()
}

fn read(reader: Option<&str>, lang: Lang) -> Result<Value, jpki_card::CardError> {
    let mut card = Card::open(&ReaderChoice::from_option(reader))?;
    let mut kinds = vec![PinKind::Auth, PinKind::Sign];
    if card.token() == &TokenKind::MyNumberCard {
        kinds.push(PinKind::Text);
    }
    let mut pins = Vec::new();
    {
        let mut s = card.session()?;
        for k in kinds {
            let st = s.pin_status(k)?;
            let tries = st.tries().map(|t| t.get());
            let line = match st {
                PinStatus::Tries(t) if t.is_blocked() => Msg::PinBlocked(k),
                PinStatus::Tries(t) if t.is_last() => Msg::PinLastTry(k),
                PinStatus::Tries(t) => Msg::PinTries(k, t.get()),
                PinStatus::Verified => Msg::PinVerified(k),
            };
            pins.push(json!({
                "pin": k.id(),
                "name": i18n::pin_name(k, lang),
                "tries_left": tries,
                "max": k.max_tries(),
                "last": tries == Some(1),
                "blocked": tries == Some(0),
                "text": line.text(lang),
            }));
        }
    }
    Ok(json!({
        "ok": true,
        "reader": card.reader_name(),
        "kind": Msg::CardKind(card.token()).text(lang),
        "pins": pins,
    }))
}
