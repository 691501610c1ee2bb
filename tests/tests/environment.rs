//! Bad environments give one clear line each, and an exit code that says what
//! kind of problem it is (3 = no usable card, 4 = PIN problem).

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::process::{Command, Output};

fn one_line_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "expected exactly one line, got: {err}"
    );
    assert!(err.starts_with("jpki-sign: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn no_pcscd() {
    let o = run(jpki_sign_main()
        .arg("card")
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm"));
    one_line_error(&o, 3, "cannot reach the PC/SC service (pcscd)");
}

#[test]
fn no_reader_at_all() {
    // A private pcscd with no reader configured, in its own mount namespace so it
    // does not disturb the one the other tests use.
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"set -e
mount -t tmpfs none /run/pcscd
pcscd --foreground --config {conf} >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.05; done
set +e
{bin} card
rc=$?
kill $pid; wait $pid 2>/dev/null
exit $rc"#,
        conf = dir.path().display(),
        bin = bin("jpki-sign").display()
    );
    let o = run(english(&mut Command::new("unshare")).args(["--mount", "sh", "-c", &script]));
    one_line_error(&o, 3, "no smart-card reader found");
}

#[test]
fn no_reader_matches() {
    let o = run(jpki_sign().args(["--reader", "NoSuchReader", "card"]));
    one_line_error(
        &o,
        3,
        "no reader matches \"NoSuchReader\"; readers present: Virtual PCD 00 00",
    );
}

#[test]
fn reader_without_card() {
    assert!(!card_present(SECOND_READER));
    let o = run(jpki_sign_second().arg("card"));
    one_line_error(
        &o,
        3,
        "no card in reader \"Virtual PCD 00 01\"; insert your My Number card",
    );
}

#[test]
fn a_card_that_is_not_jpki() {
    let _sim = SecondSim::start(&["--variant", "foreign"]);
    let o = run(jpki_sign_second().arg("card"));
    one_line_error(
        &o,
        3,
        "is not a My Number card (it has no JPKI application)",
    );
}

#[test]
fn an_old_juki_card() {
    let _sim = SecondSim::start(&["--variant", "juki"]);
    let o = run(jpki_sign_second().arg("card"));
    one_line_error(
        &o,
        3,
        "old Juki card (住民基本台帳カード, JPKIAPICCTOKEN), which jpki does not support",
    );
}

#[test]
fn a_blocked_password_is_reported_and_never_presented() {
    let sim = SecondSim::start(&["--sign-tries", "0"]);
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"ABC123\n",
    );
    one_line_error(
        &o,
        4,
        "sign password (署名用パスワード) is blocked (no tries left)",
    );
    assert!(o.stdout.is_empty());
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
    let o = run(jpki_sign_second().args(["pin", "status"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("BLOCKED"), "{}", stdout(&o));
}

#[test]
fn the_last_try_is_refused_unless_forced() {
    let sim = SecondSim::start(&["--sign-tries", "1"]);
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"ABC123\n",
    );
    one_line_error(&o, 4, "only 1 try left for the sign password");
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--force-last-try", "--pin-file", "-"]),
        b"ABC123\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(sim.tries(PinId::Sign), 5);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
}

#[test]
fn a_typo_costs_exactly_one_try() {
    let sim = SecondSim::start(&[]);
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"ABC124\n",
    );
    one_line_error(
        &o,
        4,
        "wrong sign password (署名用パスワード), 4 tries left",
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert_eq!(sim.tries(PinId::Sign), 4);
    // Lower case is upper-cased before it is sent: one VERIFY, success, counter reset.
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"abc123\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 2);
    assert_eq!(sim.tries(PinId::Sign), 5);
    // A malformed password never reaches the card.
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"abc\n",
    );
    one_line_error(
        &o,
        4,
        "must be 6 to 16 characters long (nothing was sent to the card, no try spent)",
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 2);
}

#[test]
fn no_terminal_and_no_pin_file() {
    let sim = SecondSim::start(&[]);
    let o = run(jpki_sign_second().args(["cert", "sign"]));
    one_line_error(
        &o,
        1,
        "there is no terminal to ask on; pass --pin-file FILE",
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
}

#[test]
fn apdu_trace_masks_pins_and_shows_no_personal_data() {
    let _sim = SecondSim::start(&[]);
    let o = run_with_input(
        jpki_sign_second()
            .args(["cert", "sign", "--pin-file", "-"])
            .env("JPKI_LOG", "trace"),
        b"abc123\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let log = stderr(&o);
    // The trace is there (so this test can fail) …
    assert!(
        log.contains("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
        "{log}"
    );
    assert!(log.contains("00 20 00 9B 06 <6 bytes masked>"), "{log}");
    // … but neither the password nor its bytes, in any case.
    for needle in ["ABC123", "abc123", "41 42 43 31 32 33", "414243313233"] {
        assert!(!log.contains(needle), "{needle} leaked into the log");
    }
}

#[test]
fn pin_change_spends_one_verify_and_the_new_password_works() {
    let sim = SecondSim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::write(&old, "abc123\n").unwrap();
    std::fs::write(&new, "newpass1\n").unwrap();
    let o = run(jpki_sign_second()
        .args(["pin", "change", "sign", "--pin-file"])
        .arg(&old)
        .arg("--new-pin-file")
        .arg(&new));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("changed"), "{}", stdout(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert_eq!(sim.state().pins[&PinId::Sign].value, "NEWPASS1");
    // A malformed new password is refused before anything is sent.
    std::fs::write(&new, "short\n").unwrap();
    let o = run(jpki_sign_second()
        .args(["pin", "change", "sign", "--pin-file"])
        .arg(&old)
        .arg("--new-pin-file")
        .arg(&new));
    one_line_error(&o, 4, "must be 6 to 16 characters long");
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    // The old password is now wrong: one try spent, tries left reported.
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"ABC123\n",
    );
    one_line_error(&o, 4, "4 tries left");
    let o = run_with_input(
        jpki_sign_second().args(["cert", "sign", "--pin-file", "-"]),
        b"NEWPASS1\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 3);
}
