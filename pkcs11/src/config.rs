//! The module's settings: a config file, then environment variables over it.
//!
//! File: `$JPKI_PKCS11_CONF`, else `/etc/jpki/pkcs11.conf` (missing file = defaults). Lines
//! `key = value`; `#` starts a comment. Every key has an environment variable that wins over
//! the file: `JPKI_PKCS11_` + the key upper-cased with `.` and `-` as `_`
//! (`auth.pin-source` → `JPKI_PKCS11_AUTH_PIN_SOURCE`). The reader is also taken from
//! `JPKI_READER`, as everywhere in jpki.
//!
//! | key | values | meaning |
//! |---|---|---|
//! | `reader` | text | reader name substring (jpki-card's `ReaderChoice`) |
//! | `tokens` | `auth,sign` (default), `auth` or `sign` | which tokens the module shows: a browser needs only the auth token, and every token it sees it may try to log in to |
//! | `auth.pin-source`, `sign.pin-source` | `file:PATH`, `env:VAR`, `pinentry[:PROGRAM]` | protected authentication path: `C_Login` with no PIN reads it here |
//! | `auth.pin-at-sign` | `yes`/`no` | token needs no `C_Login`; each signature reads the PIN from the pin-source (for consumers that never log in, like Chromium). Not offered for the sign token: its certificate can only be read after the password, so a token without login would present the password whenever a program lists it, with no signature asked for |
//! | `auth.last-try`, `sign.last-try` | `refuse`/`allow` | whether the very last try may be spent |
//! | `pss` | `yes`/`no` | offer `CKM_RSA_PKCS_PSS` (the card's PSS mode, spec §7.2 [O]) |
//!
//! A value that does not parse makes `C_Initialize` fail with `CKR_GENERAL_ERROR` rather than
//! run with a setting the owner did not mean.

use jpki_card::{KeyKind, LastTry, ReaderChoice};
use jpki_pin_source::PinSource;
use std::collections::HashMap;
use std::path::PathBuf;

/// Default location of the config file.
pub const DEFAULT_FILE: &str = "/etc/jpki/pkcs11.conf";

/// Settings of one token (one key).
#[derive(Debug, Clone, Default)]
pub struct KeyConfig {
    /// Protected authentication path: where `C_Login(NULL)` gets the PIN.
    pub pin_source: Option<PinSource>,
    /// No login needed; the PIN is read from `pin_source` at each signature.
    pub pin_at_sign: bool,
    /// Whether the last try may be spent.
    pub last_try: LastTry,
}

/// All settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which reader.
    pub reader: ReaderChoice,
    /// Auth key token.
    pub auth: KeyConfig,
    /// Sign key token.
    pub sign: KeyConfig,
    /// Whether RSA-PSS is offered.
    pub pss: bool,
    /// The tokens shown, in slot order (never empty).
    pub tokens: Vec<KeyKind>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            reader: ReaderChoice::default(),
            auth: KeyConfig::default(),
            sign: KeyConfig::default(),
            pss: false,
            tokens: vec![KeyKind::Auth, KeyKind::Sign],
        }
    }
}

/// A setting that does not parse (its value is not repeated: it might be a secret typed in
/// the wrong place).
#[derive(Debug, thiserror::Error)]
#[error("jpki-pkcs11: bad setting {key} ({why})")]
pub struct ConfigError {
    key: String,
    why: &'static str,
}

impl Config {
    /// Reads the file and the environment.
    pub fn load() -> Result<Config, ConfigError> {
        let path = std::env::var_os("JPKI_PKCS11_CONF")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        Config::from_sources(&text, |k| std::env::var(k).ok())
    }

    /// Builds the config from a file's text and an environment lookup.
    pub fn from_sources(
        file: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut values: HashMap<String, String> = HashMap::new();
        for line in file.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(ConfigError {
                    key: line.chars().take(40).collect(),
                    why: "expected key = value",
                });
            };
            values.insert(k.trim().to_string(), v.trim().to_string());
        }
        let get = |key: &str| -> Option<String> {
            let var = format!(
                "JPKI_PKCS11_{}",
                key.to_uppercase().replace(['.', '-'], "_")
            );
            env(&var)
                .or_else(|| values.get(key).cloned())
                .filter(|v| !v.is_empty())
        };
        // The same precedence as every front door: the module's own setting, then JPKI_READER.
        let reader = get("reader").or_else(|| env(jpki_card::card::READER_ENV));
        let mut config = Config {
            reader: ReaderChoice::from_option(reader.as_deref()),
            pss: flag(&get, "pss")?,
            tokens: tokens(get("tokens").as_deref())?,
            ..Config::default()
        };
        for (prefix, slot) in [("auth", &mut config.auth), ("sign", &mut config.sign)] {
            let key = format!("{prefix}.pin-source");
            slot.pin_source = match get(&key) {
                Some(v) => Some(PinSource::parse(&v).map_err(|_| ConfigError {
                    key,
                    why: "use file:PATH, env:VAR, pinentry or pinentry:PROGRAM",
                })?),
                None => None,
            };
            slot.pin_at_sign = flag(&get, &format!("{prefix}.pin-at-sign"))?;
            if slot.pin_at_sign && prefix == "sign" {
                // Listing a login-free sign token means reading its certificate, which needs
                // the password: a VERIFY at every start of a browser, with no signature asked.
                return Err(ConfigError {
                    key: format!("{prefix}.pin-at-sign"),
                    why: "not for the sign key: its certificate needs the password, \
                          so listing the token would present it; use sign.pin-source",
                });
            }
            if slot.pin_at_sign && slot.pin_source.is_none() {
                return Err(ConfigError {
                    key: format!("{prefix}.pin-at-sign"),
                    why: "needs a pin-source",
                });
            }
            let key = format!("{prefix}.last-try");
            slot.last_try = match get(&key).as_deref() {
                None | Some("refuse") => LastTry::Refuse,
                Some("allow") => LastTry::Allow,
                Some(_) => {
                    return Err(ConfigError {
                        key,
                        why: "use refuse or allow",
                    })
                }
            };
        }
        Ok(config)
    }

    /// The settings of a key's token.
    pub fn key(&self, key: KeyKind) -> &KeyConfig {
        match key {
            KeyKind::Auth => &self.auth,
            KeyKind::Sign => &self.sign,
        }
    }
}

/// `tokens = auth,sign | auth | sign`.
fn tokens(value: Option<&str>) -> Result<Vec<KeyKind>, ConfigError> {
    let bad = || ConfigError {
        key: "tokens".into(),
        why: "use auth,sign or auth or sign",
    };
    let Some(value) = value else {
        return Ok(Config::default().tokens);
    };
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim) {
        let key = match part {
            "auth" => KeyKind::Auth,
            "sign" => KeyKind::Sign,
            _ => return Err(bad()),
        };
        if !out.contains(&key) {
            out.push(key);
        }
    }
    // Slot order stays auth, sign whatever the order written.
    out.sort_by_key(|k| matches!(k, KeyKind::Sign));
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

fn flag(get: &impl Fn(&str) -> Option<String>, key: &str) -> Result<bool, ConfigError> {
    match get(key).as_deref() {
        None | Some("no" | "false" | "0") => Ok(false),
        Some("yes" | "true" | "1") => Ok(true),
        Some(_) => Err(ConfigError {
            key: key.to_string(),
            why: "use yes or no",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_the_file() {
        let file =
            "reader = File Reader\nauth.pin-source = file:/a # comment\nsign.last-try = allow\n";
        let c = Config::from_sources(file, |k| {
            (k == "JPKI_PKCS11_AUTH_PIN_SOURCE").then(|| "env:X".to_string())
        })
        .unwrap();
        assert_eq!(c.reader, ReaderChoice::Named("File Reader".into()));
        assert_eq!(c.auth.pin_source, Some(PinSource::Env("X".into())));
        assert_eq!(c.sign.last_try, LastTry::Allow);
        assert_eq!(c.auth.last_try, LastTry::Refuse);
        // JPKI_READER is the fallback of every front door: a reader set for the module wins.
        let c = Config::from_sources(file, |k| (k == "JPKI_READER").then(|| "R".into())).unwrap();
        assert_eq!(c.reader, ReaderChoice::Named("File Reader".into()));
        let c = Config::from_sources("", |k| (k == "JPKI_READER").then(|| "R".into())).unwrap();
        assert_eq!(c.reader, ReaderChoice::Named("R".into()));
    }

    #[test]
    fn tokens_choose_the_slots_in_slot_order() {
        let t = |v: &str| {
            Config::from_sources(&format!("tokens = {v}\n"), |_| None)
                .unwrap()
                .tokens
        };
        assert_eq!(
            Config::from_sources("", |_| None).unwrap().tokens,
            [KeyKind::Auth, KeyKind::Sign]
        );
        assert_eq!(t("auth"), [KeyKind::Auth]);
        assert_eq!(t("sign"), [KeyKind::Sign]);
        assert_eq!(t("sign, auth"), [KeyKind::Auth, KeyKind::Sign]);
        let env = Config::from_sources("tokens = auth,sign\n", |k| {
            (k == "JPKI_PKCS11_TOKENS").then(|| "auth".to_string())
        });
        assert_eq!(env.unwrap().tokens, [KeyKind::Auth]);
    }

    #[test]
    fn bad_values_are_refused_without_echoing_them() {
        let e = Config::from_sources("auth.last-try = 1234\n", |_| None).unwrap_err();
        assert!(!e.to_string().contains("1234"), "{e}");
        assert!(Config::from_sources("sign.pin-at-sign = yes\n", |_| None).is_err());
        let e = Config::from_sources("sign.pin-source = env:P\nsign.pin-at-sign = yes\n", |_| {
            None
        });
        assert!(e.unwrap_err().to_string().contains("sign.pin-at-sign"));
        assert!(Config::from_sources("tokens = auth,pin\n", |_| None).is_err());
        assert!(Config::from_sources("tokens = ,\n", |_| None).is_err());
        assert!(Config::from_sources("garbage\n", |_| None).is_err());
    }
}
