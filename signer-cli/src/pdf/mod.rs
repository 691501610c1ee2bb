//! PDF commands over jpki-pdf: `sign` ([`sign`]) and `verify` ([`verify_cmd`]).
//!
//! `jpki-sign doc.pdf` means `jpki-sign sign doc.pdf`: [`default_to_sign`]
//! inserts the sub-command before clap sees the arguments.

pub mod sign;
pub mod verify_cmd;

use std::ffi::OsString;

/// Inserts `sign` before the first positional argument when it is not a
/// sub-command and names a PDF (`*.pdf` or an existing file), so
/// `jpki-sign a.pdf b.pdf` signs. Global options before it are skipped, with
/// their values.
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
        // Only what looks like a PDF becomes `sign`: a mistyped sub-command
        // should get clap's "unrecognized subcommand", not "cannot read".
        let looks_like_pdf =
            s.to_ascii_lowercase().ends_with(".pdf") || std::path::Path::new(a).is_file();
        if subcommands.iter().any(|c| *c == s) || !looks_like_pdf {
            return args;
        }
        let mut out = args.clone();
        out.insert(i, OsString::from("sign"));
        return out;
    }
    args
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    #[test]
    fn a_pdf_argument_means_sign() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            super::default_to_sign(a(&["jpki-sign", "--reader", "X", "doc.pdf"])),
            a(&["jpki-sign", "--reader", "X", "sign", "doc.pdf"])
        );
        assert_eq!(
            super::default_to_sign(a(&["jpki-sign", "verify", "doc.pdf"])),
            a(&["jpki-sign", "verify", "doc.pdf"])
        );
        assert_eq!(
            super::default_to_sign(a(&["jpki-sign", "--help"])),
            a(&["jpki-sign", "--help"])
        );
        assert_eq!(
            super::default_to_sign(a(&["jpki-sign", "crt"])),
            a(&["jpki-sign", "crt"])
        );
    }
}
