//! Nothing secret or personal in logs: signing through the provider and the CLI with the most
//! verbose logging on, then searching every byte of output for the password, its bytes, and
//! the card owner's personal data (in text and in hex, as an APDU trace would show it). Also
//! valgrind over `openssl cms -sign` with the provider: no invalid access, no definite leak.

use jpki_card_sim::Person;
use jpki_tests::*;
use std::path::Path;
use std::process::Command;

fn hex_spaced(s: &str) -> String {
    s.as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn forbidden() -> Vec<String> {
    let p = Person::default();
    let mut v = vec![
        "ABC123".to_string(),
        "abc123".into(),
        "41 42 43 31 32 33".into(),
    ];
    for datum in [
        p.name.clone(),
        p.address.clone(),
        p.birth.clone(),
        p.my_number.clone(),
    ] {
        v.push(hex_spaced(&datum));
        v.push(datum);
    }
    // The family name alone (the certificate carries the name in parts too).
    if let Some(family) = p.name.split('\u{3000}').next() {
        v.push(family.to_string());
        v.push(hex_spaced(family));
    }
    v
}

/// `openssl cms -sign` through the provider (after the program name), password from a
/// pin-source.
fn cms_sign_args(doc: &Path, pw: &Path, out: &Path) -> Vec<String> {
    let fixed = [
        "cms",
        "-sign",
        "-provider",
        "jpki",
        "-provider",
        "default",
        "-binary",
    ];
    let mut v: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    v.extend([
        "-in".into(),
        doc.display().to_string(),
        "-signer".into(),
        format!("jpki:sign?pin-source=file:{}", pw.display()),
        "-inkey".into(),
        "jpki:sign".into(),
        "-outform".into(),
        "DER".into(),
        "-out".into(),
        out.display().to_string(),
    ]);
    v
}

fn assert_clean(what: &str, text: &str) {
    for needle in forbidden() {
        assert!(
            !text.contains(&needle),
            "{what}: {needle:?} leaked:\n{text}"
        );
    }
}

#[test]
fn most_verbose_logs_hold_no_password_and_no_personal_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, b"hygiene\n").expect("doc");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, b"abc123\n").expect("pw");

    // Provider: reads the sign certificate (name, address) and signs, all traced.
    let o = run(openssl().env("JPKI_LOG", "trace").args(cms_sign_args(
        &doc,
        &pw,
        &dir.path().join("doc.p7s"),
    )));
    assert!(o.status.success(), "{}", stderr(&o));
    let log = stderr(&o);
    assert!(
        log.contains("jpki_card::apdu"),
        "the trace is on (else this test proves nothing)"
    );
    assert!(log.contains("<6 bytes masked>"), "{log}");
    assert!(
        log.contains("bytes masked> 90 00"),
        "READ BINARY data masked: {log}"
    );
    assert_clean("openssl cms -sign with JPKI_LOG=trace", &log);
    assert_clean("openssl stdout", &stdout(&o));

    // CLI: the sign certificate to a file (the file holds personal data by design; the log not).
    let o = run(Command::new(bin("jpki-sign"))
        .env("JPKI_LOG", "trace")
        .args(["--reader", MAIN_READER, "--pin-file"])
        .arg(&pw)
        .args(["cert", "sign", "-o"])
        .arg(dir.path().join("sign.pem")));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("jpki_card::apdu"));
    assert_clean("jpki-sign cert sign with JPKI_LOG=trace", &stderr(&o));
    assert_clean("jpki-sign stdout", &stdout(&o));

    // CLI: a PDF with a visible stamp carrying the signer's name — in the
    // PDF by the user's choice, never in the log or the terminal.
    let pdf = dir.path().join("doc.pdf");
    std::fs::write(&pdf, jpki_tests::pdf::minimal_pdf("1.7")).expect("pdf");
    let signed = dir.path().join("doc-signed.pdf");
    let o = run(Command::new(bin("jpki-sign"))
        .env("JPKI_LOG", "trace")
        .args(["--reader", MAIN_READER, "--pin-file"])
        .arg(&pw)
        .arg("sign")
        .arg(&pdf)
        .arg("--stamp"));
    assert!(o.status.success(), "{}", stderr(&o));
    let family = Person::default()
        .name
        .split('\u{3000}')
        .next()
        .unwrap_or_default()
        .to_string();
    let shown = run(Command::new("pdftotext").arg(&signed).arg("-"));
    assert!(
        stdout(&shown).contains(&family),
        "the stamp carries the name (else this part proves nothing): {}",
        stdout(&shown)
    );
    assert!(stderr(&o).contains("jpki_card::apdu"));
    assert_clean("jpki-sign sign --stamp with JPKI_LOG=trace", &stderr(&o));
    assert_clean("jpki-sign sign stdout", &stdout(&o));
}

#[test]
fn valgrind_finds_no_invalid_access_or_definite_leak_in_provider_cms_sign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, b"valgrind\n").expect("doc");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, b"ABC123\n").expect("pw");
    let log = dir.path().join("valgrind.log");
    let o = run(Command::new("valgrind")
        .env("OPENSSL_MODULES", provider_modules())
        .env_remove("OPENSSL_CONF")
        .args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=99",
        ])
        .arg(format!("--log-file={}", log.display()))
        .arg("openssl")
        .args(cms_sign_args(&doc, &pw, &dir.path().join("doc.p7s"))));
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(o.status.success(), "valgrind: {}\n{report}", stderr(&o));
    assert!(report.contains("ERROR SUMMARY: 0 errors"), "{report}");
    let v = run(Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-CAfile"])
        .arg(pki_file("sign-ca.pem"))
        .arg("-in")
        .arg(dir.path().join("doc.p7s"))
        .arg("-content")
        .arg(&doc)
        .args(["-out", "/dev/null"]));
    assert!(
        stderr(&v).contains("Verification successful"),
        "{}",
        stderr(&v)
    );
}

/// `openssl dgst -sign jpki:auth` that has loaded the key (the provider holds the PIN) and waits
/// for its input on a pipe, with core dumps allowed (`ulimit -c unlimited`) and core files going
/// to its working directory (`core_pattern` is `core` here), killed with SIGSEGV there.
/// Returns (the kernel says it dumped core, a core file exists).
fn core_dump_of_a_provider_holding_a_pin(w: &Scratch, config: Option<&Path>) -> (bool, bool) {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    use std::time::Duration;
    let pin = w.write("authpin", b"1234\n");
    let mut c = openssl();
    c.args(["dgst", "-sha256", "-sign", "jpki:auth", "-passin"])
        .arg(format!("file:{}", pin.display()))
        .args(["-out", &w.s("sig.bin")]);
    match config {
        Some(conf) => c.env("OPENSSL_CONF", conf),
        None => c.args(["-provider", "jpki", "-provider", "default"]),
    };
    let program = c.get_program().to_owned();
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let mut sh = Command::new("sh");
    sh.args(["-c", "ulimit -c unlimited && exec \"$@\"", "sh"])
        .arg(program)
        .args(args)
        .current_dir(w.path(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let before = main_stats();
    let mut child = sh.spawn().expect("openssl dgst");
    wait_until(
        "the provider to verify the PIN",
        Duration::from_secs(10),
        || {
            main_stats().verifies_of(jpki_card_sim::PinId::Auth)
                > before.verifies_of(jpki_card_sim::PinId::Auth)
        },
    );
    let o = run(Command::new("kill").args(["-SEGV", &child.id().to_string()]));
    assert!(o.status.success(), "kill: {}", stderr(&o));
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(11), "killed by SIGSEGV: {status:?}");
    let core_file = std::fs::read_dir(w.path(""))
        .expect("scratch dir")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("core"));
    (status.core_dumped(), core_file)
}

#[test]
fn a_program_holding_a_pin_in_the_provider_leaves_no_core_dump() {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    assert_eq!(
        pattern.trim(),
        "core",
        "this test expects core files in the working directory (kernel.core_pattern = core)"
    );
    // Default: protect-process = yes.
    let w = Scratch::new();
    assert_eq!(
        core_dump_of_a_provider_holding_a_pin(&w, None),
        (false, false),
        "with protect-process (the default) the program must not be dumpable"
    );
    // protect-process = no: the program's dumpability is left alone — it dumps core (which
    // then holds the PIN: that is what the option is for).
    let w = Scratch::new();
    let conf = std::fs::read_to_string(conf_file("jpki.cnf")).expect("conf/jpki.cnf");
    let conf = conf.replace("[jpki_sect]\n", "[jpki_sect]\nprotect-process = no\n");
    assert!(conf.contains("protect-process = no"), "{conf}");
    let conf = w.write("jpki-dumpable.cnf", conf.as_bytes());
    assert_eq!(
        core_dump_of_a_provider_holding_a_pin(&w, Some(&conf)),
        (true, true),
        "with protect-process = no the program stays dumpable"
    );
}
