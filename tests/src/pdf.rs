//! Helpers of the PDF and CMS end-to-end tests: input PDFs made here (and
//! rewritten by qpdf into other structures), and the independent checks with
//! qpdf, poppler's pdfsig and the openssl command line.

use crate::{run, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

// The PDFs themselves are written by jpki-pdf's test support, the one place
// that builds test PDFs (its unit tests use the same writer).
pub use jpki_pdf::testing::stream_object;

/// A one-page PDF with a classic cross-reference table, written byte by byte.
pub fn minimal_pdf(version: &str) -> Vec<u8> {
    minimal_pdf_with(version, &[])
}

/// [`minimal_pdf`] plus `extra` objects (numbered 6, 7, …) that nothing refers to.
pub fn minimal_pdf_with(version: &str, extra: &[&[u8]]) -> Vec<u8> {
    jpki_pdf::testing::sample_pdf(version, extra)
}

/// Runs qpdf with `args` on `input`, writing `output`; panics on failure.
pub fn qpdf(args: &[&str], input: &Path, output: &Path) {
    let o = run(Command::new("qpdf").args(args).arg(input).arg(output));
    assert!(
        o.status.success() || o.status.code() == Some(3),
        "qpdf {args:?}: {}",
        stderr(&o)
    );
}

/// `qpdf --check` must say the file is fine (exit 0).
pub fn assert_qpdf_check(pdf: &Path) {
    let o = run(Command::new("qpdf").arg("--check").arg(pdf));
    assert_eq!(
        o.status.code(),
        Some(0),
        "qpdf --check {}: {}{}",
        pdf.display(),
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("No syntax or stream encoding errors found"),
        "{}",
        stdout(&o)
    );
}

/// pdfsig's report (without certificate validation: it has no NSS trust here).
/// pdfsig exits 0 even for "Digest Mismatch.", so callers read the text.
pub fn pdfsig(pdf: &Path) -> String {
    let o = run(Command::new("pdfsig").arg("-nocert").arg(pdf));
    assert!(o.status.success(), "pdfsig: {}", stderr(&o));
    stdout(&o)
}

/// Asserts pdfsig reports exactly `n` signatures, each "Signature is Valid.".
pub fn assert_pdfsig_all_valid(pdf: &Path, n: usize) -> String {
    let report = pdfsig(pdf);
    assert_eq!(
        report.matches("Signature #").count(),
        n,
        "signatures in pdfsig's report:\n{report}"
    );
    assert_eq!(
        report
            .matches("Signature Validation: Signature is Valid.")
            .count(),
        n,
        "pdfsig:\n{report}"
    );
    report
}

/// The last signature's CMS (DER) and the bytes its ByteRange covers, cut out
/// of the file independently of jpki-sign (parsed from the last /ByteRange).
pub fn extract_last_signature(pdf: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange").expect("a /ByteRange");
    let open = at + text[at..].find('[').expect("[");
    let close = open + text[open..].find(']').expect("]");
    let n: Vec<usize> = text[open + 1..close]
        .split_whitespace()
        .map(|s| s.parse().expect("a number"))
        .collect();
    let (a, b, c, d) = (n[0], n[1], n[2], n[3]);
    let covered = [&pdf[a..a + b], &pdf[c..c + d]].concat();
    let hex = &pdf[b + 1..c - 1];
    let der: Vec<u8> = hex
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect();
    (der, covered)
}

/// `openssl cms -verify -binary -inform DER -in SIG -content DATA -CAfile CA -purpose any`
/// (the trailing zero padding of a PDF /Contents is tolerated by OpenSSL).
pub fn openssl_cms_verify(
    sig: &Path,
    content: Option<&Path>,
    ca: &Path,
    pem: bool,
) -> std::process::Output {
    let mut c = Command::new("openssl");
    c.args(["cms", "-verify", "-binary", "-purpose", "any", "-inform"])
        .arg(if pem { "PEM" } else { "DER" })
        .arg("-in")
        .arg(sig)
        .arg("-CAfile")
        .arg(ca)
        .args(["-out", "-"]);
    if let Some(content) = content {
        c.arg("-content").arg(content);
    }
    run(&mut c)
}

/// Checks the last signature of `pdf` with `openssl cms -verify` over its
/// covered bytes, and returns `openssl cms -cmsout -print` of it.
pub fn assert_openssl_verifies_pdf(pdf: &Path, ca: &Path) -> String {
    let bytes = std::fs::read(pdf).expect("signed pdf");
    let (der, covered) = extract_last_signature(&bytes);
    let dir = tempfile::tempdir().expect("tempdir");
    let sig = dir.path().join("sig.der");
    let data = dir.path().join("covered.bin");
    std::fs::write(&sig, &der).unwrap();
    std::fs::write(&data, &covered).unwrap();
    let o = openssl_cms_verify(&sig, Some(&data), ca, false);
    assert!(
        o.status.success() && stderr(&o).contains("CMS Verification successful"),
        "openssl cms -verify: {}",
        stderr(&o)
    );
    let o = run(Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&sig));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// `dir/name` with `bytes` written to it.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

/// A hybrid-reference file (ISO 32000-1 §7.5.8.4): [`minimal_pdf`] plus an
/// update whose classic table's trailer has `/XRefStm`, an xref stream that
/// alone knows object 6 (the /Info dictionary), stored in object stream 7.
pub fn hybrid_pdf() -> Vec<u8> {
    let mut out = minimal_pdf("1.5");
    let text = String::from_utf8_lossy(&out).into_owned();
    let prev: usize = text
        .rsplit("startxref\n")
        .next()
        .and_then(|s| s.lines().next())
        .and_then(|s| s.parse().ok())
        .expect("startxref");
    let header = b"6 0 ";
    let member = b"<< /Producer (jpki hybrid test) >>";
    let off7 = out.len();
    out.extend(
        format!(
            "7 0 obj\n<< /Type /ObjStm /N 1 /First {} /Length {} >>\nstream\n",
            header.len(),
            header.len() + member.len()
        )
        .as_bytes(),
    );
    out.extend(header);
    out.extend(member);
    out.extend(b"\nendstream\nendobj\n");
    let off8 = out.len();
    // One entry: object 6 is object 0 of object stream 7 (type 2), W [1 2 1].
    let data = [2u8, 0, 7, 0];
    out.extend(
        format!(
            "8 0 obj\n<< /Type /XRef /Size 9 /Index [6 1] /W [1 2 1] /Root 1 0 R /Length {} >>\nstream\n",
            data.len()
        )
        .as_bytes(),
    );
    out.extend(data);
    out.extend(b"\nendstream\nendobj\n");
    let x = out.len();
    out.extend(
        format!(
            "xref\n7 2\n{off7:010} 00000 n\r\n{off8:010} 00000 n\r\ntrailer\n<< /Size 9 /Root 1 0 R /Info 6 0 R /Prev {prev} /XRefStm {off8} >>\nstartxref\n{x}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

/// pdfsig with an NSS database that trusts `ca` (certutil from libnss3-tools):
/// poppler then validates the certificate chain itself. Asserts `n`
/// signatures that are valid and whose certificates are trusted.
pub fn assert_pdfsig_trusted(pdf: &Path, ca: &Path, n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sql:{}", dir.path().display());
    let o = run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
    assert!(
        o.status.success(),
        "certutil -N (is libnss3-tools installed? `make deps`): {}",
        stderr(&o)
    );
    let o = run(Command::new("certutil")
        .args(["-A", "-n", "jpki-test-ca", "-t", "CT,C,C", "-d", &db, "-i"])
        .arg(ca));
    assert!(o.status.success(), "certutil -A: {}", stderr(&o));
    let o = run(Command::new("pdfsig").args(["-nssdir", &db]).arg(pdf));
    let report = stdout(&o);
    assert_eq!(
        report
            .matches("Signature Validation: Signature is Valid.")
            .count(),
        n,
        "{report}"
    );
    assert_eq!(
        report
            .matches("Certificate Validation: Certificate is Trusted.")
            .count(),
        n,
        "{report}"
    );
}

/// Renders page 1 at 72 dpi in grey with poppler's pdftoppm and counts the
/// dark pixels (< 128) inside `[x0 y0 x1 y1]` (PDF points, origin lower left).
pub fn dark_pixels(pdf: &Path, rect: [usize; 4]) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("page");
    let o = run(Command::new("pdftoppm")
        .args(["-r", "72", "-gray", "-f", "1", "-l", "1", "-singlefile"])
        .arg(pdf)
        .arg(&prefix));
    assert!(o.status.success(), "pdftoppm: {}", stderr(&o));
    let img = std::fs::read(dir.path().join("page.pgm")).expect("page.pgm");
    // P5 header: magic, width, height, maxval, each followed by one whitespace.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while img[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !img[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&img[start..i]).into_owned());
    }
    let pixels = &img[i + 1..];
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let [x0, y0, x1, y1] = rect;
    let mut n = 0;
    for y in (h - y1)..(h - y0) {
        for x in x0..x1.min(w) {
            if pixels[y * w + x] < 128 {
                n += 1;
            }
        }
    }
    n
}

/// A time-stamping authority on 127.0.0.1 for the tests: a thread answering
/// HTTP POSTs with `openssl ts -reply` (a throw-away self-signed TSA key with
/// the critical timeStamping EKU RFC 3161 asks for).
pub struct LocalTsa {
    /// `http://127.0.0.1:PORT/tsa`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl LocalTsa {
    /// Makes the TSA key and starts answering.
    pub fn start() -> LocalTsa {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_path_buf();
        let o = run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args(["-subj", "/CN=jpki test TSA"])
            .args(["-addext", "extendedKeyUsage=critical,timeStamping"])
            .args(["-addext", "keyUsage=critical,digitalSignature"])
            .arg("-keyout")
            .arg(d.join("tsa.key"))
            .arg("-out")
            .arg(d.join("tsa.pem")));
        assert!(o.status.success(), "TSA key: {}", stderr(&o));
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = {0}/serial\ncrypto_device = builtin\n\
                 signer_cert = {0}/tsa.pem\nsigner_key = {0}/tsa.key\nsigner_digest = sha256\n\
                 default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = no\n\
                 tsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                d.display()
            ),
        )
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &d);
            }
        });
        LocalTsa {
            url: format!("http://127.0.0.1:{port}/tsa"),
            _dir: dir,
        }
    }

    /// The TSA's (self-signed) certificate, to trust with `--tsa-ca`.
    pub fn cert(&self) -> std::path::PathBuf {
        self._dir.path().join("tsa.pem")
    }
}

fn answer(mut s: std::net::TcpStream, d: &Path) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    std::fs::write(d.join("q.tsq"), &buf[header_end..])?;
    let o = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(d.join("tsa.cnf"))
        .arg("-queryfile")
        .arg(d.join("q.tsq"))
        .arg("-out")
        .arg(d.join("r.tsr"))
        .output()?;
    let body = if o.status.success() {
        std::fs::read(d.join("r.tsr"))?
    } else {
        Vec::new()
    };
    write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(&body)
}

/// A one-page form: catalog 1 with `/AcroForm` 6, page 3 with the widgets
/// of two empty text fields, `Name` (object 7) and `Date` (object 8), each
/// field and widget in one dictionary (what form designers write).
pub fn form_pdf() -> Vec<u8> {
    form_pdf_with("", "", &[])
}

/// [`form_pdf`] with `catalog` and `resources` added to the catalog's and
/// the page's resource dictionaries, and `extra` objects (numbered 9, 10, …).
pub fn form_pdf_with(catalog: &str, resources: &str, extra: &[&[u8]]) -> Vec<u8> {
    let field = |name: &str, y: u32| {
        format!(
            "<< /Type /Annot /Subtype /Widget /FT /Tx /T ({name}) /Rect [72 {y} 300 {}] /P 3 0 R /F 4 /DA (/Helv 12 Tf 0 g) >>",
            y + 20
        )
        .into_bytes()
    };
    let mut objs: Vec<Vec<u8>> = vec![
        format!("<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R{catalog} >>").into_bytes(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >>{resources} >> /Annots [7 0 R 8 0 R] >>").into_bytes(),
        stream_object(b"BT /F1 18 Tf 72 720 Td (Application form) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Fields [7 0 R 8 0 R] /DA (/Helv 12 Tf 0 g) /DR << /Font << /Helv 5 0 R >> >> >>".to_vec(),
        field("Name", 640),
        field("Date", 600),
    ];
    objs.extend(extra.iter().map(|e| e.to_vec()));
    jpki_pdf::testing::classic_pdf(
        "1.7",
        &[0xE2, 0xE3, 0xCF, 0xD3],
        &objs,
        " /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]",
    )
}

fn find_in(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind_in(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The first number after the last `key` in `pdf`.
fn last_number_after(pdf: &[u8], key: &[u8]) -> usize {
    let at = rfind_in(pdf, key).expect("the key") + key.len();
    String::from_utf8_lossy(&pdf[at..(at + 40).min(pdf.len())])
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .expect("a number")
}

/// The body of the last definition of object `id` in `pdf` (classic
/// sections: between `N 0 obj` and `endobj`).
pub fn last_object_body(pdf: &[u8], id: usize) -> Vec<u8> {
    let head = format!("\n{id} 0 obj");
    let at = rfind_in(pdf, head.as_bytes()).expect("the object") + head.len();
    let end = at + find_in(&pdf[at..], b"endobj").expect("endobj");
    pdf[at..end].trim_ascii().to_vec()
}

/// `pdf` plus an unsigned incremental update (a classic cross-reference
/// section) defining `objs`, as any PDF writer appends one.
pub fn append_update(pdf: &[u8], objs: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let prev = last_number_after(pdf, b"startxref");
    let size = last_number_after(pdf, b"/Size");
    let root = last_number_after(pdf, b"/Root");
    let mut t = pdf.to_vec();
    if !t.ends_with(b"\n") {
        t.push(b'\n');
    }
    let mut xref = b"xref\n".to_vec();
    for (id, body) in objs {
        xref.extend(format!("{id} 1\n{:010} 00000 n\r\n", t.len()).as_bytes());
        t.extend(format!("{id} 0 obj\n").as_bytes());
        t.extend(body);
        t.extend(b"\nendobj\n");
    }
    let size = objs.iter().map(|o| o.0 + 1).max().unwrap_or(0).max(size);
    let x = t.len();
    t.extend(xref);
    t.extend(
        format!(
            "trailer\n<< /Size {size} /Root {root} 0 R /Prev {prev} /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\nstartxref\n{x}\n%%EOF\n"
        )
        .as_bytes(),
    );
    t
}

/// The next free object number of `pdf` (its last `/Size`).
pub fn next_object(pdf: &[u8]) -> usize {
    last_number_after(pdf, b"/Size")
}

/// `pdf` with the text field `field` (object number) filled in with `value`
/// by an unsigned incremental update: its `/V`, and a new appearance stream
/// showing the value, as a form filler writes it.
pub fn fill_text_field(pdf: &[u8], field: usize, value: &str) -> Vec<u8> {
    let ap = next_object(pdf);
    let body = last_object_body(pdf, field);
    let end = rfind_in(&body, b">>").expect("a dictionary");
    let filled = [
        &body[..end],
        format!(" /V ({value}) /AP << /N {ap} 0 R >> ").as_bytes(),
        &body[end..],
    ]
    .concat();
    let text = format!("/Tx BMC BT /Helv 12 Tf 0 g 2 6 Td ({value}) Tj ET EMC");
    let stream = [
        format!(
            "<< /Type /XObject /Subtype /Form /BBox [0 0 228 20] /Resources << /Font << /Helv 5 0 R >> >> /Length {} >>\nstream\n",
            text.len()
        )
        .as_bytes(),
        text.as_bytes(),
        b"\nendstream",
    ]
    .concat();
    append_update(pdf, &[(field, filled), (ap, stream)])
}

/// `pdf` with a new annotation `annot` (a dictionary) on page object `page`,
/// by an unsigned incremental update.
pub fn add_annotation(pdf: &[u8], page: usize, annot: &str) -> Vec<u8> {
    let n = next_object(pdf);
    let body = last_object_body(pdf, page);
    let at = find_in(&body, b"/Annots").expect("the page's /Annots") + b"/Annots".len();
    let open = at + find_in(&body[at..], b"[").expect("an /Annots array") + 1;
    let page_body = [&body[..open], format!("{n} 0 R ").as_bytes(), &body[open..]].concat();
    append_update(pdf, &[(page, page_body), (n, annot.as_bytes().to_vec())])
}
