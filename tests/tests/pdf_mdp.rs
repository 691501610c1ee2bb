//! Later revisions judged by what each signature allows (issue 18): a form
//! filled in after an approval signature, after certification signatures
//! with DocMDP P 1, 2 and 3, fields protected by lock dictionaries, and
//! annotations — each followed by another signature, so that no byte is
//! unsigned and only the revision comparison decides.
//!
//! Certification and lock signatures are made by pyHanko (a software key and
//! a throw-away certificate, tests/pyhanko_sign.py), approval signatures by
//! `jpki-sign` with the simulated card; pyHanko's own verdict is checked
//! where it agrees, and where it differs the test says why.

use jpki_tests::pdf::*;
use jpki_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &[u8] = b"ABC123\n";

/// A software signing key and its self-signed certificate (nonRepudiation,
/// as pyHanko's validation wants).
struct SoftKey {
    key: PathBuf,
    cert: PathBuf,
}

fn soft_key(d: &Path) -> SoftKey {
    let (key, cert) = (d.join("cert-key.pem"), d.join("cert.pem"));
    let o = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=Form Author"])
        .args([
            "-addext",
            "keyUsage=critical,digitalSignature,nonRepudiation",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert!(o.status.success(), "openssl req: {}", stderr(&o));
    SoftKey { key, cert }
}

/// pyHanko signs `input` into `output` in field `field` (tests/pyhanko_sign.py).
fn pyhanko_sign(k: &SoftKey, input: &Path, output: &Path, field: &str, extra: &[&str]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pyhanko_sign.py");
    let o = run(Command::new("python3")
        .arg(script)
        .arg(input)
        .arg(output)
        .arg("--key")
        .arg(&k.key)
        .arg("--cert")
        .arg(&k.cert)
        .args(["--field", field])
        .args(extra));
    assert!(o.status.success(), "pyHanko signing: {}", stderr(&o));
    std::fs::read(output).expect("pyHanko's output")
}

/// The simulated card signs `input` (an approval signature).
fn card_sign(input: &Path, output: &Path) -> Vec<u8> {
    let o = run_with_input(
        jpki_sign_main()
            .arg(input)
            .arg("-o")
            .arg(output)
            .args(["--pin-file", "-"]),
        PASSWORD,
    );
    assert!(o.status.success(), "signing: {}", stderr(&o));
    std::fs::read(output).expect("signed output")
}

/// `jpki-sign verify --json` (plus `extra`): exit code and the report.
fn verify_json(pdf: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let o = run(jpki_sign().arg("--json").arg("verify").arg(pdf).args(extra));
    let v = serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| {
        panic!("verify --json: {e}\n{}{}", stdout(&o), stderr(&o));
    });
    (o.status.code(), v)
}

/// The signatures of a `verify --json` report, in file order.
fn sigs(v: &Value) -> Vec<Value> {
    v["signatures"].as_array().expect("signatures").clone()
}

fn verify_text(pdf: &Path, lang: &str, extra: &[&str]) -> Output {
    run(jpki_sign()
        .args(["--lang", lang, "verify"])
        .arg(pdf)
        .args(extra))
}

/// pyHanko's validation (`--pretty-print`) trusting `trust`: whether it
/// exited 0, and what it printed.
fn pyhanko_validate(pdf: &Path, trust: &[&Path]) -> (bool, String) {
    let mut c = Command::new("pyhanko");
    c.args([
        "sign",
        "validate",
        "--pretty-print",
        "--no-revocation-check",
    ]);
    for t in trust {
        c.arg("--trust").arg(t);
    }
    let o = run(c.arg("--trust-replace").arg(pdf));
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

/// A pyHanko-made file, filled in (`fill` = field object, value) and/or
/// annotated, then signed by the card: the path of the result.
struct Step<'a> {
    d: &'a Path,
}

impl Step<'_> {
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        write(self.d, name, bytes)
    }

    /// `bytes` changed by `edit`, then signed by the card into `name`.
    fn then_card_signs(
        &self,
        name: &str,
        bytes: &[u8],
        edit: impl Fn(&[u8]) -> Vec<u8>,
    ) -> PathBuf {
        let changed = self.write(&format!("{name}-unsigned.pdf"), &edit(bytes));
        let out = self.d.join(format!("{name}.pdf"));
        card_sign(&changed, &out);
        out
    }
}

const OVERLAY: &str =
    "<< /Type /Annot /Subtype /FreeText /Rect [0 0 595 842] /Contents (Paid) /DA (/Helv 24 Tf 0 g) >>";

#[test]
fn form_filling_after_an_approval_signature_is_valid_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Step { d };
    let form = s.write("form.pdf", &form_pdf());
    let first = card_sign(&form, &d.join("approved.pdf"));
    // The next person fills in Name (value and appearance) and signs.
    let out = s.then_card_signs("filled", &first, |b| fill_text_field(b, 7, "Taro Yamada"));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    let sg = sigs(&v);
    assert_eq!(sg.len(), 2);
    assert!(sg[0]["problem"].is_null(), "{v:#}");
    assert_eq!(sg[0]["modification_level"], "form_fill", "{v:#}");
    assert_eq!(sg[0]["allowed"], "annotations");
    let rev = &sg[0]["later_revisions"][0];
    assert_eq!(rev["signed_in_field"], "Signature2");
    let filled: Vec<&Value> = rev["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == "form_fill")
        .collect();
    assert!(
        filled
            .iter()
            .any(|c| c["field"] == "Name" && c["object"] == 7),
        "{rev:#}"
    );
    assert_eq!(sg[1]["modification_level"], "none");
    // One line per later revision, in both languages.
    let en = stdout(&verify_text(&out, "en", &[]));
    assert!(
        en.contains("revisions 3-4 (signed by")
            && en.contains("field(s) Name filled in")
            && en.contains("a signature added")
            && en.contains("— allowed by this signature"),
        "{en}"
    );
    assert!(en.contains("Result:       VALID"), "{en}");
    let ja = stdout(&verify_text(&out, "ja", &[]));
    assert!(
        ja.contains("第3〜4版")
            && ja.contains("フィールド Name への入力")
            && ja.contains("この署名が許す変更"),
        "{ja}"
    );
    // --strict changes nothing for form filling.
    assert_eq!(verify_json(&out, &["--strict"]).0, Some(0));
    // pyHanko agrees: both valid, the first with form filling after it.
    let (ok, text) = pyhanko_validate(&out, &[&pki_file("sign-ca.pem")]);
    assert!(ok, "{text}");
    assert!(text.contains("form filling"), "{text}");
    eprintln!("{en}\n{ja}\n{text}");
}

#[test]
fn certification_levels_decide_what_may_follow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Step { d };
    let k = soft_key(d);
    let form = s.write("form.pdf", &form_pdf());
    let certified = |p: &str| {
        pyhanko_sign(
            &k,
            &form,
            &d.join(format!("cert-p{p}.pdf")),
            "Author",
            &["--certify", p],
        )
    };
    let ca = pki_file("sign-ca.pem");
    let trust: [&Path; 2] = [&k.cert, &ca];

    // P 2: filling in and signing are allowed …
    let p2 = certified("2");
    let out = s.then_card_signs("p2-filled", &p2, |b| fill_text_field(b, 7, "Hanako"));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(sigs(&v)[0]["mdp"]["docmdp"], 2);
    assert_eq!(sigs(&v)[0]["modification_level"], "form_fill");
    let en = stdout(&verify_text(&out, "en", &[]));
    assert!(en.contains("certification (DocMDP P=2)"), "{en}");
    let (ok, text) = pyhanko_validate(&out, &trust);
    assert!(ok, "{text}");
    // … an annotation is not.
    let out = s.then_card_signs("p2-annotated", &p2, |b| add_annotation(b, 3, OVERLAY));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(6), "{v:#}");
    let p = sigs(&v)[0]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        p.contains("gained /FreeText")
            && p.contains("this signature allows form filling and signing"),
        "{p}"
    );
    let (ok, text) = pyhanko_validate(&out, &trust);
    assert!(!ok, "{text}");
    // … nor a shadow "replace" of the page content slipped in with the filling.
    let out = s.then_card_signs("p2-shadow", &p2, |b| {
        let filled = fill_text_field(b, 7, "Hanako");
        let page = last_object_body(&filled, 3);
        let n = next_object(&filled);
        let page = String::from_utf8_lossy(&page)
            .replace("/Contents 4 0 R", &format!("/Contents {n} 0 R"));
        append_update(
            &filled,
            &[
                (3, page.into_bytes()),
                (n, stream_object(b"BT /F1 18 Tf 72 720 Td (Paid) Tj ET")),
            ],
        )
    });
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(6), "{v:#}");
    let p = sigs(&v)[0]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(p.contains("page object 3: /Contents changed"), "{p}");

    // P 3: annotations are allowed too, and reported.
    let p3 = certified("3");
    let out = s.then_card_signs("p3-annotated", &p3, |b| {
        add_annotation(&fill_text_field(b, 8, "2026-12-01"), 3, OVERLAY)
    });
    let (code, v) = verify_json(&out, &["--strict"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(sigs(&v)[0]["modification_level"], "annotations");
    let en = stdout(&verify_text(&out, "en", &[]));
    assert!(
        en.contains("annotations added, changed or deleted (the annotations of page object 3 gained /FreeText"),
        "{en}"
    );
    // pyHanko differs here: its difference analysis has no rule for
    // annotations (a documented limitation), so it fails P 3 files too.
    let (ok, text) = pyhanko_validate(&out, &trust);
    eprintln!("{en}\n{text}");
    assert!(!ok, "pyHanko now accepts annotations under P 3: {text}");

    // P 1: no changes; a later signature after filling in fails the
    // certification (jpki-sign and pyHanko refuse to sign such a file; the
    // test's pyHanko script is told to).
    let p1 = certified("1");
    let filled = s.write("p1-filled-unsigned.pdf", &fill_text_field(&p1, 7, "X"));
    let e = run_with_input(
        jpki_sign_main()
            .arg(&filled)
            .arg("-o")
            .arg(d.join("no.pdf"))
            .args(["--pin-file", "-"]),
        PASSWORD,
    );
    assert!(!e.status.success(), "jpki-sign signed a P 1 document");
    let out = d.join("p1-filled.pdf");
    pyhanko_sign(&k, &filled, &out, "Second", &["--ignore-docmdp"]);
    eprintln!("{}", stdout(&verify_text(&out, "en", &[])));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(6), "{v:#}");
    let sg = sigs(&v);
    let p = sg[0]["problem"].as_str().unwrap_or_default();
    assert!(
        p.contains("field Name filled in")
            && p.contains("allows no changes except validation data"),
        "{p}"
    );
    assert!(sg[1]["problem"].is_null(), "{v:#}");
    let (ok, text) = pyhanko_validate(&out, &trust);
    assert!(!ok, "{text}");
}

#[test]
fn locked_fields_must_not_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Step { d };
    let k = soft_key(d);
    let form = s.write("form.pdf", &form_pdf());
    let ca = pki_file("sign-ca.pem");
    let trust: [&Path; 2] = [&k.cert, &ca];
    // An approval signature locking Name (a /Lock and a FieldMDP transform).
    let locked = pyhanko_sign(
        &k,
        &form,
        &d.join("locked.pdf"),
        "Clerk",
        &["--lock-include", "Name"],
    );
    let (code, v) = verify_json(&s.write("locked-only.pdf", &locked), &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        sigs(&v)[0]["mdp"]["lock"],
        serde_json::json!({"include": ["Name"]})
    );
    // Date is not locked: filling it in is fine.
    let out = s.then_card_signs("date-filled", &locked, |b| {
        fill_text_field(b, 8, "2026-12-01")
    });
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    let (ok, text) = pyhanko_validate(&out, &trust);
    assert!(ok, "{text}");
    // Name is: filling it in fails this signature, named.
    let out = s.then_card_signs("name-filled", &locked, |b| fill_text_field(b, 7, "Mallory"));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(6), "{v:#}");
    let p = sigs(&v)[0]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(p.contains("field Name is locked by this signature"), "{p}");
    let en = stdout(&verify_text(&out, "en", &[]));
    assert!(en.contains("approval: later changes allowed: form filling, signing and annotations; fields locked: Name"), "{en}");
    let ja = stdout(&verify_text(&out, "ja", &[]));
    assert!(ja.contains("ロックされたフィールド: Name"), "{ja}");
    let (ok, text) = pyhanko_validate(&out, &trust);
    assert!(!ok, "{text}");
    // A lock dictionary's /P 1 (PDF 2.0) forbids filling in any field.
    let p1 = pyhanko_sign(
        &k,
        &form,
        &d.join("lock-p1.pdf"),
        "Clerk",
        &["--lock-include", "Name", "--lock-p", "1"],
    );
    let out = s.then_card_signs("lock-p1-filled", &p1, |b| {
        fill_text_field(b, 8, "2026-12-01")
    });
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(6), "{v:#}");
    assert_eq!(sigs(&v)[0]["mdp"]["lock_p"], 1);
    let (ok, text) = pyhanko_validate(&out, &trust);
    assert!(!ok, "{text}");
}

#[test]
fn annotations_after_an_approval_signature_are_allowed_and_flagged_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Step { d };
    let form = s.write("form.pdf", &form_pdf());
    let first = card_sign(&form, &d.join("approved.pdf"));
    let out = s.then_card_signs("annotated", &first, |b| add_annotation(b, 3, OVERLAY));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(sigs(&v)[0]["modification_level"], "annotations");
    let en = verify_text(&out, "en", &[]);
    assert_eq!(en.status.code(), Some(0));
    let text = stdout(&en);
    assert!(
        text.contains("WARNING:") && text.contains("an annotation can cover what the page shows"),
        "{text}"
    );
    let ja = stdout(&verify_text(&out, "ja", &[]));
    assert!(ja.contains("注意: この署名の後"), "{ja}");
    let (code, v) = verify_json(&out, &["--strict"]);
    assert_eq!(code, Some(6), "{v:#}");
    let p = sigs(&v)[0]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(p.contains("gained /FreeText"), "{p}");
    // pyHanko's verdict is --strict's: it has no rule for annotations.
    let (ok, text) = pyhanko_validate(&out, &[&pki_file("sign-ca.pem")]);
    assert!(
        !ok,
        "pyHanko now accepts annotations after approval: {text}"
    );
    // A new text field is not form filling: it fails whatever the reading.
    let widget = "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Amount) /Rect [72 500 300 520] /P 3 0 R /V (1000000) >>";
    let out = s.then_card_signs("new-field", &first, |b| add_annotation(b, 3, widget));
    let (code, v) = verify_json(&out, &[]);
    assert_eq!(code, Some(6), "{v:#}");
    let p = sigs(&v)[0]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(p.contains("which is not a signature field"), "{p}");
}

/// A shadow attack: its name, the objects its revision redefines, and what
/// `verify` must say.
type Shadow = (&'static str, Vec<(usize, Vec<u8>)>, &'static str);

/// The shadow attacks where form filling and annotations are allowed (an
/// approval signature): hide via optional content, replace an XObject,
/// swap the page tree — each slipped into the revision that fills in a
/// field, then signed by the card — still fail, named.
#[test]
fn shadow_attacks_fail_where_form_filling_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Step { d };
    let logo = b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 20] /Length 16 >>\nstream\n0 0 m 100 20 l S\nendstream";
    let shadow_page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 13 0 R >>";
    let shadow_content = stream_object(b"BT /F1 24 Tf 72 720 Td (Pay 1,000,000 yen) Tj ET");
    let form = s.write(
        "form.pdf",
        &form_pdf_with(
            " /OCProperties 10 0 R",
            " /XObject << /X1 11 0 R >> /Properties << /oc1 9 0 R >>",
            &[
                b"<< /Type /OCG /Name (Overlay) >>",
                b"<< /OCGs [9 0 R] /D << /OFF [9 0 R] >> >>",
                logo,
                shadow_page,
                &shadow_content,
            ],
        ),
    );
    let first = card_sign(&form, &d.join("approved.pdf"));
    let fill = |b: &[u8]| fill_text_field(b, 7, "Taro Yamada");
    let cases: [Shadow; 3] = [
        (
            "ocg-shown",
            vec![(10, b"<< /OCGs [9 0 R] /D << /ON [9 0 R] >> >>".to_vec())],
            "object 10 (dictionary) changed: /D",
        ),
        (
            "xobject-replaced",
            vec![(11, b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 20] /Length 16 >>\nstream\n0 20 m 100 0 l S\nendstream".to_vec())],
            "object 11 (/XObject /Form) was replaced",
        ),
        (
            "page-tree-swapped",
            vec![(2, b"<< /Type /Pages /Kids [12 0 R] /Count 1 >>".to_vec())],
            "object 2 (/Pages) changed: /Kids",
        ),
    ];
    let ca = pki_file("sign-ca.pem");
    for (name, objs, msg) in cases {
        let out = s.then_card_signs(name, &first, |b| append_update(&fill(b), &objs));
        let (code, v) = verify_json(&out, &[]);
        assert_eq!(code, Some(6), "{name}: {v:#}");
        let p = sigs(&v)[0]["problem"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(p.contains(msg), "{name}: {p}");
        assert!(
            !p.contains("Name"),
            "{name}: the filling itself is allowed: {p}"
        );
        let (ok, text) = pyhanko_validate(&out, &[&ca]);
        assert!(!ok, "{name}: pyHanko accepts it: {text}");
    }
}
