//! The server's own messages, in both languages side by side (as
//! [`crate::i18n`] does for the CLI); card and PDF messages come from the CLI,
//! which runs in the page's language (`--lang`).
//!
//! The page's language reaches the server in the `lang=` query parameter of
//! every API request (and in an upload's options), so even an upload refused
//! before its body is read is answered in that language. Without it (a
//! request that is not from the page) an error carries both languages.

use super::body::BodyError;
use crate::i18n::{self, Lang};

/// A message of the web server.
pub enum Text<'a> {
    Forbidden,
    NotFound,
    TooLarge(u64),
    /// An upload without a `Content-Length`.
    NoLength,
    /// An upload body that cannot be read or stored.
    BadUpload(&'a BodyError),
    /// The private temporary directory for an upload cannot be made.
    NoTempDir(&'a std::io::Error),
    /// A signed copy cannot be read back for its download.
    CannotKeep(&'a str, &'a std::io::Error),
    /// The child `jpki-sign` cannot be started.
    CannotStart(&'a std::io::Error),
    /// The child `jpki-sign` ended without saying why (crashed, killed).
    ChildDied,
    NoFiles,
    /// A signed copy would replace a file that is there (another upload of that name).
    OutputExists {
        signed: &'a str,
        input: &'a str,
    },
    DownloadGone,
    Started(&'a str),
    Stopped,
}

impl Text<'_> {
    pub fn text(&self, lang: Lang) -> String {
        use Lang::*;
        use Text::*;
        match (lang, self) {
            (En, Forbidden) => "forbidden".into(),
            (Ja, Forbidden) => "アクセスは拒否されました".into(),
            (En, NotFound) => "not found".into(),
            (Ja, NotFound) => "見つかりません".into(),
            (En, TooLarge(m)) => format!("the files are larger than {m} MiB; sign them with the jpki-sign command instead (or start the page with --max-upload)"),
            (Ja, TooLarge(m)) => format!("ファイルが{m}MiBを超えています。jpki-sign コマンドで署名するか、--max-upload を付けて起動してください"),
            (En, NoLength) => "the upload failed (the browser did not say its size); please try again".into(),
            (Ja, NoLength) => "アップロードに失敗しました（ブラウザーがサイズを送りませんでした）。もう一度お試しください".into(),
            (_, BadUpload(e)) => body_error(e, lang),
            (En, NoTempDir(e)) => format!("cannot store the upload: no temporary directory ({e}); check TMPDIR and the free disk space"),
            (Ja, NoTempDir(e)) => format!("アップロードを保存できません: 一時ディレクトリを作れません（{}）。TMPDIRとディスクの空きを確認してください", i18n::io_error_ja(e)),
            (_, CannotKeep(name, e)) => i18n::io_error("cannot read", name, e, lang),
            (En, CannotStart(e)) => format!("cannot start jpki-sign: {e}"),
            (Ja, CannotStart(e)) => format!("jpki-sign を起動できません: {}", i18n::io_error_ja(e)),
            (En, ChildDied) => "jpki-sign stopped unexpectedly (perhaps on this file); please try again. The card panel shows the tries left of every PIN".into(),
            (Ja, ChildDied) => "jpki-sign が予期せず終了しました（このファイルで異常終了した可能性があります）。もう一度お試しください。暗証番号の残り回数はカードの欄に表示されます".into(),
            (En, NoFiles) => "choose at least one PDF file".into(),
            (Ja, NoFiles) => "PDFファイルを1つ以上選んでください".into(),
            (En, OutputExists { signed, input }) => format!("{signed} already exists and the signed copy of {input} would replace it: rename one of the files and sign again"),
            (Ja, OutputExists { signed, input }) => format!("{signed}はすでにあります。{input}の署名済みファイルで上書きされてしまうため、どちらかのファイル名を変えてからもう一度署名してください"),
            (En, DownloadGone) => "this file was already downloaded or has expired; sign again".into(),
            (Ja, DownloadGone) => "このファイルはダウンロード済みか期限切れです。もう一度署名してください".into(),
            (En, Started(u)) => format!("jpki-sign gui: the page is open in your browser ({u}); close it to stop"),
            (Ja, Started(u)) => format!("jpki-sign gui: ブラウザでページを開きました（{u}）。ページを閉じると終了します"),
            (En, Stopped) => "jpki-sign gui: stopped".into(),
            (Ja, Stopped) => "jpki-sign gui: 終了しました".into(),
        }
    }
}

/// Why an upload body was refused.
fn body_error(e: &BodyError, lang: Lang) -> String {
    use Lang::*;
    let why = match (lang, e) {
        (En, BodyError::Malformed(m)) => format!("it is malformed: {m}"),
        (Ja, BodyError::Malformed(m)) => {
            format!("データの形が正しくありません: {}", malformed_ja(m))
        }
        (En, BodyError::Options(e)) => format!("its options are malformed: {e}"),
        (Ja, BodyError::Options(e)) => format!("設定のデータが正しくありません（{e}）"),
        (En, BodyError::Store(e)) => format!("it cannot be stored: {e}"),
        (Ja, BodyError::Store(e)) => format!("ファイルを保存できません: {}", i18n::io_error_ja(e)),
        (En, BodyError::Read(e)) => format!("it was interrupted: {e}"),
        (Ja, BodyError::Read(e)) => format!("送信が途中で切れました（{}）", i18n::io_error_ja(e)),
    };
    match lang {
        En => format!("the upload failed ({why}); please try again"),
        Ja => format!("アップロードに失敗しました（{why}）。もう一度お試しください"),
    }
}

/// [`BodyError::Malformed`]'s fixed reasons.
fn malformed_ja(m: &str) -> &str {
    match m {
        "the body ends early" => "途中で終わっています",
        "a part is larger than allowed" => "許される大きさを超える部分があります",
        "a file is shorter than announced" => "ファイルが予告された長さより短いです",
        "bytes after the last file" => "最後のファイルの後に余分なデータがあります",
        other => other,
    }
}

/// `ja` → Japanese, anything else → English.
pub fn lang_of(s: Option<&str>) -> Lang {
    match s {
        Some(l) if l.starts_with("ja") => Lang::Ja,
        _ => Lang::En,
    }
}

/// The `lang=` of a query string, if there is one.
pub fn query_lang(query: &str) -> Option<Lang> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .map(|l| lang_of(Some(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_kana(s: &str) -> bool {
        s.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))
    }

    #[test]
    fn every_message_has_both_languages() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let body = [
            BodyError::Malformed("the body ends early"),
            BodyError::Malformed("a part is larger than allowed"),
            BodyError::Malformed("a file is shorter than announced"),
            BodyError::Malformed("bytes after the last file"),
            BodyError::Read(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            BodyError::Store(std::io::Error::from(std::io::ErrorKind::StorageFull)),
            BodyError::Options(serde_json::from_str::<u8>("x").unwrap_err()),
        ];
        let mut all = vec![
            Text::Forbidden,
            Text::NotFound,
            Text::TooLarge(1),
            Text::NoLength,
            Text::NoTempDir(&io),
            Text::CannotKeep("a-signed.pdf", &io),
            Text::CannotStart(&io),
            Text::ChildDied,
            Text::NoFiles,
            Text::DownloadGone,
            Text::Started("http://127.0.0.1:1/"),
            Text::Stopped,
        ];
        all.extend(body.iter().map(Text::BadUpload));
        for t in &all {
            let (ja, en) = (t.text(Lang::Ja), t.text(Lang::En));
            assert!(has_kana(&ja), "{ja}");
            assert!(!has_kana(&en), "{en}");
            // The Japanese names the problem in Japanese, not only around an English detail.
            assert!(
                !ja.contains("No such file") && !ja.contains("ends early"),
                "{ja}"
            );
        }
        assert!(Text::CannotKeep("a-signed.pdf", &io)
            .text(Lang::Ja)
            .contains("a-signed.pdf"));
    }

    #[test]
    fn the_query_carries_the_language() {
        assert_eq!(query_lang("lang=ja"), Some(Lang::Ja));
        assert_eq!(query_lang("x=1&lang=en"), Some(Lang::En));
        assert_eq!(query_lang(""), None);
    }
}
