//! Signing and verifying whole files in memory (software key): the round
//! trip, what later revisions may change, and the attacks on the ByteRange.

use crate::changes::Level;
use crate::testing::{last_startxref, minimal_pdf, reoffset, sign_in_memory};
use crate::update::{build, SigOptions};
use crate::verify::{check_file, SigReport, Tail};

fn check(bytes: &[u8]) -> SigReport {
    let (r, _, tail) = check_bytes(bytes);
    assert!(tail.is_none(), "{tail:?}");
    r.into_iter().next_back().unwrap()
}

fn check_bytes(bytes: &[u8]) -> (Vec<SigReport>, u64, Option<Tail>) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.pdf");
    std::fs::write(&f, bytes).unwrap();
    let r = check_file(&f, None, None, false).unwrap();
    (r.signatures, r.size, r.tail)
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
    let p = rs[0].problem.clone().unwrap().to_string();
    assert!(
        p.contains("object 4 (a content stream) was replaced"),
        "{p}"
    );
    assert_eq!(rs[1].problem, None);
    // An overlay annotation added to the page.
    let page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [6 0 R 30 0 R] >>";
    let annot = "<< /Type /Annot /Subtype /FreeText /Rect [0 0 595 842] /Contents (Paid) >>";
    let changed = append_update(&one, &[(3, page), (30, annot)]);
    let resigned = sign_in_memory(&changed, false);
    // Allowed after an approval signature, as the standard does, and named …
    let (rs, _, _) = check_bytes(&resigned);
    assert_eq!(rs[0].problem, None);
    assert_eq!(rs[0].modification_level, Level::Annotations);
    let whats: Vec<_> = rs[0].later_revisions[0]
        .changes
        .iter()
        .map(|c| &c.what)
        .collect();
    assert!(
        whats
            .iter()
            .any(|w| w.contains("gained /FreeText (30 0 R), an annotation")),
        "{whats:?}"
    );
    // … refused with --strict.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.pdf");
    std::fs::write(&f, &resigned).unwrap();
    let r = check_file(&f, None, None, true).unwrap();
    let rs = r.signatures;
    let p = rs[0].problem.clone().unwrap().to_string();
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
fn validation_data_is_a_level_of_its_own() {
    let one = sign_in_memory(&minimal_pdf("1.7"), false);
    let text = String::from_utf8_lossy(&one).into_owned();
    let at = text.rfind("\n1 0 obj").unwrap() + "\n1 0 obj".len();
    let body = text[at..at + text[at..].find("endobj").unwrap()].trim();
    let close = body.rfind(">>").unwrap();
    let catalog = format!("{} /DSS 31 0 R >>", &body[..close]);
    let changed = append_update(&one, &[(1, &catalog), (31, "<< /Type /DSS /Certs [] >>")]);
    let (rs, _, _) = check_bytes(&sign_in_memory(&changed, false));
    assert_eq!(rs[0].problem, None);
    let dss: Vec<_> = rs[0].later_revisions[0]
        .changes
        .iter()
        .filter(|c| c.level == Level::Dss)
        .map(|c| c.what.as_str())
        .collect();
    assert_eq!(dss, ["the catalog's /DSS"], "{rs:?}");
    assert_eq!(rs[0].modification_level, Level::Signing);
    // DocMDP P 1 allows that, and nothing of the second signature.
    let p1 = crate::mdp::Policy {
        docmdp: Some(1),
        ..Default::default()
    };
    let all = &rs[0].later_revisions[0].changes;
    let bad = p1.violations(all, p1.allowed(false));
    assert!(bad.iter().all(|c| c.level == Level::Signing), "{bad:?}");
    assert!(!bad.is_empty());
}

#[test]
fn rejects_a_changed_byte() {
    let mut s = sign_in_memory(&minimal_pdf("1.7"), false);
    let at = s.windows(5).position(|w| w == b"Hello").unwrap();
    s[at] = b'J';
    let p = check_bytes(&s).0.remove(0).problem.unwrap().to_string();
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
        .to_string()
        .contains("appended after the last valid signature"));
    let prev = last_startxref(&signed);
    let mut s = signed.clone();
    let off = s.len();
    s.extend(b"4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\n");
    let x = s.len();
    s.extend(format!("xref\n4 1\n{off:010} 00000 n\r\ntrailer\n<< /Size 9 /Root 1 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n").as_bytes());
    let (r, _, tail) = check_bytes(&s);
    assert_eq!(r[0].problem, None);
    let tail = tail.unwrap().to_string();
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
    let e = check_file(&f, None, None, false).err().unwrap().to_string();
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
    let p = check_bytes(&s2).0.remove(0).problem.unwrap().to_string();
    assert!(p.contains("more than this signature's /Contents"), "{p}");
}

#[test]
fn refuses_encrypted_and_non_pdf() {
    let e = crate::structure::load("x", &b"hello".to_vec())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a PDF"), "{e}");
    let mut pdf = minimal_pdf("1.4");
    let pos = pdf.windows(7).position(|w| w == b"/Size 5").unwrap();
    pdf.splice(
        pos..pos,
        b"/Encrypt << /Filter /Standard >> ".iter().copied(),
    );
    let e = crate::structure::load("x", &pdf).err().unwrap().to_string();
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
    let p = crate::structure::load("c.pdf", &fixed).unwrap();
    let opts = SigOptions {
        subfilter: crate::SubFilter::AdbePkcs7Detached,
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
    let p = crate::structure::load("c.pdf", &p2).unwrap();
    assert!(build(&p, p2.len() as u64, true, &opts).is_ok());
}
