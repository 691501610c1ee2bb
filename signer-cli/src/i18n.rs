//! Messages in Japanese or English, chosen by the locale.
//!
//! The language is decided once per run ([`lang`]): `--lang en|ja` if given,
//! else the first non-empty of `LC_ALL`, `LC_MESSAGES`, `LANG` (gettext's
//! order); Japanese when that value starts with `ja` (`ja_JP.UTF-8`, `ja`),
//! English otherwise, also for `C`, `POSIX` or nothing set.
//!
//! What is translated: everything a card owner reads in normal use — the
//! one-line error of [`crate::error::report`] (every [`CardError`] variant, file
//! errors, the common usage errors), the PIN prompts, and the result lines of
//! `card`, `pin status`, `pin change`, `sign`, `verify`, `cms sign` and
//! `cms verify`, and why jpki-pdf refuses a file or a signature (its
//! free-text reasons, matched as patterns in [`reason`]). Every message is a
//! variant of [`Msg`] with both languages side by side in one `match`, so a
//! message cannot exist in one language only. `jpki-sign gui` runs these
//! commands with `--lang` set to the page's language, so the page shows the
//! same texts.
//!
//! What it refuses to do: translate `--help`, the man page and clap's own
//! usage errors (they stay English; the top-level help says messages follow
//! `LANG`); change `--json` output (keys and values stay English for
//! scripts); translate technical details that come from elsewhere (OpenSSL,
//! lopdf, the OS) — those are embedded as given inside a translated sentence. No message takes a PIN or personal data as a parameter.
//! The card crate's English texts are not touched: [`card_error`] maps each
//! variant here.
//!
//! Written by hand rather than with gettext or fluent: about fifty fixed
//! messages in two languages do not need catalog files, a build step or a
//! runtime loader, and a Rust `match` makes the compiler check that every
//! message has its parameters in both languages.

mod reasons;

pub use reasons::{change, reason};

use jpki_card::{CardError, PinKind, TokenKind};
use jpki_cms::Chain;
use jpki_pdf::Level;
use jpki_pdf::Lock;
use std::fmt;
use std::sync::OnceLock;

/// The language of the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// 日本語.
    Ja,
}

static LANG: OnceLock<Lang> = OnceLock::new();

/// The language from a locale lookup (`LC_ALL`, then `LC_MESSAGES`, then
/// `LANG`; an empty value counts as unset, as in gettext).
pub fn detect(get: impl Fn(&str) -> Option<String>) -> Lang {
    let value = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|k| get(k).filter(|v| !v.is_empty()));
    match value {
        Some(v) if v.starts_with("ja") => Lang::Ja,
        _ => Lang::En,
    }
}

/// Fixes the language for this run (`--lang`, or the environment when `None`).
/// Called once by `main` before anything is printed; later calls change nothing.
pub fn init(choice: Option<Lang>) {
    let _ = LANG.set(choice.unwrap_or_else(|| detect(|k| std::env::var(k).ok())));
}

/// The language of this run. Unit tests that never call [`init`] get English,
/// whatever the developer's locale.
pub fn lang() -> Lang {
    *LANG.get().unwrap_or(&Lang::En)
}

/// A PIN's name as the card owner knows it.
pub fn pin_name(kind: PinKind, lang: Lang) -> String {
    match lang {
        Lang::En => kind.to_string(),
        Lang::Ja => match kind {
            PinKind::Auth => "利用者証明用暗証番号",
            PinKind::Sign => "署名用パスワード",
            PinKind::Text => "券面事項入力補助用暗証番号",
        }
        .to_string(),
    }
}

fn token_name(t: &TokenKind, lang: Lang) -> String {
    match (lang, t) {
        (Lang::Ja, TokenKind::MyNumberCard) => "マイナンバーカード（JPKIAPICCTOKEN2）".into(),
        (Lang::Ja, TokenKind::SmartphoneAndroid) => {
            "スマホ用電子証明書、Android（JPKIAPGPSETOKEN）".into()
        }
        (Lang::Ja, TokenKind::SmartphoneIos) => {
            "スマホ用電子証明書、iPhone（JPKIAPIOSTOKEN）".into()
        }
        (Lang::Ja, TokenKind::JukiCard) => "住民基本台帳カード（JPKIAPICCTOKEN）".into(),
        (Lang::Ja, TokenKind::Unknown(l)) => format!("不明なJPKIトークン（{l:?}）"),
        _ => t.to_string(),
    }
}

/// The card crate's fixed reasons for [`CardError::BadPinFormat`].
fn pin_format_reason_ja(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "must be exactly 4 digits" => "数字4桁で入力してください",
        "may contain only letters A-Z and digits 0-9" => "使える文字は英字A〜Zと数字0〜9だけです",
        "must be 6 to 16 characters long" => "6〜16文字で入力してください",
        "the new PIN is of another kind" => "新しい暗証番号の種類が違います",
        "the card refused the new value's format" => "カードが新しい値の形式を受け付けませんでした",
        _ => return None,
    })
}

/// The Japanese text of a card error; `None` for a variant added to the card
/// crate after this table was written (the caller then shows the English).
pub fn card_error_ja(e: &CardError) -> Option<String> {
    let pin = |p: &PinKind| pin_name(*p, Lang::Ja);
    Some(match e {
        CardError::NoService => "PC/SCサービス（pcscd）に接続できません。pcscdを起動して（例: `systemctl start pcscd.socket` または `pcscd`）もう一度実行してください".into(),
        CardError::NoReaders => "ICカードリーダーが見つかりません。リーダーを接続してもう一度実行してください".into(),
        CardError::NoReaderMatches { filter, available } => {
            format!("「{filter}」を含む名前のリーダーがありません。接続されているリーダー: {available}")
        }
        CardError::NoCard { reader } => format!(
            "リーダー「{reader}」にカードがありません。マイナンバーカードを置いてもう一度実行してください"
        ),
        CardError::OnlyVirtualReaders { skipped } => format!(
            "実在のリーダーにマイナンバーカードが見つかりません。仮想（ソフトウェア）リーダー {skipped} は使いません（そのカードはプログラムが作ったものかもしれません）。意図して使うときは --reader、reader= または環境変数 JPKI_READER でリーダーを指定してください"
        ),
        CardError::NotJpki { reader } => format!(
            "リーダー「{reader}」のカードはマイナンバーカードではありません（公的個人認証（JPKI）のアプリケーションがありません）"
        ),
        CardError::UnsupportedToken { reader, token } => format!(
            "リーダー「{reader}」のカードは{}で、jpkiは対応していません。マイナンバーカードを使ってください",
            token_name(token, Lang::Ja)
        ),
        CardError::CardRemoved => "処理中にカードが取り外されたかリセットされました。カードを置き直してもう一度実行してください（特に表示がなければ暗証番号の残り回数は減っていません）".into(),
        CardError::ReaderGone { reader } => format!("処理中にリーダー「{reader}」が見えなくなりました（取り外されましたか）。接続し直してもう一度実行してください（特に表示がなければ暗証番号の残り回数は減っていません）"),
        CardError::CardReset => "処理中に別のプログラムがカードをリセットしました。もう一度実行してください".into(),
        CardError::BadPinFormat { pin: p, reason } => format!(
            "{}: {}（カードには何も送っていないため、残り回数は減っていません）",
            pin(p),
            pin_format_reason_ja(reason).unwrap_or(reason)
        ),
        CardError::WrongPin { pin: p, left } => {
            format!("{}が違います（残り{}回）", pin(p), left.get())
        }
        CardError::Blocked { pin: p } => format!(
            "{}はロックされています（残り0回）。ロックの解除は市区町村の窓口でのみできます",
            pin(p)
        ),
        CardError::LastTryRefused { pin: p } => format!(
            "{}の残り回数が1回のため、カードがロックされないよう入力しませんでした。間違いないときは --force-last-try を付けてもう一度実行してください",
            pin(p)
        ),
        CardError::NotVerified { pin: p } => format!(
            "{}が照合されていないため、カードが操作を拒否しました",
            pin(p)
        ),
        CardError::Unexpected { op, sw } => format!(
            "カードが{op}に対して{sw}を返しました。カードの故障か、マイナンバーカードではない可能性があります"
        ),
        CardError::PssUnsupported => "このカードはRSA-PSS署名ができません。PKCS#1 v1.5を使ってください（TLSではTLS 1.2まで、署名アルゴリズムはRSA+SHA256）".into(),
        CardError::Malformed { what } => {
            format!("カードが返した{what}のデータが正しくありません")
        }
        CardError::Pcsc(s) => format!("PC/SCのエラー: {s}"),
        CardError::ServiceLost => "処理の途中でPC/SCサービス（pcscd）との接続が切れました（停止または再起動）。pcscdが動いてからもう一度実行してください（表示がない限り暗証番号の試行回数は減っていません）".into(),
        CardError::NoAnswer => "コマンドの途中でカードが外れたか接触が切れました（リーダーから応答がありません）。カードを置き直してもう一度実行してください（表示がない限り暗証番号の試行回数は減っていません）".into(),
        CardError::LostDuringVerify { pin: p } => format!(
            "{}の確認中にカードが外れたか接触が切れました。入力が誤っていた場合はカードが1回分を数えた可能性があります。残り回数はカードを戻すと表示されます（再試行はしていません）",
            pin(p)
        ),
        CardError::LostDuringChange { pin: p } => format!(
            "{}の変更中にカードが外れたか接触が切れました。変更されたかどうかは分かりません。古い値と新しい値のどちらも有効な可能性があります",
            pin(p)
        ),
        CardError::Truncated { what, got, expected } => format!(
            "リーダーが{what}の{expected}バイトのうち{got}バイトしか渡しませんでした。ちょうど256バイトの応答を渡せないリーダー（非接触型に多い）があります。別のリーダーを使ってください"
        ),
        _ => return None,
    })
}

/// A card error in the language of this run.
pub fn card_error(e: &CardError, lang: Lang) -> String {
    match lang {
        Lang::Ja => card_error_ja(e).unwrap_or_else(|| e.to_string()),
        Lang::En => e.to_string(),
    }
}

/// An OS error in Japanese for the common kinds, else as the OS says it.
pub fn io_error_ja(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "ファイルまたはディレクトリがありません".into(),
        K::PermissionDenied => "アクセスが拒否されました".into(),
        K::AlreadyExists => "すでに存在します".into(),
        K::IsADirectory => "ディレクトリです".into(),
        K::StorageFull => "ディスクの空きがありません".into(),
        _ => e.to_string(),
    }
}

/// Names the CLI uses in place of a file path.
fn path_ja(path: &str) -> &str {
    match path {
        "standard input" => "標準入力",
        "standard output" => "標準出力",
        "the terminal" => "端末",
        p => p,
    }
}

/// A file error (`CliError::Io`) in the language of this run.
pub fn io_error(what: &str, path: &str, source: &std::io::Error, lang: Lang) -> String {
    if lang == Lang::En {
        return format!("{what} {path}: {source}");
    }
    let p = path_ja(path);
    let e = io_error_ja(source);
    match what {
        "cannot read" => format!("{p}を読み込めません: {e}"),
        "cannot read PIN file" => format!("暗証番号のファイル{p}を読み込めません: {e}"),
        "cannot read the CA file" => format!("CA証明書のファイル{p}を読み込めません: {e}"),
        "cannot write" => format!("{p}に書き込めません: {e}"),
        "cannot create a file next to" => format!("{p}と同じ場所にファイルを作れません: {e}"),
        other => format!("{other} {p}: {e}"),
    }
}

/// Labels of the `verify` and `cms verify` report lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The signer certificate's subject.
    Signer,
    /// The time the signer claims.
    SigningTime,
    /// An RFC 3161 timestamp.
    Timestamp,
    /// The `/SubFilter`.
    Type,
    /// The `/ByteRange`.
    ByteRange,
    /// Whether bytes follow the signed range.
    Changed,
    /// Whether the content matches (`cms verify`).
    Content,
    /// The signature check.
    Signature,
    /// The certificate chain.
    Certificate,
    /// The verdict.
    Result,
    /// Something the reader should check although the signature is valid.
    Warning,
    /// What the signature allows later revisions to change.
    Permissions,
}

impl Field {
    fn label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, Field::Signer) => "Signer",
            (Lang::En, Field::SigningTime) => "Signing time",
            (Lang::En, Field::Timestamp) => "Timestamp",
            (Lang::En, Field::Type) => "Type",
            (Lang::En, Field::ByteRange) => "Byte range",
            (Lang::En, Field::Changed) => "Changed after signing",
            (Lang::En, Field::Content) => "Content",
            (Lang::En, Field::Signature) => "Signature",
            (Lang::En, Field::Certificate) => "Certificate",
            (Lang::En, Field::Result) => "Result",
            (Lang::En, Field::Warning) => "WARNING",
            (Lang::En, Field::Permissions) => "Allows",
            (Lang::Ja, Field::Signer) => "署名者",
            (Lang::Ja, Field::SigningTime) => "署名時刻",
            (Lang::Ja, Field::Timestamp) => "タイムスタンプ",
            (Lang::Ja, Field::Type) => "形式",
            (Lang::Ja, Field::ByteRange) => "署名範囲",
            (Lang::Ja, Field::Changed) => "署名後の変更",
            (Lang::Ja, Field::Content) => "内容",
            (Lang::Ja, Field::Signature) => "署名",
            (Lang::Ja, Field::Certificate) => "証明書",
            (Lang::Ja, Field::Result) => "結果",
            (Lang::Ja, Field::Warning) => "注意",
            (Lang::Ja, Field::Permissions) => "許可",
        }
    }
}

/// The labels of `card basic4` (the values, personal data, are printed by the
/// caller and never pass through this module), and the sex code's meaning.
pub fn basic4_labels(lang: Lang) -> [&'static str; 4] {
    match lang {
        Lang::En => ["Name:    ", "Address: ", "Birth:   ", "Sex:     "],
        Lang::Ja => ["氏名: ", "住所: ", "生年月日: ", "性別: "],
    }
}

/// The meaning of the 基本4情報 sex code (ISO/IEC 5218), if it is one.
pub fn sex_code(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match (lang, code) {
        (Lang::En, "1") => "1 (male)",
        (Lang::En, "2") => "2 (female)",
        (Lang::En, "9") => "9 (not applicable)",
        (Lang::En, "0") => "0 (unknown)",
        (Lang::Ja, "1") => "1（男性）",
        (Lang::Ja, "2") => "2（女性）",
        (Lang::Ja, "9") => "9（適用不能）",
        (Lang::Ja, "0") => "0（不明）",
        _ => return None,
    })
}

/// Every fixed message of the CLI, with its parameters.
#[derive(Debug, Clone, Copy)]
pub enum Msg<'a> {
    /// Prefix of the one error line (`jpki-sign: error: …`).
    ErrorPrefix,
    /// Terminal prompt for a PIN, with the tries left if known.
    PinPrompt(PinKind, Option<u8>),
    /// Prompt for a new PIN.
    NewPinPrompt(PinKind),
    /// Prompt to repeat the new PIN.
    RepeatPinPrompt(PinKind),
    /// A PIN is needed and there is no terminal.
    NoTerminal(PinKind),
    /// A new PIN is needed and there is no terminal.
    NoTerminalNew(PinKind),
    /// The two entries of a new PIN differ.
    NewPinsDiffer,
    /// An output file exists and `--force` was not given.
    OutputExists(&'a str),
    /// `card`: the reader line.
    CardReader(&'a str),
    /// `card`: the card line.
    CardKind(&'a TokenKind),
    /// `pin status`: a blocked PIN.
    PinBlocked(PinKind),
    /// `pin status`: one try left.
    PinLastTry(PinKind),
    /// `pin status`: tries left of max.
    PinTries(PinKind, u8),
    /// `pin status`: verified in this session.
    PinVerified(PinKind),
    /// `pin status`: a PIN this token lacks or whose application answered an error.
    PinUnavailable(PinKind),
    /// `pin change` done.
    PinChanged(PinKind),
    /// PDF `sign`: one output written (input, output, field).
    PdfSigned(&'a str, &'a str, &'a str),
    /// `cms sign`: output written (input, output).
    CmsSigned(&'a str, &'a str),
    /// `verify`: heading of one signature (file, number, count, field).
    VerifySigHeading(&'a str, usize, usize, &'a str),
    /// A labelled report line: `Label:       value`.
    Line(Field, &'a str),
    /// `verify`: the claimed signing time (not a timestamp).
    ClaimedTime(&'a str),
    /// `cms verify`: the claimed signing time.
    ClaimedTimeCms(&'a str),
    /// `verify`: the byte range covers the whole file except its /Contents.
    CoversWholeFile,
    /// `verify`: the byte range covers its revision except its /Contents.
    CoversRevision,
    /// `verify`: the byte range is explained by the problem below.
    SeeBelow,
    /// `verify`: nothing was appended after signing.
    NotChanged,
    /// `verify`: bytes appended later (count, all covered by later signatures).
    Appended(u64, bool),
    /// `cms verify`: the content matches.
    ContentMatches,
    /// `cms verify`: the signature checked.
    CmsSignatureValid,
    /// `verify`/`cms verify`: signature checked.
    VerifySignatureValid,
    /// `verify`/`cms verify`: a checked RFC 3161 timestamp (time, TSA, its chain).
    Timestamp(&'a jpki_cms::Timestamp),
    /// `cms verify`: a detached CMS given without its content.
    ContentMissing,
    /// `verify`/`cms verify`: the timestamp token does not verify (why, translated).
    InvalidTimestamp(&'a str),
    /// `verify`/`cms verify`: chain checked to the CA.
    VerifyChainTrusted(&'a str),
    /// `verify`/`cms verify`: chain not checked (`--ca` given for another file or not at all).
    VerifyChainNotChecked(bool),
    /// `verify`: result of one signature, valid with chain.
    VerifyResultValid,
    /// `verify`: result of one signature, valid without chain check.
    VerifyResultValidNoChain,
    /// `verify`: result of one signature, not valid (reason in English detail).
    VerifyResultInvalid(&'a str),
    /// `verify`: all signatures of a file are valid (file, count).
    VerifyAllValid(&'a str, usize),
    /// `verify`/`cms verify`: a file is not valid (file, reason).
    NotValid(&'a str, &'a str),
    /// `verify`: several files are not valid (count, first failure line).
    ManyNotValid(usize, &'a str),
    /// `cms verify`: the final line.
    CmsValid(&'a str),
    /// `verify`: bytes after the last valid signature (bytes, updates).
    TailAppended(u64, usize),
    /// `verify`: bytes after the last valid signature, and broken cross-reference data.
    TailBroken(u64),
    /// `verify`: a file without signatures.
    NoSignatures(&'a str),
    /// `verify`: signature dictionaries no field of the current revision refers to.
    SignaturesRemoved(&'a str, usize),
    /// `verify`/`cms verify`: the content's digest differs from messageDigest.
    DigestMismatch,
    /// `verify`/`cms verify`: the chain to `--ca` failed (CA file, OpenSSL's reason).
    NotChained(&'a str, &'a str),
    /// `verify`: what a later signed revision changed beyond what the
    /// signature allows (the list, in English terms; the level it allows).
    LaterRevisionChanged(&'a str, Level),
    /// `verify`: one kind of change in a later revision (level, the fields or
    /// objects in English terms).
    ChangeKind(Level, &'a str),
    /// `verify`: one later revision (number, signer, field, the kinds of
    /// change, whether this signature allows them).
    RevisionChanges((usize, usize), &'a str, &'a str, &'a str, bool),
    /// `verify`: annotations were added after an approval signature.
    AnnotationsAfterSigning,
    /// `verify`: what a signature allows (its level, certification P, lock).
    Allows(Level, Option<u8>, Option<&'a Lock>),
    /// A file that is not a PDF.
    NotPdf(&'a str),
    /// An encrypted PDF.
    EncryptedPdf(&'a str),
    /// A PDF a signature cannot be added to (file, reason already in the language).
    CannotSign(&'a str, &'a str),
    /// `sign`: an output that would be written twice or over an input.
    WrittenTwice(&'a str),
    /// `sign`: a `--stamp-rect` that is not four numbers X,Y,W,H (W, H > 0).
    BadStampRect(&'a str),
    /// `sign`: the card's signature does not verify with its certificate's key.
    WrongKey,
    /// `sign`: `-o` with several input files.
    OutputWithSeveral,
    /// `verify`: the stderr note on signature dictionaries no field refers
    /// to (file, `/ByteRange` count, signatures with a field).
    UnreferencedByteRanges(&'a str, usize, usize),
    /// `pin change`: the same file for the current and the new PIN.
    SamePinFiles,
    /// `cert`: DER to a terminal.
    DerToTerminal,
    /// `ssh pubkey`: a comment of several lines.
    CommentOneLine,
    /// `ssh agent`: `--pin-file -`.
    AgentPinFileDash,
    /// `ssh agent`: no way to ask for the auth PIN.
    AgentNoPinSource,
    /// `--ca FILE` holds no PEM certificate (the file).
    CaNoPem(&'a str),
    /// `uri-key`: a URI that names no key (the URI).
    NotAKey(&'a str),
    /// `cms verify`: a PEM block that cannot be decoded (the decoder's reason).
    MalformedPem(&'a str),
    /// `cms verify`: a PEM label other than CMS or PKCS7 (the label).
    PemLabel(&'a str),
}

impl Msg<'_> {
    /// The message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        use Lang::{En, Ja};
        use Msg::*;
        let pin = |k: &PinKind| pin_name(*k, lang);
        match (lang, self) {
            (En, Line(f, v)) => {
                let label = [f.label(En), ":"].concat();
                format!("{label:<13} {v}")
            }
            (Ja, Line(f, v)) => format!("{}: {v}", f.label(Ja)),
            (En, ClaimedTime(t)) => format!("{t} (claimed by the signer, not a timestamp)"),
            (Ja, ClaimedTime(t)) => format!("{t}（署名者の申告。タイムスタンプではありません）"),
            (En, ClaimedTimeCms(t)) => format!("{t} (claimed by the signer)"),
            (Ja, ClaimedTimeCms(t)) => format!("{t}（署名者の申告）"),
            (En, CoversWholeFile) => "the whole file except its own /Contents".into(),
            (Ja, CoversWholeFile) => "自身の /Contents を除くファイル全体".into(),
            (En, CoversRevision) => "its revision except its own /Contents".into(),
            (Ja, CoversRevision) => "自身の /Contents を除く、その版まで".into(),
            (En, SeeBelow) => "see below".into(),
            (Ja, SeeBelow) => "下記参照".into(),
            (En, NotChanged) => "no".into(),
            (Ja, NotChanged) => "なし".into(),
            (En, Appended(n, covered)) => format!(
                "{n} bytes were appended later{}",
                if *covered { " (incremental updates covered by later signatures, compared object by object: see each revision below)" } else { "" }
            ),
            (Ja, Appended(n, covered)) => format!(
                "署名後に{n}バイトが追加されています{}",
                if *covered { "（後の署名が対象とする追記。オブジェクトごとに比較した結果は版ごとに下記）" } else { "" }
            ),
            (En, ContentMatches) => "matches the signed SHA-256 digest".into(),
            (Ja, ContentMatches) => "署名されたSHA-256ハッシュ値と一致".into(),
            (En, CmsSignatureValid) => "valid (RSA PKCS#1 v1.5, SHA-256)".into(),
            (Ja, CmsSignatureValid) => "有効（RSA PKCS#1 v1.5、SHA-256）".into(),
            (En, ErrorPrefix) => "error".into(),
            (Ja, ErrorPrefix) => "エラー".into(),
            (En, PinPrompt(k, Some(1))) => format!("Enter your {} (1 try left): ", pin(k)),
            (En, PinPrompt(k, Some(n))) => format!("Enter your {} ({n} tries left): ", pin(k)),
            (En, PinPrompt(k, None)) => format!("Enter your {}: ", pin(k)),
            (Ja, PinPrompt(k, Some(n))) => format!("{}（残り{n}回）: ", pin(k)),
            (Ja, PinPrompt(k, None)) => format!("{}: ", pin(k)),
            (En, NewPinPrompt(k)) => format!("New {}: ", pin(k)),
            (Ja, NewPinPrompt(k)) => format!("新しい{}: ", pin(k)),
            (En, RepeatPinPrompt(k)) => format!("Repeat the new {}: ", pin(k)),
            (Ja, RepeatPinPrompt(k)) => format!("新しい{}（確認のためもう一度）: ", pin(k)),
            (En, NoTerminal(k)) => format!("the {} is needed but there is no terminal to ask on; pass --pin-file FILE (or --pin-file - to read standard input)", pin(k)),
            (Ja, NoTerminal(k)) => format!("{}が必要ですが、入力を求める端末がありません。--pin-file FILE を指定してください（標準入力から読むときは --pin-file -）", pin(k)),
            (En, NoTerminalNew(k)) => format!("the new {} is needed but there is no terminal to ask on; pass --new-pin-file FILE", pin(k)),
            (Ja, NoTerminalNew(k)) => format!("新しい{}が必要ですが、入力を求める端末がありません。--new-pin-file FILE を指定してください", pin(k)),
            (En, NewPinsDiffer) => "the two entries of the new PIN differ; nothing was changed".into(),
            (Ja, NewPinsDiffer) => "新しい暗証番号が2回の入力で一致しません。何も変更していません".into(),
            (En, OutputExists(p)) => format!("{p} exists; choose another file or pass --force to overwrite it"),
            (Ja, OutputExists(p)) => format!("{p}はすでにあります。別のファイル名にするか、上書きするときは --force を付けてください"),
            (En, CardReader(r)) => format!("Reader: {r}"),
            (Ja, CardReader(r)) => format!("リーダー: {r}"),
            (En, CardKind(t)) => format!("Card:   {t}"),
            (Ja, CardKind(t)) => format!("カード:   {}", token_name(t, Ja)),
            (En, PinBlocked(k)) => format!("{}: BLOCKED — only the municipal office can unblock it", pin(k)),
            (Ja, PinBlocked(k)) => format!("{}: ロック中 — 解除は市区町村の窓口でのみできます", pin(k)),
            (En, PinLastTry(k)) => format!("{}: 1 of {} tries left — the next wrong entry blocks it", pin(k), k.max_tries()),
            (Ja, PinLastTry(k)) => format!("{}: 残り1回（最大{}回） — 次に間違えるとロックされます", pin(k), k.max_tries()),
            (En, PinTries(k, n)) => format!("{}: {n} of {} tries left", pin(k), k.max_tries()),
            (Ja, PinTries(k, n)) => format!("{}: 残り{n}回（最大{}回）", pin(k), k.max_tries()),
            (En, PinVerified(k)) => format!("{}: verified", pin(k)),
            (Ja, PinVerified(k)) => format!("{}: 照合済み", pin(k)),
            (En, PinUnavailable(k)) => format!("{}: unavailable (this token has no such PIN, or its application answered an error)", pin(k)),
            (Ja, PinUnavailable(k)) => format!("{}: 利用できません（このトークンにはないか、アプリケーションがエラーを返しました）", pin(k)),
            (En, PinChanged(k)) => format!("{} changed.", pin(k)),
            (Ja, PinChanged(k)) => format!("{}を変更しました。", pin(k)),
            (En, PdfSigned(i, o, f)) => format!("Signed {i} → {o} (field {f})"),
            (Ja, PdfSigned(i, o, f)) => format!("署名しました: {i} → {o}（フィールド {f}）"),
            (En, CmsSigned(i, o)) => format!("Signed {i} → {o}"),
            (Ja, CmsSigned(i, o)) => format!("署名しました: {i} → {o}"),
            (En, VerifySigHeading(f, i, n, field)) => format!("{f}: signature {i} of {n} (field {field})"),
            (Ja, VerifySigHeading(f, i, n, field)) => format!("{f}: 署名 {i}/{n}（フィールド {field}）"),
            (En, VerifySignatureValid) => "valid (digest of the signed bytes matches, RSA PKCS#1 v1.5 SHA-256)".into(),
            (Ja, VerifySignatureValid) => "有効（署名対象のハッシュ値が一致、RSA PKCS#1 v1.5 SHA-256）".into(),
            (En, Timestamp(t)) => format!(
                "{} (RFC 3161, TSA {}; {})",
                t.time,
                t.tsa,
                match &t.chain {
                    Chain::Trusted(ca) => format!("chains to trusted TSA CA {ca}"),
                    Chain::NotChecked => "TSA chain NOT checked: pass --tsa-ca FILE".into(),
                }
            ),
            (Ja, Timestamp(t)) => format!(
                "{}（RFC 3161、TSA {}。{}）",
                t.time,
                t.tsa,
                match &t.chain {
                    Chain::Trusted(ca) => format!("信頼するTSAのCA {ca} まで検証済み"),
                    Chain::NotChecked => "TSAの証明書チェーンは未検証（信頼するTSAのCAを --tsa-ca FILE で指定してください）".into(),
                }
            ),
            (En, ContentMissing) => "the CMS is detached: give the signed file with --content FILE".into(),
            (Ja, ContentMissing) => "このCMSは分離署名です。署名されたファイルを --content FILE で指定してください".into(),
            (En, InvalidTimestamp(why)) => format!("the timestamp token is not valid: {why}"),
            (Ja, InvalidTimestamp(why)) => format!("タイムスタンプトークンが無効です: {why}"),
            (En, VerifyChainTrusted(ca)) => format!("chains to trusted CA {ca}"),
            (Ja, VerifyChainTrusted(ca)) => format!("信頼するCA {ca} まで検証済み"),
            (En, VerifyChainNotChecked(true)) => "NOT checked".into(),
            (En, VerifyChainNotChecked(false)) => "NOT checked (pass --ca FILE with the trusted CA)".into(),
            (Ja, VerifyChainNotChecked(true)) => "未検証".into(),
            (Ja, VerifyChainNotChecked(false)) => "未検証（信頼するCAを --ca FILE で指定してください）".into(),
            (En, VerifyResultValid) => "VALID".into(),
            (Ja, VerifyResultValid) => "有効".into(),
            (En, VerifyResultValidNoChain) => "VALID (signature only)".into(),
            (Ja, VerifyResultValidNoChain) => "有効（署名のみ、証明書は未検証）".into(),
            (En, VerifyResultInvalid(p)) => format!("NOT VALID: {p}"),
            (Ja, VerifyResultInvalid(p)) => format!("無効: {p}"),
            (En, VerifyAllValid(f, n)) => format!("{f}: all {n} signature(s) valid."),
            (Ja, VerifyAllValid(f, n)) => format!("{f}: {n}件の署名はすべて有効です。"),
            (En, TailAppended(n, u)) => format!("{n} bytes ({u} incremental update(s)) were appended after the last valid signature: the document was changed after it was signed"),
            (Ja, TailAppended(n, u)) => format!("最後の有効な署名の後に{n}バイト（増分更新{u}件）が追加されています。署名後に文書が変更されました"),
            (En, TailBroken(n)) => format!("{n} bytes were appended after the last valid signature, and the file's cross-reference data is broken: the document was changed after it was signed"),
            (Ja, TailBroken(n)) => format!("最後の有効な署名の後に{n}バイトが追加され、相互参照情報も壊れています。署名後に文書が変更されました"),
            (En, NoSignatures(f)) => format!("{f} has no signatures"),
            (Ja, NoSignatures(f)) => format!("{f}には署名がありません"),
            (En, SignaturesRemoved(f, n)) => format!("{f} contains {n} signature dictionar(y/ies), but no signature field of the current revision refers to one: a later revision removed the signatures"),
            (Ja, SignaturesRemoved(f, n)) => format!("{f}には署名辞書が{n}個ありますが、現在の版の署名フィールドはどれも参照していません。後の版で署名が取り除かれています"),
            (En, DigestMismatch) => "the content's SHA-256 differs from the signed messageDigest: the signed data was changed".into(),
            (Ja, DigestMismatch) => "署名対象のSHA-256が署名時の値（messageDigest）と一致しません。署名後にデータが変更されています".into(),
            (En, NotChained(ca, why)) => format!("the signer certificate does not chain to a CA in {ca}: {why}"),
            (Ja, NotChained(ca, why)) => format!("署名者の証明書が{ca}のCAにつながりません: {why}"),
            (En, LaterRevisionChanged(list, allowed)) => format!("a later revision, covered only by a later signature, changed what this signature covers: {list} (this signature allows {})", level_name(*allowed, En)),
            (Ja, LaterRevisionChanged(list, allowed)) => format!("後の署名だけが対象とする後の版が、この署名の対象を変更しています: {list}（この署名が許すのは{}）", level_name(*allowed, Ja)),
            (En, ChangeKind(Level::None, _)) => "nothing that shows".into(),
            (Ja, ChangeKind(Level::None, _)) => "表示に関わる変更なし".into(),
            (En, ChangeKind(Level::Dss, _)) => "document metadata, validation data (DSS) or a document timestamp updated".into(),
            (Ja, ChangeKind(Level::Dss, _)) => "文書情報・検証情報（DSS）・文書タイムスタンプの更新".into(),
            (En, ChangeKind(Level::Signing, _)) => "a signature added".into(),
            (Ja, ChangeKind(Level::Signing, _)) => "署名の追加".into(),
            (En, ChangeKind(Level::FormFill, d)) => format!("field(s) {d} filled in"),
            (Ja, ChangeKind(Level::FormFill, d)) => format!("フィールド {d} への入力"),
            (En, ChangeKind(Level::Annotations, d)) => format!("annotations added, changed or deleted ({d})"),
            (Ja, ChangeKind(Level::Annotations, d)) => format!("注釈の追加・変更・削除（{d}）"),
            (En, ChangeKind(Level::Other, d)) => format!("other changes ({d})"),
            (Ja, ChangeKind(Level::Other, d)) => format!("その他の変更（{d}）"),
            (En, RevisionChanges(n, by, field, what, ok)) => format!(
                "{} (signed by {by}, field {field}): {what} — {}",
                match n { (a, b) if a >= b => format!("revision {b}"), (a, b) => format!("revisions {a}-{b}") },
                if *ok { "allowed by this signature" } else { "NOT allowed by this signature" }
            ),
            (Ja, RevisionChanges(n, by, field, what, ok)) => format!(
                "{}（{by} が署名、フィールド {field}）: {what} — {}",
                match n { (a, b) if a >= b => format!("第{b}版"), (a, b) => format!("第{a}〜{b}版") },
                if *ok { "この署名が許す変更" } else { "この署名が許さない変更" }
            ),
            (En, AnnotationsAfterSigning) => "annotations were added or changed after this signature (by a later signer). The PDF standard allows that after an approval signature, but an annotation can cover what the page shows: look at them (--strict refuses them)".into(),
            (Ja, AnnotationsAfterSigning) => "この署名の後（後の署名者により）注釈が追加・変更されています。承認署名の後の注釈はPDF規格上許されますが、注釈はページの表示を覆い隠せます。内容を確認してください（--strict で不可とします）".into(),
            (En, Allows(l, p, lock)) => format!(
                "{}: later changes allowed: {}{}",
                match p { Some(p) => format!("certification (DocMDP P={p})"), None => "approval".into() },
                level_name(*l, En),
                match lock {
                    None => String::new(),
                    Some(Lock::All) => "; all fields locked".into(),
                    Some(Lock::Include(f)) => format!("; fields locked: {}", f.join(", ")),
                    Some(Lock::Exclude(f)) => format!("; all fields locked except {}", f.join(", ")),
                }
            ),
            (Ja, Allows(l, p, lock)) => format!(
                "{}: 後の変更で許されるもの: {}{}",
                match p { Some(p) => format!("作成者署名（DocMDP P={p}）"), None => "承認署名".into() },
                level_name(*l, Ja),
                match lock {
                    None => String::new(),
                    Some(Lock::All) => "。全フィールドをロック".into(),
                    Some(Lock::Include(f)) => format!("。ロックされたフィールド: {}", f.join(", ")),
                    Some(Lock::Exclude(f)) => format!("。{} 以外の全フィールドをロック", f.join(", ")),
                }
            ),
            (En, NotValid(f, p)) => format!("{f}: NOT valid: {p}"),
            (Ja, NotValid(f, p)) => format!("{f}: 無効です: {p}"),
            (En, ManyNotValid(n, first)) => format!("{n} files are not valid; first: {first}"),
            (Ja, ManyNotValid(n, first)) => format!("{n}個のファイルが無効です。最初のもの: {first}"),
            (En, CmsValid(f)) => format!("{f}: CMS signature is valid."),
            (Ja, CmsValid(f)) => format!("{f}: CMS署名は有効です。"),
            (En, NotPdf(f)) => format!("{f} is not a PDF file (it does not start with %PDF-)"),
            (Ja, NotPdf(f)) => format!("{f}はPDFファイルではありません（%PDF- で始まっていません）"),
            (En, EncryptedPdf(f)) => format!("{f} is encrypted; encrypted PDFs cannot be signed (decrypt it first, e.g. `qpdf --decrypt IN OUT`)"),
            (Ja, EncryptedPdf(f)) => format!("{f}は暗号化されています。暗号化されたPDFには署名できません（先に復号してください。例: `qpdf --decrypt IN OUT`）"),
            (En, CannotSign(f, why)) => format!("cannot sign {f}: {why}"),
            (Ja, CannotSign(f, why)) => format!("{f}には署名できません: {why}"),
            (En, WrittenTwice(f)) => format!("{f} would be written twice or over an input"),
            (Ja, WrittenTwice(f)) => format!("{f}が2回書き込まれるか、入力ファイルを上書きしてしまいます。ファイル名を変えてください"),
            (En, WrongKey) => "the card's signature does not verify with the signer certificate's key; nothing was written".into(),
            (Ja, WrongKey) => "カードの署名が署名者の証明書の鍵で検証できません。何も書き込んでいません".into(),
            (En, OutputWithSeveral) => "-o/--output works with one input file; with several, each gets NAME-signed.pdf".into(),
            (Ja, OutputWithSeveral) => "-o/--output は入力ファイルが1つのときだけ使えます。複数のときは、それぞれ NAME-signed.pdf に書き出します".into(),
            (En, UnreferencedByteRanges(f, raw, n)) => format!("jpki-sign: note: {f} contains {raw} /ByteRange entries but {n} signature field(s) refer to signatures: the others belong to no field of the current revision and were not checked"),
            (Ja, UnreferencedByteRanges(f, raw, n)) => format!("jpki-sign: 注意: {f}には /ByteRange（署名範囲）が{raw}個ありますが、署名を参照する署名フィールドは{n}個です。残りは現在の版のどのフィールドにも属さないため、検証していません"),
            (En, SamePinFiles) => "--pin-file and --new-pin-file must be different files".into(),
            (Ja, SamePinFiles) => "--pin-file と --new-pin-file には別々のファイルを指定してください".into(),
            (En, DerToTerminal) => "refusing to write binary DER to a terminal; use -o FILE or --pem".into(),
            (Ja, DerToTerminal) => "バイナリのDERは端末に書き出しません。-o FILE か --pem を指定してください".into(),
            (En, CommentOneLine) => "the comment must be a single line".into(),
            (Ja, CommentOneLine) => "コメントは1行にしてください".into(),
            (En, AgentPinFileDash) => "the agent reads its PIN file each time it needs the PIN; pass a file path, not `-`".into(),
            (Ja, AgentPinFileDash) => "エージェントは暗証番号が必要になるたびにPINファイルを読みます。`-` ではなくファイルのパスを指定してください".into(),
            (En, AgentNoPinSource) => "the agent needs a way to ask for the auth PIN: pass --pin-file FILE, set SSH_ASKPASS, or start it on a terminal".into(),
            (Ja, AgentNoPinSource) => "エージェントには利用者証明用暗証番号を尋ねる手段が必要です。--pin-file FILE を指定するか、SSH_ASKPASS を設定するか、端末から起動してください".into(),
            (En, CaNoPem(f)) => format!("{f} holds no PEM certificate (--ca wants the trusted CA certificates as PEM)"),
            (Ja, CaNoPem(f)) => format!("{f}にPEM形式の証明書がありません（--ca には信頼するCAの証明書をPEM形式で指定してください）"),
            (En, NotAKey(u)) => format!("{u} is not a key; use jpki:auth or jpki:sign"),
            (Ja, NotAKey(u)) => format!("{u}は鍵ではありません。jpki:auth か jpki:sign を指定してください"),
            (En, MalformedPem(e)) => format!("malformed PEM: {e}"),
            (Ja, MalformedPem(e)) => format!("PEM形式が壊れています: {e}"),
            (En, PemLabel(l)) => format!("PEM label {l} is not CMS or PKCS7"),
            (Ja, PemLabel(l)) => format!("PEMのラベル {l} がCMSでもPKCS7でもありません"),
            (En, BadStampRect(r)) => format!("--stamp-rect {r:?}: expected four numbers X,Y,W,H in points, X and Y not negative, W and H > 0"),
            (Ja, BadStampRect(r)) => format!("--stamp-rect {r:?}: 署名欄の位置はポイント単位の4つの数値 X,Y,W,H で指定してください（X、Yは0以上、W、Hは0より大きい値）"),
        }
    }
}

/// What a modification level allows, in words.
pub fn level_name(l: Level, lang: Lang) -> &'static str {
    match (lang, l) {
        (Lang::En, Level::None) => "no changes",
        (Lang::En, Level::Dss) => "no changes except validation data (DSS) and document timestamps",
        (Lang::En, Level::Signing) => "signing",
        (Lang::En, Level::FormFill) => "form filling and signing",
        (Lang::En, Level::Annotations) => "form filling, signing and annotations",
        (Lang::En, Level::Other) => "any change",
        (Lang::Ja, Level::None) => "変更なし",
        (Lang::Ja, Level::Dss) => "検証情報（DSS）と文書タイムスタンプの追加のみ",
        (Lang::Ja, Level::Signing) => "署名",
        (Lang::Ja, Level::FormFill) => "フォーム入力と署名",
        (Lang::Ja, Level::Annotations) => "フォーム入力、署名と注釈",
        (Lang::Ja, Level::Other) => "すべての変更",
    }
}

impl fmt::Display for Msg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(lang()))
    }
}

/// A jpki-pdf error in the run's language (the library's texts are English).
pub fn pdf_error(e: &jpki_pdf::Error) -> String {
    pdf_error_in(e, lang())
}

/// A jpki-pdf error in `lang`; free-text reasons through [`reason`].
pub fn pdf_error_in(e: &jpki_pdf::Error, lang: Lang) -> String {
    use jpki_pdf::Error as E;
    match e {
        E::NotPdf { name } => Msg::NotPdf(name).text(lang),
        E::Encrypted { name } => Msg::EncryptedPdf(name).text(lang),
        E::NoSignatures { name } => Msg::NoSignatures(name).text(lang),
        E::SignaturesRemoved { name, count } => Msg::SignaturesRemoved(name, *count).text(lang),
        E::Io { name, source } => io_error("cannot read", name, source, lang),
        E::CannotSign { name, reason: why } => Msg::CannotSign(name, &reason(why, lang)).text(lang),
        E::Invalid(why) => reason(why, lang),
        other => other.to_string(),
    }
}

/// Why a CMS signature is not valid, in the run's language.
pub fn verify_error(e: &jpki_cms::VerifyError) -> String {
    use jpki_cms::VerifyError as E;
    match e {
        E::DigestMismatch => Msg::DigestMismatch.to_string(),
        E::NotChained { ca, reason } => Msg::NotChained(ca, reason).to_string(),
        E::Invalid(why) => reason(why, lang()),
        E::ContentMissing => Msg::ContentMissing.to_string(),
        E::InvalidTimestamp(why) => Msg::InvalidTimestamp(&verify_error(why)).to_string(),
        other => other.to_string(),
    }
}

/// Why a PDF signature is not valid, in the run's language.
pub fn pdf_problem(p: &jpki_pdf::verify::Problem) -> String {
    use jpki_pdf::verify::Problem as P;
    match p {
        P::Cms(e) => verify_error(e),
        P::LaterRevisionChanged { changes, allowed } => {
            let list: Vec<String> = changes.iter().map(|c| change(c, lang())).collect();
            Msg::LaterRevisionChanged(&list.join("; "), *allowed).to_string()
        }
        P::Invalid(why) => reason(why, lang()),
        other => other.to_string(),
    }
}

/// What follows the last valid signature of a PDF, in the run's language.
pub fn pdf_tail(t: &jpki_pdf::verify::Tail) -> String {
    use jpki_pdf::verify::Tail as T;
    match t {
        T::Appended { bytes, updates } => Msg::TailAppended(*bytes, *updates).to_string(),
        T::Broken { bytes } => Msg::TailBroken(*bytes).to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpki_apdu::StatusWord;
    use jpki_card::Tries;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn detection_follows_gettext_precedence() {
        assert_eq!(detect(env(&[])), Lang::En);
        assert_eq!(detect(env(&[("LANG", "ja_JP.UTF-8")])), Lang::Ja);
        assert_eq!(detect(env(&[("LANG", "ja")])), Lang::Ja);
        assert_eq!(detect(env(&[("LANG", "C")])), Lang::En);
        assert_eq!(detect(env(&[("LANG", "POSIX")])), Lang::En);
        assert_eq!(detect(env(&[("LANG", "C.UTF-8")])), Lang::En);
        assert_eq!(detect(env(&[("LANG", "en_US.UTF-8")])), Lang::En);
        // LC_MESSAGES beats LANG, LC_ALL beats both.
        let both = [("LANG", "C"), ("LC_MESSAGES", "ja_JP.UTF-8")];
        assert_eq!(detect(env(&both)), Lang::Ja);
        let both = [("LANG", "ja_JP.UTF-8"), ("LC_MESSAGES", "C")];
        assert_eq!(detect(env(&both)), Lang::En);
        let all = [
            ("LANG", "ja_JP.UTF-8"),
            ("LC_MESSAGES", "ja_JP.UTF-8"),
            ("LC_ALL", "C"),
        ];
        assert_eq!(detect(env(&all)), Lang::En);
        let all = [
            ("LANG", "C"),
            ("LC_MESSAGES", "C"),
            ("LC_ALL", "ja_JP.eucJP"),
        ];
        assert_eq!(detect(env(&all)), Lang::Ja);
        // Empty counts as unset.
        let empty = [("LC_ALL", ""), ("LC_MESSAGES", ""), ("LANG", "ja_JP.UTF-8")];
        assert_eq!(detect(env(&empty)), Lang::Ja);
    }

    #[test]
    fn unit_tests_default_to_english() {
        assert_eq!(lang(), Lang::En);
    }

    fn every_card_error() -> Vec<CardError> {
        let r = || "Virtual PCD 00 01".to_string();
        vec![
            CardError::NoService,
            CardError::NoReaders,
            CardError::NoReaderMatches {
                filter: "X".into(),
                available: r(),
            },
            CardError::NoCard { reader: r() },
            CardError::OnlyVirtualReaders {
                skipped: format!("\"{}\"", r()),
            },
            CardError::NotJpki { reader: r() },
            CardError::UnsupportedToken {
                reader: r(),
                token: TokenKind::JukiCard,
            },
            CardError::CardRemoved,
            CardError::ReaderGone { reader: "r".into() },
            CardError::CardReset,
            CardError::BadPinFormat {
                pin: PinKind::Sign,
                reason: "must be 6 to 16 characters long",
            },
            CardError::WrongPin {
                pin: PinKind::Sign,
                left: Tries::new(4),
            },
            CardError::Blocked { pin: PinKind::Auth },
            CardError::LastTryRefused { pin: PinKind::Sign },
            CardError::NotVerified { pin: PinKind::Auth },
            CardError::Unexpected {
                op: "SELECT",
                sw: StatusWord(0x6A82),
            },
            CardError::PssUnsupported,
            CardError::Malformed { what: "EF 0006" },
            CardError::Pcsc("x".into()),
            CardError::ServiceLost,
            CardError::NoAnswer,
            CardError::LostDuringVerify { pin: PinKind::Sign },
            CardError::LostDuringChange { pin: PinKind::Auth },
            CardError::Truncated {
                what: "a signature",
                got: 255,
                expected: 256,
            },
        ]
    }

    fn has_kana(s: &str) -> bool {
        s.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))
    }

    #[test]
    fn every_card_error_has_a_japanese_text() {
        let all = every_card_error();
        // The list above must cover the card crate's enum: one `#[error` per variant.
        let source = include_str!("../../card/src/error.rs");
        assert_eq!(
            all.len(),
            source.matches("#[error").count(),
            "card/src/error.rs has a variant this test (and maybe card_error_ja) lacks"
        );
        for e in &all {
            let ja = card_error_ja(e).unwrap_or_else(|| panic!("no Japanese text for {e:?}"));
            assert!(has_kana(&ja), "{e:?}: {ja}");
            assert_ne!(ja, e.to_string());
            assert_eq!(card_error(e, Lang::En), e.to_string());
        }
    }

    #[test]
    fn japanese_pin_errors_keep_the_numbers_and_terms() {
        let e = CardError::WrongPin {
            pin: PinKind::Sign,
            left: Tries::new(4),
        };
        assert_eq!(
            card_error(&e, Lang::Ja),
            "署名用パスワードが違います（残り4回）"
        );
        let e = CardError::Blocked { pin: PinKind::Auth };
        let t = card_error(&e, Lang::Ja);
        assert!(t.starts_with("利用者証明用暗証番号はロック"), "{t}");
        assert!(t.contains("市区町村の窓口"), "{t}");
        for reason in [
            "must be exactly 4 digits",
            "may contain only letters A-Z and digits 0-9",
            "must be 6 to 16 characters long",
            "the new PIN is of another kind",
            "the card refused the new value's format",
        ] {
            assert!(pin_format_reason_ja(reason).is_some(), "{reason}");
        }
    }

    #[test]
    fn prompts() {
        let p = Msg::PinPrompt(PinKind::Sign, Some(5));
        assert_eq!(p.text(Lang::Ja), "署名用パスワード（残り5回）: ");
        assert_eq!(
            p.text(Lang::En),
            "Enter your sign password (署名用パスワード) (5 tries left): "
        );
        assert_eq!(
            Msg::PinPrompt(PinKind::Auth, Some(1)).text(Lang::En),
            "Enter your auth PIN (利用者証明用暗証番号) (1 try left): "
        );
    }

    /// The one-page PDF of jpki-pdf's crate example.
    const ONE_PAGE: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n";

    fn refusal(pdf: &[u8]) -> jpki_pdf::Error {
        let src = pdf.to_vec();
        match jpki_pdf::prepare(
            "a.pdf",
            &src,
            &jpki_pdf::SigOptions::new("D:20261201000000Z"),
        ) {
            Err(e) => e,
            Ok(_) => panic!("jpki-pdf signed a file it must refuse"),
        }
    }

    #[test]
    fn jpki_pdf_refusals_are_japanese() {
        let src = ONE_PAGE.to_vec();
        assert!(jpki_pdf::prepare(
            "a.pdf",
            &src,
            &jpki_pdf::SigOptions::new("D:20261201000000Z")
        )
        .is_ok());
        let cases: [(Vec<u8>, &str); 3] = [
            (
                b"%PDF-1.7\nno body\n".to_vec(),
                "a.pdfをPDFとして読み込めません（壊れているか、PDFではありません）: ",
            ),
            (
                String::from_utf8_lossy(ONE_PAGE)
                    .replace("/Pages 2 0 R", "/Pagez 2 0 R")
                    .into_bytes(),
                "a.pdfには署名できません: カタログにページツリーがありません（PDFが壊れています）",
            ),
            (
                b"GIF89a".to_vec(),
                "a.pdfはPDFファイルではありません（%PDF- で始まっていません）",
            ),
        ];
        for (pdf, ja) in cases {
            let e = refusal(&pdf);
            let text = pdf_error_in(&e, Lang::Ja);
            assert!(text.starts_with(ja), "{e}: {text}");
            assert_eq!(pdf_error_in(&e, Lang::En), e.to_string());
        }
        let dir = tempfile::tempdir().unwrap();
        let gif = dir.path().join("seal.gif");
        std::fs::write(&gif, b"GIF89a").unwrap();
        let e = jpki_pdf::load_image(&gif).err().unwrap();
        assert_eq!(
            pdf_error_in(&e, Lang::Ja),
            format!("{}はPNG画像でもJPEG画像でもありません", gif.display())
        );
    }

    #[test]
    fn io_errors() {
        let nf = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            io_error("cannot read", "a.pdf", &nf, Lang::Ja),
            "a.pdfを読み込めません: ファイルまたはディレクトリがありません"
        );
        assert!(io_error("cannot read", "a.pdf", &nf, Lang::En).starts_with("cannot read a.pdf: "));
        assert_eq!(
            io_error("cannot read", "standard input", &nf, Lang::Ja),
            "標準入力を読み込めません: ファイルまたはディレクトリがありません"
        );
    }

    /// The timestamp and content facts jpki-cms returns typed: the English
    /// text the library used to build, and a Japanese one.
    #[test]
    fn timestamps_and_missing_content() {
        let t = |chain| jpki_cms::Timestamp {
            time: "2026-12-01 10:00:00 UTC".into(),
            tsa: "CN=TSA".into(),
            chain,
        };
        let unchecked = t(Chain::NotChecked);
        assert_eq!(
            Msg::Timestamp(&unchecked).text(Lang::En),
            "2026-12-01 10:00:00 UTC (RFC 3161, TSA CN=TSA; TSA chain NOT checked: pass --tsa-ca FILE)"
        );
        let ja = Msg::Timestamp(&unchecked).text(Lang::Ja);
        assert!(
            has_kana(&ja) && ja.contains("--tsa-ca FILE") && ja.contains("CN=TSA"),
            "{ja}"
        );
        let trusted = t(Chain::Trusted("CN=TSA CA".into()));
        assert_eq!(
            Msg::Timestamp(&trusted).text(Lang::En),
            "2026-12-01 10:00:00 UTC (RFC 3161, TSA CN=TSA; chains to trusted TSA CA CN=TSA CA)"
        );
        assert!(Msg::Timestamp(&trusted)
            .text(Lang::Ja)
            .contains("CN=TSA CA"));
        assert_eq!(
            Msg::ContentMissing.text(Lang::En),
            "the CMS is detached: give the signed file with --content FILE"
        );
        assert!(has_kana(&Msg::ContentMissing.text(Lang::Ja)));
        let e =
            jpki_cms::VerifyError::InvalidTimestamp(Box::new(jpki_cms::VerifyError::NotChained {
                ca: "ca.pem".into(),
                reason: "unable to get local issuer certificate".into(),
            }));
        // In English the CLI says what the library's own text says.
        assert_eq!(verify_error(&e), e.to_string());
    }
}
