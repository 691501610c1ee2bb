//! Real browsers doing TLS client authentication with the card through `libjpki-pkcs11.so`:
//! headless Chromium (NSS database in `$HOME/.pki/nssdb`, managed policy
//! `AutoSelectCertificateForUrls`) and headless Firefox ESR (profile with the module,
//! `security.default_personal_cert = "Select Automatically"`) against nginx with
//! `ssl_verify_client on` and the simulator's auth CA. The page the browser gets shows
//! `$ssl_client_s_dn`; a script on it reports the rendered DN back, so every positive test
//! checks what the browser received, not only what nginx saw.
//!
//! What the tests establish (Chromium 156, Firefox ESR 153, nginx 1.22, see README):
//! * Headless, neither browser can answer a password dialog. A token that needs `C_Login`
//!   makes Chromium wait for its dialog for ever — even with `CKF_PROTECTED_AUTHENTICATION_PATH`
//!   (it never calls `C_Login`); Firefox logs in with `C_Login(NULL)` on such a token. Both
//!   work when the token needs no login and the module reads the PIN when it signs
//!   (`auth.pin-at-sign`). Both look at every slot, so the sign key's slot is disabled in the
//!   NSS database (`modutil -disable`): otherwise they stop at its login too.
//! * TLS 1.3 without `CKM_RSA_PKCS_PSS`: Chromium aborts the handshake (`handshake_failure`),
//!   Firefox completes it without a certificate (nginx answers 400); neither falls back to
//!   TLS 1.2, presents the PIN or signs. With the card's PSS mode (`pss = yes`) TLS 1.3 works;
//!   a site capped at TLS 1.2 works with PKCS#1 v1.5.
//! * The PIN law holds through the browsers: one VERIFY per wrong PIN, the last try refused,
//!   a blocked PIN never sent. When the module refuses the signature, Chromium shows an error
//!   page; Firefox headless stays stuck (no error page, no exit).
//!
//! Every browser run is bounded; see `jpki_tests::browser`.

use jpki_card_sim::{PinId, Stats};
use jpki_tests::browser::*;
use jpki_tests::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a browser may take for a page here (they need 1-6 s on the simulator).
const RUN: Duration = Duration::from_secs(25);
/// How long a browser is given to prove it is stuck at a dialog.
const STUCK: Duration = Duration::from_secs(12);

/// The module cargo built (`make install` names it `libjpki-pkcs11.so`).
fn module() -> PathBuf {
    bin("libjpki_pkcs11.so")
}

/// How the module's auth token is configured for the browser.
#[derive(Clone, Copy)]
enum Auth {
    /// No login; the module reads the PIN file at each signature.
    PinAtSign,
    /// Login required, protected authentication path from the PIN file.
    ProtectedPath,
}

/// One test's world: scratch dir, PKI, nginx, and the module's settings.
struct World {
    s: Scratch,
    pki: TestPki,
    site: Site,
    env: Vec<(String, String)>,
}

impl World {
    fn new(tls: Tls, reader: &str, pin: &str, auth: Auth, pss: bool) -> World {
        let s = Scratch::new();
        let pki = TestPki::create(&s.path("pki"));
        let site = Site::start(&s.path("nginx"), &pki, &pki_file("auth-ca.pem"), tls);
        let pin_file = s.write("auth-pin", format!("{pin}\n").as_bytes());
        let mut env = vec![
            ("JPKI_READER".to_string(), reader.to_string()),
            (
                "JPKI_PKCS11_AUTH_PIN_SOURCE".to_string(),
                format!("file:{}", pin_file.display()),
            ),
            (
                "JPKI_PKCS11_PSS".to_string(),
                if pss { "yes" } else { "no" }.to_string(),
            ),
            // Only the auth token: both browsers look at every token for client certificates
            // and stop at one that needs a login (the sign token).
            ("JPKI_PKCS11_TOKENS".to_string(), "auth".to_string()),
            // No config file from the machine.
            (
                "JPKI_PKCS11_CONF".to_string(),
                s.path("no-such.conf").display().to_string(),
            ),
        ];
        if let Auth::PinAtSign = auth {
            env.push(("JPKI_PKCS11_AUTH_PIN_AT_SIGN".into(), "yes".into()));
        }
        World { s, pki, site, env }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// An NSS database at `dir` with our module (showing the auth token only).
    fn nss_db(&self, dir: &Path) -> NssDb {
        let db = NssDb::create(dir, &self.pki);
        db.add_module("jpki", &module(), &self.env());
        db
    }

    fn chromium(&self, timeout: Duration) -> BrowserRun {
        let home = self.s.path("home");
        self.nss_db(&home.join(".pki/nssdb"));
        let policy = auto_select_policy(&self.site.url());
        chromium(&home, &self.site.url(), Some(&policy), &self.env(), timeout)
    }

    fn firefox(&self, timeout: Duration) -> BrowserRun {
        let home = self.s.path("home");
        let profile = home.join("profile");
        self.nss_db(&profile);
        firefox(&home, &profile, &self.site.url(), &self.env(), timeout)
    }

    /// Everything a failed assertion should show.
    fn show(&self, r: &BrowserRun) -> String {
        format!(
            "{r:?}\naccess log:\n{}\nerror log (tail):\n{}",
            self.site.access_log(),
            tail(&self.site.error_log(), 15)
        )
    }

    /// The browser rendered the page with the card's DN, over `protocol`, verified by nginx.
    fn assert_card_dn_received(&self, r: &BrowserRun, protocol: &str, dom: Option<&str>) {
        let dn = subject_dn(&pki_file("auth.pem"));
        assert!(r.finished, "browser did not finish: {}", self.show(r));
        let line = self.site.page_request().unwrap_or_default();
        assert_eq!(
            line,
            format!("/ 200 {protocol} SUCCESS \"{dn}\""),
            "{}",
            self.show(r)
        );
        assert_eq!(
            self.site.rendered_dn().as_deref(),
            Some(dn.as_str()),
            "{}",
            self.show(r)
        );
        if let Some(dom) = dom {
            assert!(
                dom.contains(&format!("<p id=\"dn\">{dn}</p>")),
                "{}",
                self.show(r)
            );
        }
    }

    /// No page was served: the handshake never completed with a certificate.
    fn assert_no_page(&self, r: &BrowserRun) {
        assert_eq!(self.site.page_request(), None, "{}", self.show(r));
        assert_eq!(self.site.rendered_dn(), None, "{}", self.show(r));
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A browser run against the main simulator, with the counters before and after.
fn on_main_card(f: impl FnOnce() -> BrowserRun) -> (BrowserRun, Stats) {
    let before = main_stats();
    let r = f();
    let after = main_stats();
    let diff = Stats {
        apdus: after.apdus - before.apdus,
        signatures: after.signatures - before.signatures,
        verifies: [PinId::Auth, PinId::Sign]
            .into_iter()
            .map(|p| (p, after.verifies_of(p) - before.verifies_of(p)))
            .collect(),
        ..Stats::default()
    };
    (r, diff)
}

// ---- Chromium -------------------------------------------------------------------------------

#[test]
fn chromium_sends_the_card_certificate_to_a_site_capped_at_tls12() {
    let w = World::new(Tls::V12, MAIN_READER, "1234", Auth::PinAtSign, false);
    let (r, d) = on_main_card(|| w.chromium(RUN));
    w.assert_card_dn_received(&r, "TLSv1.2", Some(&r.stdout));
    assert_eq!(d.verifies_of(PinId::Auth), 1, "one VERIFY: {d:?}");
    assert_eq!(d.verifies_of(PinId::Sign), 0, "sign slot untouched: {d:?}");
    assert_eq!(d.signatures, 1, "{d:?}");
}

#[test]
fn chromium_over_tls13_without_pss_aborts_the_handshake_before_the_pin() {
    let w = World::new(Tls::Both, MAIN_READER, "1234", Auth::PinAtSign, false);
    let (r, d) = on_main_card(|| w.chromium(RUN));
    assert!(r.finished, "an error page, not a hang: {}", w.show(&r));
    w.assert_no_page(&r);
    assert!(
        w.site.error_log().contains("alert handshake failure"),
        "{}",
        w.show(&r)
    );
    assert_eq!(d.verifies_of(PinId::Auth), 0, "{d:?}");
    assert_eq!(d.signatures, 0, "{d:?}");
}

#[test]
fn chromium_over_tls13_signs_with_the_card_pss_mode() {
    let w = World::new(Tls::Both, MAIN_READER, "1234", Auth::PinAtSign, true);
    let (r, d) = on_main_card(|| w.chromium(RUN));
    w.assert_card_dn_received(&r, "TLSv1.3", Some(&r.stdout));
    assert_eq!(d.verifies_of(PinId::Auth), 1, "{d:?}");
    assert_eq!(d.signatures, 1, "{d:?}");
}

#[test]
fn chromium_waits_for_a_dialog_on_a_login_token_even_with_a_protected_path() {
    let w = World::new(Tls::V12, MAIN_READER, "1234", Auth::ProtectedPath, false);
    let (r, d) = on_main_card(|| w.chromium(STUCK));
    assert!(
        !r.finished,
        "expected Chromium stuck at its password dialog: {r:?}"
    );
    w.assert_no_page(&r);
    assert_eq!(d.verifies_of(PinId::Auth), 0, "C_Login never called: {d:?}");
}

// ---- Firefox --------------------------------------------------------------------------------

#[test]
fn firefox_sends_the_card_certificate_to_a_site_capped_at_tls12() {
    let w = World::new(Tls::V12, MAIN_READER, "1234", Auth::PinAtSign, false);
    let (r, d) = on_main_card(|| w.firefox(RUN));
    w.assert_card_dn_received(&r, "TLSv1.2", None);
    assert_eq!(d.verifies_of(PinId::Auth), 1, "{d:?}");
    assert_eq!(d.verifies_of(PinId::Sign), 0, "{d:?}");
    assert_eq!(d.signatures, 1, "{d:?}");
}

#[test]
fn firefox_logs_in_through_the_protected_authentication_path() {
    let w = World::new(Tls::V12, MAIN_READER, "1234", Auth::ProtectedPath, false);
    let (r, d) = on_main_card(|| w.firefox(RUN));
    w.assert_card_dn_received(&r, "TLSv1.2", None);
    // C_Login(NULL): one VERIFY; the signature: a second one in its own card session.
    assert_eq!(d.verifies_of(PinId::Auth), 2, "{d:?}");
    assert_eq!(d.signatures, 1, "{d:?}");
}

#[test]
fn firefox_over_tls13_without_pss_sends_no_certificate_and_no_pin() {
    let w = World::new(Tls::Both, MAIN_READER, "1234", Auth::PinAtSign, false);
    let (r, d) = on_main_card(|| w.firefox(RUN));
    assert!(r.finished, "an error page, not a hang: {}", w.show(&r));
    // Unlike Chromium, Firefox completes the handshake with an empty Certificate message:
    // nginx answers 400 "No required SSL certificate was sent".
    assert_eq!(
        w.site.page_request().as_deref(),
        Some("/ 400 TLSv1.3 NONE \"-\""),
        "{}",
        w.show(&r)
    );
    assert_eq!(w.site.rendered_dn(), None, "{}", w.show(&r));
    assert_eq!(d.verifies_of(PinId::Auth), 0, "{d:?}");
    assert_eq!(d.signatures, 0, "{d:?}");
}

#[test]
fn firefox_over_tls13_signs_with_the_card_pss_mode() {
    let w = World::new(Tls::Both, MAIN_READER, "1234", Auth::PinAtSign, true);
    let (r, d) = on_main_card(|| w.firefox(RUN));
    w.assert_card_dn_received(&r, "TLSv1.3", None);
    assert_eq!(d.signatures, 1, "{d:?}");
}

// ---- PIN accounting through the browsers (second simulator) --------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    /// A run whose signature the module refuses. Chromium then shows an error page and exits;
    /// Firefox 153 headless neither shows one nor exits (its screenshot never comes), so it is
    /// given [`STUCK`] and only what reached the card is checked.
    fn refused_run(self, w: &World) -> BrowserRun {
        let r = match self {
            Browser::Chromium => w.chromium(RUN),
            Browser::Firefox => w.firefox(STUCK),
        };
        if self == Browser::Chromium {
            assert!(r.finished, "an error page, not a hang: {}", w.show(&r));
        }
        w.assert_no_page(&r);
        r
    }
}

fn wrong_pin_spends_one_try(b: Browser) {
    let sim = SecondSim::start(&[]);
    let w = World::new(Tls::V12, SECOND_READER, "9876", Auth::PinAtSign, false);
    b.refused_run(&w);
    let st = sim.stats();
    assert_eq!(st.verifies_of(PinId::Auth), 1, "one try per typo: {st:?}");
    assert_eq!(sim.tries(PinId::Auth), 2);
    assert_eq!(st.signatures, 0);
}

fn last_try_is_refused(b: Browser) {
    let sim = SecondSim::start(&["--auth-tries", "1"]);
    let w = World::new(Tls::V12, SECOND_READER, "1234", Auth::PinAtSign, false);
    b.refused_run(&w);
    let st = sim.stats();
    assert_eq!(st.verifies_of(PinId::Auth), 0, "last try not spent: {st:?}");
    assert_eq!(sim.tries(PinId::Auth), 1);
}

fn blocked_pin_is_never_sent(b: Browser) {
    let sim = SecondSim::start(&["--auth-tries", "0"]);
    let w = World::new(Tls::V12, SECOND_READER, "1234", Auth::PinAtSign, false);
    b.refused_run(&w);
    let st = sim.stats();
    assert_eq!(
        st.verifies_of(PinId::Auth),
        0,
        "blocked PIN not sent: {st:?}"
    );
    assert_eq!(sim.tries(PinId::Auth), 0);
}

#[test]
fn chromium_with_a_wrong_pin_spends_one_try() {
    wrong_pin_spends_one_try(Browser::Chromium);
}

#[test]
fn chromium_refuses_the_last_try() {
    last_try_is_refused(Browser::Chromium);
}

#[test]
fn chromium_never_sends_a_blocked_pin() {
    blocked_pin_is_never_sent(Browser::Chromium);
}

#[test]
fn firefox_with_a_wrong_pin_spends_one_try() {
    wrong_pin_spends_one_try(Browser::Firefox);
}

#[test]
fn firefox_refuses_the_last_try() {
    last_try_is_refused(Browser::Firefox);
}

#[test]
fn firefox_never_sends_a_blocked_pin() {
    blocked_pin_is_never_sent(Browser::Firefox);
}

// ---- OpenSC's module, for comparison --------------------------------------------------------

/// OpenSC's JPKI tokens need `C_Login` and have no protected authentication path: both
/// browsers wait for their password dialog, which headless never comes; nothing reaches the
/// server and no PIN reaches the card.
#[test]
fn opensc_module_leaves_both_browsers_waiting_for_a_password_dialog() {
    let s = Scratch::new();
    let pki = TestPki::create(&s.path("pki"));
    let site = Site::start(&s.path("nginx"), &pki, &pki_file("auth-ca.pem"), Tls::V12);
    let opensc = Path::new(OPENSC_MODULE);
    let before = main_stats();

    let home = s.path("chromium-home");
    NssDb::create(&home.join(".pki/nssdb"), &pki).add_module("opensc", opensc, &[]);
    let policy = auto_select_policy(&site.url());
    let r = chromium(&home, &site.url(), Some(&policy), &[], STUCK);
    assert!(!r.finished, "Chromium: {r:?}");

    let home = s.path("firefox-home");
    let profile = home.join("profile");
    NssDb::create(&profile, &pki).add_module("opensc", opensc, &[]);
    let r = firefox(&home, &profile, &site.url(), &[], STUCK);
    assert!(!r.finished, "Firefox: {r:?}");

    assert_eq!(site.page_request(), None, "{}", site.access_log());
    let after = main_stats();
    assert_eq!(
        after.verifies_of(PinId::Auth),
        before.verifies_of(PinId::Auth)
    );
    assert_eq!(after.signatures, before.signatures);
}
