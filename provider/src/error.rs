//! The provider's error type, and its one conversion into OpenSSL's error queue.
//!
//! Every failure reaches the user as `…:jpki:<reason>:…:jpki: <what happened and what to do>`
//! (e.g. `jpki: wrong sign password (署名用パスワード), 3 tries left`), never as a bare code.
//! Messages never contain a PIN or personal data: card errors carry only counts and names.

use crate::ffi::Item;
use jpki_card::{CardError, PinKind};
use jpki_uri::pem_uri::PemUriError;
use jpki_uri::UriError;

/// Reason codes, shown by OpenSSL through [`REASON_STRINGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    NoCard = 1,
    WrongPin = 2,
    PinBlocked = 3,
    LastTry = 4,
    BadPin = 5,
    NoPin = 6,
    CardFailed = 7,
    BadUri = 8,
    Unsupported = 9,
    Internal = 10,
    Config = 11,
}

/// `provider_get_reason_strings`.
pub static REASON_STRINGS: [Item; 12] = [
    Item {
        id: Reason::NoCard as u32,
        ptr: c"no usable My Number card".as_ptr(),
    },
    Item {
        id: Reason::WrongPin as u32,
        ptr: c"wrong PIN".as_ptr(),
    },
    Item {
        id: Reason::PinBlocked as u32,
        ptr: c"PIN blocked".as_ptr(),
    },
    Item {
        id: Reason::LastTry as u32,
        ptr: c"last PIN try refused".as_ptr(),
    },
    Item {
        id: Reason::BadPin as u32,
        ptr: c"PIN format".as_ptr(),
    },
    Item {
        id: Reason::NoPin as u32,
        ptr: c"no PIN given".as_ptr(),
    },
    Item {
        id: Reason::CardFailed as u32,
        ptr: c"card failure".as_ptr(),
    },
    Item {
        id: Reason::BadUri as u32,
        ptr: c"bad jpki: URI".as_ptr(),
    },
    Item {
        id: Reason::Unsupported as u32,
        ptr: c"not supported by the card".as_ptr(),
    },
    Item {
        id: Reason::Internal as u32,
        ptr: c"internal error".as_ptr(),
    },
    Item {
        id: Reason::Config as u32,
        ptr: c"OpenSSL configuration".as_ptr(),
    },
    Item {
        id: 0,
        ptr: std::ptr::null(),
    },
];

/// Everything that can fail inside the provider.
#[derive(Debug, thiserror::Error)]
pub enum ProvError {
    /// The card layer's errors, worded for the card owner.
    #[error("{0}")]
    Card(#[from] CardError),
    /// A bad `jpki:` URI.
    #[error("{0}")]
    Uri(#[from] UriError),
    /// A damaged PEM-URI key file.
    #[error("{0}")]
    PemUri(#[from] PemUriError),
    /// The last try would have been spent without permission (provider wording).
    #[error("only 1 try left for the {pin}; refusing to try so the card does not lock. If you are sure, add ?last-try=allow to the URI (or last-try = allow in the jpki provider section)")]
    LastTryRefused { pin: PinKind },
    /// Nobody supplied a PIN.
    #[error("no {pin} given for {uri}: no terminal to ask on; use -passin, or pin-source=file:/path in the URI or the jpki provider section")]
    NoPin { pin: PinKind, uri: String },
    /// A pin-source that cannot be read. `source_name` is `file` or `env:NAME`: a path is
    /// never shown (a PIN written as `file:1234` would be).
    #[error("cannot read the {pin} from the pin-source ({source_name}): {reason}")]
    PinSource {
        pin: PinKind,
        source_name: String,
        reason: String,
    },
    /// The same wrong PIN again: never sent twice.
    #[error("this {pin} was already refused by the card in this process; not sending it again (check it and start the program again)")]
    AlreadyRefused { pin: PinKind },
    /// A card key whose PIN was lost (card re-inserted) and cannot be asked again.
    #[error("the {pin} is needed again (the card was re-inserted) but there is no way to ask for it here; give a pin-source, or reload the key")]
    PinNeededAgain { pin: PinKind },
    /// RSA-PSS or raw RSA.
    #[error("the My Number card signs with RSA PKCS#1 v1.5 only; {what} is not available. For TLS, cap the connection at TLS 1.2 with PKCS#1 signature algorithms (openssl -tls1_2 -sigalgs RSA+SHA256, curl --tls-max 1.2, nginx proxy_ssl_protocols TLSv1.2)")]
    PaddingUnsupported { what: String },
    /// A digest the card's DigestInfo list does not have.
    #[error("digest {0} is not supported (use SHA1, SHA224, SHA256, SHA384 or SHA512)")]
    Digest(String),
    /// Input to sign of the wrong shape.
    #[error("{0}")]
    BadInput(String),
    /// The object asked for is not a private key / not available.
    #[error("{0}")]
    NotAvailable(String),
    /// A bad setting in the provider's openssl.cnf section.
    #[error("jpki provider configuration: {0}")]
    Config(&'static str),
    /// `-provider jpki` alone replaces the default provider.
    #[error("the default provider is not loaded, so OpenSSL cannot hash or read certificates: add `-provider default` after `-provider jpki` (a -provider option replaces the built-in default), or use OPENSSL_CONF with conf/jpki.cnf, which activates both")]
    NoDefaultProvider,
    /// A bug or an OpenSSL call we did not expect.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Result with [`ProvError`].
pub type Result<T> = std::result::Result<T, ProvError>;

impl ProvError {
    /// The reason code OpenSSL shows.
    pub fn reason(&self) -> Reason {
        match self {
            ProvError::Card(e) => match e {
                CardError::NoService
                | CardError::NoReaders
                | CardError::NoReaderMatches { .. }
                | CardError::NoCard { .. }
                | CardError::OnlyVirtualReaders { .. }
                | CardError::NotJpki { .. }
                | CardError::UnsupportedToken { .. } => Reason::NoCard,
                CardError::WrongPin { .. } => Reason::WrongPin,
                CardError::Blocked { .. } => Reason::PinBlocked,
                CardError::LastTryRefused { .. } => Reason::LastTry,
                CardError::BadPinFormat { .. } => Reason::BadPin,
                _ => Reason::CardFailed,
            },
            ProvError::Uri(_) | ProvError::PemUri(_) => Reason::BadUri,
            ProvError::LastTryRefused { .. } => Reason::LastTry,
            ProvError::NoPin { .. }
            | ProvError::PinSource { .. }
            | ProvError::PinNeededAgain { .. } => Reason::NoPin,
            ProvError::AlreadyRefused { .. } => Reason::WrongPin,
            ProvError::PaddingUnsupported { .. } | ProvError::Digest(_) => Reason::Unsupported,
            ProvError::BadInput(_) | ProvError::NotAvailable(_) => Reason::Unsupported,
            ProvError::NoDefaultProvider | ProvError::Config(_) => Reason::Config,
            ProvError::Internal(_) => Reason::Internal,
        }
    }

    /// Converts the card layer's last-try refusal into the provider's wording (the CLI's
    /// `--force-last-try` does not exist here).
    pub fn from_card(e: CardError) -> ProvError {
        match e {
            CardError::LastTryRefused { pin } => ProvError::LastTryRefused { pin },
            e => ProvError::Card(e),
        }
    }
}
