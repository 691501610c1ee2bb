//! The PKCS#11 module (`libjpki_pkcs11.so`) driven by real consumers: OpenSC's `pkcs11-tool`,
//! GnuTLS `p11tool`, `p11-kit`, NSS `modutil`/`certutil`, OpenSSH `ssh-keygen -D` and `ssh -I`
//! against a real sshd. PIN accounting is read from the simulator's counters: one VERIFY per
//! PIN typed, the final try refused, a blocked PIN never sent, a malformed one never sent.
//!
//! Tests that spend tries use [`SecondSim`] (`--test-threads=1`, as `make test` runs them).

use jpki_card_sim::PinId;
use jpki_tests::sshd::Sshd;
use jpki_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The module under test, as cargo built it.
fn module() -> PathBuf {
    bin("libjpki_pkcs11.so")
}

/// `pkcs11-tool --module M` on `reader`, English messages, no config file.
fn p11(reader: &str) -> Command {
    let mut c = Command::new("pkcs11-tool");
    english(&mut c)
        .env("JPKI_READER", reader)
        .env("JPKI_PKCS11_CONF", "/nonexistent")
        .arg("--module")
        .arg(module());
    c
}

/// Signs `data` with `pkcs11-tool --sign` on `slot`, SHA256-RSA-PKCS, the given PIN args.
fn sign(reader: &str, slot: &str, id: &str, pin_args: &[&str], s: &Scratch) -> Output {
    std::fs::write(s.path("data"), b"signed through libjpki-pkcs11\n").unwrap();
    run(p11(reader)
        .args(["--slot", slot, "--login"])
        .args(pin_args)
        .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", id, "-i"])
        .arg(s.path("data"))
        .arg("-o")
        .arg(s.path("sig")))
}

fn all(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn pkcs11_tool_lists_both_tokens_and_the_public_objects_without_a_pin() {
    let before = main_stats();
    let o = run(p11(MAIN_READER).arg("-L"));
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("JPKI 利用者証明用 Auth"), "{out}");
    assert!(out.contains("JPKI 署名用 Sign"), "{out}");
    assert!(out.contains("pin min/max        : 4/4"), "{out}");
    assert!(out.contains("pin min/max        : 6/16"), "{out}");
    let o = run(p11(MAIN_READER).args(["--slot", "0", "-O"]));
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("利用者証明用証明書 Auth certificate"), "{out}");
    assert!(out.contains("利用者証明用CA Auth CA"), "{out}");
    assert!(out.contains("Public Key Object; RSA 2048 bits"), "{out}");
    // The private key only after login.
    assert!(!out.contains("Private Key Object"), "{out}");
    let after = main_stats();
    assert_eq!(after.verifies, before.verifies, "listing sent a PIN");
}

#[test]
fn pkcs11_tool_signs_with_the_auth_key_and_the_signature_verifies() {
    let s = Scratch::new();
    let before = main_stats();
    let o = sign(MAIN_READER, "0", "01", &["--pin", "1234"], &s);
    assert!(o.status.success(), "{}", all(&o));
    assert_openssl_verifies_sha256(&pki_file("auth.pem"), &s.path("data"), &s.path("sig"));
    let after = main_stats();
    // C_Login's VERIFY and the signature's own VERIFY (the card is reset after each), none failed.
    assert_eq!(
        after.verifies_of(PinId::Auth),
        before.verifies_of(PinId::Auth) + 2
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(after.signatures, before.signatures + 1);
    assert_eq!(
        after.verifies_of(PinId::Sign),
        before.verifies_of(PinId::Sign)
    );
}

#[test]
fn pkcs11_tool_signs_with_the_sign_key_without_a_terminal_and_upper_cases_the_password() {
    let s = Scratch::new();
    let before = main_stats();
    // Lower case typed: the card holds ABC123.
    let o = sign(MAIN_READER, "1", "02", &["--pin", "abc123"], &s);
    assert!(o.status.success(), "{}", all(&o));
    assert_openssl_verifies_sha256(&pki_file("sign.pem"), &s.path("data"), &s.path("sig"));
    let after = main_stats();
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(
        after.verifies_of(PinId::Sign),
        before.verifies_of(PinId::Sign) + 2
    );
    // The sign certificate becomes visible after login, with the key's CKA_ID.
    let o = run(p11(MAIN_READER).args(["--slot", "1", "--login", "--pin", "ABC123", "-O"]));
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("署名用証明書 Sign certificate"), "{out}");
    assert!(out.contains("Private Key Object; RSA"), "{out}");
    let o = run(p11(MAIN_READER).args(["--slot", "1", "-O"]));
    ok(&o);
    assert!(!stdout(&o).contains("署名用証明書"), "{}", stdout(&o));
}

#[test]
fn wrong_pin_costs_exactly_one_verify_and_a_malformed_one_none() {
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    let o = sign(SECOND_READER, "0", "01", &["--pin", "12"], &s);
    assert!(!o.status.success());
    assert!(all(&o).contains("CKR_PIN_LEN_RANGE"), "{}", all(&o));
    let o = sign(SECOND_READER, "1", "02", &["--pin", "abc-123"], &s);
    assert!(all(&o).contains("CKR_PIN_INVALID"), "{}", all(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);

    let o = sign(SECOND_READER, "0", "01", &["--pin", "9999"], &s);
    assert!(all(&o).contains("CKR_PIN_INCORRECT"), "{}", all(&o));
    let st = sim.stats();
    assert_eq!(st.verifies_of(PinId::Auth), 1);
    assert_eq!(st.failed_verifies.get(&PinId::Auth), Some(&1));
    assert_eq!(sim.tries(PinId::Auth), 2);
    // The token shows the counter without spending a try.
    let o = run(p11(SECOND_READER).arg("-L"));
    ok(&o);
    assert!(stdout(&o).contains("user PIN count low"), "{}", stdout(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
}

/// A card that signs with another key than its certificate's (swapped between reading the
/// certificate and signing): the module checks the signature and returns none.
#[test]
fn a_signature_by_another_key_is_refused() {
    let sim = SecondSim::start(&["--cross-keys"]);
    let s = Scratch::new();
    let o = sign(SECOND_READER, "0", "01", &["--pin", "1234"], &s);
    assert!(!o.status.success(), "{}", all(&o));
    assert!(all(&o).contains("CKR_DEVICE_ERROR"), "{}", all(&o));
    let written = std::fs::metadata(s.path("sig"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(written, 0, "no signature may be written");
    // The card signed (the check refused, not the card) twice: pkcs11-tool tries
    // C_SignUpdate/C_SignFinal after C_Sign failed, and the module refused that one too. Each
    // signature had its own VERIFY besides C_Login's, none refused.
    let st = sim.stats();
    assert_eq!(st.signatures, 2);
    assert_eq!(st.verifies_of(PinId::Auth), 3);
    assert_eq!(st.failed_verifies.values().sum::<u64>(), 0);
    assert_eq!(sim.tries(PinId::Auth), 3);
}

#[test]
fn final_try_is_refused_and_a_blocked_pin_never_sent() {
    let sim = SecondSim::start(&["--auth-tries", "1", "--sign-tries", "0"]);
    let s = Scratch::new();
    let o = run(p11(SECOND_READER).arg("-L"));
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("final user PIN try"), "{out}");
    assert!(out.contains("user PIN locked"), "{out}");
    let o = sign(SECOND_READER, "0", "01", &["--pin", "1234"], &s);
    assert!(all(&o).contains("CKR_PIN_LOCKED"), "{}", all(&o));
    let o = sign(SECOND_READER, "1", "02", &["--pin", "ABC123"], &s);
    assert!(all(&o).contains("CKR_PIN_LOCKED"), "{}", all(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
    assert_eq!(sim.tries(PinId::Auth), 1);
    // Spending the last try is the owner's explicit choice.
    let o = run(sign_cmd_with(SECOND_READER, &s).env("JPKI_PKCS11_AUTH_LAST_TRY", "allow"));
    assert!(o.status.success(), "{}", all(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 2);
    assert_eq!(sim.tries(PinId::Auth), 3);
}

/// `pkcs11-tool --sign` with the auth key and PIN 1234 (the caller adds environment).
fn sign_cmd_with(reader: &str, s: &Scratch) -> Command {
    std::fs::write(s.path("data"), b"x\n").unwrap();
    let mut c = p11(reader);
    c.args(["--slot", "0", "--login", "--pin", "1234"])
        .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", "01", "-i"])
        .arg(s.path("data"))
        .arg("-o")
        .arg(s.path("sig"));
    c
}

#[test]
fn protected_authentication_path_reads_the_pin_source_and_never_resends_a_refused_pin() {
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    let pin = s.write("pin", b"1234\n");
    std::fs::write(s.path("data"), b"x\n").unwrap();
    let signed = |pin_file: &Path| {
        run(p11(SECOND_READER)
            .env(
                "JPKI_PKCS11_AUTH_PIN_SOURCE",
                format!("file:{}", pin_file.display()),
            )
            .args(["--slot", "0", "--login"])
            .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", "01", "-i"])
            .arg(s.path("data"))
            .arg("-o")
            .arg(s.path("sig")))
    };
    let o = run(p11(SECOND_READER)
        .env(
            "JPKI_PKCS11_AUTH_PIN_SOURCE",
            format!("file:{}", pin.display()),
        )
        .arg("-L"));
    assert!(stdout(&o).contains("PIN pad present"), "{}", stdout(&o));
    let o = signed(&pin);
    assert!(o.status.success(), "{}", all(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 2);
    let bad = s.write("bad", b"4321\n");
    let o = signed(&bad);
    assert!(all(&o).contains("CKR_PIN_INCORRECT"), "{}", all(&o));
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 3);
    assert_eq!(sim.tries(PinId::Auth), 2);
}

#[test]
fn pkcs11_tool_self_test_passes() {
    let o = run(p11(MAIN_READER).args(["--slot", "0", "--login", "--pin", "1234", "--test"]));
    assert!(o.status.success(), "{}", all(&o));
    let out = all(&o);
    assert!(out.contains("No errors"), "{out}");
}

#[test]
fn p11tool_and_p11_kit_see_the_module_and_its_certificates() {
    let s = Scratch::new();
    let o = run(english(&mut Command::new("p11tool"))
        .env("JPKI_READER", MAIN_READER)
        .arg("--provider")
        .arg(module())
        .args([
            "--list-all-certs",
            "pkcs11:token=JPKI%20%E5%88%A9%E7%94%A8%E8%80%85%E8%A8%BC%E6%98%8E%E7%94%A8%20Auth",
        ]));
    assert!(o.status.success(), "{}", all(&o));
    let out = stdout(&o);
    assert!(out.contains("type=cert"), "{out}");
    assert!(
        out.contains("Auth%20certificate") || out.contains("Auth certificate"),
        "{out}"
    );
    // p11-kit: the module file `make install` writes, seen through a private mount namespace
    // in place of Debian's module directory (p11-kit reads no user config as root).
    let modules = s.path("modules");
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(
        modules.join("jpki.module"),
        format!("module: {}\ncritical: no\n", module().display()),
    )
    .unwrap();
    let list = |reader: &str| {
        run(english(&mut Command::new("unshare"))
            .env("JPKI_READER", reader)
            .args(["-m", "sh", "-c"])
            .arg(format!(
                "mount --bind '{}' /usr/share/p11-kit/modules && p11-kit list-modules",
                modules.display()
            )))
    };
    let o = list(MAIN_READER);
    assert!(o.status.success(), "{}", all(&o));
    let out = stdout(&o);
    assert!(out.contains("JPKI 利用者証明用 Auth"), "{out}");
    assert!(out.contains("JPKI 署名用 Sign"), "{out}");
    // No card in the named reader: the module is listed, without tokens, and nothing fails.
    let o = list("no such reader");
    assert!(o.status.success(), "{}", all(&o));
    let out = stdout(&o);
    assert!(
        out.contains("library-description: JPKI My Number card"),
        "{out}"
    );
    assert!(!out.contains("JPKI 利用者証明用 Auth"), "{out}");
}

#[test]
fn nss_modutil_adds_the_module_and_certutil_lists_the_card_certificates() {
    let s = Scratch::new();
    let db = format!("sql:{}", s.s(""));
    ok(&run(Command::new("certutil").args([
        "-N",
        "-d",
        &db,
        "--empty-password",
    ])));
    let o = run(Command::new("modutil")
        .env("JPKI_READER", MAIN_READER)
        .args(["-dbdir", &db, "-add", "jpki", "-libfile"])
        .arg(module())
        .arg("-force"));
    assert!(o.status.success(), "{}", all(&o));
    let o = run(Command::new("modutil")
        .env("JPKI_READER", MAIN_READER)
        .args(["-dbdir", &db, "-list", "jpki"]));
    assert!(o.status.success(), "{}", all(&o));
    assert!(
        stdout(&o).contains("JPKI 利用者証明用 Auth"),
        "{}",
        stdout(&o)
    );
    let o = run(Command::new("certutil")
        .env("JPKI_READER", MAIN_READER)
        .args(["-d", &db, "-L", "-h", "all"]));
    assert!(o.status.success(), "{}", all(&o));
    let out = stdout(&o);
    assert!(
        out.contains("JPKI 利用者証明用 Auth:利用者証明用証明書 Auth certificate"),
        "{out}"
    );
    assert!(out.contains("利用者証明用CA Auth CA"), "{out}");
    // The private key needs a login: with a pin-source the token has a protected
    // authentication path, and NSS logs in with no PIN of its own (C_Login(NULL)).
    let pin = s.write("pin", b"1234\n");
    let before = main_stats();
    let o = run(Command::new("certutil")
        .env("JPKI_READER", MAIN_READER)
        .env(
            "JPKI_PKCS11_AUTH_PIN_SOURCE",
            format!("file:{}", pin.display()),
        )
        .args(["-d", &db, "-K", "-h", "JPKI 利用者証明用 Auth"]));
    assert!(o.status.success(), "{}", all(&o));
    assert!(
        stdout(&o).contains("利用者証明用秘密鍵 Auth key"),
        "{}",
        all(&o)
    );
    let after = main_stats();
    assert_eq!(
        after.verifies_of(PinId::Auth),
        before.verifies_of(PinId::Auth) + 1
    );
    assert_eq!(after.failed_verifies, before.failed_verifies);
}

#[test]
fn ssh_keygen_prints_the_auth_key_and_ssh_logs_in_with_the_module() {
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    let o = run(Command::new("ssh-keygen")
        .env("JPKI_READER", SECOND_READER)
        .arg("-D")
        .arg(module()));
    assert!(o.status.success(), "{}", all(&o));
    let keys = stdout(&o);
    let line = keys.lines().next().expect("one key").to_string();
    assert!(line.starts_with("ssh-rsa "), "{keys}");
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 0);
    let sshd = Sshd::start(&line, &[]);
    // Protected authentication path: ssh logs in with no PIN prompt, the module reads the file.
    let ssh = |pin: &[u8]| {
        let pin = s.write("pin", pin);
        run_timeout(
            Command::new("ssh")
                .env("JPKI_READER", SECOND_READER)
                .env(
                    "JPKI_PKCS11_AUTH_PIN_SOURCE",
                    format!("file:{}", pin.display()),
                )
                .env_remove("SSH_AUTH_SOCK")
                .args(["-F", "/dev/null", "-I"])
                .arg(module())
                .args([
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                ])
                // Not BatchMode: OpenSSH then refuses to log in to a token at all. No terminal
                // and no askpass either: the PIN can only come from the module's pin-source.
                .env_remove("DISPLAY")
                .env_remove("SSH_ASKPASS")
                .args(["-o", "PreferredAuthentications=publickey"])
                .args(["-p", &sshd.port.to_string(), "root@127.0.0.1", "echo", "in"]),
            60,
        )
    };
    // A typo costs exactly one try, and the login fails.
    let o = ssh(b"9999\n");
    assert!(!o.status.success(), "{}", all(&o));
    let st = sim.stats();
    assert_eq!(st.verifies_of(PinId::Auth), 1);
    assert_eq!(st.failed_verifies.get(&PinId::Auth), Some(&1));
    assert_eq!(sim.tries(PinId::Auth), 2);
    let o = ssh(b"1234\n");
    assert!(
        o.status.success() && stdout(&o).trim() == "in",
        "{}\n--- sshd:\n{}",
        all(&o),
        sshd.log()
    );
    let st = sim.stats();
    assert_eq!(st.failed_verifies.get(&PinId::Auth), Some(&1));
    assert_eq!(st.signatures, 1);
    assert_eq!(st.verifies_of(PinId::Sign), 0);
    assert_eq!(sim.tries(PinId::Auth), 3);
}

#[test]
fn pyhanko_signs_a_pdf_through_the_module_and_it_verifies() {
    let s = Scratch::new();
    let input = s.write("in.pdf", &jpki_tests::pdf::minimal_pdf("1.7"));
    let signed = |out: &str, pin: Option<&str>, extra_env: &[(&str, String)], setup: &[&str]| {
        let mut c = Command::new("pyhanko");
        english(&mut c)
            .env("JPKI_READER", MAIN_READER)
            .env("JPKI_PKCS11_CONF", "/nonexistent")
            .env_remove("PYHANKO_PKCS11_PIN");
        if let Some(p) = pin {
            c.env("PYHANKO_PKCS11_PIN", p);
        }
        for (k, v) in extra_env {
            c.env(k, v);
        }
        c.current_dir(s.path(""));
        c.args(setup)
            .args(["sign", "addsig", "--field", "Sig1", "pkcs11"]);
        if setup.is_empty() {
            c.arg("--lib")
                .arg(module())
                .args(["--token-label", "JPKI 署名用 Sign"])
                .args(["--cert-label", "署名用証明書 Sign certificate"])
                .args(["--key-label", "署名用秘密鍵 Sign key"]);
        } else {
            c.args(["--p11-setup", "jpki"]);
        }
        c.arg(&input).arg(s.path(out));
        run(&mut c)
    };
    // A typo is refused by the card once (on a card of its own, to leave the main one intact).
    {
        let sim = SecondSim::start(&[]);
        let mut c = Command::new("pyhanko");
        let o = run(english(&mut c)
            .env("JPKI_READER", SECOND_READER)
            .env("JPKI_PKCS11_CONF", "/nonexistent")
            .env("PYHANKO_PKCS11_PIN", "WRONG1")
            .args(["sign", "addsig", "--field", "Sig1", "pkcs11", "--lib"])
            .arg(module())
            .args(["--token-label", "JPKI 署名用 Sign"])
            .args(["--cert-label", "署名用証明書 Sign certificate"])
            .arg(&input)
            .arg(s.path("typo.pdf")));
        assert!(!o.status.success(), "{}", all(&o));
        assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
        assert_eq!(sim.tries(PinId::Sign), 4);
    }
    let before = main_stats();
    // The password from pyHanko's own variable, in lower case: the module upper-cases it.
    let o = signed("out.pdf", Some("abc123"), &[], &[]);
    assert!(o.status.success(), "{}", all(&o));
    let after = main_stats();
    assert_eq!(after.failed_verifies, before.failed_verifies);
    assert_eq!(after.signatures, before.signatures + 1);
    let v = run(jpki_sign()
        .arg("verify")
        .arg(s.path("out.pdf"))
        .arg("--ca")
        .arg(pki_file("sign-ca.pem")));
    assert!(v.status.success(), "{}", all(&v));
    assert!(stdout(&v).contains("Result:       VALID"), "{}", stdout(&v));
    jpki_tests::pdf::assert_pdfsig_all_valid(&s.path("out.pdf"), 1);

    // Protected authentication path: pyHanko defers the login, the module reads its pin-source.
    let pw = s.write("pw", b"ABC123\n");
    s.write(
        "pyhanko.yml",
        format!(
            "pkcs11-setups:\n  jpki:\n    module-path: {}\n    token-criteria:\n      label: \"JPKI 署名用 Sign\"\n    cert-label: \"署名用証明書 Sign certificate\"\n    key-label: \"署名用秘密鍵 Sign key\"\n    prompt-pin: defer\n",
            module().display()
        )
        .as_bytes(),
    );
    let o = signed(
        "out2.pdf",
        None,
        &[(
            "JPKI_PKCS11_SIGN_PIN_SOURCE",
            format!("file:{}", pw.display()),
        )],
        &["--config", &s.s("pyhanko.yml")],
    );
    assert!(o.status.success(), "{}", all(&o));
    jpki_tests::pdf::assert_pdfsig_all_valid(&s.path("out2.pdf"), 1);
    assert_eq!(main_stats().failed_verifies, before.failed_verifies);
}

#[test]
fn valgrind_finds_no_invalid_access_or_definite_leak_in_pkcs11_tool_sign() {
    let s = Scratch::new();
    std::fs::write(s.path("data"), b"valgrind\n").unwrap();
    let log = s.path("valgrind.log");
    let o = run(Command::new("valgrind")
        .env("JPKI_READER", MAIN_READER)
        .env("JPKI_PKCS11_CONF", "/nonexistent")
        .args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=99",
        ])
        .arg(format!("--log-file={}", log.display()))
        .arg("pkcs11-tool")
        .arg("--module")
        .arg(module())
        .args(["--slot", "1", "--login", "--pin", "ABC123"])
        .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", "02", "-i"])
        .arg(s.path("data"))
        .arg("-o")
        .arg(s.path("sig")));
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(o.status.success(), "valgrind: {}\n{report}", all(&o));
    assert!(report.contains("ERROR SUMMARY: 0 errors"), "{report}");
    assert_openssl_verifies_sha256(&pki_file("sign.pem"), &s.path("data"), &s.path("sig"));
}

#[test]
fn the_module_never_prints_the_password_even_with_full_tracing() {
    let s = Scratch::new();
    std::fs::write(s.path("data"), b"x\n").unwrap();
    let o = run(p11(MAIN_READER)
        .env("JPKI_PKCS11_LOG", "trace")
        .args(["--slot", "1", "--login", "--pin", "abc123"])
        .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", "02", "-i"])
        .arg(s.path("data"))
        .arg("-o")
        .arg(s.path("sig")));
    ok(&o);
    let text = all(&o);
    assert!(text.contains("jpki_card::apdu"), "tracing is on: {text}");
    for secret in ["ABC123", "abc123", "41 42 43 31 32 33", "414243313233"] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
}

/// Runs a command with `GPG_TTY` set to a fresh pseudo-terminal, answers the first prompt
/// that appears on it with `typed`, and prints what the terminal showed, then the command's
/// exit code. (A person at pinentry-tty, played by Python's pty module.)
const AT_THE_TERMINAL: &str = r#"
import os, pty, select, subprocess, sys, time
typed, cmd = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
env = dict(os.environ, GPG_TTY=os.ttyname(slave), TERM="dumb")
p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
shown, answered, start = b"", False, time.time()
while p.poll() is None and time.time() - start < 60:
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        shown += os.read(master, 4096)
        if not answered and b"PIN:" in shown:
            os.write(master, typed.encode() + b"\r")
            answered = True
p.wait(timeout=60)
sys.stdout.write(shown.decode("utf-8", "replace"))
sys.stdout.write("\nEXIT %d\n" % p.returncode)
"#;

#[test]
fn pinentry_asks_in_japanese_and_english_with_the_tries_left_and_each_typo_costs_one_try() {
    let pinentry = Path::new("/usr/bin/pinentry-tty");
    assert!(pinentry.exists(), "install pinentry-tty (scripts/deps.sh)");
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    let driver = s.write("terminal.py", AT_THE_TERMINAL.as_bytes());
    std::fs::write(s.path("data"), b"x\n").unwrap();
    let at_terminal = |typed: &str| {
        let o = run(Command::new("python3")
            .arg(&driver)
            .arg(typed)
            .arg("env")
            .arg(format!("JPKI_READER={SECOND_READER}"))
            .arg("JPKI_PKCS11_CONF=/nonexistent")
            .arg(format!(
                "JPKI_PKCS11_AUTH_PIN_SOURCE=pinentry:{}",
                pinentry.display()
            ))
            .arg("pkcs11-tool")
            .arg("--module")
            .arg(module())
            .args(["--slot", "0", "--login"])
            .args(["--sign", "-m", "SHA256-RSA-PKCS", "--id", "01", "-i"])
            .arg(s.path("data"))
            .arg("-o")
            .arg(s.path("sig")));
        ok(&o);
        stdout(&o)
    };
    let shown = at_terminal("9999");
    assert!(shown.contains("利用者証明用暗証番号"), "{shown}");
    assert!(shown.contains("auth PIN"), "{shown}");
    assert!(shown.contains("残り3回 / 3 tries left"), "{shown}");
    assert!(!shown.contains("EXIT 0"), "{shown}");
    assert_eq!(sim.stats().verifies_of(PinId::Auth), 1);
    assert_eq!(sim.tries(PinId::Auth), 2);
    let shown = at_terminal("1234");
    assert!(shown.contains("残り2回 / 2 tries left"), "{shown}");
    assert!(shown.contains("EXIT 0"), "{shown}");
    assert_openssl_verifies_sha256(&pki_file("auth.pem"), &s.path("data"), &s.path("sig"));
    assert_eq!(sim.stats().failed_verifies.get(&PinId::Auth), Some(&1));
    assert_eq!(sim.tries(PinId::Auth), 3);
}

#[test]
fn pin_at_sign_needs_no_login_and_spends_one_verify_per_signature() {
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    let pin = s.write("pin", b"1234\n");
    std::fs::write(s.path("data"), b"x\n").unwrap();
    let mut c = p11(SECOND_READER);
    c.env("JPKI_PKCS11_AUTH_PIN_AT_SIGN", "yes").env(
        "JPKI_PKCS11_AUTH_PIN_SOURCE",
        format!("file:{}", pin.display()),
    );
    let o = run(c.arg("-L"));
    ok(&o);
    let out = stdout(&o);
    let auth = out.split("Slot 1").next().unwrap_or_default();
    assert!(!auth.contains("login required"), "{out}");
    let before = sim.stats();
    let o = run(p11(SECOND_READER)
        .env("JPKI_PKCS11_AUTH_PIN_AT_SIGN", "yes")
        .env(
            "JPKI_PKCS11_AUTH_PIN_SOURCE",
            format!("file:{}", pin.display()),
        )
        .args([
            "--slot",
            "0",
            "--sign",
            "-m",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
            "-i",
        ])
        .arg(s.path("data"))
        .arg("-o")
        .arg(s.path("sig")));
    assert!(o.status.success(), "{}", all(&o));
    assert_openssl_verifies_sha256(&pki_file("auth.pem"), &s.path("data"), &s.path("sig"));
    let after = sim.stats();
    assert_eq!(
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        1
    );
    // Identification 2, the auth counter 1 (in the identifying session), certificate 2,
    // signature session 4 (SELECT, counter, VERIFY, SIGN).
    assert_eq!(after.apdus - before.apdus, 9);
}

#[test]
fn fresh_pkcs11_tool_signatures_read_only_their_own_token_counter() {
    let sim = SecondSim::start(&[]);
    let s = Scratch::new();
    for (slot, id, pin, max_apdus) in [("0", "01", "1234", 12), ("1", "02", "ABC123", 14)] {
        let before = sim.stats();
        let o = sign(SECOND_READER, slot, id, &["--pin", pin], &s);
        assert!(o.status.success(), "{}", all(&o));
        let after = sim.stats();
        let (mine, other) = if slot == "0" {
            (PinId::Auth, PinId::Sign)
        } else {
            (PinId::Sign, PinId::Auth)
        };
        let queries =
            |st: &jpki_card_sim::Stats, p: PinId| st.queries.get(&p).copied().unwrap_or(0);
        // The PIN law: C_Login's VERIFY and the signature's, each after a counter read
        // (plus the one for the token flags), the card reset after each.
        assert_eq!(after.verifies_of(mine) - before.verifies_of(mine), 2);
        assert!(queries(&after, mine) - queries(&before, mine) >= 3);
        assert!(after.resets - before.resets >= 2);
        assert_eq!(after.signatures - before.signatures, 1);
        // The other token's counter is nobody's business here.
        assert_eq!(
            queries(&after, other),
            queries(&before, other),
            "slot {slot}"
        );
        assert_eq!(after.verifies_of(other), before.verifies_of(other));
        // Identification 2 + this counter 1 + auth certificate 2 + C_Login 3 (SELECT, counter,
        // VERIFY) + C_Sign 4 (SELECT, counter, VERIFY, SIGN); the sign key adds its
        // certificate (2), read after the password. (At most: a counter older than 2 s is read
        // again.) OpenSC's module needs 68 and 72: this is at most one-fifth (issue 16).
        let apdus = after.apdus - before.apdus;
        assert!(apdus <= max_apdus, "slot {slot}: {apdus} APDUs");
    }
}

#[test]
fn two_cards_in_two_readers_are_four_tokens_each_with_its_own_pins() {
    let second = SecondSim::start(&[]);
    let s = Scratch::new();
    // "Virtual PCD" names both simulator readers: reader 1 (slots 0, 1) holds the main card,
    // reader 2 (slots 2, 3) the second.
    let o = run(p11("Virtual PCD").arg("-L"));
    ok(&o);
    let out = stdout(&o);
    assert_eq!(out.matches("token label").count(), 4, "{out}");
    for label in [
        "JPKI 利用者証明用 Auth",
        "JPKI 署名用 Sign",
        "JPKI 利用者証明用 Auth (2)",
        "JPKI 署名用 Sign (2)",
    ] {
        assert!(
            out.contains(&format!(": {label}\n")),
            "no token {label}: {out}"
        );
    }
    let main_before = main_stats();
    let before = second.stats();
    // A typo on the second card costs the second card one try, the main card nothing.
    let o = sign("Virtual PCD", "2", "01", &["--pin", "9999"], &s);
    assert!(all(&o).contains("CKR_PIN_INCORRECT"), "{}", all(&o));
    assert_eq!(second.tries(PinId::Auth), 2);
    // The second card's auth key signs; its certificate verifies the signature.
    let o = sign("Virtual PCD", "2", "01", &["--pin", "1234"], &s);
    assert!(o.status.success(), "{}", all(&o));
    let o = run(jpki_sign_second()
        .args(["cert", "auth", "-o"])
        .arg(s.path("second.pem")));
    ok(&o);
    assert_openssl_verifies_sha256(&s.path("second.pem"), &s.path("data"), &s.path("sig"));
    let after = second.stats();
    assert_eq!(
        after.verifies_of(PinId::Auth) - before.verifies_of(PinId::Auth),
        3
    );
    assert_eq!(after.signatures - before.signatures, 1);
    assert_eq!(
        second.tries(PinId::Auth),
        3,
        "a good PIN restores the counter"
    );
    let main_after = main_stats();
    assert_eq!(
        main_after.verifies_of(PinId::Auth),
        main_before.verifies_of(PinId::Auth),
        "the main card got a VERIFY"
    );
    assert_eq!(main_after.signatures, main_before.signatures);
}
