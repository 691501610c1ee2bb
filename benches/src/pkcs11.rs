//! Table 5: the jpki PKCS#11 module beside OpenSC's on the same simulated card — APDUs and wall
//! time of what PKCS#11 consumers do most: a fresh `pkcs11-tool --sign` with each key, and
//! listing objects without login. (A browser TLS handshake through the module is measured by
//! the browser tests' helper, not here.)

use super::{md, ms, try_cost, try_timing, Cost, Env, OPENSC};
use std::fmt::Write as _;
use std::process::Command;

/// `pkcs11-tool --module M` for the simulator's reader.
fn tool(env: &Env, module: &str) -> Command {
    let mut c = Command::new("pkcs11-tool");
    c.env("JPKI_READER", "Virtual PCD 00 00")
        .env("JPKI_PKCS11_CONF", "/nonexistent")
        .args(["--module", module])
        .current_dir(env.work.path());
    c
}

struct Case {
    op: &'static str,
    args: Vec<String>,
}

fn cases(env: &Env, jpki: bool) -> Vec<Case> {
    // OpenSC numbers its JPKI slots by index; the jpki module's slot ids are 0 (auth), 1 (sign).
    let slot = |i: &str| {
        if jpki {
            vec!["--slot".to_string(), i.to_string()]
        } else {
            vec!["--slot-index".to_string(), i.to_string()]
        }
    };
    let sign = |i: &str, pin: &str, id: &str| {
        let mut v = slot(i);
        v.extend(
            [
                "--login",
                "--pin",
                pin,
                "--sign",
                "-m",
                "SHA256-RSA-PKCS",
                "--id",
                id,
                "-i",
            ]
            .map(String::from),
        );
        v.extend([env.s("doc.txt"), "-o".into(), env.s("p11.sig")]);
        v
    };
    let mut list = slot("0");
    list.push("-O".into());
    vec![
        Case {
            op: "auth-key signature, fresh `pkcs11-tool --sign`",
            args: sign("0", "1234", "01"),
        },
        Case {
            op: "sign-key signature, fresh `pkcs11-tool --sign`",
            args: sign("1", "ABC123", "02"),
        },
        Case {
            op: "list objects without login (`pkcs11-tool -O`)",
            args: list,
        },
    ]
}

/// Appends table 5 to `out`.
pub fn benchmarks(env: &Env, out: &mut String) {
    let jpki = env.bin.join("libjpki_pkcs11.so").display().to_string();
    let _ = writeln!(
        out,
        "## 5. PKCS#11: the jpki module (`libjpki-pkcs11.so`) beside OpenSC's (`opensc-pkcs11.so`)\n"
    );
    let _ = writeln!(
        out,
        "APDUs counted by the simulator; wall time over 7 runs after a warm-up (ms, median).\n"
    );
    let _ = writeln!(
        out,
        "| operation | module | APDUs | bytes | VERIFYs | signatures | median ms |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    let ours = cases(env, true);
    let theirs = cases(env, false);
    for (a, b) in ours.iter().zip(&theirs) {
        for (name, module, case) in [("jpki", jpki.as_str(), a), ("OpenSC", OPENSC, b)] {
            let what = format!("{} ({name})", case.op);
            let make = || {
                let mut c = tool(env, module);
                c.args(&case.args);
                c
            };
            let cost: Result<Cost, String> = try_cost(env, &what, &mut make());
            let time = cost
                .as_ref()
                .ok()
                .map(|_| try_timing(&what, make).map(|(_, med)| ms(med)));
            let _ = match (cost, time) {
                (Ok(c), Some(Ok(t))) => writeln!(
                    out,
                    "| {} | {name} | {} | {} | {} | {} | {t} |",
                    case.op, c.apdus, c.bytes, c.verifies, c.signatures
                ),
                (Err(e), _) | (Ok(_), Some(Err(e))) => {
                    writeln!(out, "| {} | {name} | fails: {} | | | | |", case.op, md(&e))
                }
                (Ok(_), None) => Ok(()),
            };
        }
    }
    // The token mode for consumers that never log in (browsers without a dialog): the PIN
    // comes from the pin-source at the signature, one session, one VERIFY.
    let what = "auth-key signature, `pin-at-sign` (no C_Login)";
    let make = || {
        let mut c = tool(env, &jpki);
        c.env("JPKI_PKCS11_AUTH_PIN_AT_SIGN", "yes")
            .env(
                "JPKI_PKCS11_AUTH_PIN_SOURCE",
                format!("file:{}", env.s("pin")),
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
            .args([env.s("doc.txt"), "-o".into(), env.s("p11.sig")]);
        c
    };
    let _ = match (try_cost(env, what, &mut make()), try_timing(what, make)) {
        (Ok(c), Ok((_, med))) => writeln!(
            out,
            "| {what} | jpki | {} | {} | {} | {} | {} |",
            c.apdus,
            c.bytes,
            c.verifies,
            c.signatures,
            ms(med)
        ),
        (Err(e), _) | (_, Err(e)) => writeln!(out, "| {what} | jpki | fails: {} | | | | |", md(&e)),
    };
    let _ = writeln!(
        out,
        "\nThe module's auth-key signature: identification 2 (SELECT, token label), this \
         token's PIN counter 1 (token flags; the other token's is not read), the auth certificate 2 \
         (read once per card: the DER header by SFI, the rest with one extended Le), `C_Login` 3 \
         (SELECT, counter, VERIFY, then a card reset), `C_Sign` 4 (SELECT, counter, VERIFY, \
         SIGN, reset). The sign key adds the sign certificate (2), read in the login session \
         after the password. Each signature is checked against the certificate before it is \
         returned. Goal of issue 16: at most one-fifth of OpenSC's APDUs for a signature.\n"
    );
}
