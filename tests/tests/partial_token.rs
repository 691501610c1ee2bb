//! `pin status` and `card` on a token that lacks an application (a smartphone token) or whose
//! text AP answers an error: the PINs that can be shown are shown, the rest marked unavailable,
//! instead of the whole command failing.

use jpki_tests::*;

fn pin_status_json(extra: &[&str]) -> serde_json::Value {
    let o = run(jpki_sign_second()
        .args(["--json", "pin", "status"])
        .args(extra));
    ok(&o);
    serde_json::from_str(&stdout(&o)).expect("pin status JSON")
}

#[test]
fn a_text_ap_answering_an_error_leaves_the_other_pins_shown() {
    // The third PIN query of each run (auth, sign, then text) answers 6F 00.
    let sim = SecondSim::start(&["--sw-on", "query:6F00:3", "--sw-on", "query:6F00:6"]);
    let v = pin_status_json(&[]);
    assert_eq!(v["auth"]["tries_left"], 3, "{v}");
    assert_eq!(v["auth"]["available"], true, "{v}");
    assert_eq!(v["sign"]["tries_left"], 5, "{v}");
    assert_eq!(v["text"]["available"], false, "{v}");
    assert_eq!(v["text"]["tries_left"], serde_json::Value::Null, "{v}");

    let o = run(jpki_sign_second().args(["pin", "status"]));
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("3 of 3 tries left"), "{out}");
    assert!(out.contains("5 of 5 tries left"), "{out}");
    assert!(out.contains("unavailable"), "{out}");
    assert_eq!(sim.stats().faults, 2, "both injected errors were met");
    assert_eq!(sim.stats().verifies.values().sum::<u64>(), 0);
}

#[test]
fn a_smartphone_token_shows_its_two_pins_and_no_text_pin() {
    let _sim = SecondSim::start(&["--variant", "smartphone"]);
    let v = pin_status_json(&[]);
    assert_eq!(v["auth"]["available"], true, "{v}");
    assert_eq!(v["sign"]["available"], true, "{v}");
    assert_eq!(v["text"]["available"], false, "{v}");
    let o = run(jpki_sign_second().args(["--json", "card"]));
    ok(&o);
    assert!(stdout(&o).contains("JPKIAPGPSETOKEN"), "{}", stdout(&o));
}
