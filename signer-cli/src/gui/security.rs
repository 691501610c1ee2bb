//! Who may talk to the local server, and the headers every answer carries.
//!
//! A page on any web site can make the browser send requests to
//! 127.0.0.1, and a DNS name can be re-pointed at 127.0.0.1 (DNS rebinding).
//! So every request must
//! * name the loopback address in `Host` (a rebound name arrives with the
//!   attacker's name there),
//! * carry the per-run token: once in the URL the program opened (exchanged
//!   for an `HttpOnly`, `SameSite=Strict` cookie; the URL form works only
//!   once), then only as the cookie, which no other site can send,
//! * if it changes anything (any method but GET/HEAD), come with an `Origin`
//!   equal to this server's.
//!
//! Anything else gets 403 before the card or a file is touched. There are no
//! CORS headers, and the Content-Security-Policy lets the page load nothing
//! but its own embedded assets.

use tiny_http::{Header, Method, Request};

/// The per-run secret: 32 random bytes, hex.
pub struct Token(String);

impl Token {
    /// A fresh token from OpenSSL's CSPRNG.
    pub fn new() -> Result<Token, openssl::error::ErrorStack> {
        let mut b = [0u8; 32];
        openssl::rand::rand_bytes(&mut b)?;
        Ok(Token(b.iter().map(|x| format!("{x:02x}")).collect()))
    }

    /// The token's text (for the URL opened once and the cookie).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time.
    pub fn matches(&self, given: &str) -> bool {
        given.len() == self.0.len() && openssl::memcmp::eq(given.as_bytes(), self.0.as_bytes())
    }
}

/// What the rules decided about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Allowed,
    /// The URL token, first use: answer with the cookie and a redirect to `/`.
    Exchange,
    /// 403, with the reason (for the server's debug log; the client only sees "forbidden").
    Refused(&'static str),
}

/// The rules for one server.
pub struct Guard {
    token: Token,
    port: u16,
    url_token_used: bool,
}

impl Guard {
    pub fn new(token: Token, port: u16) -> Guard {
        Guard {
            token,
            port,
            url_token_used: false,
        }
    }

    /// The URL to open once.
    pub fn first_url(&self) -> String {
        format!("http://127.0.0.1:{}/?t={}", self.port, self.token.as_str())
    }

    /// The cookie's name, with the port: cookies do not tell ports apart, and
    /// two runs at once must not overwrite each other's.
    fn cookie_name(&self) -> String {
        format!("jpki_gui_{}", self.port)
    }

    /// The `Set-Cookie` header that carries the token from now on.
    pub fn cookie_header(&self) -> Header {
        header(
            "Set-Cookie",
            &format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict",
                self.cookie_name(),
                self.token.as_str()
            ),
        )
    }

    /// Applies the rules to `req`.
    pub fn check(&mut self, req: &Request) -> Verdict {
        let host = header_value(req, "Host");
        let ours = [
            format!("127.0.0.1:{}", self.port),
            format!("localhost:{}", self.port),
        ];
        if !host.is_some_and(|h| ours.iter().any(|o| o.eq_ignore_ascii_case(h))) {
            return Verdict::Refused("Host is not this server's loopback address");
        }
        let changes = !matches!(req.method(), Method::Get | Method::Head);
        if changes {
            let ok = header_value(req, "Origin")
                .is_some_and(|o| ours.iter().any(|h| o == format!("http://{h}")));
            if !ok {
                return Verdict::Refused("state-changing request without this server's Origin");
            }
        }
        let cookie_ok = header_value(req, "Cookie").is_some_and(|c| {
            c.split(';').any(|kv| {
                kv.trim()
                    .split_once('=')
                    .is_some_and(|(k, v)| k == self.cookie_name() && self.token.matches(v))
            })
        });
        if cookie_ok {
            return Verdict::Allowed;
        }
        let (path, query) = split_url(req.url());
        let url_token = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("t="))
            .is_some_and(|t| self.token.matches(t));
        if path == "/" && !changes && url_token && !self.url_token_used {
            self.url_token_used = true;
            return Verdict::Exchange;
        }
        Verdict::Refused("no valid token")
    }
}

/// A request header's value (first of that name).
pub fn header_value<'r>(req: &'r Request, name: &'static str) -> Option<&'r str> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// `/path?query` → (`/path`, `query`).
pub fn split_url(url: &str) -> (&str, &str) {
    url.split_once('?').unwrap_or((url, ""))
}

/// A header from fixed ASCII text.
pub fn header(name: &str, value: &str) -> Header {
    // Only called with our own ASCII names and values (hex tokens, fixed
    // texts, sanitised file names), which tiny_http always accepts.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("an ASCII header of our own")
}

/// Headers on every answer: only our own assets, no framing, no caching,
/// no referrer (the first URL held the token), no sniffing.
pub fn hardening_headers() -> Vec<Header> {
    [
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    .iter()
    .map(|(n, v)| header(n, v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_exactly() {
        let a = Token::new().unwrap();
        let b = Token::new().unwrap();
        assert_eq!(a.as_str().len(), 64);
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(&a.as_str()[..63]));
    }

    #[test]
    fn every_answer_forbids_foreign_content() {
        let h = hardening_headers();
        let csp = h
            .iter()
            .find(|h| h.field.equiv("Content-Security-Policy"))
            .unwrap();
        assert!(csp.value.as_str().starts_with("default-src 'none'"));
        assert!(!h
            .iter()
            .any(|h| h.field.as_str().as_str().starts_with("Access-Control")));
    }
}
