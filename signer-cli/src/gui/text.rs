//! The server's own messages, in both languages side by side (as
//! [`crate::i18n`] does for the CLI); card and PDF messages come from the CLI.

use crate::i18n::Lang;

/// A message of the web server.
pub enum Text<'a> {
    Forbidden,
    NotFound,
    TooLarge(u64),
    BadUpload(&'a str),
    NoFiles,
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
            (En, BadUpload(e)) => format!("the upload failed ({e}); please try again"),
            (Ja, BadUpload(e)) => format!("アップロードに失敗しました（{e}）。もう一度お試しください"),
            (En, NoFiles) => "choose at least one PDF file".into(),
            (Ja, NoFiles) => "PDFファイルを1つ以上選んでください".into(),
            (En, DownloadGone) => "this file was already downloaded or has expired; sign again".into(),
            (Ja, DownloadGone) => "このファイルはダウンロード済みか期限切れです。もう一度署名してください".into(),
            (En, Started(u)) => format!("jpki-sign gui: the page is open in your browser ({u}); close it to stop"),
            (Ja, Started(u)) => format!("jpki-sign gui: ブラウザでページを開きました（{u}）。ページを閉じると終了します"),
            (En, Stopped) => "jpki-sign gui: stopped".into(),
            (Ja, Stopped) => "jpki-sign gui: 終了しました".into(),
        }
    }
}

/// `ja` → Japanese, anything else → English.
pub fn lang_of(s: Option<&str>) -> Lang {
    match s {
        Some(l) if l.starts_with("ja") => Lang::Ja,
        _ => Lang::En,
    }
}
