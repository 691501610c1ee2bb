//! `jpki-sign card basic4`, `completions` and `man` end to end.

use jpki_card_sim::{Person, PinId};
use jpki_tests::*;
use std::process::Command;

#[test]
fn basic4_shows_the_cards_holder_for_one_text_pin_try() {
    let sim = SecondSim::start(&[]);
    let o = run_with_input(
        jpki_sign_second().args(["--json", "card", "basic4", "--pin-file", "-"]),
        b"1234\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = Person::default();
    assert_eq!(v["name"], p.name.as_str());
    assert_eq!(v["address"], p.address.as_str());
    assert_eq!(v["birth"], p.birth.as_str());
    assert_eq!(v["sex"], p.sex.to_string().as_str());
    assert_eq!(sim.stats().verifies_of(PinId::Text), 1);
    // A wrong PIN: one try, a clear message, nothing printed.
    let o = run_with_input(
        jpki_sign_second().args(["card", "basic4", "--pin-file", "-"]),
        b"9999\n",
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(sim.tries(PinId::Text), 2);
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let o = run(Command::new(bin("jpki-sign")).args(["completions", "bash"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let script = stdout(&o);
    for word in ["verify", "cms", "--pades", "basic4"] {
        assert!(
            script.contains(word),
            "{word} missing from the bash completion"
        );
    }
    let o = run(Command::new(bin("jpki-sign")).arg("man"));
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH jpki-sign 1"),
        "{page}"
    );
    assert!(page.contains("verify"), "{page}");
}
