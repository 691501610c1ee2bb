//! Small commands around the signing ones: `card basic4` (the text
//! application's 基本4情報, printed only because the user asked for exactly
//! that, never logged), shell completions and the man page generated from the
//! clap definitions (so they cannot drift from `--help`).

use crate::error::CliError;
use crate::pin_session::{ask_pin, last_try};
use crate::Global;
use clap::{Args, Subcommand, ValueEnum};
use jpki_card::{AnyPin, Card, PinKind, ReaderChoice};

/// `jpki-sign card [basic4]`.
#[derive(Args, Debug)]
pub struct CardArgs {
    /// What to read (default: the reader and the card kind).
    #[command(subcommand)]
    pub what: Option<CardCommand>,
}

/// `card …`.
#[derive(Subcommand, Debug)]
pub enum CardCommand {
    /// Name, address, birth date and sex (基本4情報) from the text application.
    /// Asks for the 4-digit text PIN (券面事項入力補助用暗証番号; one try).
    Basic4,
}

/// Shells `completions` knows.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
    /// PowerShell
    Powershell,
    /// elvish
    Elvish,
}

/// `jpki-sign completions SHELL`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Reads and prints the 基本4情報.
pub fn basic4(g: &Global) -> Result<(), CliError> {
    let mut card = Card::open(&ReaderChoice::from_env_or(g.reader.as_deref()))?;
    let AnyPin::Text(pin) = ask_pin(&mut card, g, PinKind::Text)? else {
        return Err(CliError::Usage("the text PIN is needed".into()));
    };
    let b = card.session()?.read_basic4(&pin, last_try(g))?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"name": b.name, "address": b.address, "birth": b.birth, "sex": b.sex})
        );
    } else {
        let lang = crate::i18n::lang();
        let sex = crate::i18n::sex_code(&b.sex, lang).unwrap_or(&b.sex);
        let [name, address, birth, sex_label] = crate::i18n::basic4_labels(lang);
        println!("{name}{}", b.name);
        println!("{address}{}", b.address);
        println!("{birth}{}", b.birth);
        println!("{sex_label}{sex}");
    }
    Ok(())
}

/// Prints a completion script for `shell`.
pub fn completions(a: &CompletionsArgs) -> Result<(), CliError> {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let shell = match a.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
        Shell::Elvish => S::Elvish,
    };
    let mut cmd = crate::Cli::command();
    clap_complete::generate(shell, &mut cmd, "jpki-sign", &mut std::io::stdout());
    Ok(())
}

/// Prints the man page (roff) to standard output.
pub fn man() -> Result<(), CliError> {
    use clap::CommandFactory;
    clap_mangen::Man::new(crate::Cli::command())
        .render(&mut std::io::stdout())
        .map_err(|e| CliError::Io {
            what: "cannot write",
            path: "standard output".into(),
            source: e,
        })
}
