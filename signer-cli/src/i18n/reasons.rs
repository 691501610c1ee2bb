//! jpki-pdf's free-text reasons (`Error::Invalid`, the reason of
//! `Error::CannotSign`, `verify::Problem::Invalid`, the stamp image's
//! errors) and jpki-cms's (`VerifyError::Invalid`) in Japanese. (The
//! timestamp line is typed, `jpki_cms::Timestamp`, and worded in `i18n.rs`.)
//!
//! The library writes these in English with values inside (file names,
//! page numbers, byte offsets), so they cannot be matched as variants:
//! each is a pattern here, `{}` marking a value in the English and `{0}`,
//! `{1}` … putting the values back in the Japanese. A reason this table
//! does not know stays as the library wrote it (technical details from
//! lopdf or the OS inside a known reason stay as given, as [`super`] does
//! for OpenSSL's). What it refuses to do: guess — a pattern matches the
//! whole text or not at all.

use super::Lang;

/// (English pattern, Japanese pattern). More specific patterns first: the
/// first that matches wins.
const REASONS: &[(&str, &str)] = &[
    // Opening a file (structure.rs, sign.rs).
    (
        "{} has damaged cross-reference data ({}); repair it first, e.g. `qpdf IN OUT`",
        "{0}は相互参照情報（xref）が壊れています（{1}）。先に修復してください（例: `qpdf IN OUT`）",
    ),
    (
        "cannot read {} as a PDF: {}",
        "{0}をPDFとして読み込めません（壊れているか、PDFではありません）: {1}",
    ),
    (
        "{}: cannot locate its cross-reference data",
        "{0}: 相互参照情報（xref）が見つかりません。PDFが壊れています",
    ),
    ("{} is too large", "{0}は大きすぎます"),
    // The stamp image (stamp.rs).
    (
        "{} is neither a PNG nor a JPEG image",
        "{0}はPNG画像でもJPEG画像でもありません",
    ),
    (
        "{}: not a readable PNG ({})",
        "{0}: PNG画像として読み込めません（{1}）",
    ),
    (
        "{}: not a readable JPEG ({})",
        "{0}: JPEG画像として読み込めません（{1}）",
    ),
    ("{}: not a readable JPEG", "{0}: JPEG画像として読み込めません"),
    (
        "{}: unsupported PNG colour type",
        "{0}: この色形式（パレット）のPNGには対応していません。RGBかグレースケールで保存し直してください",
    ),
    (
        "{}: the image has {} pixels; at most {} are accepted",
        "{0}: 画像の画素数が{1}あります。{2}画素までにしてください",
    ),
    (
        "{}: the image is larger than {} pixels",
        "{0}: 画像が{1}画素より大きいです",
    ),
    (
        "{}: only greyscale and RGB JPEGs are accepted (convert CMYK to RGB)",
        "{0}: JPEGはグレースケールとRGBのみ使えます（CMYKはRGBに変換してください）",
    ),
    // The stamp font (font.rs).
    (
        "{} is not a font ttf-parser can read ({})",
        "{0}はフォントとして読み込めません（{1}）",
    ),
    (
        "{} has no TrueType outlines (glyf); use a .ttf font such as IPAexGothic",
        "{0}にはTrueTypeのアウトライン（glyf）がありません。IPAexゴシックなどの .ttf フォントを使ってください",
    ),
    (
        "cannot subset the font {}: {}",
        "フォント {0} のサブセットを作れません: {1}",
    ),
    ("font: {}", "フォント: {0}"),
    ("cannot read {}: {}", "{0}を読み込めません: {1}"),
    // Why a signature cannot be added (update.rs, structure.rs).
    (
        "it is certified with \"no changes allowed\" (DocMDP P=1); a new signature would break that certification",
        "「変更不可」の作成者署名（DocMDP P=1）があるため、署名を追加するとその証明が壊れます",
    ),
    (
        "it has no page {} (it has {} page(s))",
        "{0}ページ目がありません（全{1}ページ）",
    ),
    ("the trailer has no /Root", "トレーラーに /Root がありません（PDFが壊れています）"),
    (
        "its catalog (/Root) is missing or not a dictionary",
        "カタログ（/Root）がないか、辞書ではありません（PDFが壊れています）",
    ),
    ("its catalog has no page tree", "カタログにページツリーがありません（PDFが壊れています）"),
    ("its page tree is missing", "ページツリーがありません（PDFが壊れています）"),
    (
        "its first page is not a dictionary",
        "ページが辞書ではありません（PDFが壊れています）",
    ),
    (
        "its /AcroForm is not a dictionary",
        "フォーム（/AcroForm）が辞書ではありません（PDFが壊れています）",
    ),
    (
        "the signature ({} bytes) does not fit the {} bytes reserved for it",
        "署名（{0}バイト）が確保した領域（{1}バイト）に収まりません",
    ),
    // Why a signature is not valid (verify.rs).
    (
        "the signature dictionary's object is not terminated",
        "署名辞書のオブジェクトが閉じていません",
    ),
    (
        "the field's /V is not a signature dictionary",
        "フィールドの /V が署名辞書ではありません",
    ),
    (
        "/SubFilter {} is not supported (only adbe.pkcs7.detached and ETSI.CAdES.detached)",
        "/SubFilter {0} には対応していません（対応するのは adbe.pkcs7.detached と ETSI.CAdES.detached のみ）",
    ),
    (
        "/ByteRange is missing or not an array",
        "/ByteRange（署名範囲）がないか、配列ではありません",
    ),
    (
        "/ByteRange holds something other than non-negative integers",
        "/ByteRange（署名範囲）に0以上の整数以外の値があります",
    ),
    (
        "/ByteRange has {} numbers, not 4",
        "/ByteRange（署名範囲）の数値が4個ではなく{0}個です",
    ),
    ("/ByteRange overflows", "/ByteRange（署名範囲）の値が大きすぎます"),
    (
        "/ByteRange [{}] does not start at 0 or lies outside the file ({} bytes)",
        "/ByteRange [{0}] が0から始まっていないか、ファイル（{1}バイト）の外を指しています",
    ),
    (
        "the signature dictionary is inside an object stream, so its /Contents cannot be the excluded gap",
        "署名辞書がオブジェクトストリームの中にあるため、その /Contents を署名範囲の除外部分にできません",
    ),
    (
        "the signature dictionary has no cross-reference entry",
        "署名辞書に相互参照情報（xref）の項目がありません",
    ),
    (
        "the signature dictionary does not have exactly one /Contents",
        "署名辞書の /Contents がちょうど1つではありません",
    ),
    ("/Contents is not a hex string", "/Contents が16進文字列ではありません"),
    ("/Contents is not terminated", "/Contents が閉じていません"),
    (
        "the ByteRange gap {} is not this signature's /Contents ({}): the ByteRange was moved",
        "署名範囲の除外部分 {0} がこの署名の /Contents（{1}）と一致しません。署名範囲がずらされています",
    ),
    (
        "the ByteRange leaves out bytes {}, more than this signature's /Contents ({}): unsigned bytes are hidden in the gap",
        "署名範囲が {0} バイトを除外していて、この署名の /Contents（{1}）より広いです。署名されていないデータが隠されています",
    ),
    (
        "the ByteRange gap {} is not this signature's /Contents ({})",
        "署名範囲の除外部分 {0} がこの署名の /Contents（{1}）と一致しません",
    ),
    (
        "the signature dictionary is not inside the signed bytes",
        "署名辞書が署名範囲に含まれていません",
    ),
    (
        "the signed bytes do not end at the end of a revision (%%EOF)",
        "署名範囲が版の終わり（%%EOF）で終わっていません",
    ),
    (
        "/Contents holds characters other than hex digits",
        "/Contents に16進数字以外の文字があります",
    ),
    (
        "ETSI.CAdES.detached without the signing-certificate-v2 attribute",
        "ETSI.CAdES.detached なのに signing-certificate-v2 属性がありません",
    ),
    (
        "the later revision's cross-reference data cannot be read ({}), so its changes cannot be checked",
        "後の版の相互参照情報（xref）が読めないため（{0}）、その変更を確認できません",
    ),
    (
        "the signed revision's cross-reference data cannot be read ({}), so later changes cannot be checked",
        "署名された版の相互参照情報（xref）が読めないため（{0}）、後の変更を確認できません",
    ),
    // Why a CMS signature is not valid (jpki-cms, `VerifyError::Invalid`).
    ("signed attribute {} occurs more than once", "署名属性 {0} が2回以上あります"),
    (
        "the CMS has {} signers; exactly one is supported",
        "CMSの署名者が{0}人います。対応しているのは1人だけです",
    ),
    (
        "digest algorithm {} is not SHA-256 (refused)",
        "ハッシュアルゴリズム {0} はSHA-256ではありません（受け付けません）",
    ),
    (
        "signature algorithm {} is not RSA PKCS#1 v1.5",
        "署名アルゴリズム {0} はRSA PKCS#1 v1.5ではありません",
    ),
    (
        "signingCertificateV2 hashes the certificate with {} (only SHA-256 is checked)",
        "signingCertificateV2 属性が証明書を {0} でハッシュしています（確認できるのはSHA-256のみ）",
    ),
    (
        "signingCertificateV2 names another certificate than the signer's",
        "signingCertificateV2 属性が署名者とは別の証明書を指しています",
    ),
    (
        "the signer certificate's key usage: {}",
        "署名者の証明書の鍵用途（key usage）が署名に使えません: {0}",
    ),
    ("{} holds no PEM certificate", "{0}にPEM形式の証明書がありません"),
    ("not DER: {}", "DER形式ではありません: {0}"),
    ("not a CMS ContentInfo: {}", "CMSのContentInfoではありません: {0}"),
    ("the CMS is not SignedData but {}", "CMSがSignedDataではなく{0}です"),
    ("malformed SignedData: {}", "SignedDataの形が正しくありません: {0}"),
    (
        "the CMS embeds its content, but detached content was given",
        "CMSに内容が埋め込まれていますが、別のファイルの内容も指定されました",
    ),
    ("eContent is not an OCTET STRING: {}", "eContent が OCTET STRING ではありません: {0}"),
    (
        "the CMS is detached: give the signed file with --content FILE",
        "CMSは分離形式です。署名されたファイルを --content FILE で指定してください",
    ),
    (
        "the signer has no signed attributes (refused)",
        "署名者に署名属性がありません（受け付けません）",
    ),
    (
        "the contentType attribute does not match the content type",
        "contentType 属性が内容の種類と一致しません",
    ),
    (
        "the signer is identified by key identifier; only issuer and serial number is supported",
        "署名者が鍵識別子で示されています。対応しているのは発行者とシリアル番号による指定だけです",
    ),
    (
        "the signer's certificate is not in the CMS",
        "署名者の証明書がCMSに含まれていません",
    ),
    (
        "the RSA signature does not verify with the signer's certificate",
        "RSA署名が署名者の証明書で検証できません（署名が書き換えられたか、別の鍵で作られています）",
    ),
    (
        "the timestamp attribute must hold one token",
        "タイムスタンプ属性にはトークンがちょうど1つ必要です",
    ),
    (
        "the timestamp token is over another signature",
        "タイムスタンプトークンが別の署名に対するものです",
    ),
    (
        "the timestamp token is not valid: {}",
        "タイムスタンプトークンが有効ではありません: {0}",
    ),
    ("timestamp token: {}", "タイムスタンプトークン: {0}"),
    ("contentType: {}", "contentType 属性が読み取れません: {0}"),
    ("messageDigest: {}", "messageDigest 属性が読み取れません: {0}"),
    ("signingCertificateV2: {}", "signingCertificateV2 属性が読み取れません: {0}"),
    ("signingTime: {}", "signingTime 属性が読み取れません: {0}"),
];

/// What a later revision changed (jpki-pdf's `Change::what`, and the
/// problem's list, which adds the field lock), as (English, Japanese).
/// Besides `{0}`, `{1}` … (the value as given), the Japanese may say `{t0}`
/// (the value translated by [`PARTS`]: a list or a kind of object) or `{c0}`
/// (the value translated by this table: a change inside a longer text).
const CHANGES: &[(&str, &str)] = &[
    (
        "{} (field {} is locked by this signature)",
        "{c0}（フィールド {1} はこの署名でロックされています）",
    ),
    ("(more changes not listed)", "（以降の変更は省略）"),
    (
        "object {} cannot be read ({})",
        "オブジェクト{0}を読み込めません（{1}）",
    ),
    ("metadata stream {}", "メタデータストリーム{0}"),
    (
        "object {} was replaced by a different kind of object",
        "オブジェクト{0}が別の種類のオブジェクトに置き換えられました",
    ),
    (
        "the appearance of signature field {}",
        "署名フィールド {0} の外観",
    ),
    (
        "the appearance of field {} (object {})",
        "フィールド {0} の外観（オブジェクト{1}）",
    ),
    (
        "object {} ({}) was replaced",
        "オブジェクト{0}（{t1}）が置き換えられました",
    ),
    (
        "annotation /{} (object {}) was deleted",
        "注釈 /{0}（オブジェクト{1}）が削除されました",
    ),
    ("object {} was deleted", "オブジェクト{0}が削除されました"),
    ("the document information dictionary", "文書情報辞書"),
    (
        "page object {}: {} changed",
        "ページオブジェクト{0}: {1} が変更されました",
    ),
    ("validation data (object {})", "検証情報（オブジェクト{0}）"),
    (
        "signature dictionary {} was changed",
        "署名辞書{0}が変更されました",
    ),
    ("the form's {} changed", "フォームの {0} が変更されました"),
    ("the form's settings", "フォームの設定"),
    (
        "the catalog's {} changed",
        "カタログの {0} が変更されました",
    ),
    ("the catalog's {}", "カタログの {0}"),
    (
        "the signature in field object {} was replaced",
        "フィールドオブジェクト{0}の署名が置き換えられました",
    ),
    (
        "signature field object {}: {} changed",
        "署名フィールドオブジェクト{0}: {1} が変更されました",
    ),
    ("signature field {} signed", "署名フィールド {0} への署名"),
    (
        "field {} filled in (object {})",
        "フィールド {0} への入力（オブジェクト{1}）",
    ),
    (
        "object {} (form field {}) changed: {}",
        "オブジェクト{0}（フォームフィールド {1}）が変更されました: {2}",
    ),
    (
        "annotation /{} (object {}) changed: {}",
        "注釈 /{0}（オブジェクト{1}）が変更されました: {2}",
    ),
    (
        "object {} ({}) changed: {}",
        "オブジェクト{0}（{t1}）が変更されました: {2}",
    ),
    (
        "{} lost annotation /{} ({})",
        "{t0}から注釈 /{1}（{t2}）が削除されました",
    ),
    (
        "{} lost an entry ({})",
        "{t0}から項目（{t1}）が削除されました",
    ),
    (
        "{} gained {} (not a dictionary)",
        "{t0}に{t1}が追加されました（辞書ではありません）",
    ),
    (
        "{} gained a signature field ({})",
        "{t0}に署名フィールド（{t1}）が追加されました",
    ),
    (
        "{} gained {} ({}), an annotation",
        "{t0}に注釈 {t1}（{t2}）が追加されました",
    ),
    (
        "{} gained {} ({}), which is not a signature field",
        "{t0}に{t1}（{t2}）が追加されました。署名フィールドではありません",
    ),
];

/// The lists and kinds of object inside [`CHANGES`]' texts (jpki-pdf's
/// revision comparison), as (English, Japanese); what is not here (a name
/// like `/XObject /Form`, a reference `5 0 R`) stays as given.
const PARTS: &[(&str, &str)] = &[
    (
        "the annotations of page object {}",
        "ページオブジェクト{0}の注釈",
    ),
    ("the form's fields", "フォームのフィールド"),
    ("the array in object {}", "オブジェクト{0}の配列"),
    ("a content stream", "コンテンツストリーム"),
    ("/{} stream", "/{0} ストリーム"),
    ("annotation /{}", "注釈 /{0}"),
    ("form field /{}", "フォームフィールド /{0}"),
    ("dictionary", "辞書"),
    ("a dictionary", "辞書"),
    ("a value", "値"),
    ("an object", "オブジェクト"),
];

/// The values `{}` stands for in `pattern` if `text` is that pattern.
fn capture<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let pieces: Vec<&str> = pattern.split("{}").collect();
    let (first, rest) = pieces.split_first()?;
    let mut left = text.strip_prefix(first)?;
    let Some((last, middle)) = rest.split_last() else {
        return left.is_empty().then(Vec::new);
    };
    let mut values = Vec::new();
    for piece in middle {
        let at = left.find(piece)?;
        values.push(&left[..at]);
        left = &left[at + piece.len()..];
    }
    values.push(left.strip_suffix(last)?);
    Some(values)
}

/// `reason` in `lang`: Japanese if the table knows it, else as given.
pub fn reason(reason: &str, lang: Lang) -> String {
    translate(REASONS, reason, lang, 0)
}

/// What a later revision changed (one of jpki-pdf's change descriptions)
/// in `lang`: Japanese if [`CHANGES`] knows it, else as given.
pub fn change(what: &str, lang: Lang) -> String {
    translate(CHANGES, what, lang, 0)
}

/// `text` by the first pattern of `table` it matches (values put back,
/// `{tN}`/`{cN}` values translated in turn, at most a few levels deep).
fn translate(table: &[(&str, &str)], text: &str, lang: Lang, depth: usize) -> String {
    if lang == Lang::En || depth > 3 {
        return text.to_string();
    }
    for (en, ja) in table {
        if let Some(values) = capture(en, text) {
            return fill(ja, &values, lang, depth);
        }
    }
    text.to_string()
}

/// The Japanese pattern `ja` with `values` put in, in one pass (so a value
/// that looks like a placeholder stays as it is).
fn fill(ja: &str, values: &[&str], lang: Lang, depth: usize) -> String {
    let mut out = String::new();
    let mut rest = ja;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        let token = &after[..close];
        let (table, index) = match token.as_bytes().first() {
            Some(b't') => (Some(PARTS), &token[1..]),
            Some(b'c') => (Some(CHANGES), &token[1..]),
            _ => (None, token),
        };
        match index.parse::<usize>().ok().and_then(|i| values.get(i)) {
            Some(v) => match table {
                Some(t) => out.push_str(&translate(t, v, lang, depth + 1)),
                None => out.push_str(v),
            },
            None => out.push_str(&rest[open..(open + 2 + close).min(rest.len())]),
        }
        rest = &after[(close + 1).min(after.len())..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_kana(s: &str) -> bool {
        s.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))
    }

    #[test]
    fn every_pattern_puts_every_value_back_once() {
        for (en, ja) in REASONS {
            let n = en.matches("{}").count();
            for i in 0..n {
                assert_eq!(ja.matches(&format!("{{{i}}}")).count(), 1, "{ja}");
            }
            assert!(!ja.contains(&format!("{{{n}}}")), "{ja}");
            assert!(has_kana(ja), "{ja}");
            // The pattern with made-up values comes out Japanese, values kept.
            let values: Vec<String> = (0..n).map(|i| format!("V{i}")).collect();
            let mut text = en.to_string();
            for v in &values {
                text = text.replacen("{}", v, 1);
            }
            let out = reason(&text, Lang::Ja);
            assert!(has_kana(&out), "{text} → {out}");
            for v in &values {
                assert!(out.contains(v.as_str()), "{text} → {out}");
            }
            assert_eq!(reason(&text, Lang::En), text);
        }
    }

    #[test]
    fn specific_patterns_win_and_unknown_text_stays() {
        assert_eq!(
            reason("cannot read a.pdf as a PDF: invalid file header", Lang::Ja),
            "a.pdfをPDFとして読み込めません（壊れているか、PDFではありません）: invalid file header"
        );
        assert_eq!(
            reason("it has no page 3 (it has 1 page(s))", Lang::Ja),
            "3ページ目がありません（全1ページ）"
        );
        assert_eq!(reason("something new", Lang::Ja), "something new");
        assert_eq!(capture("{} is too large", "x is too large!"), None);
        assert_eq!(capture("a {} b {}", "a 1 b 2"), Some(vec!["1", "2"]));
    }

    #[test]
    fn every_change_pattern_puts_every_value_back_once() {
        for (en, ja) in CHANGES.iter().chain(PARTS) {
            let n = en.matches("{}").count();
            for i in 0..n {
                let uses: usize = ["", "t", "c"]
                    .iter()
                    .map(|k| ja.matches(&format!("{{{k}{i}}}")).count())
                    .sum();
                assert_eq!(uses, 1, "{ja}");
            }
            assert!(!ja.is_ascii(), "{ja}");
            let mut text = en.to_string();
            for i in 0..n {
                text = text.replacen("{}", &format!("V{i}"), 1);
            }
            let out = translate(&[(en, ja)], &text, Lang::Ja, 0);
            for i in 0..n {
                assert!(out.contains(&format!("V{i}")), "{text} → {out}");
            }
            assert_eq!(change(&text, Lang::En), text);
        }
    }

    #[test]
    fn what_a_later_revision_changed_in_japanese() {
        let ja = |s: &str| change(s, Lang::Ja);
        assert_eq!(
            ja("page object 3: /Contents changed"),
            "ページオブジェクト3: /Contents が変更されました"
        );
        assert_eq!(
            ja("object 4 (a content stream) was replaced"),
            "オブジェクト4（コンテンツストリーム）が置き換えられました"
        );
        assert_eq!(
            ja("object 11 (/XObject /Form) was replaced"),
            "オブジェクト11（/XObject /Form）が置き換えられました"
        );
        assert_eq!(ja("object 5 was deleted"), "オブジェクト5が削除されました");
        assert_eq!(
            ja("object 10 (dictionary) changed: /D"),
            "オブジェクト10（辞書）が変更されました: /D"
        );
        assert_eq!(
            ja("the annotations of page object 3 gained /FreeText (9 0 R), which is not a signature field"),
            "ページオブジェクト3の注釈に/FreeText（9 0 R）が追加されました。署名フィールドではありません"
        );
        assert_eq!(
            ja("the form's fields gained an object (9 0 R), which is not a signature field"),
            "フォームのフィールドにオブジェクト（9 0 R）が追加されました。署名フィールドではありません"
        );
        assert_eq!(
            ja("the annotations of page object 3 lost annotation /Square (7 0 R)"),
            "ページオブジェクト3の注釈から注釈 /Square（7 0 R）が削除されました"
        );
        assert_eq!(
            ja("field Name filled in (object 7) (field Name is locked by this signature)"),
            "フィールド Name への入力（オブジェクト7）（フィールド Name はこの署名でロックされています）"
        );
        // A field named like a placeholder or a kind stays as it is.
        assert_eq!(
            ja("field {t0} filled in (object 7)"),
            "フィールド {t0} への入力（オブジェクト7）"
        );
        assert_eq!(
            ja("signature field dictionary signed"),
            "署名フィールド dictionary への署名"
        );
        assert_eq!(ja("something new"), "something new");
    }

    /// Every English text jpki-pdf's revision comparison writes (each string
    /// literal of `revisions.rs` with a space in it, `{…}` read as a value)
    /// has its Japanese here, so a new or reworded change cannot slip into
    /// Japanese output in English unnoticed.
    #[test]
    fn every_text_of_the_revision_comparison_has_a_pattern() {
        // Names and references that stay as they are in both languages.
        const AS_GIVEN: &[&str] = &["/Metadata /XML", "/{} /{}", "{} {} R", "(object {})"];
        let src = include_str!("../../../pdf/src/revisions.rs");
        let known: Vec<&str> = REASONS
            .iter()
            .chain(CHANGES)
            .chain(PARTS)
            .map(|p| p.0)
            .chain(AS_GIVEN.iter().copied())
            .collect();
        let mut seen = 0;
        for line in src.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for lit in literals(line) {
                if !lit.contains(' ') || !lit.chars().any(|c| c.is_ascii_lowercase()) {
                    continue;
                }
                let pattern = placeholders(&lit);
                assert!(known.contains(&pattern.as_str()), "{pattern}");
                seen += 1;
            }
        }
        assert!(seen > 30, "{seen}");
    }

    /// The string literals (byte strings skipped) of one line of Rust.
    fn literals(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = line.chars().peekable();
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            if c == '"' && prev != '\\' {
                let mut lit = String::new();
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {
                            lit.push(c);
                            escaped = false;
                        }
                    }
                }
                if prev != 'b' {
                    out.push(lit);
                }
                prev = '"';
            } else {
                prev = c;
            }
        }
        out
    }

    /// `text` with every `{…}` of a format string as `{}`.
    fn placeholders(text: &str) -> String {
        let mut out = String::new();
        let mut inside = false;
        for c in text.chars() {
            match (inside, c) {
                (false, '{') => {
                    inside = true;
                    out.push_str("{}");
                }
                (true, '}') => inside = false,
                (true, _) => {}
                (false, _) => out.push(c),
            }
        }
        out
    }
}
