//! PDF signatures: signing by incremental update ([`sign`], [`update`]) and
//! attack-aware verification ([`verify`]), on the structure lopdf reads
//! ([`structure`]). The CMS inside is built and checked by [`crate::cms_sign`]
//! and [`crate::cms_verify`].
//!
//! `jpki-sign doc.pdf` means `jpki-sign sign doc.pdf`: [`default_to_sign`]
//! inserts the sub-command before clap sees the arguments.

pub mod sign;
pub mod structure;
pub mod update;
pub mod verify;

use std::ffi::OsString;

/// Inserts `sign` before the first positional argument when it is not a
/// sub-command (so `jpki-sign a.pdf b.pdf` signs). Global options before it
/// are skipped, with their values.
pub fn default_to_sign(args: Vec<OsString>) -> Vec<OsString> {
    use clap::CommandFactory;
    let cmd = crate::Cli::command();
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .flat_map(|s| {
            std::iter::once(s.get_name().to_string()).chain(s.get_all_aliases().map(str::to_string))
        })
        .chain(["help".to_string()])
        .collect();
    let takes_value: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .flat_map(|a| {
            a.get_long()
                .map(|l| format!("--{l}"))
                .into_iter()
                .chain(a.get_short().map(|s| format!("-{s}")))
        })
        .collect();
    let mut i = 1;
    while let Some(a) = args.get(i) {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s.starts_with('-') {
            // `--opt value` skips the value too; `--opt=value` is one argument.
            i += if takes_value.iter().any(|t| *t == s) {
                2
            } else {
                1
            };
            continue;
        }
        if subcommands.iter().any(|c| *c == s) {
            return args;
        }
        let mut out = args.clone();
        out.insert(i, OsString::from("sign"));
        return out;
    }
    args
}
