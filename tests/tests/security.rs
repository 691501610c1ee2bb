//! Issue 14: no fake card collects a PIN, nothing listens beyond loopback, no secret is echoed.
//!
//! * A card in a virtual reader (vsmartcard's "Virtual PCD", where anyone who reaches vpcd can
//!   put a card of their own making) is never chosen automatically: without `--reader`,
//!   `reader=` or `JPKI_READER`, jpki-sign and the provider find no card, and the simulated
//!   cards count no VERIFY.
//! * While the simulators run, `ss -ltn` shows no listener beyond loopback.
//! * A PIN written where a pin-source or a PIN file path belonged is never repeated in any
//!   output, also with the most verbose logging.

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::process::Command;

/// A value that looks like a sign password typed in the wrong place.
const SECRET: &str = "QZ7PASS93";

fn verifies(st: &jpki_card_sim::Stats) -> u64 {
    st.verifies.values().sum()
}

/// `jpki-sign` with no reader named anywhere (JPKI_READER removed) and the notice enabled.
fn jpki_sign_default_choice() -> Command {
    let mut c = jpki_sign();
    c.env_remove("JPKI_READER")
        .env_remove("JPKI_VIRTUAL_READER_NOTICE");
    c
}

#[test]
fn a_fake_card_in_a_virtual_reader_never_receives_a_verify_by_default() {
    let fake = SecondSim::start(&[]);
    let w = Scratch::new();
    let pw = w.write("pw", b"ABC123\n");
    let doc = w.write("doc.txt", b"to be signed\n");
    let main_before = verifies(&main_stats());

    // jpki-sign: the sign password goes nowhere, the error says why.
    let o = run(jpki_sign_default_choice()
        .arg("--pin-file")
        .arg(&pw)
        .args(["cms", "sign", "--detached", "--force"])
        .arg(&doc));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("no My Number card found in a real reader")
            && err.contains(MAIN_READER)
            && err.contains(SECOND_READER)
            && err.contains("JPKI_READER"),
        "{err}"
    );
    assert!(!w.path("doc.txt.p7s").exists());

    // The provider through openssl, with a pin-source: no card either.
    let o = run(openssl()
        .env_remove("JPKI_READER")
        .args([
            "pkeyutl",
            "-sign",
            "-provider",
            "jpki",
            "-provider",
            "default",
        ])
        .arg("-inkey")
        .arg(format!("jpki:sign?pin-source=file:{}", pw.display()))
        .arg("-in")
        .arg(&doc)
        .arg("-out")
        .arg(w.path("sig")));
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no My Number card found in a real reader"),
        "{}",
        stderr(&o)
    );

    // The ssh agent's key listing, too, finds no card.
    let o = run(jpki_sign_default_choice().args(["ssh", "pubkey"]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    assert_eq!(verifies(&fake.stats()), 0, "the fake card got a VERIFY");
    assert_eq!(fake.stats().signatures, 0);
    assert_eq!(fake.tries(PinId::Sign), 5);
    assert_eq!(
        verifies(&main_stats()),
        main_before,
        "the main card got a VERIFY"
    );
}

#[test]
fn a_virtual_reader_named_explicitly_is_used_and_said_once() {
    let _card = SecondSim::start(&[]);
    // --reader beats JPKI_READER (which with-sim.sh points at the main reader).
    let o = run(jpki_sign_default_choice()
        .env("JPKI_READER", MAIN_READER)
        .args(["--reader", SECOND_READER, "--json", "card"]));
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("card JSON");
    assert_eq!(v["reader"], SECOND_READER);
    let err = stderr(&o);
    let notices: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("virtual (software) reader"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", stderr(&o));
    assert!(notices[0].contains(SECOND_READER), "{}", notices[0]);

    // JPKI_READER alone names it for jpki-sign and for the provider.
    let o = run(jpki_sign_default_choice()
        .env("JPKI_READER", SECOND_READER)
        .args(["--json", "card"]));
    ok(&o);
    assert!(stdout(&o).contains(SECOND_READER), "{}", stdout(&o));
    let o = run(openssl()
        .env("JPKI_READER", SECOND_READER)
        .env_remove("JPKI_VIRTUAL_READER_NOTICE")
        .args([
            "storeutl",
            "-provider",
            "jpki",
            "-provider",
            "default",
            "-certs",
            "jpki:auth",
        ]));
    ok(&o);
    assert_eq!(
        stderr(&o).matches("virtual (software) reader").count(),
        1,
        "{}",
        stderr(&o)
    );
}

/// Listening TCP sockets as `ss -ltnpH` shows them (in the network namespace `netns`, or
/// this process's): (local address, owning processes).
fn listeners(netns: Option<&str>) -> Vec<(String, String)> {
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={ns}")).arg("ss");
            c
        }
        None => Command::new("ss"),
    };
    let o = run(c.args(["-ltnpH"]));
    ok(&o);
    stdout(&o)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(3)?.to_string(), f.get(5..)?.join(" ")))
        })
        .collect()
}

fn is_loopback(local: &str) -> bool {
    let host = local.rsplit_once(':').map_or(local, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.split('%').next().unwrap_or(host);
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Processes the project starts.
fn ours(procs: &str) -> bool {
    ["\"pcscd\"", "\"jpki-", "\"openssl\""]
        .iter()
        .any(|p| procs.contains(p))
}

#[test]
fn nothing_listens_beyond_loopback_while_the_simulators_run() {
    let _second = SecondSim::start(&[]);
    assert!(card_present(MAIN_READER) && card_present(SECOND_READER));
    // Where programs run (and where another user or host could connect from): nothing of ours
    // listens beyond loopback — in particular not vpcd's card ports.
    let here = listeners(None);
    let open: Vec<&(String, String)> = here
        .iter()
        .filter(|(local, procs)| ours(procs) && !is_loopback(local))
        .collect();
    assert!(open.is_empty(), "listening beyond loopback: {open:?}");
    assert!(
        !here
            .iter()
            .any(|(l, _)| l.ends_with(":35963") || l.ends_with(":35964")),
        "vpcd's ports are reachable here: {here:?}"
    );
    // vpcd does listen on every interface — of pcscd's own network namespace, which sim-up
    // created with nothing in it but loopback.
    let ns = std::fs::read_to_string(sim_dir().join("vpcd-netns"))
        .expect("target/sim/vpcd-netns: sim-up starts pcscd in a network namespace of its own");
    let ns = ns.trim();
    let there = listeners(Some(ns));
    for port in [":35963", ":35964"] {
        assert!(
            there
                .iter()
                .any(|(l, p)| l.ends_with(port) && p.contains("\"pcscd\"")),
            "vpcd should listen on {port} in pcscd's namespace: {there:?}"
        );
    }
    let o = run(Command::new("nsenter")
        .arg(format!("--net={ns}"))
        .args(["ip", "-o", "link", "show"]));
    ok(&o);
    let links: Vec<String> = stdout(&o)
        .lines()
        .filter_map(|l| l.split(": ").nth(1).map(str::to_string))
        .collect();
    assert_eq!(links, vec!["lo".to_string()], "{}", stdout(&o));
}

/// The lines of openssl's output that come from the jpki provider: its log (JPKI_LOG) and
/// the errors it raised. (openssl itself repeats its own command-line arguments.)
fn provider_lines(o: &std::process::Output) -> Vec<String> {
    format!("{}\n{}", stdout(o), stderr(o))
        .lines()
        .filter(|l| {
            l.contains("jpki_provider") || l.contains("jpki_card") || l.contains("provider/src/")
        })
        .map(str::to_string)
        .collect()
}

/// Asserts that the provider said something about the pin-source, and never the secret.
fn provider_names_the_problem_only(what: &str, o: &std::process::Output) {
    assert!(!o.status.success(), "{what}");
    let ours = provider_lines(o);
    assert!(
        ours.iter().any(|l| l.contains("pin-source")),
        "{what}: the provider should name the pin-source problem:\n{}",
        stderr(o)
    );
    for l in ours {
        assert!(
            !l.contains(SECRET),
            "{what}: the provider echoed the secret: {l}"
        );
    }
}

#[test]
fn a_pin_in_the_wrong_place_is_never_echoed() {
    let w = Scratch::new();
    let doc = w.write("doc.txt", b"to be signed\n");

    // --pin-file with the password where the path belonged.
    let o = run(jpki_sign()
        .env("JPKI_LOG", "trace")
        .args(["--pin-file", SECRET, "cert", "sign", "-o"])
        .arg(w.path("c.pem")));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot read PIN file (--pin-file)"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains(SECRET) && !stderr(&o).contains(SECRET));
    let o = run(jpki_sign()
        .env("LANG", "ja_JP.UTF-8")
        .args(["--pin-file", SECRET, "cert", "sign", "-o"])
        .arg(w.path("c.pem")));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stdout(&o).contains(SECRET) && !stderr(&o).contains(SECRET));

    // pin-source in a URI: the password instead of file:/env:, and file: with a missing path.
    for uri in [
        format!("jpki:sign?pin-source={SECRET}"),
        format!("jpki:sign?pin-source=file:/nonexistent/{SECRET}"),
    ] {
        let o = run(openssl()
            .env("JPKI_LOG", "trace")
            .args([
                "pkeyutl",
                "-sign",
                "-provider",
                "jpki",
                "-provider",
                "default",
            ])
            .arg("-inkey")
            .arg(&uri)
            .arg("-in")
            .arg(&doc)
            .arg("-out")
            .arg(w.path("sig")));
        provider_names_the_problem_only(&uri, &o);
    }

    // pin-source in the provider's configuration section.
    let conf = std::fs::read_to_string(conf_file("jpki.cnf")).expect("conf/jpki.cnf");
    let conf = conf.replace(
        "[jpki_sect]\n",
        &format!("[jpki_sect]\npin-source = {SECRET}\n"),
    );
    assert!(conf.contains(&format!("pin-source = {SECRET}")));
    let conf = w.write("jpki.cnf", conf.as_bytes());
    let o = run(openssl()
        .env("OPENSSL_CONF", &conf)
        .env("JPKI_LOG", "trace")
        .args(["storeutl", "-certs", "jpki:auth"]));
    provider_names_the_problem_only("pin-source in the provider section", &o);
    // openssl does not repeat configuration values: nothing at all shows it.
    assert!(!stdout(&o).contains(SECRET) && !stderr(&o).contains(SECRET));
}
