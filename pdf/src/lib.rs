//! PDF signatures: signing by incremental update ([`sign`], [`update`]) and
//! attack-aware verification ([`verify`]), on the structure lopdf reads
//! ([`structure`]). The CMS inside is built and checked by [`crate::cms_sign`]
//! and [`crate::cms_verify`].
//!
//! `jpki-sign doc.pdf` means `jpki-sign sign doc.pdf`: [`default_to_sign`]
//! inserts the sub-command before clap sees the arguments.

pub mod font;
pub mod reader;
pub mod revisions;
pub mod sign;
pub mod stamp;
pub mod structure;
pub mod update;
pub mod verify;

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
pub(crate) mod tests {
    use super::update::{build, SigOptions};
    use super::verify::check_file;
    use crate::cms_sign::tests::soft_signer;
    use crate::cms_sign::{sign, Content, Profile};
    use sha2::{Digest, Sha256};
    use std::ffi::OsString;

    /// A one-page PDF with a classic cross-reference table.
    pub fn minimal_pdf(version: &str) -> Vec<u8> {
        let content = b"BT /F1 24 Tf 72 720 Td (Hello) Tj ET";
        let objs: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
            [
                format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
                content,
                b"\nendstream",
            ]
            .concat(),
        ];
        let mut out = format!("%PDF-{version}\n%\u{e2}\u{e3}\n").into_bytes();
        let mut offs = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offs.push(out.len());
            out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend(o);
            out.extend(b"\nendobj\n");
        }
        let x = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
        for o in offs {
            out.extend(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n",
                objs.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    fn sign_in_memory(pdf: &[u8], pades: bool) -> Vec<u8> {
        let (mut key, cert, _) = soft_signer();
        let src = pdf.to_vec();
        let p = super::structure::load("test.pdf", &src).unwrap();
        let opts = SigOptions {
            subfilter: if pades {
                "ETSI.CAdES.detached"
            } else {
                "adbe.pkcs7.detached"
            },
            date: "D:20260101000000Z".into(),
            reason: Some("テスト".into()),
            location: None,
            contents_len: 8192,
            stamp: None,
        };
        let mut u = build(&p, pdf.len() as u64, pdf.ends_with(b"\n"), &opts).unwrap();
        let mut h = Sha256::new();
        h.update(pdf);
        h.update(&u.bytes[..u.contents_start]);
        h.update(&u.bytes[u.contents_end..]);
        let profile = if pades { Profile::PADES } else { Profile::CMS };
        let cms = sign(
            &mut key,
            &cert,
            &[],
            Content::Detached(h.finalize().into()),
            profile,
        )
        .unwrap();
        u.fill(&cms).unwrap();
        [pdf, &u.bytes].concat()
    }

    /// A one-page PDF signed once (software key), made once per test run.
    pub fn signed_sample() -> Vec<u8> {
        static SAMPLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        SAMPLE
            .get_or_init(|| sign_in_memory(&minimal_pdf("1.7"), false))
            .clone()
    }

    fn check(bytes: &[u8]) -> super::verify::SigReport {
        let (r, _, tail) = check_bytes(bytes);
        assert!(tail.is_none(), "{tail:?}");
        r.into_iter().next_back().unwrap()
    }

    fn check_bytes(bytes: &[u8]) -> (Vec<super::verify::SigReport>, u64, Option<String>) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.pdf");
        std::fs::write(&f, bytes).unwrap();
        check_file(&f, None, None).unwrap()
    }

    #[test]
    fn signs_and_verifies_twice() {
        let one = sign_in_memory(&minimal_pdf("1.4"), false);
        let r = check(&one);
        assert_eq!(r.problem, None);
        assert_eq!(r.covered_to, one.len() as u64);
        assert_eq!(r.field, "Signature1");
        let two = sign_in_memory(&one, true);
        let (rs, len, tail) = check_bytes(&two);
        assert_eq!(tail, None);
        assert_eq!(rs.len(), 2);
        assert!(rs.iter().all(|r| r.problem.is_none()), "{rs:?}");
        assert_eq!(rs[0].covered_to, one.len() as u64);
        assert_eq!(rs[1].covered_to, len);
        assert_eq!(rs[1].field, "Signature2");
        assert_eq!(rs[1].subfilter, "ETSI.CAdES.detached");
    }

    /// The offset after the last `startxref` of a test file.
    pub fn last_startxref(pdf: &[u8]) -> u64 {
        let text = String::from_utf8_lossy(pdf);
        let after = text.rsplit("startxref").next().unwrap_or_default();
        after.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Applies `edits` (position, byte, 0 = replace / 1 = insert / 2 = delete)
    /// and an optional cut to `b`: the damage the property tests do.
    pub fn damage(b: &mut Vec<u8>, edits: &[(usize, u8, u8)], cut: Option<usize>) {
        for &(at, byte, how) in edits {
            let at = at % (b.len() + 1);
            match how {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                _ if at < b.len() => {
                    b.remove(at);
                }
                _ => {}
            }
        }
        if let Some(c) = cut {
            b.truncate(c.min(b.len()));
        }
    }

    /// `pdf` plus an unsigned incremental update defining `objs`.
    fn append_update(pdf: &[u8], objs: &[(u32, &str)]) -> Vec<u8> {
        let prev = last_startxref(pdf);
        let mut s = pdf.to_vec();
        let mut xref = String::from("xref\n");
        for (id, body) in objs {
            xref.push_str(&format!("{id} 1\n{:010} 00000 n\r\n", s.len()));
            s.extend(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        let x = s.len();
        s.extend(xref.as_bytes());
        s.extend(
            format!("trailer\n<< /Size 40 /Root 1 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n")
                .as_bytes(),
        );
        s
    }

    #[test]
    fn a_change_inside_a_later_signed_revision_is_named() {
        let one = sign_in_memory(&minimal_pdf("1.7"), false);
        // Shadow "replace", then signed by someone else: the page content.
        let changed = append_update(
            &one,
            &[(4, "<< /Length 9 >>\nstream\nBT (x) ET\nendstream")],
        );
        let (rs, _, tail) = check_bytes(&sign_in_memory(&changed, false));
        assert_eq!(tail, None);
        let p = rs[0].problem.clone().unwrap();
        assert!(
            p.contains("object 4 (a content stream) was replaced"),
            "{p}"
        );
        assert_eq!(rs[1].problem, None);
        // An overlay annotation added to the page.
        let page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [6 0 R 30 0 R] >>";
        let annot = "<< /Type /Annot /Subtype /FreeText /Rect [0 0 595 842] /Contents (Paid) >>";
        let changed = append_update(&one, &[(3, page), (30, annot)]);
        let (rs, _, _) = check_bytes(&sign_in_memory(&changed, false));
        let p = rs[0].problem.clone().unwrap();
        assert!(p.contains("gained /FreeText"), "{p}");
        // The same stream rewritten byte for byte is no change.
        let same = append_update(
            &one,
            &[(
                4,
                "<< /Length 36 >>\nstream\nBT /F1 24 Tf 72 720 Td (Hello) Tj ET\nendstream",
            )],
        );
        let (rs, _, _) = check_bytes(&sign_in_memory(&same, false));
        assert!(rs.iter().all(|r| r.problem.is_none()), "{rs:?}");
    }

    #[test]
    fn rejects_a_changed_byte() {
        let mut s = sign_in_memory(&minimal_pdf("1.7"), false);
        let at = s.windows(5).position(|w| w == b"Hello").unwrap();
        s[at] = b'J';
        let p = check_bytes(&s).0.remove(0).problem.unwrap();
        assert!(p.contains("messageDigest"), "{p}");
    }

    #[test]
    fn rejects_appended_bytes() {
        let signed = sign_in_memory(&minimal_pdf("1.7"), false);
        // Garbage after the end, and a proper incremental update replacing the page content.
        let mut s = signed.clone();
        s.extend(b"% a comment\n");
        let (_, _, tail) = check_bytes(&s);
        assert!(tail
            .unwrap()
            .contains("appended after the last valid signature"));
        let prev = last_startxref(&signed);
        let mut s = signed.clone();
        let off = s.len();
        s.extend(b"4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\n");
        let x = s.len();
        s.extend(format!("xref\n4 1\n{off:010} 00000 n\r\ntrailer\n<< /Size 9 /Root 1 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n").as_bytes());
        let (r, _, tail) = check_bytes(&s);
        assert_eq!(r[0].problem, None);
        let tail = tail.unwrap();
        assert!(
            tail.contains("1 incremental update(s)) were appended"),
            "{tail}"
        );
        // An update that drops the form is not "no signatures".
        let mut s = signed;
        let off = s.len();
        s.extend(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
        let x = s.len();
        s.extend(format!("xref\n1 1\n{off:010} 00000 n\r\ntrailer\n<< /Size 9 /Root 1 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n").as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.pdf");
        std::fs::write(&f, &s).unwrap();
        let e = check_file(&f, None, None).err().unwrap();
        assert!(e.contains("removed the signatures"), "{e}");
    }

    #[test]
    fn rejects_a_byte_range_wider_than_contents() {
        let s = sign_in_memory(&minimal_pdf("1.7"), false);
        let text = String::from_utf8_lossy(&s).into_owned();
        let at = text.find("/ByteRange[0 ").unwrap() + "/ByteRange[0 ".len();
        let b: u64 = text[at..].split(' ').next().unwrap().parse().unwrap();
        let widened = format!("{}", b - 10);
        let mut s2 = s.clone();
        // Same width: pad with a space inside the array.
        let old = format!("{b}");
        s2[at..at + old.len()]
            .copy_from_slice(format!("{widened:<width$}", width = old.len()).as_bytes());
        let p = check_bytes(&s2).0.remove(0).problem.unwrap();
        assert!(p.contains("more than this signature's /Contents"), "{p}");
    }

    #[test]
    fn refuses_encrypted_and_non_pdf() {
        let e = super::structure::load("x", &b"hello".to_vec())
            .err()
            .unwrap();
        assert!(e.contains("not a PDF"), "{e}");
        let mut pdf = minimal_pdf("1.4");
        let pos = pdf.windows(7).position(|w| w == b"/Size 5").unwrap();
        pdf.splice(
            pos..pos,
            b"/Encrypt << /Filter /Standard >> ".iter().copied(),
        );
        let e = super::structure::load("x", &pdf).err().unwrap();
        assert!(e.contains("encrypted") || e.contains("cannot read"), "{e}");
    }

    #[test]
    fn refuses_a_no_changes_certification() {
        // Catalog /Perms /DocMDP → a signature whose DocMDP transform says P 1.
        let pdf = String::from_utf8_lossy(&minimal_pdf("1.7")).replace(
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP << /Type /Sig /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>] >> >> >>",
        );
        // The catalog grew, so the cross-reference table is rewritten.
        let fixed = reoffset(pdf.as_bytes());
        let p = super::structure::load("c.pdf", &fixed).unwrap();
        let opts = SigOptions {
            subfilter: "adbe.pkcs7.detached",
            date: "D:20260101000000Z".into(),
            reason: None,
            location: None,
            contents_len: 8192,
            stamp: None,
        };
        let e = build(&p, fixed.len() as u64, true, &opts).err().unwrap();
        assert!(e.contains("DocMDP P=1"), "{e}");
        // With P 2 (form filling and signing allowed) it signs.
        let p2 = reoffset(
            String::from_utf8_lossy(&fixed)
                .replace("/P 1 ", "/P 2 ")
                .as_bytes(),
        );
        let p = super::structure::load("c.pdf", &p2).unwrap();
        assert!(build(&p, p2.len() as u64, true, &opts).is_ok());
    }

    /// Rewrites the classic xref table of a one-section file after edits.
    pub fn reoffset(pdf: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(pdf).into_owned();
        let body_end = text.find("xref\n").unwrap();
        let body = &text[..body_end];
        let mut offs = Vec::new();
        for i in 1.. {
            match body.find(&format!("\n{i} 0 obj")) {
                Some(p) => offs.push(p + 1),
                None => break,
            }
        }
        let mut out = body.to_string();
        out.push_str(&format!(
            "xref\n0 {}\n0000000000 65535 f \n",
            offs.len() + 1
        ));
        for o in &offs {
            out.push_str(&format!("{o:010} 00000 n \n"));
        }
        out.push_str(&format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{body_end}\n%%EOF\n",
            offs.len() + 1
        ));
        out.into_bytes()
    }

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
