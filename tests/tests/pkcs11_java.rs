//! Java's SunPKCS11 provider over the module (the README's "Java (SunPKCS11)" recipe):
//! `keytool -list` shows each token's key entry, `jarsigner` signs a jar with the sign key and
//! `jarsigner -verify` (and, independently, `openssl cms -verify`) accepts it. PIN accounting
//! from the simulator's counters: one VERIFY per password Java passes, a malformed one never
//! sent, the final try refused, a blocked PIN never sent, and each failure a clean exit.
//!
//! Java hands the password over as the keystore password (`-storepass:file`/`:env`), which
//! SunPKCS11 passes to `C_Login`. SunPKCS11 turns `CKA_LABEL` into a Java string byte by byte
//! (each UTF-8 byte becomes one char), so the alias of an entry whose label is Japanese is the
//! label's UTF-8 bytes read as Latin-1: [`java_alias`], `iconv -f latin1 -t utf-8` in the
//! recipe. Missing Java tools fail the tests (scripts/deps.sh installs
//! `openjdk-17-jdk-headless`).
//!
//! Tests that spend tries use [`SecondSim`] (`--test-threads=1`, as `make test` runs them).

use jpki_card_sim::PinId;
use jpki_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The label of each token's certificate, i.e. the Java alias before SunPKCS11 mangles it.
const AUTH_LABEL: &str = "利用者証明用証明書 Auth certificate";
const SIGN_LABEL: &str = "署名用証明書 Sign certificate";

/// Longest a Java tool may take here; beyond it the tool is taken to hang.
const TIMEOUT_SECS: &str = "120";

/// The alias SunPKCS11 gives a certificate labelled `label` (its UTF-8 bytes as Latin-1).
fn java_alias(label: &str) -> String {
    label.bytes().map(char::from).collect()
}

/// Whether `name` is an executable on `PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(d.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// A JDK tool (`keytool`, `jarsigner`, `jar`) on `reader`, under `timeout` so that a hang fails
/// the test, in a UTF-8 locale (Java decodes its arguments with it: the alias is not ASCII).
fn java(tool: &str, reader: &str) -> Command {
    assert!(
        on_path(tool),
        "{tool} not found: install openjdk-17-jdk-headless (scripts/deps.sh)"
    );
    let mut c = Command::new("timeout");
    c.args(["-k", "5", TIMEOUT_SECS, tool])
        .env_remove("LC_MESSAGES")
        .env("LC_ALL", "C.UTF-8")
        .env("LANG", "C.UTF-8")
        .env_remove("JAVA_TOOL_OPTIONS")
        .env_remove("JDK_JAVA_OPTIONS")
        .env("JPKI_READER", reader)
        .env("JPKI_PKCS11_CONF", "/nonexistent");
    c
}

/// The SunPKCS11 configuration of the README recipe; `slot` 0 is the auth token, 1 the sign.
fn p11_config(s: &Scratch, slot: u8) -> PathBuf {
    let text = format!(
        "name = jpki\nlibrary = {}\nslotListIndex = {slot}\n",
        bin("libjpki_pkcs11.so").display()
    );
    s.write(&format!("jpki-{slot}.cfg"), text.as_bytes())
}

/// `-keystore NONE -storetype PKCS11 -addprovider SunPKCS11 -providerArg CFG`.
fn keystore_args(cfg: &Path) -> Vec<String> {
    [
        "-keystore",
        "NONE",
        "-storetype",
        "PKCS11",
        "-addprovider",
        "SunPKCS11",
        "-providerArg",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([cfg.display().to_string()])
    .collect()
}

/// Output of a Java tool, failing the test if it was stopped for hanging.
fn finished(o: Output) -> Output {
    assert_ne!(
        o.status.code(),
        Some(124),
        "the Java tool hung (stopped after {TIMEOUT_SECS} s)\n{}",
        all(&o)
    );
    o
}

fn all(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// `keytool -list` of one token, the password read from `pw_file`.
fn keytool_list(reader: &str, cfg: &Path, pw_file: &Path) -> Output {
    finished(run(java("keytool", reader)
        .arg("-list")
        .args(keystore_args(cfg))
        .arg("-storepass:file")
        .arg(pw_file)))
}

/// `keytool -list` of one token, the password from the environment variable `JPKI_PW`.
fn keytool_list_env(reader: &str, cfg: &Path, password: &str) -> Output {
    finished(run(java("keytool", reader)
        .env("JPKI_PW", password)
        .arg("-list")
        .args(keystore_args(cfg))
        .args(["-storepass:env", "JPKI_PW"])))
}

/// A small jar to sign (made with the JDK's `jar`).
fn make_jar(s: &Scratch) -> PathBuf {
    let dir = s.path("content");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), b"signed with the My Number card\n").unwrap();
    let jar = s.path("in.jar");
    ok(&finished(run(java("jar", MAIN_READER)
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&dir)
        .arg("hello.txt"))));
    jar
}

/// `jarsigner` with the sign token's key, the password read from `pw_file`.
fn jarsign(reader: &str, s: &Scratch, jar: &Path, pw_file: &Path) -> Output {
    let cfg = p11_config(s, 1);
    finished(run(java("jarsigner", reader)
        .args(keystore_args(&cfg))
        .arg("-storepass:file")
        .arg(pw_file)
        .arg("-signedjar")
        .arg(s.path("signed.jar"))
        .arg(jar)
        .arg(java_alias(SIGN_LABEL))))
}

/// A certificate's SHA-256 fingerprint as keytool prints it (`AB:CD:…`), from openssl.
fn fingerprint(pem: &Path) -> String {
    let o = run(Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem));
    ok(&o);
    let out = stdout(&o);
    out.trim()
        .split_once('=')
        .map(|(_, f)| f.to_string())
        .unwrap_or_else(|| panic!("no fingerprint in {out}"))
}

/// A certificate's subject as Java prints it (`CN=…, L=…, C=JP`), from openssl.
fn java_subject(pem: &Path) -> String {
    let o = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(pem));
    ok(&o);
    let out = stdout(&o);
    let rfc2253 = out.trim().trim_start_matches("subject=");
    assert!(
        !rfc2253.contains("\\,"),
        "subject with an escaped comma: {rfc2253}"
    );
    rfc2253.replace(',', ", ")
}

#[test]
fn the_readme_iconv_line_gives_the_java_alias() {
    for label in [AUTH_LABEL, SIGN_LABEL] {
        let o = run(Command::new("sh").env("LC_ALL", "C.UTF-8").args([
            "-c",
            "printf '%s' \"$1\" | iconv -f latin1 -t utf-8",
            "sh",
            label,
        ]));
        ok(&o);
        assert_eq!(stdout(&o), java_alias(label));
    }
}

#[test]
fn keytool_lists_the_key_entry_of_each_token_with_the_card_certificate() {
    let s = Scratch::new();
    let pin = s.write("pin", b"1234\n");
    let before = main_stats();
    for (slot, label, pem) in [(0, AUTH_LABEL, "auth.pem"), (1, SIGN_LABEL, "sign.pem")] {
        let cfg = p11_config(&s, slot);
        // Both ways of giving Java the password: a file, the environment.
        let o = if slot == 0 {
            keytool_list(MAIN_READER, &cfg, &pin)
        } else {
            keytool_list_env(MAIN_READER, &cfg, "ABC123")
        };
        ok(&o);
        let out = stdout(&o);
        assert!(out.contains("Keystore provider: SunPKCS11-jpki"), "{out}");
        assert!(out.contains("Your keystore contains 1 entry"), "{out}");
        assert!(
            out.contains(&format!("{}, PrivateKeyEntry,", java_alias(label))),
            "{out}"
        );
        let fp = fingerprint(&pki_file(pem));
        assert!(
            out.contains(&format!("Certificate fingerprint (SHA-256): {fp}")),
            "{out}\nexpected {fp}"
        );
    }
    // Loading a PKCS11 keystore is one C_Login each: one VERIFY per token, none failed.
    let after = main_stats();
    assert_eq!(
        after.verifies_of(PinId::Auth),
        before.verifies_of(PinId::Auth) + 1
    );
    assert_eq!(
        after.verifies_of(PinId::Sign),
        before.verifies_of(PinId::Sign) + 1
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(after.signatures, before.signatures);
}

#[test]
fn jarsigner_signs_a_jar_with_the_sign_key_and_it_verifies_against_the_sign_ca() {
    let s = Scratch::new();
    let jar = make_jar(&s);
    // Lower case typed: the card holds ABC123 (the module upper-cases the password).
    let password = s.write("password", b"abc123\n");
    let before = main_stats();
    let o = jarsign(MAIN_READER, &s, &jar, &password);
    ok(&o);
    let after = main_stats();
    // C_Login's VERIFY and the signature's own (the card is reset after each), none failed.
    assert_eq!(
        after.verifies_of(PinId::Sign),
        before.verifies_of(PinId::Sign) + 2
    );
    assert_eq!(
        after.verifies_of(PinId::Auth),
        before.verifies_of(PinId::Auth)
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(after.signatures, before.signatures + 1);
    // 17 measured (pkcs11/README.md); a SELECT and a counter more when Java takes longer
    // than the counter cache's 2 s between two of its calls.
    let apdus = after.apdus - before.apdus;
    assert!(apdus <= 19, "jarsigner: {apdus} APDUs");

    // Java's own check, with the simulator's sign CA as the only trust anchor: -strict makes
    // an untrusted chain an error.
    let trust = s.path("trust.p12");
    ok(&finished(run(java("keytool", MAIN_READER)
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "jpki-sign-ca",
            "-file",
        ])
        .arg(pki_file("sign-ca.pem"))
        .args([
            "-storetype",
            "PKCS12",
            "-storepass",
            "changeit",
            "-keystore",
        ])
        .arg(&trust))));
    let o = finished(run(java("jarsigner", MAIN_READER)
        .args(["-verify", "-verbose", "-certs", "-strict", "-keystore"])
        .arg(&trust)
        .args(["-storepass", "changeit"])
        .arg(s.path("signed.jar"))));
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("jar verified."), "{out}");
    let subject = java_subject(&pki_file("sign.pem"));
    assert!(
        out.contains(&format!("Signed by \"{subject}\"")),
        "{out}\nexpected {subject}"
    );
    assert!(!out.contains("Invalid certificate chain"), "{out}");
    assert!(
        out.contains("Signature algorithm: SHA256withRSA, 2048-bit key"),
        "{out}"
    );

    // And independently of Java: the PKCS#7 signature over the signature file, by openssl.
    let x = s.path("x");
    std::fs::create_dir_all(&x).unwrap();
    ok(&finished(run(java("jar", MAIN_READER)
        .current_dir(&x)
        .arg("xf")
        .arg(s.path("signed.jar")))));
    let meta = x.join("META-INF");
    let named = |ext: &str| -> PathBuf {
        std::fs::read_dir(&meta)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap_or_else(|| panic!("no .{ext} in the signed jar"))
    };
    let o = run(Command::new("openssl")
        .args([
            "cms", "-verify", "-inform", "DER", "-binary", "-purpose", "any", "-in",
        ])
        .arg(named("RSA"))
        .arg("-content")
        .arg(named("SF"))
        .arg("-CAfile")
        .arg(pki_file("sign-ca.pem"))
        .args(["-out", "/dev/null"]));
    assert!(
        stderr(&o).contains("Verification successful"),
        "{}",
        all(&o)
    );
}

#[test]
fn wrong_password_costs_exactly_one_verify_and_a_malformed_one_none() {
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    let jar = make_jar(&s);
    // Malformed (too short, then a character outside A-Z0-9): refused before the card.
    for (name, text) in [("short", "AB1"), ("bad", "ABC-123")] {
        let pw = s.write(name, format!("{text}\n").as_bytes());
        let o = jarsign(SECOND_READER, &s, &jar, &pw);
        assert!(!o.status.success(), "{}", all(&o));
        let o = keytool_list(SECOND_READER, &p11_config(&s, 1), &pw);
        assert!(!o.status.success(), "{}", all(&o));
    }
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);

    let wrong = s.write("wrong", b"WRONG1\n");
    let o = jarsign(SECOND_READER, &s, &jar, &wrong);
    assert!(!o.status.success(), "{}", all(&o));
    let err = all(&o);
    // A one-line error, not a stack trace or a hang; the password is not repeated.
    assert!(err.contains("jarsigner error:"), "{err}");
    assert!(err.contains("load failed"), "{err}");
    assert!(!err.contains("\tat "), "{err}");
    assert!(!err.contains("WRONG1"), "{err}");
    assert!(!s.path("signed.jar").exists());
    let st = sim.stats();
    assert_eq!(st.verifies_of(PinId::Sign), 1);
    assert_eq!(st.failed_verifies.get(&PinId::Sign), Some(&1));
    assert_eq!(st.signatures, 0);
    assert_eq!(sim.tries(PinId::Sign), 4);

    // keytool the same: one VERIFY for the one password given.
    let o = keytool_list(SECOND_READER, &p11_config(&s, 1), &wrong);
    assert!(!o.status.success(), "{}", all(&o));
    // (keytool prints its errors on stdout)
    assert!(all(&o).contains("keytool error:"), "{}", all(&o));
    assert!(!all(&o).contains("\tat "), "{}", all(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 2);
    assert_eq!(sim.tries(PinId::Sign), 3);
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
}

#[test]
fn final_try_is_refused_and_a_blocked_pin_never_sent() {
    let sim = SecondSim::start(&["--sign-tries", "1", "--auth-tries", "0"]);
    let s = Scratch::new();
    let jar = make_jar(&s);
    let password = s.write("password", b"ABC123\n");
    let pin = s.write("pin", b"1234\n");
    // One try left: the right password is not presented (the module refuses the last try).
    let o = jarsign(SECOND_READER, &s, &jar, &password);
    assert!(!o.status.success(), "{}", all(&o));
    assert!(all(&o).contains("load failed"), "{}", all(&o));
    assert!(!s.path("signed.jar").exists());
    // Blocked: never sent.
    let o = keytool_list(SECOND_READER, &p11_config(&s, 0), &pin);
    assert!(!o.status.success(), "{}", all(&o));
    assert!(!all(&o).contains("\tat "), "{}", all(&o));
    let st = sim.stats();
    assert_eq!(st.verifies_of(PinId::Sign), 0);
    assert_eq!(st.verifies_of(PinId::Auth), 0);
    assert_eq!(st.signatures, 0);
    assert_eq!(sim.tries(PinId::Sign), 1);
    assert_eq!(sim.tries(PinId::Auth), 0);
}

/// The first ```sh block after the line starting with `intro` in a README of the repository.
fn readme_block(readme: &str, intro: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(readme);
    let text = std::fs::read_to_string(&path).unwrap();
    let after = text
        .split_once(&format!("\n{intro}"))
        .unwrap_or_else(|| panic!("{readme}: no paragraph starting with {intro:?}"))
        .1;
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, b)| b.split_once("\n```"))
        .unwrap_or_else(|| panic!("{readme}: no sh block after {intro:?}"))
        .0;
    block.to_string()
}

/// Runs a README recipe as written, in `s`, with `$M` the module under test (a line that sets
/// `M` to the installed path is left out), `password.txt`, `app.jar` and `sign-ca.pem` there.
fn run_recipe(s: &Scratch, script: &str) -> Output {
    let script: String = script
        .lines()
        .filter(|l| !l.starts_with("M="))
        .map(|l| format!("{l}\n"))
        .collect();
    s.write("password.txt", b"ABC123\n");
    std::fs::copy(make_jar(s), s.path("app.jar")).unwrap();
    std::fs::copy(pki_file("sign-ca.pem"), s.path("sign-ca.pem")).unwrap();
    let _ = std::fs::remove_file(s.path("signed.jar"));
    let _ = std::fs::remove_file(s.path("trust.p12"));
    assert!(
        on_path("jarsigner") && on_path("keytool"),
        "install openjdk-17-jdk-headless"
    );
    finished(run(java("bash", MAIN_READER)
        .current_dir(s.path(""))
        .env("M", bin("libjpki_pkcs11.so"))
        .args(["-euo", "pipefail", "-c", &script])))
}

#[test]
fn the_readme_recipes_sign_a_jar_as_written() {
    let s = Scratch::new();
    let subject = java_subject(&pki_file("sign.pem"));
    for (readme, intro) in [
        (
            "pkcs11/README.md",
            "Java SunPKCS11, `keytool` and `jarsigner`",
        ),
        ("README.md", "Java (SunPKCS11) with the sign key"),
    ] {
        let before = main_stats();
        let o = run_recipe(&s, &readme_block(readme, intro));
        ok(&o);
        let out = stdout(&o);
        assert!(
            out.contains(&format!("{}, PrivateKeyEntry,", java_alias(SIGN_LABEL))),
            "{out}"
        );
        assert!(out.contains("jar verified."), "{readme}: {out}");
        assert!(
            out.contains(&format!("Signed by \"{subject}\"")),
            "{readme}: {out}"
        );
        // keytool's login, jarsigner's login and its signature.
        let after = main_stats();
        assert_eq!(
            after.verifies_of(PinId::Sign),
            before.verifies_of(PinId::Sign) + 3
        );
        assert_eq!(after.failed_verifies, before.failed_verifies);
        assert_eq!(after.signatures, before.signatures + 1);
    }
}
