//! Test support (feature `test-support`): the one place that writes test
//! PDFs byte by byte, for this crate's unit tests and for the end-to-end
//! tests (jpki-tests, whose `pdf` helpers add qpdf, pdfsig and openssl).
//!
//! Why a feature of this crate and not a crate of its own: the unit tests
//! need it from inside (`cfg(test)`), and a separate crate depending on
//! jpki-pdf could not be used by jpki-pdf's own tests without a second copy
//! of its types. Test code only: it panics on failure.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::{sign_bytes, SigOptions, SubFilter};

pub use jpki_cms::testing::{damage, soft_signer, SoftKey};

/// A PDF of `objs` (numbered 1, 2, …; the first is the catalog) with a
/// classic cross-reference table; `binary` is the comment line of high bytes
/// after the header, `trailer_extra` more trailer entries.
pub fn classic_pdf(version: &str, binary: &[u8], objs: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
    let mut out = format!("%PDF-{version}\n%").into_bytes();
    out.extend(binary);
    out.push(b'\n');
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
            "trailer\n<< /Size {} /Root 1 0 R{trailer_extra} >>\nstartxref\n{x}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A stream object's body (dictionary with /Length, then the data).
pub fn stream_object(content: &[u8]) -> Vec<u8> {
    [
        format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
        content,
        b"\nendstream",
    ]
    .concat()
}

/// The smallest one-page PDF (catalog, pages, page, content; no font, no /ID).
pub fn minimal_pdf(version: &str) -> Vec<u8> {
    let objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
        stream_object(b"BT /F1 24 Tf 72 720 Td (Hello) Tj ET"),
    ];
    classic_pdf(version, "\u{e2}\u{e3}".as_bytes(), &objs, "")
}

/// A one-page PDF as producers write it (a font resource, a file /ID), plus
/// `extra` objects (numbered 6, 7, …) that nothing refers to.
pub fn sample_pdf(version: &str, extra: &[&[u8]]) -> Vec<u8> {
    let mut objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        stream_object(b"BT /F1 24 Tf 72 720 Td (Hello, signed world) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    objs.extend(extra.iter().map(|e| e.to_vec()));
    classic_pdf(
        version,
        &[0xE2, 0xE3, 0xCF, 0xD3],
        &objs,
        " /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]",
    )
}

/// `pdf` signed with a fresh software key (PAdES profile or the default).
pub fn sign_in_memory(pdf: &[u8], pades: bool) -> Vec<u8> {
    let (mut key, cert, _) = soft_signer();
    let opts = SigOptions {
        subfilter: if pades {
            SubFilter::EtsiCadesDetached
        } else {
            SubFilter::AdbePkcs7Detached
        },
        reason: Some("テスト".into()),
        contents_len: 8192,
        ..SigOptions::new("D:20260101000000Z")
    };
    let profile = if pades {
        jpki_cms::Profile::PADES
    } else {
        jpki_cms::Profile::CMS
    };
    sign_bytes("test.pdf", pdf, &opts, |digest| {
        jpki_cms::sign(
            &mut key,
            &cert,
            &[],
            jpki_cms::Content::Detached(*digest),
            profile,
        )
    })
    .unwrap()
}

/// A one-page PDF signed once (software key), made once per test run.
pub fn signed_sample() -> Vec<u8> {
    static SAMPLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SAMPLE
        .get_or_init(|| sign_in_memory(&minimal_pdf("1.7"), false))
        .clone()
}

/// The offset after the last `startxref` of a test file.
pub fn last_startxref(pdf: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(pdf);
    let after = text.rsplit("startxref").next().unwrap_or_default();
    after.split_whitespace().next().unwrap().parse().unwrap()
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
