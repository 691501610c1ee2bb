//! The PDF verification attack corpus (issue 8, hostile input): every variant
//! is made here, byte by byte, from a PDF the simulated card signed, and
//! `jpki-sign verify` must flag each one with exit status 6 and a message
//! saying what is wrong. The attack classes are those of Mladenov et al.,
//! "1 Trillion Dollar Refund" (universal signature forgery, incremental saving
//! attack, signature wrapping) and Mainka et al., "Shadow Attacks".
//!
//! The signed file is edited as bytes (it has a binary comment line); edits
//! that need the file to stay parseable keep every byte offset or rewrite the
//! cross-reference data accordingly.

use jpki_tests::pdf::*;
use jpki_tests::*;
use std::path::Path;
use std::process::Output;

const PASSWORD: &[u8] = b"ABC123\n";

/// A one-page PDF like [`minimal_pdf`] with `extra` objects after object 5
/// (object 6, 7, …) that nothing refers to.
fn pdf_with_unused(extra: &[&[u8]]) -> Vec<u8> {
    minimal_pdf_with("1.7", extra)
}

/// Signs `input` with the main card into `output`; panics unless it worked.
fn sign(input: &Path, output: &Path) -> Vec<u8> {
    let o = run_with_input(
        jpki_sign_main()
            .arg(input)
            .arg("-o")
            .arg(output)
            .args(["--pin-file", "-"]),
        PASSWORD,
    );
    assert!(o.status.success(), "signing: {}", stderr(&o));
    std::fs::read(output).expect("signed output")
}

fn jpki_verify(pdf: &Path) -> Output {
    jpki_verify_with(pdf, &[])
}

fn jpki_verify_with(pdf: &Path, extra: &[&str]) -> Output {
    run(jpki_sign()
        .arg("verify")
        .arg(pdf)
        .arg("--ca")
        .arg(pki_file("sign-ca.pem"))
        .args(extra))
}

/// Collects every variant's outcome, so one run reports all that slipped through.
struct Corpus<'a> {
    dir: &'a Path,
    wrong: Vec<String>,
    checked: usize,
}

impl Corpus<'_> {
    /// `bytes` written as `name` must fail `verify` with exit 6 and `msg` on stderr.
    fn flags(&mut self, name: &str, bytes: &[u8], msg: &str) {
        self.flags_with(name, bytes, msg, &[]);
    }

    /// [`Corpus::flags`] with more `verify` options (`--strict`).
    fn flags_with(&mut self, name: &str, bytes: &[u8], msg: &str, extra: &[&str]) {
        let f = write(self.dir, name, bytes);
        let o = jpki_verify_with(&f, extra);
        self.checked += 1;
        let e = stderr(&o);
        if o.status.code() != Some(6) || !e.contains(msg) {
            self.wrong.push(format!(
                "{name}: expected exit 6 and {msg:?}, got exit {:?}\n  stderr: {e}\n  stdout: {}",
                o.status.code(),
                stdout(&o)
            ));
        }
    }

    fn done(self, expected: usize) {
        assert!(self.wrong.is_empty(), "{}", self.wrong.join("\n"));
        assert_eq!(self.checked, expected, "variants checked");
    }
}

/// The untampered file verifies: a rejection below is the attack's doing.
fn assert_verifies(pdf: &Path) {
    let o = jpki_verify(pdf);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Result:       VALID"), "{}", stdout(&o));
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The signature dictionary's layout in the signed file.
struct Sig {
    /// Offset of `/Contents`.
    key: usize,
    /// `<` and one past `>` of the /Contents hex string.
    cs: usize,
    ce: usize,
    /// Offset of `/ByteRange`, and the span of its value up to the `>>`.
    br_key: usize,
    br: (usize, usize),
    /// The ByteRange numbers.
    n: [usize; 4],
}

fn sig(bytes: &[u8]) -> Sig {
    let br_key = rfind(bytes, b"/ByteRange").expect("/ByteRange");
    let br0 = br_key + b"/ByteRange".len();
    let br1 = br0 + find(&bytes[br0..], b">>").expect(">>");
    let text = std::str::from_utf8(&bytes[br0..br1]).expect("ASCII ByteRange");
    let n: Vec<usize> = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split_whitespace()
        .map(|s| s.parse().expect("a number"))
        .collect();
    let key = rfind(&bytes[..br_key], b"/Contents").expect("/Contents");
    let cs = key + b"/Contents".len();
    assert_eq!(bytes[cs], b'<');
    let ce = cs + find(&bytes[cs..], b">").expect(">") + 1;
    assert_eq!(
        (n[1], n[2], n[2] + n[3]),
        (cs, ce, bytes.len()),
        "the fixture's ByteRange is its /Contents gap to the end"
    );
    Sig {
        key,
        cs,
        ce,
        br_key,
        br: (br0, br1),
        n: [n[0], n[1], n[2], n[3]],
    }
}

/// `bytes` with `range` overwritten by `text`, space-padded to the same length.
fn overwrite(bytes: &[u8], range: (usize, usize), text: &[u8]) -> Vec<u8> {
    let w = range.1 - range.0;
    assert!(text.len() <= w, "{} does not fit {w} bytes", text.len());
    let mut t = bytes.to_vec();
    t[range.0..range.0 + text.len()].copy_from_slice(text);
    t[range.0 + text.len()..range.1].fill(b' ');
    t
}

/// The last revision's `startxref` value and the `/Size` of its trailer.
fn last_xref(bytes: &[u8]) -> (usize, usize) {
    let at = rfind(bytes, b"startxref").expect("startxref") + b"startxref".len();
    let x: usize = String::from_utf8_lossy(&bytes[at..])
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("startxref value");
    let s = rfind(bytes, b"/Size").expect("/Size") + b"/Size".len();
    let size: usize = String::from_utf8_lossy(&bytes[s..s + 20])
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .expect("/Size value");
    (x, size)
}

/// The body of the last definition of object `id` (between `obj` and `endobj`).
fn last_object(bytes: &[u8], id: usize) -> Vec<u8> {
    let head = format!("\n{id} 0 obj");
    let at = rfind(bytes, head.as_bytes()).expect("object") + head.len();
    let end = at + find(&bytes[at..], b"endobj").expect("endobj");
    bytes[at..end].trim_ascii().to_vec()
}

/// `signed` plus an incremental update (classic cross-reference section)
/// defining `objs`: what any writer does to change a signed file.
fn append_revision(signed: &[u8], objs: &[(usize, Vec<u8>)], size: usize) -> Vec<u8> {
    let (prev, _) = last_xref(signed);
    let mut t = signed.to_vec();
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
    let x = t.len();
    t.extend(xref);
    t.extend(
        format!(
            "trailer\n<< /Size {size} /Root {} 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n",
            root_of(signed)
        )
        .as_bytes(),
    );
    t
}

/// The catalog's object number, from the last `/Root` in `pdf`.
fn root_of(pdf: &[u8]) -> usize {
    let at = rfind(pdf, b"/Root").expect("a /Root") + b"/Root".len();
    let digits: String = pdf[at..]
        .iter()
        .skip_while(|c| c.is_ascii_whitespace())
        .take_while(|c| c.is_ascii_digit())
        .map(|&c| c as char)
        .collect();
    digits.parse().expect("the /Root object number")
}

/// The page object's body with its `/Contents` reference replaced by `to`.
fn page_pointing_to(signed: &[u8], to: &str) -> Vec<u8> {
    let page = last_object(signed, 3);
    let at = find(&page, b"/Contents").expect("the page's /Contents") + b"/Contents".len();
    let r = at + find(&page[at..], b"R").expect("a reference") + 1;
    [&page[..at], format!(" {to}").as_bytes(), &page[r..]].concat()
}

const APPENDED: &str =
    "were appended after the last valid signature: the document was changed after it was signed";

#[test]
fn verify_flags_every_variant_of_the_attack_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Object 6 is in the signed revision but unused: the shadow attack's payload.
    let shadow = stream_object(b"BT /F1 24 Tf 72 720 Td (Pay 1,000,000 yen) Tj ET");
    let input = write(d, "input.pdf", &pdf_with_unused(&[&shadow]));
    let signed_path = d.join("signed.pdf");
    let signed = sign(&input, &signed_path);
    assert_verifies(&signed_path);
    assert_qpdf_check(&signed_path);
    let s = sig(&signed);
    let [_, b, c, dd] = s.n;
    let len = signed.len();
    let br = |text: &str| overwrite(&signed, s.br, text.as_bytes());
    let mut k = Corpus {
        dir: d,
        wrong: Vec::new(),
        checked: 0,
    };

    // 1. Universal signature forgery: the ByteRange.
    k.flags(
        "usf-byterange-removed.pdf",
        &overwrite(&signed, (s.br_key, s.br.1), b""),
        "/ByteRange is missing or not an array",
    );
    k.flags(
        "usf-byterange-empty.pdf",
        &br("[]"),
        "/ByteRange has 0 numbers, not 4",
    );
    k.flags(
        "usf-byterange-three.pdf",
        &br(&format!("[0 {b} {c}]")),
        "/ByteRange has 3 numbers, not 4",
    );
    k.flags(
        "usf-byterange-five.pdf",
        &br(&format!("[0 {b} {c} {dd} 0]")),
        "/ByteRange has 5 numbers, not 4",
    );
    k.flags(
        "usf-byterange-negative.pdf",
        &br(&format!("[0 {b} {c} -{dd}]")),
        "/ByteRange holds something other than non-negative integers",
    );
    k.flags(
        "usf-byterange-not-numbers.pdf",
        &br("[/a /b /c /d]"),
        "/ByteRange holds something other than non-negative integers",
    );
    let outside = "does not start at 0 or lies outside the file";
    k.flags(
        "usf-byterange-overlapping.pdf",
        &br(&format!("[0 {b} {} {}]", b - 10, dd + (c - b) + 10)),
        outside,
    );
    k.flags(
        "usf-byterange-zero-gap.pdf",
        &br(&format!("[0 {b} {b} {}]", dd + (c - b))),
        outside,
    );
    k.flags(
        "usf-byterange-past-eof.pdf",
        &br(&format!("[0 {b} {c} {}]", dd + 1)),
        outside,
    );
    k.flags(
        "usf-byterange-huge.pdf",
        &br(&format!("[0 {b} {c} {}]", u64::MAX)),
        "the field's /V is not a signature dictionary",
    );
    k.flags(
        "usf-byterange-not-at-0.pdf",
        &br(&format!("[1 {} {c} {dd}]", b - 1)),
        outside,
    );
    k.flags(
        "usf-byterange-covers-nothing.pdf",
        &br("[0 0 0 0]"),
        outside,
    );

    // 1. Universal signature forgery: the /Contents.
    k.flags(
        "usf-contents-removed.pdf",
        &overwrite(&signed, (s.key, s.ce), b""),
        "the signature dictionary does not have exactly one /Contents",
    );
    // `<>` with the ByteRange as it was: the gap now holds unsigned spaces.
    k.flags(
        "usf-contents-empty.pdf",
        &overwrite(&signed, (s.cs, s.ce), b"<>"),
        "more than this signature's /Contents",
    );
    // `<>` with a ByteRange that agrees with it: there is no CMS at all.
    let empty = overwrite(&signed, (s.cs, s.ce), b"<>");
    let c2 = s.cs + 2;
    let empty = overwrite(
        &empty,
        s.br,
        format!("[0 {b} {c2} {}]", len - c2).as_bytes(),
    );
    k.flags("usf-contents-empty-consistent.pdf", &empty, "not DER");
    let mut zeros = signed.clone();
    zeros[s.cs + 1..s.ce - 1].fill(b'0');
    k.flags("usf-contents-zeros.pdf", &zeros, "not DER");
    // Not hex: lopdf cannot even read the dictionary …
    let mut not_hex = signed.clone();
    not_hex[s.cs + 1..s.cs + 5].copy_from_slice(b"ZZZZ");
    k.flags(
        "usf-contents-not-hex.pdf",
        &not_hex,
        "the field's /V is not a signature dictionary",
    );
    // … white space it skips, so the DER in the gap is not what is decoded.
    let mut spaced = signed.clone();
    spaced[s.cs + 1..s.cs + 5].fill(b' ');
    k.flags(
        "usf-contents-white-space.pdf",
        &spaced,
        "/Contents holds characters other than hex digits",
    );
    k.flags(
        "usf-contents-literal-string.pdf",
        &overwrite(&signed, (s.cs, s.ce), b"(x)"),
        "/Contents is not a hex string",
    );

    // 2. Incremental saving attack: a new content stream and the page using it.
    let (_, size) = last_xref(&signed);
    let evil = stream_object(b"BT /F1 24 Tf 72 720 Td (Changed after signing) Tj ET");
    let isa = append_revision(
        &signed,
        &[
            (3, page_pointing_to(&signed, &format!("{size} 0 R"))),
            (size, evil),
        ],
        size + 1,
    );
    let f = write(d, "isa-new-content.pdf", &isa);
    assert_qpdf_check(&f);
    k.flags("isa-new-content.pdf", &isa, APPENDED);
    // A second update pointing the page back: it looks as signed, but two
    // updates follow the signature.
    let isa2 = append_revision(&isa, &[(3, page_pointing_to(&isa, "4 0 R"))], size + 1);
    k.flags("isa-two-updates.pdf", &isa2, "(2 incremental update(s))");

    // 3. Signature wrapping: the gap moved onto another hex string of the
    // file (the first revision's trailer /ID), lengths kept consistent.
    let id = find(&signed, b"/ID [<").expect("the original /ID") + b"/ID [".len();
    let id_end = id + find(&signed[id..], b">").expect(">") + 1;
    k.flags(
        "wrapping-gap-on-id.pdf",
        &br(&format!("[0 {id} {id_end} {}]", len - id_end)),
        "is not this signature's /Contents",
    );
    // The signed bytes after /Contents relocated to the end of the file, the
    // ByteRange pointing there: the hash still matches, while the file's own
    // tail (objects, xref, trailer — at the offsets readers use) now lies in
    // the widened gap, unsigned, free for an attacker to rewrite.
    let new_c = len;
    let mut wrapped = signed[..s.br.0].to_vec();
    let w = s.br.1 - s.br.0;
    wrapped.extend(format!("{:<w$}", format!("[0 {b} {new_c} {dd}]")).as_bytes());
    wrapped.extend(&signed[s.br.1..]);
    assert_eq!(wrapped.len(), new_c);
    wrapped.extend(&signed[c..]);
    assert_eq!(
        [&wrapped[..b], &wrapped[new_c..]].concat(),
        [&signed[..b], &signed[c..]].concat(),
        "the wrapped file's ByteRange covers exactly the originally signed bytes"
    );
    let f = write(d, "wrapping-relocated.pdf", &wrapped);
    assert_qpdf_check(&f);
    k.flags(
        "wrapping-relocated.pdf",
        &wrapped,
        "more than this signature's /Contents",
    );

    // 4. Shadow attack (replace): object 6 was signed but unused; a later
    // revision only makes the page point at it, adding no new object.
    let shadow_replace = append_revision(&signed, &[(3, page_pointing_to(&signed, "6 0 R"))], size);
    let f = write(d, "shadow-replace.pdf", &shadow_replace);
    assert_qpdf_check(&f);
    k.flags("shadow-replace.pdf", &shadow_replace, APPENDED);
    // Shadow attack (hide-and-replace): the page shows both streams, the
    // signed one and the signed-but-unused overlay.
    let shadow_hide = append_revision(
        &signed,
        &[(3, page_pointing_to(&signed, "[4 0 R 6 0 R]"))],
        size,
    );
    k.flags("shadow-hide-and-replace.pdf", &shadow_hide, APPENDED);

    // 5. The same shadow updates, then signed by a second signer: no byte is
    // unsigned now, but the first signer never saw what the page shows. The
    // revision comparison must name the change; a second signature alone
    // (with a visible stamp: new widget, appearance stream, page /Annots)
    // must stay valid.
    let f = write(d, "shadow-replace.pdf", &shadow_replace);
    let resigned = sign(&f, &d.join("shadow-replace-resigned.pdf"));
    k.flags(
        "shadow-replace-resigned.pdf",
        &resigned,
        "changed what this signature covers: page object 3: /Contents changed",
    );
    let f = write(d, "shadow-hide-and-replace.pdf", &shadow_hide);
    let resigned = sign(&f, &d.join("shadow-hide-resigned.pdf"));
    k.flags(
        "shadow-hide-resigned.pdf",
        &resigned,
        "page object 3: /Contents changed",
    );
    // An overlay annotation over the signed page ("hide" through /Annots).
    let page = last_object(&signed, 3);
    let annots = find(&page, b"/Annots[").expect("the widget in /Annots") + b"/Annots[".len();
    let overlaid = [
        &page[..annots],
        format!("{size} 0 R ").as_bytes(),
        &page[annots..],
    ]
    .concat();
    let overlay = append_revision(
        &signed,
        &[
            (3, overlaid),
            (
                size,
                b"<< /Type /Annot /Subtype /FreeText /Rect [0 0 595 842] /Contents (Paid) /DA (/Helv 24 Tf 0 g) >>".to_vec(),
            ),
        ],
        size + 1,
    );
    let f = write(d, "overlay.pdf", &overlay);
    assert_qpdf_check(&f);
    let resigned = sign(&f, &d.join("overlay-resigned.pdf"));
    // After an approval signature the standard allows annotations: valid,
    // with the overlay named and a warning; --strict refuses it.
    let o = jpki_verify(&d.join("overlay-resigned.pdf"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("gained /FreeText") && out.contains("WARNING:"),
        "{out}"
    );
    k.flags_with(
        "overlay-resigned.pdf",
        &resigned,
        "gained /FreeText",
        &["--strict"],
    );
    let twice = d.join("twice.pdf");
    let o = run_with_input(
        jpki_sign_main()
            .arg(&signed_path)
            .arg("-o")
            .arg(&twice)
            .args(["--stamp", "--pin-file", "-"]),
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_verifies(&twice);

    k.done(28);
}

/// The same attack classes on a file with object streams and a
/// cross-reference stream (what most producers write today), where the
/// signed objects live compressed and every update is a stream section.
#[test]
fn verify_flags_attacks_on_object_stream_files_and_accepts_a_second_signature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shadow = stream_object(b"BT /F1 24 Tf 72 720 Td (Pay 1,000,000 yen) Tj ET");
    let classic = write(d, "classic.pdf", &pdf_with_unused(&[&shadow]));
    let input = d.join("objstm.pdf");
    qpdf(
        &["--object-streams=generate", "--preserve-unreferenced"],
        &classic,
        &input,
    );
    let signed_path = d.join("signed.pdf");
    let signed = sign(&input, &signed_path);
    assert_verifies(&signed_path);
    assert!(
        String::from_utf8_lossy(&signed).contains("/Type/XRef"),
        "the update must be an xref stream section"
    );
    let mut k = Corpus {
        dir: d,
        wrong: Vec::new(),
        checked: 0,
    };
    // A byte changed inside the signed range (inside the compressed
    // object stream: what a viewer shows changes, the digest must not match).
    let objstm_at = find(&signed, b"/Type/ObjStm")
        .or_else(|| find(&signed, b"/Type /ObjStm"))
        .expect("an object stream");
    let mut changed = signed.clone();
    let data_at = objstm_at + find(&signed[objstm_at..], b"stream").unwrap() + 10;
    changed[data_at] ^= 0x01;
    k.flags("objstm-changed-byte.pdf", &changed, "messageDigest");
    // Garbage and an update appended after the signature.
    let mut appended = signed.clone();
    appended.extend(b"% appended\n");
    k.flags("objstm-appended.pdf", &appended, APPENDED);
    let (_, size) = last_xref(&signed);
    // qpdf renumbers objects: find the page (the signing update re-wrote it
    // last) and the unused shadow stream by their contents.
    let page_at = signed
        .windows(10)
        .rposition(|w| w == b"/Type/Page")
        .filter(|&i| signed.get(i + 10) != Some(&b's'))
        .expect("the page in the update");
    let head = rfind(&signed[..page_at], b" 0 obj").expect("the page's header");
    let line = rfind(&signed[..head], b"\n").expect("a line") + 1;
    let page_id: usize = String::from_utf8_lossy(&signed[line..head])
        .trim()
        .parse()
        .expect("id");
    let page = last_object(&signed, page_id);
    let shadow_id = shadow_object_id(d, &input);
    let replaced = append_revision(
        &signed,
        &[(
            page_id,
            page_pointing_to_body(&page, &format!("{shadow_id} 0 R")),
        )],
        size,
    );
    k.flags("objstm-shadow-replace.pdf", &replaced, APPENDED);
    // The shadow update signed again: named by the revision comparison.
    let f = write(d, "objstm-shadow-replace.pdf", &replaced);
    let resigned = sign(&f, &d.join("objstm-shadow-resigned.pdf"));
    k.flags(
        "objstm-shadow-resigned.pdf",
        &resigned,
        &format!("page object {page_id}: /Contents changed"),
    );
    // A second signature (the page and form move out of the object stream
    // into the update) keeps the first valid.
    let twice = d.join("twice.pdf");
    sign(&signed_path, &twice);
    assert_verifies(&twice);
    assert_pdfsig_all_valid(&twice, 2);
    k.done(4);
}

/// The object number qpdf gave the unused shadow stream in `pdf`.
fn shadow_object_id(d: &Path, pdf: &Path) -> usize {
    let qdf = d.join("shadow-find.qdf");
    qpdf(
        &[
            "--qdf",
            "--object-streams=disable",
            "--preserve-unreferenced",
        ],
        pdf,
        &qdf,
    );
    let text = std::fs::read(&qdf).expect("qdf");
    let at = find(&text, b"Pay 1,000,000 yen").expect("the shadow text");
    // QDF: "%% Contents for page" comments aside, each stream object is
    // "N 0 obj\n<<\n  /Length M 0 R\n>>\nstream" just before its data.
    let head = rfind(&text[..at], b" 0 obj").expect("the stream's header");
    let line = rfind(&text[..head], b"\n").expect("a line") + 1;
    String::from_utf8_lossy(&text[line..head])
        .trim()
        .parse()
        .expect("id")
}

/// `page` (an object body) with its `/Contents` reference replaced by `to`.
fn page_pointing_to_body(page: &[u8], to: &str) -> Vec<u8> {
    let at = find(page, b"/Contents").expect("the page's /Contents") + b"/Contents".len();
    let r = at + find(&page[at..], b"R").expect("a reference") + 1;
    [&page[..at], format!(" {to}").as_bytes(), &page[r..]].concat()
}
