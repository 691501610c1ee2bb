//! Messages follow the locale: Japanese when `LC_ALL`, `LC_MESSAGES` or
//! `LANG` (in that order) says `ja`, English otherwise; `--lang` overrides.
//! Errors stay one line with the same exit codes; `--json` stays English.
//! Anything that spends a try uses the second simulated card, so the main
//! card's counters stay as they were.

use jpki_card_sim::PinId;
use jpki_tests::pdf::*;
use jpki_tests::*;
use std::process::{Command, Output};

const JA: &str = "ja_JP.UTF-8";

fn ja(mut c: Command) -> Command {
    c.env("LANG", JA);
    c
}

/// Exactly `line` (plus a newline) on stderr, nothing on stdout, exit `code`.
fn error_line(o: &Output, code: i32, line: &str) {
    assert_eq!(stderr(o), format!("{line}\n"), "stdout: {}", stdout(o));
    assert_eq!(o.status.code(), Some(code));
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}

const STATUS_JA: &str = "\
利用者証明用暗証番号: 残り3回（最大3回）
署名用パスワード: 残り5回（最大5回）
券面事項入力補助用暗証番号: 残り3回（最大3回）
";

const STATUS_EN: &str = "\
auth PIN (利用者証明用暗証番号): 3 of 3 tries left
sign password (署名用パスワード): 5 of 5 tries left
text PIN (券面事項入力補助用暗証番号): 3 of 3 tries left
";

#[test]
fn a_wrong_sign_password_in_japanese() {
    let sim = SecondSim::start(&[]);
    let w = Scratch::new();
    let input = w.write("doc.pdf", &minimal_pdf("1.7"));
    let o = run_with_input(
        ja(jpki_sign_second()).arg(&input).args(["--pin-file", "-"]),
        b"ABC124\n",
    );
    error_line(
        &o,
        4,
        "jpki-sign: エラー: 署名用パスワードが違います（残り4回）",
    );
    assert!(!w.path("doc-signed.pdf").exists());
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    assert_eq!(sim.tries(PinId::Sign), 4);
    // pin status shows the spent try, in Japanese, without spending any.
    let o = run(ja(jpki_sign_second()).args(["pin", "status"]));
    ok(&o);
    assert_eq!(
        stdout(&o),
        STATUS_JA.replace("残り5回（最大5回）", "残り4回（最大5回）")
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
    // A malformed password is refused offline, in Japanese.
    let o = run_with_input(
        ja(jpki_sign_second()).args(["cert", "sign", "--pin-file", "-"]),
        b"abc\n",
    );
    error_line(
        &o,
        4,
        "jpki-sign: エラー: 署名用パスワード: 6〜16文字で入力してください（カードには何も送っていないため、残り回数は減っていません）",
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
}

#[test]
fn blocked_and_last_try_in_japanese() {
    let sim = SecondSim::start(&["--sign-tries", "1"]);
    let o = run_with_input(
        ja(jpki_sign_second()).args(["cert", "sign", "--pin-file", "-"]),
        b"ABC124\n",
    );
    error_line(
        &o,
        4,
        "jpki-sign: エラー: 署名用パスワードの残り回数が1回のため、カードがロックされないよう入力しませんでした。間違いないときは --force-last-try を付けてもう一度実行してください",
    );
    let o = run(ja(jpki_sign_second()).args(["pin", "status"]));
    ok(&o);
    assert!(
        stdout(&o)
            .contains("署名用パスワード: 残り1回（最大5回） — 次に間違えるとロックされます\n"),
        "{}",
        stdout(&o)
    );
    let o = run_with_input(
        ja(jpki_sign_second()).args(["cert", "sign", "--force-last-try", "--pin-file", "-"]),
        b"ABC124\n",
    );
    error_line(
        &o,
        4,
        "jpki-sign: エラー: 署名用パスワードはロックされています（残り0回）。ロックの解除は市区町村の窓口でのみできます",
    );
    assert_eq!(sim.tries(PinId::Sign), 0);
    let o = run(ja(jpki_sign_second()).args(["pin", "status"]));
    ok(&o);
    assert!(
        stdout(&o).contains("署名用パスワード: ロック中 — 解除は市区町村の窓口でのみできます\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(sim.stats().verifies_of(PinId::Sign), 1);
}

#[test]
fn pin_status_and_card_in_japanese() {
    let o = run(ja(jpki_sign_main()).args(["pin", "status"]));
    ok(&o);
    assert_eq!(stdout(&o), STATUS_JA);
    let o = run(ja(jpki_sign_main()).arg("card"));
    ok(&o);
    assert_eq!(
        stdout(&o),
        format!("リーダー: {MAIN_READER}\nカード:   マイナンバーカード（JPKIAPICCTOKEN2）\n")
    );
    // --json stays language-neutral.
    let o = run(ja(jpki_sign_main()).args(["pin", "status", "--json"]));
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["sign"]["tries_left"], 5);
    assert!(!stdout(&o).contains('残'), "{}", stdout(&o));
}

#[test]
fn lang_c_and_the_precedence_of_the_variables() {
    // LANG=C (set by the helpers): English.
    let o = run(jpki_sign_main().args(["pin", "status"]));
    ok(&o);
    assert_eq!(stdout(&o), STATUS_EN);
    // LC_ALL beats LANG, LC_MESSAGES beats LANG.
    let o = run(ja(jpki_sign_main())
        .env("LC_ALL", "C")
        .args(["pin", "status"]));
    assert_eq!(stdout(&o), STATUS_EN);
    let o = run(jpki_sign_main()
        .env("LC_MESSAGES", JA)
        .args(["pin", "status"]));
    assert_eq!(stdout(&o), STATUS_JA);
    let o = run(jpki_sign_main()
        .env("LC_ALL", "C.UTF-8")
        .env("LC_MESSAGES", JA)
        .args(["pin", "status"]));
    assert_eq!(stdout(&o), STATUS_EN);
    // No locale variable at all: English.
    let o = run(jpki_sign_main().env_remove("LANG").args(["pin", "status"]));
    assert_eq!(stdout(&o), STATUS_EN);
    // --lang overrides the environment both ways.
    let o = run(jpki_sign_main().args(["--lang", "ja", "pin", "status"]));
    assert_eq!(stdout(&o), STATUS_JA);
    let o = run(ja(jpki_sign_main()).args(["pin", "status", "--lang", "en"]));
    assert_eq!(stdout(&o), STATUS_EN);
    // An error under LANG=C is the English one.
    let o = run(jpki_sign().args(["--reader", "NoSuchReader", "card"]));
    error_line(
        &o,
        3,
        &format!(
            "jpki-sign: error: no reader matches \"NoSuchReader\"; readers present: {MAIN_READER}, {SECOND_READER}"
        ),
    );
}

#[test]
fn card_errors_in_japanese() {
    let o = run(ja(jpki_sign()).args(["--reader", "NoSuchReader", "card"]));
    error_line(
        &o,
        3,
        &format!("jpki-sign: エラー: 「NoSuchReader」を含む名前のリーダーがありません。接続されているリーダー: {MAIN_READER}, {SECOND_READER}"),
    );
    assert!(!card_present(SECOND_READER));
    let o = run(ja(jpki_sign_second()).arg("card"));
    error_line(
        &o,
        3,
        &format!("jpki-sign: エラー: リーダー「{SECOND_READER}」にカードがありません。マイナンバーカードを置いてもう一度実行してください"),
    );
    let o = run(ja(jpki_sign_main())
        .args(["pin", "status"])
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm"));
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).starts_with("jpki-sign: エラー: PC/SCサービス（pcscd）に接続できません。"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unreadable_and_unusable_inputs_in_japanese() {
    let before = main_stats().verifies_of(PinId::Sign);
    let w = Scratch::new();
    let missing = w.s("missing.pdf");
    let o = run_with_input(
        ja(jpki_sign_main()).args(["sign", &missing, "--pin-file", "-"]),
        b"ABC123\n",
    );
    error_line(
        &o,
        1,
        &format!(
            "jpki-sign: エラー: {missing}を読み込めません: ファイルまたはディレクトリがありません"
        ),
    );
    let o = run(ja(jpki_sign_main()).args(["verify", &missing]));
    error_line(
        &o,
        6,
        &format!("jpki-sign: エラー: {missing}: 無効です: {missing}を読み込めません: ファイルまたはディレクトリがありません"),
    );
    let not_pdf = w.write("note.pdf", b"hello\n");
    let o = run_with_input(
        ja(jpki_sign_main()).arg(&not_pdf).args(["--pin-file", "-"]),
        b"ABC123\n",
    );
    error_line(
        &o,
        1,
        &format!(
            "jpki-sign: エラー: {}はPDFファイルではありません（%PDF- で始まっていません）",
            not_pdf.display()
        ),
    );
    // A broken PDF and a seal that is no image: jpki-pdf's reasons in Japanese.
    let broken = w.write("broken.pdf", b"%PDF-1.7\nthis is no PDF body\n");
    let o = run_with_input(
        ja(jpki_sign_main())
            .arg("sign")
            .arg(&broken)
            .args(["--pin-file", "-"]),
        b"ABC123\n",
    );
    let line = stderr(&o);
    let want = format!(
        "jpki-sign: エラー: {}をPDFとして読み込めません（壊れているか、PDFではありません）: ",
        broken.display()
    );
    assert!(
        line.starts_with(&want) && line.lines().count() == 1,
        "{line}"
    );
    assert_eq!(o.status.code(), Some(1));
    let good = w.write("good.pdf", &minimal_pdf("1.7"));
    let gif = w.write("seal.gif", b"GIF89a");
    let o = run_with_input(
        ja(jpki_sign_main())
            .arg("sign")
            .arg(&good)
            .args(["--stamp", "--stamp-image"])
            .arg(&gif)
            .args(["--pin-file", "-"]),
        b"ABC123\n",
    );
    error_line(
        &o,
        1,
        &format!(
            "jpki-sign: エラー: {}はPNG画像でもJPEG画像でもありません",
            gif.display()
        ),
    );
    let o = run(ja(jpki_sign_main()).args(["cms", "verify", &w.s("none.p7s")]));
    error_line(
        &o,
        1,
        &format!(
            "jpki-sign: エラー: {}を読み込めません: ファイルまたはディレクトリがありません",
            w.s("none.p7s")
        ),
    );
    // No PIN try was spent on any of them.
    assert_eq!(main_stats().verifies_of(PinId::Sign), before);
}

#[test]
fn sign_and_verify_in_japanese() {
    let w = Scratch::new();
    let input = w.write("doc.pdf", &minimal_pdf("1.7"));
    let out = w.s("doc-signed.pdf");
    let o = run_with_input(
        ja(jpki_sign_main()).arg(&input).args(["--pin-file", "-"]),
        b"ABC123\n",
    );
    ok(&o);
    assert_eq!(
        stdout(&o),
        format!(
            "署名しました: {} → {out}（フィールド Signature1）\n",
            input.display()
        )
    );
    let ca = pki_file("sign-ca.pem");
    let o = run(ja(jpki_sign_main()).args(["verify", &out, "--ca"]).arg(&ca));
    ok(&o);
    let text = stdout(&o);
    assert!(
        text.starts_with(&format!("{out}: 署名 1/1（フィールド Signature1）\n")),
        "{text}"
    );
    assert!(text.contains("  署名後の変更: なし\n"), "{text}");
    assert!(text.contains("  結果: 有効\n"), "{text}");
    assert!(
        text.ends_with(&format!("{out}: 1件の署名はすべて有効です。\n")),
        "{text}"
    );
    // A changed byte: the verdict and the common reasons are Japanese (rarer,
    // technical reasons stay English).
    let mut bytes = std::fs::read(&out).expect("signed file");
    let at = bytes
        .windows(5)
        .position(|x| x == b"Hello")
        .expect("page text");
    bytes[at] = b'J';
    let bad = w.write("bad.pdf", &bytes);
    let o = run(ja(jpki_sign_main())
        .arg("verify")
        .arg(&bad)
        .arg("--ca")
        .arg(&ca));
    assert_eq!(o.status.code(), Some(6));
    let e = stderr(&o);
    assert!(
        e.starts_with(&format!("jpki-sign: エラー: {}: 無効です: ", bad.display())),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(stdout(&o).contains("  結果: 無効: "), "{}", stdout(&o));
    assert!(
        e.contains("署名時の値（messageDigest）と一致しません"),
        "{e}"
    );
    // Bytes appended after the signature.
    let mut bytes = std::fs::read(&out).expect("signed file");
    bytes.extend(b"% appended\n");
    let appended = w.write("appended.pdf", &bytes);
    let o = run(ja(jpki_sign_main()).arg("verify").arg(&appended));
    assert_eq!(o.status.code(), Some(6));
    assert!(
        stderr(&o).contains("署名後に文書が変更されました"),
        "{}",
        stderr(&o)
    );
}

/// Signs `input` into `output` with the main card (the right password: no
/// try lost); panics unless it worked.
fn card_signs(input: &std::path::Path, output: &str) -> Vec<u8> {
    let o = run_with_input(
        jpki_sign_main()
            .arg(input)
            .args(["-o", output, "--pin-file", "-"]),
        b"ABC123\n",
    );
    ok(&o);
    std::fs::read(output).expect("signed file")
}

#[test]
fn what_a_later_revision_changed_in_japanese() {
    // A shadow attack signed over by a second signature: the page now shows
    // object 6, signed but unused by the first signer.
    let w = Scratch::new();
    let shadow = stream_object(b"BT /F1 24 Tf 72 720 Td (Pay 1,000,000 yen) Tj ET");
    let input = w.write("doc.pdf", &minimal_pdf_with("1.7", &[&shadow]));
    let signed = card_signs(&input, &w.s("first.pdf"));
    let page = last_object_body(&signed, 3);
    let at = page
        .windows(9)
        .position(|x| x == b"/Contents")
        .expect("the page's /Contents")
        + 9;
    let r = at
        + page[at..]
            .iter()
            .position(|&c| c == b'R')
            .expect("a reference")
        + 1;
    let page = [&page[..at], b" 6 0 R", &page[r..]].concat();
    let shadowed = w.write("shadowed.pdf", &append_update(&signed, &[(3, page)]));
    let out = w.s("second.pdf");
    card_signs(&shadowed, &out);
    let ca = pki_file("sign-ca.pem");
    let o = run(ja(jpki_sign_main()).args(["verify", &out, "--ca"]).arg(&ca));
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("{out}: 無効です: 後の署名だけが対象とする後の版が、この署名の対象を変更しています: ページオブジェクト3: /Contents が変更されました（この署名が許すのは")),
        "{e}"
    );
    let text = stdout(&o);
    assert!(
        text.contains("その他の変更（ページオブジェクト3: /Contents が変更されました）")
            && text.contains("この署名が許さない変更"),
        "{text}"
    );
    assert!(!text.contains("changed"), "{text}");
    // English stays as it was.
    let o = run(jpki_sign_main().args(["verify", &out, "--ca"]).arg(&ca));
    assert!(
        stdout(&o).contains("other changes (page object 3: /Contents changed)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_byte_range_note_in_japanese() {
    // A signature dictionary that no field refers to, beside a real signature.
    let w = Scratch::new();
    let stray: &[u8] = b"<< /Type /Sig /ByteRange [0 0 0 0] >>";
    let input = w.write("doc.pdf", &minimal_pdf_with("1.7", &[stray]));
    let out = w.s("signed.pdf");
    card_signs(&input, &out);
    let ca = pki_file("sign-ca.pem");
    let o = run(ja(jpki_sign_main()).args(["verify", &out, "--ca"]).arg(&ca));
    ok(&o);
    assert_eq!(
        stderr(&o),
        format!("jpki-sign: 注意: {out}には /ByteRange（署名範囲）が2個ありますが、署名を参照する署名フィールドは1個です。残りは現在の版のどのフィールドにも属さないため、検証していません\n")
    );
    let o = run(jpki_sign_main().args(["verify", &out, "--ca"]).arg(&ca));
    assert_eq!(
        stderr(&o),
        format!("jpki-sign: note: {out} contains 2 /ByteRange entries but 1 signature field(s) refer to signatures: the others belong to no field of the current revision and were not checked\n")
    );
}

#[test]
fn output_with_several_inputs_and_font_errors_in_japanese() {
    let before = main_stats().verifies_of(PinId::Sign);
    let w = Scratch::new();
    let a = w.write("a.pdf", &minimal_pdf("1.7"));
    let b = w.write("b.pdf", &minimal_pdf("1.7"));
    let o = run_with_input(
        ja(jpki_sign_main()).arg("sign").arg(&a).arg(&b).args([
            "-o",
            &w.s("out.pdf"),
            "--pin-file",
            "-",
        ]),
        b"ABC123\n",
    );
    error_line(
        &o,
        1,
        "jpki-sign: エラー: -o/--output は入力ファイルが1つのときだけ使えます。複数のときは、それぞれ NAME-signed.pdf に書き出します",
    );
    let font = w.write("font.ttf", b"not a font at all");
    let o = run_with_input(
        ja(jpki_sign_main())
            .arg("sign")
            .arg(&a)
            .args(["--stamp", "--stamp-font"])
            .arg(&font)
            .args(["--pin-file", "-"]),
        b"ABC123\n",
    );
    let line = stderr(&o);
    assert!(
        line.starts_with(&format!(
            "jpki-sign: エラー: {}はフォントとして読み込めません（",
            font.display()
        )) && line.lines().count() == 1,
        "{line}"
    );
    assert_eq!(o.status.code(), Some(1));
    let pw = w.write("pw", b"ABC123\n");
    let o = run(ja(jpki_sign_main())
        .args(["pin", "change", "sign", "--pin-file"])
        .arg(&pw)
        .arg("--new-pin-file")
        .arg(&pw));
    error_line(
        &o,
        1,
        "jpki-sign: エラー: --pin-file と --new-pin-file には別々のファイルを指定してください",
    );
    let not_pem = w.write("ca.pem", b"no certificate here\n");
    let o = run(ja(jpki_sign_main())
        .arg("verify")
        .arg(&a)
        .arg("--ca")
        .arg(&not_pem));
    error_line(
        &o,
        1,
        &format!(
            "jpki-sign: エラー: {}にPEM形式の証明書がありません（--ca には信頼するCAの証明書をPEM形式で指定してください）",
            not_pem.display()
        ),
    );
    // No PIN try was spent on any of them.
    assert_eq!(main_stats().verifies_of(PinId::Sign), before);
}
