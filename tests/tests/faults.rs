//! Faults through real pcscd: the simulated card in the second reader is pulled in the middle
//! of VERIFY, READ BINARY, COMPUTE DIGITAL SIGNATURE and CHANGE REFERENCE DATA, answers status
//! words it should not, sits behind a reader that mangles 256-byte responses, is slow, or
//! signs with another key than its certificate's.
//!
//! For each: one clear error naming the cause (message and `jpki-sign` exit code: 3 no card,
//! 4 PIN problem, 5 card failure), no output file or a complete one, no PIN try spent beyond
//! the one the user typed (the simulator's counters and stats), the tries left reported
//! afterwards equal to the card's own counter, and the next operation works.
//!
//! Every test also asserts that its fault really fired (`Stats::faults`), so none can pass
//! because the fault was never injected.

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const P: [&str; 4] = ["-provider", "jpki", "-provider", "default"];
const AUTH: &str = "jpki:auth?reader=Virtual%20PCD%2000%2001";
const SIGN: &str = "jpki:sign?reader=Virtual%20PCD%2000%2001";
const LOST_VERIFY: &str = "the card was removed or lost contact while it was checking the sign password (署名用パスワード); if the value was wrong the card may have counted that try";

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        let w = Work {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::write(w.path("doc.txt"), b"fault injection test document\n").expect("write");
        std::fs::write(w.path("authpin"), b"1234\n").expect("write");
        std::fs::write(w.path("signpw"), b"abc123\n").expect("write");
        std::fs::write(w.path("badpw"), b"abc124\n").expect("write");
        w
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

/// One line `jpki-sign: error: …` containing `needle`, with exit code `code`.
fn one_line_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
    assert!(err.starts_with("jpki-sign: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// An output file that is either absent or empty (openssl opens `-out` before signing).
fn no_output(p: &Path) {
    let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, 0, "{} must not hold a partial result", p.display());
}

/// Waits until the card pulled by a fault is back in the reader. PC/SC may still show the
/// pulled card for up to one poll (0.4 s), so first wait for it to go: the reader is seen empty
/// for most of `--reinsert-after-ms`; if that window was missed, the card is already back.
fn wait_reinserted() {
    let start = Instant::now();
    while card_present(SECOND_READER) && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_until(
        "the card to be inserted again",
        Duration::from_secs(20),
        || card_present(SECOND_READER),
    );
}

/// Tries left as `jpki-sign pin status --json` reports them (what the user is told).
fn reported_tries(pin: &str) -> u64 {
    let o = run(jpki_sign_second().args(["--json", "pin", "status"]));
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("pin status JSON");
    v[pin]["tries_left"]
        .as_u64()
        .unwrap_or_else(|| panic!("no tries_left for {pin}: {v}"))
}

fn cert_sign(w: &Work, pw: &str, out: &str) -> Output {
    run(jpki_sign_second().args(["cert", "sign", "--pin-file", &w.s(pw), "-o", &w.s(out)]))
}

/// `jpki-sign cert auth -o auth.pem` on the second reader.
fn cert_auth(w: &Work) -> Output {
    run(jpki_sign_second().args(["cert", "auth", "-o", &w.s("auth.pem")]))
}

/// auth.pem is the card's whole auth certificate.
fn assert_auth_cert(w: &Work) {
    assert_eq!(
        std::fs::read(w.path("auth.pem")).expect("auth.pem"),
        std::fs::read(pki_file("auth.pem")).expect("pki auth.pem")
    );
}

fn assert_sign_cert(w: &Work, out: &str) {
    assert_eq!(
        std::fs::read(w.path(out)).expect("certificate written"),
        std::fs::read(pki_file("sign.pem")).expect("sign.pem"),
        "a whole, correct certificate"
    );
}

fn dgst_sign(w: &Work, out: &str) -> Output {
    run(openssl()
        .args(["dgst", "-sha256", "-sign", AUTH])
        .args(P)
        .args([
            "-passin",
            &format!("file:{}", w.s("authpin")),
            "-out",
            &w.s(out),
            &w.s("doc.txt"),
        ]))
}

#[test]
fn pulled_before_the_card_saw_the_verify_spends_nothing() {
    let sim = SecondSim::start(&[
        "--pull-on",
        "verify",
        "--pull-when",
        "before",
        "--reinsert-after-ms",
        "600",
    ]);
    let w = Work::new();
    let o = cert_sign(&w, "signpw", "sign.pem");
    // The client cannot know whether the VERIFY arrived, so it says what may have happened.
    one_line_error(&o, 3, LOST_VERIFY);
    assert!(!w.path("sign.pem").exists());
    let st = sim.stats();
    assert_eq!(st.faults, 1, "the card was pulled");
    assert_eq!(st.verifies_of(PinId::Sign), 0, "the VERIFY never arrived");
    assert_eq!(sim.tries(PinId::Sign), 5);
    wait_reinserted();
    assert_eq!(reported_tries("sign"), 5);
    ok(&cert_sign(&w, "signpw", "sign.pem"));
    assert_sign_cert(&w, "sign.pem");
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
}

#[test]
fn pulled_after_the_card_counted_a_wrong_password_costs_that_try_only() {
    let sim = SecondSim::start(&["--pull-on", "verify", "--reinsert-after-ms", "600"]);
    let w = Work::new();
    let o = cert_sign(&w, "badpw", "sign.pem");
    one_line_error(&o, 3, LOST_VERIFY);
    assert!(!w.path("sign.pem").exists());
    assert_eq!(sim.stats().faults, 1);
    assert_eq!(
        sim.stats().verifies_of(PinId::Sign),
        1,
        "sent once, never again"
    );
    assert_eq!(sim.tries(PinId::Sign), 4, "the card counted the typed try");
    wait_reinserted();
    assert_eq!(reported_tries("sign"), 4, "what the card really has");
    ok(&cert_sign(&w, "signpw", "sign.pem"));
    assert_sign_cert(&w, "sign.pem");
    assert_eq!(sim.tries(PinId::Sign), 5);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 2);
}

#[test]
fn pulled_while_reading_a_certificate_leaves_no_output_file() {
    // READ BINARY 1 is the token label at open, 2 the first certificate chunk, 3 the second.
    let sim = SecondSim::start(&["--pull-on", "read:3", "--reinsert-after-ms", "600"]);
    let w = Work::new();
    let o = cert_auth(&w);
    one_line_error(&o, 3, "the card was removed");
    assert!(!w.path("auth.pem").exists());
    assert_eq!(sim.stats().faults, 1);
    wait_reinserted();
    ok(&cert_auth(&w));
    assert_auth_cert(&w);
}

#[test]
fn pulled_during_pin_change_says_the_outcome_is_unknown() {
    let sim = SecondSim::start(&["--pull-on", "change", "--reinsert-after-ms", "600"]);
    let w = Work::new();
    std::fs::write(w.path("newpw"), b"newpass1\n").expect("write");
    let o = run(jpki_sign_second()
        .args(["pin", "change", "sign", "--pin-file", &w.s("signpw")])
        .args(["--new-pin-file", &w.s("newpw")]));
    one_line_error(
        &o,
        3,
        "the card was removed or lost contact while changing the sign password (署名用パスワード); the change may or may not have been made",
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert_eq!(sim.stats().faults, 1);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    // The card did the change before it lost power: the new password is in force.
    assert_eq!(sim.state().pins[&PinId::Sign].value, "NEWPASS1");
    wait_reinserted();
    assert_eq!(reported_tries("sign"), 5);
    ok(&cert_sign(&w, "newpw", "sign.pem"));
    assert_sign_cert(&w, "sign.pem");
}

#[test]
fn pulled_mid_signature_through_the_provider() {
    let sim = SecondSim::start(&["--pull-on", "sign", "--reinsert-after-ms", "600"]);
    let w = Work::new();
    let o = dgst_sign(&w, "sig.bin");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("jpki: the card was removed"), "{err}");
    no_output(&w.path("sig.bin"));
    let st = sim.stats();
    assert_eq!(st.faults, 1);
    assert_eq!(st.failed_verifies.values().sum::<u64>(), 0);
    assert_eq!(sim.tries(PinId::Auth), 3);
    wait_reinserted();
    assert_eq!(reported_tries("auth"), 3);
    let o = dgst_sign(&w, "sig.bin");
    ok(&o);
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );
}

/// A card that signs with another key than its certificate's (swapped between reading the
/// certificate and signing): the provider checks the signature against the certificate and
/// hands nothing out.
#[test]
fn a_signature_by_another_key_never_leaves_the_provider() {
    let sim = SecondSim::start(&["--cross-keys"]);
    let w = Work::new();
    let o = dgst_sign(&w, "sig.bin");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("the card's signature does not match its certificate; was the card swapped?"),
        "{err}"
    );
    no_output(&w.path("sig.bin"));
    // The card signed (the check refused, not the card), after the one VERIFY the PIN needed.
    let st = sim.stats();
    assert_eq!(st.signatures, 1);
    assert_eq!(st.failed_verifies.values().sum::<u64>(), 0);
    assert_eq!(sim.tries(PinId::Auth), 3);
}

#[test]
fn pulled_mid_cms_signature_leaves_no_signed_file() {
    let sim = SecondSim::start(&["--pull-on", "sign", "--reinsert-after-ms", "600"]);
    let w = Work::new();
    let cms = |out: &str| {
        run(openssl().args(["cms", "-sign"]).args(P).args([
            "-in",
            &w.s("doc.txt"),
            "-binary",
            "-signer",
            &format!("{SIGN}&pin-source=file:{}", w.s("signpw")),
            "-inkey",
            &format!("{SIGN}&pin-source=file:{}", w.s("signpw")),
            "-outform",
            "DER",
            "-out",
            &w.s(out),
        ]))
    };
    let o = cms("doc.p7s");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("jpki: the card was removed"),
        "{}",
        stderr(&o)
    );
    no_output(&w.path("doc.p7s"));
    assert_eq!(sim.stats().faults, 1);
    assert_eq!(sim.stats().failed_verifies.values().sum::<u64>(), 0);
    assert_eq!(sim.tries(PinId::Sign), 5);
    wait_reinserted();
    assert_eq!(reported_tries("sign"), 5);
    ok(&cms("doc.p7s"));
    let o = run(Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-CAfile"])
        .arg(pki_file("sign-ca.pem"))
        .args([
            "-in",
            &w.s("doc.p7s"),
            "-content",
            &w.s("doc.txt"),
            "-out",
            &w.s("v.txt"),
        ]));
    assert!(
        stderr(&o).contains("Verification successful"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unexpected_status_words_to_a_signature() {
    // The n-th signature gets the n-th status word; the fifth works. 6A 86 to a SIGN that
    // names the key by SFI means "I don't know that form" to the client, which then selects
    // the key and asks again (P2=80): so the third signature takes two faults.
    let sim = SecondSim::start(&[
        "--sw-on",
        "sign:6581:1",
        "--sw-on",
        "sign:6700:2",
        "--sw-on",
        "sign:6A86:3",
        "--sw-on",
        "sign:6A86:4",
        "--sw-on",
        "sign:6F00:5",
    ]);
    let w = Work::new();
    for (sw, faults) in [("65 81", 1), ("67 00", 2), ("6A 86", 4), ("6F 00", 5)] {
        let o = dgst_sign(&w, "sig.bin");
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "jpki: the card answered {sw} to COMPUTE DIGITAL SIGNATURE"
            )),
            "{err}"
        );
        no_output(&w.path("sig.bin"));
        assert_eq!(sim.stats().faults, faults);
    }
    assert_eq!(sim.stats().failed_verifies.values().sum::<u64>(), 0);
    assert_eq!(sim.tries(PinId::Auth), 3);
    assert_eq!(reported_tries("auth"), 3);
    ok(&dgst_sign(&w, "sig.bin"));
    assert_openssl_verifies_sha256(
        &pki_file("auth.pem"),
        &w.path("doc.txt"),
        &w.path("sig.bin"),
    );
}

#[test]
fn unexpected_status_words_to_verify_and_read() {
    let sim = SecondSim::start(&[
        "--sw-on",
        "verify:6581",
        "--sw-on",
        "read:6700:3",
        "--sw-on",
        "read:6F00:5",
    ]);
    let w = Work::new();
    let o = cert_sign(&w, "signpw", "sign.pem");
    one_line_error(&o, 5, "the card answered 65 81 to VERIFY");
    assert!(!w.path("sign.pem").exists());
    assert_eq!(sim.stats().faults, 1);
    assert_eq!(sim.tries(PinId::Sign), 5);
    assert_eq!(reported_tries("sign"), 5);
    // READ BINARY 1 and 2 were the token label at the opens above; 3 is the token label now:
    // a JPKI card failing, not "not a My Number card".
    let o = cert_auth(&w);
    one_line_error(
        &o,
        5,
        "the card answered 67 00 to the token information (EF 0006)",
    );
    assert_eq!(sim.stats().faults, 2);
    // 4 = token label, 5 = the first certificate chunk.
    let o = cert_auth(&w);
    one_line_error(&o, 5, "the card answered 6F 00 to a certificate");
    assert!(!w.path("auth.pem").exists());
    assert_eq!(sim.stats().faults, 3);
    ok(&cert_sign(&w, "signpw", "sign.pem"));
    assert_sign_cert(&w, "sign.pem");
}

#[test]
fn a_reader_that_truncates_256_byte_responses() {
    let sim = SecondSim::start(&["--truncate-256", "256"]);
    let w = Work::new();
    // Certificate reads (255 bytes, then the rest with one extended Le) make no 256-byte
    // response.
    ok(&cert_auth(&w));
    assert_auth_cert(&w);
    assert_eq!(sim.stats().faults, 0, "no 256-byte response while reading");
    // A signature is 256 bytes by nature: the error must name the reader, not blame the card.
    let o = dgst_sign(&w, "sig.bin");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("jpki: the reader delivered 0 of the 256 bytes of a signature; some readers (often contactless ones) cannot pass a response of exactly 256 bytes: use another reader"),
        "{err}"
    );
    no_output(&w.path("sig.bin"));
    assert_eq!(sim.stats().faults, 1);
    assert_eq!(sim.stats().signatures, 1);
    assert_eq!(sim.tries(PinId::Auth), 3);
}

#[test]
fn a_reader_without_extended_apdus_gets_certificates_in_short_chunks() {
    let sim = SecondSim::start(&["--short-apdus-only"]);
    let w = Work::new();
    // The rest of a certificate is asked for with one extended READ BINARY; this reader
    // answers 67 00, and the certificate comes in short chunks instead.
    ok(&cert_auth(&w));
    assert_auth_cert(&w);
    assert_eq!(sim.stats().faults, 1, "one extended READ BINARY refused");
    // After the password (read in the same session), once more per process: one refusal,
    // then chunks, and the one VERIFY the user asked for.
    ok(&cert_sign(&w, "signpw", "sign.pem"));
    assert_sign_cert(&w, "sign.pem");
    assert_eq!(sim.stats().faults, 2);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert_eq!(sim.tries(PinId::Sign), 5);
}

#[test]
fn a_slow_card_is_waited_for() {
    let sim = SecondSim::start(&["--delay-ms", "300"]);
    let w = Work::new();
    let start = Instant::now();
    let o = cert_auth(&w);
    let took = start.elapsed();
    ok(&o);
    assert_eq!(
        std::fs::read(w.path("auth.pem")).expect("auth.pem"),
        std::fs::read(pki_file("auth.pem")).expect("pki auth.pem")
    );
    let apdus = sim.stats().apdus;
    assert!(
        took >= Duration::from_millis(300 * apdus),
        "{apdus} APDUs took only {took:?}: the delay did not apply"
    );
}

/// A program that loaded the card key once and keeps running (nginx, a TLS client): the card is
/// pulled during a signature, the provider forgets connection and PIN, and once the card is
/// back the same key object signs again, the PIN coming from the URI's pin-source.
#[test]
fn a_long_running_program_signs_again_once_the_card_is_back() {
    use openssl::hash::MessageDigest;
    use openssl::sign::{Signer, Verifier};
    let sim = SecondSim::start(&["--pull-on", "sign", "--reinsert-after-ms", "600"]);
    let w = Work::new();
    let _providers = load_providers();
    let uri = format!("{AUTH}&pin-source=file:{}", w.s("authpin"));
    ok(&run(jpki_sign_second().args([
        "uri-key",
        &uri,
        "-o",
        &w.s("key.pem"),
    ])));
    let pem = std::fs::read(w.path("key.pem")).expect("key.pem");
    let key = openssl::pkey::PKey::private_key_from_pem(&pem).expect("card key from PEM-URI");
    let sign = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut s = Signer::new(MessageDigest::sha256(), &key)?;
        s.update(b"long-running")?;
        s.sign_to_vec()
    };
    let e = sign().expect_err("the card was pulled during the signature");
    assert!(e.to_string().contains("the card was removed"), "{e}");
    assert_eq!(sim.stats().faults, 1);
    wait_reinserted();
    let sig = sign().expect("signs again once the card is back");
    let cert = openssl::x509::X509::from_pem(&std::fs::read(pki_file("auth.pem")).expect("pem"))
        .expect("cert");
    let public = cert.public_key().expect("public key");
    let mut v = Verifier::new(MessageDigest::sha256(), &public).expect("verifier");
    v.update(b"long-running").expect("update");
    assert!(v.verify(&sig).expect("verify"));
    assert_eq!(sim.stats().failed_verifies.values().sum::<u64>(), 0);
    assert_eq!(sim.tries(PinId::Auth), 3);
}

/// pcscd stopped in the middle of reading the sign certificate (after the VERIFY), then
/// started again: a clear error, no output, no try spent, and the next run works. It runs on
/// a private pcscd in its own mount and network namespaces (as `environment.rs` does) with its
/// own vpcd port, so the pcscd the other tests use is never touched.
#[test]
fn pcscd_restarted_mid_operation() {
    let w = Work::new();
    let d = w.dir.path();
    let conf = d.join("reader.conf.d");
    std::fs::create_dir(&conf).expect("conf dir");
    // vpcd listens on DEVICENAME's port (and the next one for slot 01): 0x8C9F = 35999.
    std::fs::write(
        conf.join("vpcd"),
        "FRIENDLYNAME \"Private PCD\"\nDEVICENAME   /dev/null:0x8C9F\n\
         LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x8C9F\n",
    )
    .expect("reader.conf");
    let script = format!(
        r#"set -u
ip link set lo up || exit 89
mount -t tmpfs none /run/pcscd || exit 90
start_pcscd() {{
    pcscd --foreground --config {conf} >>{d}/pcscd.log 2>&1 &
    pcscd_pid=$!
    for _ in $(seq 1 100); do [ -S /run/pcscd/pcscd.comm ] && return 0; sleep 0.05; done
    return 1
}}
wait_card() {{
    for _ in $(seq 1 200); do
        {sign} --reader Private card >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}}
start_pcscd || exit 91
{sim} --vpcd 127.0.0.1:35999 --state {d}/state.json --stats {d}/stats.json --delay-ms 100 >{d}/sim.log 2>&1 &
sim_pid=$!
trap 'kill $sim_pid $pcscd_pid 2>/dev/null; wait 2>/dev/null' EXIT
wait_card || exit 92
# Short reads (JPKI_SHORT_APDUS=1) make the certificate 6 READ BINARY instead of 2: a window
# wide enough to hit.
JPKI_SHORT_APDUS=1 {sign} --reader Private --pin-file {d}/signpw cert sign -o {d}/first.pem >{d}/first.out 2>{d}/first.err &
client=$!
# Kill pcscd once the certificate is being read (the VERIFY is done): stats count APDUs.
# (`card` 2, identification 2, SELECT + counter + VERIFY 3, then 6 READ BINARY: 12 is mid-read.)
for _ in $(seq 1 300); do
    n=$(sed -n 's/^  "apdus": \([0-9]*\),$/\1/p' {d}/stats.json 2>/dev/null)
    [ "${{n:-0}}" -ge 12 ] && break
    sleep 0.05
done
kill -9 $pcscd_pid; wait $pcscd_pid 2>/dev/null
wait $client; echo $? >{d}/first.rc
start_pcscd || exit 93
wait_card || exit 94
{sign} --reader Private --json pin status >{d}/status.out 2>&1
{sign} --reader Private --pin-file {d}/signpw cert sign -o {d}/second.pem >{d}/second.out 2>{d}/second.err
echo $? >{d}/second.rc
exit 0"#,
        conf = conf.display(),
        d = d.display(),
        sign = bin("jpki-sign").display(),
        sim = bin("jpki-card-sim").display(),
    );
    // --net: vpcd listens on every interface of its namespace; this one has only loopback.
    let o = run(Command::new("unshare").args(["--mount", "--net", "sh", "-c", &script]));
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
    assert_eq!(
        o.status.code(),
        Some(0),
        "script: {}{}\npcscd log: {}\nsim log: {}",
        stdout(&o),
        stderr(&o),
        read("pcscd.log"),
        read("sim.log")
    );
    let err = read("first.err");
    assert_eq!(read("first.rc").trim(), "3", "{err}");
    assert_eq!(
        err.trim_end(),
        "jpki-sign: error: lost the connection to the PC/SC service (pcscd) during the operation: it stopped or was restarted; retry once it runs again (no PIN try was spent unless reported)"
    );
    assert!(!d.join("first.pem").exists());
    let stats = jpki_card_sim::Stats::load(&d.join("stats.json")).expect("stats");
    assert!(stats.apdus >= 12, "pcscd was killed mid-operation");
    let state = jpki_card_sim::CardState::load(&d.join("state.json")).expect("state");
    assert_eq!(state.pins[&PinId::Sign].tries, 5);
    let status: serde_json::Value =
        serde_json::from_str(&read("status.out")).expect("pin status JSON");
    assert_eq!(status["sign"]["tries_left"], 5, "{status}");
    assert_eq!(read("second.rc").trim(), "0", "{}", read("second.err"));
    assert_eq!(
        std::fs::read(d.join("second.pem")).expect("second.pem"),
        std::fs::read(pki_file("sign.pem")).expect("sign.pem")
    );
}

/// `make stress`: the card pulled at every APDU of `openssl dgst -sign` through the provider,
/// once before the card does the command and once after (N steps → 2N runs, a fresh card
/// each). Every run: fails with a card-went-away message or (pulled after the last answer
/// was needed) succeeds with a signature that verifies; never a partial file; no failed
/// VERIFY; the counter stays full; and the same signing works once the card is back.
#[test]
#[ignore = "long: run by `make stress`"]
fn pulled_at_every_step_of_a_signature() {
    let w = Work::new();
    let steps = {
        let sim = SecondSim::start(&[]);
        ok(&dgst_sign(&w, "sig.bin"));
        sim.stats().apdus
    };
    assert!(steps >= 10, "a signature takes {steps} APDUs?");
    for when in ["before", "after"] {
        for k in 1..=steps {
            let k_s = k.to_string();
            let sim = SecondSim::start(&[
                "--pull-at-apdu",
                &k_s,
                "--pull-when",
                when,
                "--reinsert-after-ms",
                "600",
            ]);
            let out = format!("sig-{when}-{k}.bin");
            let o = dgst_sign(&w, &out);
            let ctx = format!("pulled {when} APDU {k} of {steps}");
            let err = stderr(&o);
            assert!(!o.status.success(), "{ctx}: signing cannot succeed");
            assert!(err.contains("jpki: the card was removed"), "{ctx}: {err}");
            assert!(!err.contains("panicked"), "{ctx}: {err}");
            no_output(&w.path(&out));
            let st = sim.stats();
            assert_eq!(st.faults, 1, "{ctx}");
            assert_eq!(st.failed_verifies.values().sum::<u64>(), 0, "{ctx}");
            assert_eq!(sim.tries(PinId::Auth), 3, "{ctx}");
            wait_reinserted();
            assert_eq!(reported_tries("auth"), 3, "{ctx}");
            let o = dgst_sign(&w, &out);
            ok(&o);
            assert_openssl_verifies_sha256(
                &pki_file("auth.pem"),
                &w.path("doc.txt"),
                &w.path(&out),
            );
        }
    }
}
