//! `jpki-sign doc.pdf` and `jpki-sign verify` end to end: the simulated card
//! through pcscd, checked by qpdf, poppler's pdfsig and `openssl cms -verify`.
//! Successful signing uses the main card (a right password leaves its
//! counter as it was); anything that spends or needs special PIN state uses
//! a second simulator whose statistics count the VERIFYs.

use jpki_card_sim::PinId;
use jpki_tests::pdf::*;
use jpki_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &[u8] = b"ABC123\n";

/// What jpki-sign logs (at debug level) when its seeking PDF reader refused a
/// file and lopdf loaded the file whole.
const WHOLE_FILE: &str = "loading the whole file with lopdf";

fn sign_main(args: &[&Path], extra: &[&str]) -> Output {
    run_with_input(
        jpki_sign_main()
            .args(args)
            .args(extra)
            .args(["--pin-file", "-"]),
        PASSWORD,
    )
}

/// One line on stderr `jpki-sign: error: …` containing `text`, and exit `code`.
fn one_line_error(o: &Output, code: i32, text: &str) {
    let e = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {e}\nstdout: {}",
        stdout(o)
    );
    assert_eq!(e.lines().count(), 1, "one line expected: {e}");
    assert!(e.starts_with("jpki-sign: error: "), "{e}");
    assert!(e.contains(text), "expected {text:?} in: {e}");
}

fn sign_ca() -> PathBuf {
    pki_file("sign-ca.pem")
}

fn jpki_verify(pdf: &Path) -> Output {
    run(jpki_sign()
        .arg("verify")
        .arg(pdf)
        .arg("--ca")
        .arg(sign_ca()))
}

/// The input structures: a classic table written here, qpdf rewrites without
/// and with object streams (the latter uses an xref stream), linearized
/// variants of both (two cross-reference sections), a hybrid-reference file
/// (classic table + /XRefStm) and a PDF 2.0 header.
fn inputs(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let classic = write(dir, "classic.pdf", &minimal_pdf("1.4"));
    let v20 = write(dir, "v20.pdf", &minimal_pdf("2.0"));
    let qclassic = dir.join("qpdf-classic.pdf");
    qpdf(&["--object-streams=disable"], &classic, &qclassic);
    let objstm = dir.join("objstm.pdf");
    qpdf(&["--object-streams=generate"], &classic, &objstm);
    assert!(
        String::from_utf8_lossy(&std::fs::read(&objstm).unwrap()).contains("/ObjStm"),
        "qpdf did not make object streams"
    );
    let lin = dir.join("linearized.pdf");
    qpdf(&["--linearize", "--object-streams=disable"], &classic, &lin);
    let lin_objstm = dir.join("linearized-objstm.pdf");
    qpdf(
        &["--linearize", "--object-streams=generate"],
        &classic,
        &lin_objstm,
    );
    let hybrid = write(dir, "hybrid.pdf", &hybrid_pdf());
    assert_qpdf_check(&hybrid);
    let shown = run(Command::new("qpdf").arg("--show-object=6").arg(&hybrid));
    assert!(
        stdout(&shown).contains("jpki hybrid test"),
        "the fixture's /XRefStm must be what finds object 6: {}",
        stderr(&shown)
    );
    vec![
        ("hybrid", hybrid),
        ("classic", classic),
        ("pdf-2.0", v20),
        ("qpdf-classic", qclassic),
        ("xref-stream+object-streams", objstm),
        ("linearized", lin),
        ("linearized+xref-stream+object-streams", lin_objstm),
    ]
}

#[test]
fn every_structure_is_signed_and_accepted_by_qpdf_pdfsig_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    for (what, input) in inputs(dir.path()) {
        let original = std::fs::read(&input).unwrap();
        // The default action: `jpki-sign FILE.pdf` signs. Debug logging
        // shows whether the seeking reader read the file (memory flat in file
        // size) or had to hand it to lopdf whole: every structure here must
        // take the seeking path.
        let o = run_with_input(
            jpki_sign_main()
                .arg(&input)
                .args(["--pin-file", "-"])
                .env("JPKI_LOG", "jpki_sign=debug"),
            PASSWORD,
        );
        ok(&o);
        assert!(!stderr(&o).contains(WHOLE_FILE), "{what}: {}", stderr(&o));
        let out = input.with_file_name(format!(
            "{}-signed.pdf",
            input.file_stem().unwrap().to_string_lossy()
        ));
        let signed = std::fs::read(&out).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            signed.starts_with(&original),
            "{what}: the original bytes must stay untouched (incremental update)"
        );
        // The update keeps the original's cross-reference style.
        let update = String::from_utf8_lossy(&signed[original.len()..]).into_owned();
        let stream_style = what.contains("xref-stream");
        assert_eq!(
            update.contains("/Type/XRef"),
            stream_style,
            "{what}: {update}"
        );
        assert_eq!(update.contains("\nxref\n"), !stream_style, "{what}");
        assert!(update.contains("/SubFilter/adbe.pkcs7.detached"), "{what}");
        assert!(update.contains("/SigFlags 3"), "{what}");
        assert_qpdf_check(&out);
        if what == "hybrid" {
            // Readers still find the object only the earlier /XRefStm lists.
            let shown = run(Command::new("qpdf").arg("--show-object=6").arg(&out));
            assert!(
                stdout(&shown).contains("jpki hybrid test"),
                "{}",
                stderr(&shown)
            );
        }
        let report = assert_pdfsig_all_valid(&out, 1);
        assert!(report.contains("Total document signed"), "{what}: {report}");
        // poppler/NSS validate the chain themselves once the test CA is trusted.
        assert_pdfsig_trusted(&out, &sign_ca(), 1);
        assert!(
            report.contains("Signing Hash Algorithm: SHA-256"),
            "{what}: {report}"
        );
        let printed = assert_openssl_verifies_pdf(&out, &sign_ca());
        // MOJ profile: signingTime present, both certificates embedded.
        assert!(printed.contains("signingTime"), "{what}");
        assert_eq!(printed.matches("d.certificate:").count(), 2, "{what}");
        let v = run(jpki_sign()
            .arg("verify")
            .arg(&out)
            .arg("--ca")
            .arg(sign_ca())
            .env("JPKI_LOG", "jpki_sign=debug"));
        ok(&v);
        assert!(!stderr(&v).contains(WHOLE_FILE), "{what}: {}", stderr(&v));
        assert!(stdout(&v).contains("Result:       VALID"), "{}", stdout(&v));
        assert!(stdout(&v).contains("the whole file except its own /Contents"));
        assert!(stdout(&v).contains("chains to trusted CA"));
    }
}

#[test]
fn a_second_signature_keeps_the_first_valid_and_pades_has_its_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &minimal_pdf("1.7"));
    let once = dir.path().join("once.pdf");
    let twice = dir.path().join("twice.pdf");
    ok(&sign_main(
        &[&input],
        &["-o", once.to_str().unwrap(), "--reason", "承認"],
    ));
    ok(&sign_main(
        &[&once],
        &[
            "-o",
            twice.to_str().unwrap(),
            "--pades",
            "--location",
            "Tokyo",
        ],
    ));
    assert_qpdf_check(&twice);
    // (Not assert_pdfsig_trusted here: poppler 22.12 reports "Unknown issue with Certificate
    // or corrupted data" for the certificate of every signature after the first in one
    // pdfsig run — pyHanko-signed files show the same — while each signature is valid.)
    let report = assert_pdfsig_all_valid(&twice, 2);
    assert!(report.contains("Not total document signed"), "{report}");
    assert!(
        report.contains("Signature Type: ETSI.CAdES.detached"),
        "{report}"
    );
    assert!(
        report.contains("Signature Field Name: Signature2"),
        "{report}"
    );
    let printed = assert_openssl_verifies_pdf(&twice, &sign_ca());
    // PAdES B-B: signing-certificate-v2 signed, no signingTime (the time is /M).
    assert!(
        printed.contains("id-smime-aa-signingCertificateV2"),
        "{printed}"
    );
    assert!(!printed.contains("signingTime"), "{printed}");
    let v = jpki_verify(&twice);
    ok(&v);
    let out = stdout(&v);
    assert!(out.contains("signature 1 of 2 (field Signature1)"), "{out}");
    assert!(out.contains("covered by later signatures"), "{out}");
    assert!(out.contains("all 2 signature(s) valid"), "{out}");
}

#[test]
fn several_pdfs_need_one_password_and_one_verify() {
    let sim = SecondSim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.4"));
    let b = write(dir.path(), "b.pdf", &minimal_pdf("1.5"));
    let o = run_with_input(
        jpki_sign_second().arg(&a).arg(&b).args(["--pin-file", "-"]),
        PASSWORD,
    );
    ok(&o);
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert_eq!(sim.stats().signatures, 2);
    for f in ["a-signed.pdf", "b-signed.pdf"] {
        assert_pdfsig_all_valid(&dir.path().join(f), 1);
    }
}

/// No output file, and no temporary file left next to where it would be.
fn assert_nothing_written(dir: &Path, inputs: usize) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), inputs, "unexpected files: {names:?}");
}

#[test]
fn a_wrong_password_costs_one_try_and_writes_nothing() {
    let sim = SecondSim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.4"));
    let o = run_with_input(
        jpki_sign_second().arg(&a).args(["--pin-file", "-"]),
        b"ABC124\n",
    );
    one_line_error(
        &o,
        4,
        "wrong sign password (署名用パスワード), 4 tries left",
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert_eq!(sim.tries(PinId::Sign), 4);
    assert_nothing_written(dir.path(), 1);
}

#[test]
fn a_blocked_password_is_never_presented() {
    let sim = SecondSim::start(&["--sign-tries", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.4"));
    let o = run_with_input(
        jpki_sign_second().arg(&a).args(["--pin-file", "-"]),
        PASSWORD,
    );
    one_line_error(&o, 4, "is blocked");
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
    assert_nothing_written(dir.path(), 1);
}

#[test]
fn encrypted_unreadable_and_missing_pdfs_are_refused_before_the_card() {
    let sim = SecondSim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "plain.pdf", &minimal_pdf("1.4"));
    let enc = dir.path().join("enc.pdf");
    let o = run(Command::new("qpdf")
        .args(["--encrypt", "user", "owner", "256", "--"])
        .arg(&plain)
        .arg(&enc));
    ok(&o);
    std::fs::remove_file(&plain).unwrap();
    let junk = write(dir.path(), "junk.pdf", b"this is not a PDF\n");
    let cut = write(dir.path(), "cut.pdf", &minimal_pdf("1.4")[..40]);
    let cases: [(&Path, &str); 4] = [
        (&enc, "is encrypted; encrypted PDFs cannot be signed"),
        (&junk, "is not a PDF file"),
        (&cut, "cannot read"),
        (
            Path::new("/nonexistent/x.pdf"),
            "cannot read /nonexistent/x.pdf",
        ),
    ];
    for (f, msg) in cases {
        let o = run_with_input(
            jpki_sign_second().arg(f).args(["--pin-file", "-"]),
            PASSWORD,
        );
        one_line_error(&o, 1, msg);
    }
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 0);
    assert_nothing_written(dir.path(), 3);
}

#[test]
fn an_existing_output_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.4"));
    let out = write(dir.path(), "a-signed.pdf", b"keep me");
    let o = sign_main(&[&a], &[]);
    one_line_error(&o, 1, "exists; choose another file or pass --force");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    ok(&sign_main(&[&a], &["--force"]));
    assert_pdfsig_all_valid(&out, 1);
}

#[test]
fn a_card_pulled_while_signing_leaves_no_output() {
    let sim = SecondSim::start(&["--delay-ms", "150"]);
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.4"));
    let mut child = jpki_sign_second()
        .arg(&a)
        .args(["--pin-file", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(PASSWORD).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(sim); // pulls the card
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.starts_with("jpki-sign: error: "), "{e}");
    assert_nothing_written(dir.path(), 1);
}

/// Signs a fresh PDF with the main card and returns (dir, signed path, bytes).
fn signed_fixture() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.7"));
    ok(&sign_main(&[&a], &[]));
    let out = dir.path().join("a-signed.pdf");
    let bytes = std::fs::read(&out).unwrap();
    (dir, out, bytes)
}

fn verify_fails(dir: &Path, name: &str, bytes: &[u8], msg: &str) {
    let f = write(dir, name, bytes);
    let o = jpki_verify(&f);
    assert_eq!(
        o.status.code(),
        Some(6),
        "{name}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(msg),
        "{name}: expected {msg:?} in {}",
        stderr(&o)
    );
}

#[test]
fn verify_rejects_tampered_files_saying_what_is_wrong() {
    let (dir, _, signed) = signed_fixture();
    let d = dir.path();
    // A byte changed inside the signed range (the page text).
    let mut t = signed.clone();
    let at = t.windows(5).position(|w| w == b"Hello").unwrap();
    t[at] = b'J';
    verify_fails(
        d,
        "changed.pdf",
        &t,
        "differs from the signed messageDigest",
    );
    // pdfsig agrees that it is broken.
    let report = pdfsig(&d.join("changed.pdf"));
    assert!(!report.contains("Signature is Valid."), "{report}");

    // An incremental update appended after signing (replaces the page content).
    let text = String::from_utf8_lossy(&signed).into_owned();
    let prev: u64 = text
        .rsplit("startxref\n")
        .next()
        .and_then(|s| s.lines().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let mut t = signed.clone();
    let off = t.len();
    t.extend(b"4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\n");
    let x = t.len();
    t.extend(
        format!("xref\n4 1\n{off:010} 00000 n\r\ntrailer\n<< /Size 12 /Root 1 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n")
            .as_bytes(),
    );
    verify_fails(
        d,
        "appended.pdf",
        &t,
        "were appended after the last valid signature: the document was changed after it was signed",
    );

    // A ByteRange whose gap is wider than its /Contents (same text width).
    // Byte offsets (the text above is lossy: the binary comment changes its length).
    let at = signed
        .windows(13)
        .position(|w| w == b"/ByteRange[0 ")
        .unwrap()
        + 13;
    let b: u64 = String::from_utf8_lossy(&signed[at..at + 20])
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let old = b.to_string();
    let new = format!("{:<w$}", b - 20, w = old.len());
    let mut t = signed.clone();
    t[at..at + old.len()].copy_from_slice(new.as_bytes());
    verify_fails(d, "wide.pdf", &t, "more than this signature's /Contents");

    // A PDF without signatures is not "valid".
    let unsigned = write(d, "unsigned.pdf", &minimal_pdf("1.4"));
    let o = jpki_verify(&unsigned);
    assert_eq!(o.status.code(), Some(6));
    assert!(stderr(&o).contains("has no signatures"), "{}", stderr(&o));
}

#[test]
fn verify_checks_the_chain_against_the_given_ca() {
    let (_dir, out, _) = signed_fixture();
    let o = run(jpki_sign()
        .arg("verify")
        .arg(&out)
        .arg("--ca")
        .arg(pki_file("auth-ca.pem")));
    assert_eq!(o.status.code(), Some(6), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("does not chain to a CA in"),
        "{}",
        stderr(&o)
    );
    // A CA file that cannot be read is a usage problem, not an invalid signature.
    let o = run(jpki_sign()
        .arg("verify")
        .arg(&out)
        .args(["--ca", "/nonexistent/ca.pem"]));
    one_line_error(&o, 1, "cannot read the CA file /nonexistent/ca.pem");
    // Without --ca the signature is checked and the output says the chain was not.
    let o = run(jpki_sign().arg("verify").arg(&out));
    ok(&o);
    assert!(stdout(&o).contains("NOT checked"), "{}", stdout(&o));
}

#[test]
fn a_visible_stamp_is_drawn_and_the_signature_stays_valid() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.7"));
    let out = dir.path().join("stamped.pdf");
    ok(&sign_main(
        &[&a],
        &[
            "-o",
            out.to_str().unwrap(),
            "--stamp",
            "--reason",
            "Approved",
            "--stamp-text",
            "jpki test stamp",
        ],
    ));
    assert_qpdf_check(&out);
    assert_pdfsig_all_valid(&out, 1);
    assert_openssl_verifies_pdf(&out, &sign_ca());
    let update = String::from_utf8_lossy(&std::fs::read(&out).unwrap()).into_owned();
    assert!(update.contains("/AP<</N"), "the widget needs an appearance");
    // The default box: 220 x 54 pt at the bottom right of the A4 page.
    let bx = [339, 36, 559, 90];
    assert_eq!(dark_pixels(&a, bx), 0, "the input has nothing there");
    let drawn = dark_pixels(&out, bx);
    assert!(drawn > 200, "only {drawn} dark pixels in the stamp box");
    // Elsewhere nothing changed: the text line of the page is the same.
    let text = [60, 700, 400, 760];
    assert_eq!(dark_pixels(&a, text), dark_pixels(&out, text));

    // A page that does not exist: refused before the card, nothing written.
    let o = sign_main(&[&a], &["--stamp", "--stamp-page", "2", "--force"]);
    one_line_error(&o, 1, "has no page 2");
    assert!(!dir.path().join("a-signed.pdf").exists());
}

/// A `size` × `size` PNG: a red disc (a seal) on a transparent background.
fn seal_png(path: &Path, size: u32) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(f, size, size);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    let r = size as f64 / 2.0;
    let mut data = Vec::new();
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f64 + 0.5 - r, y as f64 + 0.5 - r);
            let inside = dx * dx + dy * dy < r * r * 0.9;
            data.extend([200, 0, 0, if inside { 255 } else { 0 }]);
        }
    }
    w.write_image_data(&data).unwrap();
}

#[test]
fn the_stamp_shows_the_signers_name_from_the_certificate_and_a_seal_image() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.7"));
    let seal = dir.path().join("seal.png");
    seal_png(&seal, 64);
    let out = dir.path().join("stamped.pdf");
    ok(&sign_main(
        &[&a],
        &[
            "-o",
            out.to_str().unwrap(),
            "--stamp",
            "--stamp-image",
            seal.to_str().unwrap(),
            "--reason",
            "確認しました",
        ],
    ));
    assert_qpdf_check(&out);
    assert_pdfsig_all_valid(&out, 1);
    // The name is the sign certificate's SAN otherName (試験　花子 on the
    // simulated card), drawn with a Japanese font that text extraction maps
    // back to Unicode; the Japanese reason likewise.
    let o = run(Command::new("pdftotext").arg(&out).arg("-"));
    let text = stdout(&o);
    assert!(text.contains("試験") && text.contains("花子"), "{text}");
    assert!(text.contains("確認しました"), "{text}");
    assert!(
        text.contains("Digitally signed with a My Number card"),
        "{text}"
    );
    // The Japanese font is embedded as a subset (fonts-ipaexfont-gothic),
    // so any viewer draws the name; poppler reads every font cleanly.
    let o = run(Command::new("pdffonts").arg(&out));
    let fonts = stdout(&o);
    let japanese = fonts
        .lines()
        .find(|l| l.contains("CID TrueType"))
        .unwrap_or_else(|| panic!("no embedded CID TrueType font: {fonts}"));
    assert!(
        japanese.contains("Identity-H") && japanese.contains(" yes yes "),
        "{fonts}"
    );
    assert!(!stderr(&o).contains("Error"), "{}", stderr(&o));
    // The seal fills the left of the default box (x 339..559, y 36..90).
    let middle_of_seal = [356, 53, 376, 73];
    let red = dark_pixels(&out, middle_of_seal);
    assert!(red > 350, "only {red} of 400 pixels of the seal drawn");
    // Without the name: the certificate's name is not in the page.
    let bare = dir.path().join("bare.pdf");
    ok(&sign_main(
        &[&a],
        &["-o", bare.to_str().unwrap(), "--stamp", "--stamp-no-name"],
    ));
    let o = run(Command::new("pdftotext").arg(&bare).arg("-"));
    assert!(!stdout(&o).contains("花子"), "{}", stdout(&o));
    assert!(stdout(&o).contains("Digitally signed"), "{}", stdout(&o));
    // In a Japanese run the stamp is Japanese too.
    let ja = dir.path().join("ja.pdf");
    ok(&run_with_input(
        jpki_sign_main()
            .arg(&a)
            .args([
                "-o",
                ja.to_str().unwrap(),
                "--stamp",
                "--reason",
                "申請のため",
            ])
            .args(["--pin-file", "-"])
            .env("LANG", "ja_JP.UTF-8"),
        PASSWORD,
    ));
    let o = run(Command::new("pdftotext").arg(&ja).arg("-"));
    let text = stdout(&o);
    assert!(text.contains("マイナンバーカードによる電子署名"), "{text}");
    assert!(text.contains("理由: 申請のため"), "{text}");
    // A file that is no image: refused before the card, nothing written.
    let o = sign_main(
        &[&a],
        &["--stamp", "--stamp-image", a.to_str().unwrap(), "--force"],
    );
    one_line_error(&o, 1, "is neither a PNG nor a JPEG image");
    assert!(!dir.path().join("a-signed.pdf").exists());
}

#[test]
fn a_tsa_timestamp_makes_pades_b_t() {
    let tsa = LocalTsa::start();
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &minimal_pdf("1.7"));
    let out = dir.path().join("bt.pdf");
    ok(&sign_main(
        &[&a],
        &["-o", out.to_str().unwrap(), "--pades", "--tsa", &tsa.url],
    ));
    assert_qpdf_check(&out);
    let report = assert_pdfsig_all_valid(&out, 1);
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    let printed = assert_openssl_verifies_pdf(&out, &sign_ca());
    assert!(printed.contains("id-smime-aa-timeStampToken"), "{printed}");
    let v = jpki_verify(&out);
    ok(&v);
    assert!(
        stdout(&v).contains("Timestamp:") && stdout(&v).contains("CN=jpki test TSA"),
        "{}",
        stdout(&v)
    );
    assert!(
        stdout(&v).contains("TSA chain NOT checked"),
        "{}",
        stdout(&v)
    );
    // With the TSA's CA trusted the timestamp's chain is checked; with
    // another CA it fails and says why.
    let with_tsa_ca = |ca: &Path| {
        run(jpki_sign()
            .arg("verify")
            .arg(&out)
            .arg("--ca")
            .arg(sign_ca())
            .arg("--tsa-ca")
            .arg(ca))
    };
    let v = with_tsa_ca(&tsa.cert());
    ok(&v);
    assert!(
        stdout(&v).contains("chains to trusted TSA CA CN=jpki test TSA"),
        "{}",
        stdout(&v)
    );
    let v = with_tsa_ca(&sign_ca());
    assert_eq!(v.status.code(), Some(6), "{}", stdout(&v));
    assert!(
        stdout(&v).contains("the timestamp token is not valid")
            && stdout(&v).contains("does not chain"),
        "{}",
        stdout(&v)
    );
    // An unreachable TSA: a clear error and no output.
    let o = sign_main(&[&a], &["--tsa", "http://127.0.0.1:9/none", "--force"]);
    one_line_error(&o, 1, "timestamp from http://127.0.0.1:9/none");
    assert!(!dir.path().join("a-signed.pdf").exists());
}

/// Another signer after ours: poppler's `pdfsig -add-signature` (NSS) writes
/// its CMS in BER with indefinite lengths, embeds the signer's certificate
/// twice and spells out the ESS hash algorithm. `jpki-sign verify` must
/// accept that signature, and its incremental update must pass the
/// comparison of revisions (it only adds a signature).
#[test]
fn a_second_signature_by_poppler_verifies_and_keeps_ours_valid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write(d, "a.pdf", &minimal_pdf("1.7"));
    let ours = d.join("ours.pdf");
    ok(&sign_main(&[&a], &["-o", ours.to_str().unwrap()]));
    // A software signer in an NSS database, issued by a throw-away CA.
    let sh = |script: &str| {
        let o = run(Command::new("sh").arg("-ec").arg(script).current_dir(d));
        assert!(o.status.success(), "{script}: {}", stderr(&o));
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=poppler-test-ca -days 30
        openssl req -newkey rsa:2048 -nodes -keyout l.key -out l.csr -subj /CN=poppler-test-signer
        printf 'keyUsage=critical,digitalSignature,nonRepudiation\\n' > ext
        openssl x509 -req -in l.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out l.pem -days 30 -extfile ext
        openssl pkcs12 -export -inkey l.key -in l.pem -certfile ca.pem -out l.p12 -passout pass:x -name signer
        mkdir nss && certutil -N -d sql:nss --empty-password
        pk12util -i l.p12 -d sql:nss -W x");
    let both = d.join("both.pdf");
    let o = run(Command::new("pdfsig")
        .arg("-add-signature")
        .arg("-nssdir")
        .arg(format!("sql:{}", d.join("nss").display()))
        .args(["-nick", "signer"])
        .arg(&ours)
        .arg(&both));
    assert!(both.exists(), "pdfsig did not sign: {}", stderr(&o));
    let v = jpki_verify(&both);
    assert_eq!(
        v.status.code(),
        Some(6),
        "poppler's signer is not under --ca: {}",
        stdout(&v)
    );
    let v = run(jpki_sign().arg("verify").arg(&both));
    ok(&v);
    let out = stdout(&v);
    assert!(out.contains("all 2 signature(s) valid"), "{out}");
    assert!(
        out.contains("a signature added — allowed by this signature"),
        "{out}"
    );
    assert!(out.contains("CN=poppler-test-signer"), "{out}");
    // Its chain checks against its own CA.
    let v = run(jpki_sign()
        .arg("verify")
        .arg(&both)
        .arg("--ca")
        .arg(d.join("ca.pem")));
    assert!(
        stdout(&v).contains("chains to trusted CA CN=poppler-test-ca"),
        "{}",
        stdout(&v)
    );
}
