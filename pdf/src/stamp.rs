//! The visible signature: a framed box on a page with the
//! signer's name (from the sign certificate), a few lines of text and an
//! optional image (a seal, 印影), drawn by an appearance stream (Form
//! XObject) that the widget's `/AP /N` points to.
//!
//! Fonts: ASCII lines use the standard Helvetica; lines with other
//! characters (a kanji name) use a Japanese TrueType font embedded as a
//! subset ([`crate::font`]: IPAexGothic from Debian's fonts-ipaexfont-gothic,
//! or a font file the caller names). Without such a font file they fall back to
//! `HeiseiKakuGo-W5` with the `UniJIS-UTF16-H` CMap, a standard Japanese font
//! of Adobe-Japan1 that viewers supply themselves (not embedded).
//!
//! Images: PNG (decoded; transparency kept as a soft mask) or baseline JPEG
//! (passed through as DCTDecode, only its header read); CMYK JPEGs and
//! images over 25 megapixels are refused.

use lopdf::{Dictionary, Object, ObjectId};
use std::io::Write;
use std::path::Path;

/// Where and what to draw.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// 1-based page number.
    pub page: u32,
    /// `[x y w h]` in points from the page's lower-left corner; `None` = bottom
    /// right corner, 220 × 54, 36 pt from the edges.
    pub rect: Option<[f64; 4]>,
    /// Text lines, top to bottom (after the signer's name).
    pub lines: Vec<String>,
    /// Whether the signer's name goes on the first line.
    pub with_name: bool,
    /// The signer's name, once the certificate has been read.
    pub signer: Option<String>,
    /// An image drawn at the left of the box.
    pub image: Option<Image>,
    /// A Japanese TrueType font to embed (subset) for non-ASCII lines; without
    /// one, the standard HeiseiKakuGo-W5 is named and not embedded.
    pub font: Option<crate::font::StampFont>,
}

/// An image ready to be written as an Image XObject.
#[derive(Debug, Clone)]
pub struct Image {
    width: u32,
    height: u32,
    color_space: &'static str,
    filter: &'static str,
    data: Vec<u8>,
    /// Flate-compressed 8-bit alpha, if the PNG had transparency.
    alpha: Option<Vec<u8>>,
}

/// Width and height of the default box.
const DEFAULT_W: f64 = 220.0;
const DEFAULT_H: f64 = 54.0;
/// The largest image accepted, in pixels.
const MAX_PIXELS: u64 = 25_000_000;

/// The widget rectangle on a page whose `/MediaBox` is `media` (`[x0 y0 x1 y1]`).
pub fn rect_on(stamp: &Stamp, media: [f64; 4]) -> [f64; 4] {
    match stamp.rect {
        Some([x, y, w, h]) => [
            media[0] + x,
            media[1] + y,
            media[0] + x + w,
            media[1] + y + h,
        ],
        None => {
            let x1 = (media[2] - 36.0).max(media[0] + DEFAULT_W);
            let y0 = media[1] + 36.0;
            [x1 - DEFAULT_W, y0, x1, y0 + DEFAULT_H]
        }
    }
}

pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// Reads a PNG or JPEG (a seal, 印影) for the stamp.
pub fn load_image(path: &Path) -> Result<Image, crate::Error> {
    image_file(path).map_err(crate::Error::Invalid)
}

fn image_file(path: &Path) -> Result<Image, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_image(&bytes).map_err(|e| format!("{shown}: {e}"))
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        jpeg_image(bytes).map_err(|e| format!("{shown}: {e}"))
    } else {
        Err(format!("{shown} is neither a PNG nor a JPEG image"))
    }
}

fn png_image(bytes: &[u8]) -> Result<Image, String> {
    let mut dec = png::Decoder::new(bytes);
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let info_size = {
        let h = dec
            .read_header_info()
            .map_err(|e| format!("not a readable PNG ({e})"))?;
        u64::from(h.width) * u64::from(h.height)
    };
    if info_size > MAX_PIXELS {
        return Err(format!(
            "the image has {info_size} pixels; at most {MAX_PIXELS} are accepted"
        ));
    }
    let mut reader = dec
        .read_info()
        .map_err(|e| format!("not a readable PNG ({e})"))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("not a readable PNG ({e})"))?;
    let buf = &buf[..frame.buffer_size()];
    let (channels, alpha) = match frame.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => return Err("unsupported PNG colour type".into()),
    };
    let (color, mask) = if alpha {
        let step = channels + 1;
        let color: Vec<u8> = buf
            .chunks_exact(step)
            .flat_map(|p| p[..channels].to_vec())
            .collect();
        let mask: Vec<u8> = buf.chunks_exact(step).map(|p| p[channels]).collect();
        (color, Some(mask))
    } else {
        (buf.to_vec(), None)
    };
    Ok(Image {
        width: frame.width,
        height: frame.height,
        color_space: if channels == 1 {
            "DeviceGray"
        } else {
            "DeviceRGB"
        },
        filter: "FlateDecode",
        data: deflate(&color),
        alpha: mask.map(|m| deflate(&m)),
    })
}

fn jpeg_image(bytes: Vec<u8>) -> Result<Image, String> {
    let mut dec = jpeg_decoder::Decoder::new(&bytes[..]);
    dec.read_info()
        .map_err(|e| format!("not a readable JPEG ({e})"))?;
    let info = dec.info().ok_or("not a readable JPEG")?;
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return Err(format!("the image is larger than {MAX_PIXELS} pixels"));
    }
    let color_space = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => "DeviceGray",
        jpeg_decoder::PixelFormat::RGB24 => "DeviceRGB",
        _ => return Err("only greyscale and RGB JPEGs are accepted (convert CMYK to RGB)".into()),
    };
    Ok(Image {
        width: u32::from(info.width),
        height: u32::from(info.height),
        color_space,
        filter: "DCTDecode",
        data: bytes,
        alpha: None,
    })
}

/// Whether `s` can be drawn with Helvetica / WinAnsi (printable ASCII).
fn ascii(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
}

/// Width of `s` in text space units (1 = the font size): an estimate, used
/// to shrink the font until every line fits.
fn width_units(s: &str) -> f64 {
    let latin = if ascii(s) { 0.56 } else { 0.5 };
    s.chars()
        .map(|c| if c.is_ascii() { latin } else { 1.0 })
        .sum()
}

fn literal(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '(' | ')' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

fn utf16_hex(s: &str) -> String {
    s.encode_utf16().map(|u| format!("{u:04X}")).collect()
}

pub(crate) fn stream(dict: Dictionary, data: &[u8]) -> Vec<u8> {
    let mut d = dict;
    d.set("Length", Object::Integer(data.len() as i64));
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = lopdf::Writer::write_object(&mut out, &Object::Dictionary(d));
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

fn name(n: &str) -> Object {
    Object::Name(n.as_bytes().to_vec())
}

fn japanese_font() -> Dictionary {
    let mut desc = Dictionary::new();
    desc.set("Type", name("FontDescriptor"));
    desc.set("FontName", name("HeiseiKakuGo-W5"));
    desc.set("Flags", Object::Integer(4));
    desc.set(
        "FontBBox",
        Object::Array(vec![(-92).into(), (-250).into(), 1010.into(), 922.into()]),
    );
    desc.set("ItalicAngle", Object::Integer(0));
    desc.set("Ascent", Object::Integer(752));
    desc.set("Descent", Object::Integer(-221));
    desc.set("CapHeight", Object::Integer(737));
    desc.set("StemV", Object::Integer(114));
    let mut info = Dictionary::new();
    info.set("Registry", Object::string_literal("Adobe"));
    info.set("Ordering", Object::string_literal("Japan1"));
    info.set("Supplement", Object::Integer(5));
    let mut cid = Dictionary::new();
    cid.set("Type", name("Font"));
    cid.set("Subtype", name("CIDFontType0"));
    cid.set("BaseFont", name("HeiseiKakuGo-W5"));
    cid.set("CIDSystemInfo", Object::Dictionary(info));
    cid.set("FontDescriptor", Object::Dictionary(desc));
    cid.set("DW", Object::Integer(1000));
    // Proportional Latin (CIDs 1–95) at half width.
    cid.set("W", Object::Array(vec![1.into(), 95.into(), 500.into()]));
    let mut f = Dictionary::new();
    f.set("Type", name("Font"));
    f.set("Subtype", name("Type0"));
    f.set("BaseFont", name("HeiseiKakuGo-W5"));
    f.set("Encoding", name("UniJIS-UTF16-H"));
    f.set(
        "DescendantFonts",
        Object::Array(vec![Object::Dictionary(cid)]),
    );
    f
}

/// Numbered object bodies of the appearance.
type Objects = Vec<(ObjectId, Vec<u8>)>;

/// The objects of the appearance of a `w` × `h` box: the Form XObject first
/// (the widget's `/AP /N`), then the image and its mask if there is one.
/// `alloc` hands out object numbers.
pub(crate) fn objects(
    stamp: &Stamp,
    w: f64,
    h: f64,
    alloc: &mut dyn FnMut() -> ObjectId,
) -> Objects {
    let form_id = alloc();
    let mut out = Vec::new();
    let mut xobjects = Dictionary::new();
    let mut content = format!(
        "q 0.2 0.2 0.6 RG 1 w 0.5 0.5 {:.2} {:.2} re S Q\n",
        w - 1.0,
        h - 1.0
    );
    let mut text_x = 5.0;
    if let Some(img) = &stamp.image {
        text_x = draw_image(&mut content, img, w, h);
        let img_id = image_objects(img, alloc, &mut out);
        xobjects.set("Im1", Object::Reference(img_id));
    }
    let lines = text_lines(stamp);
    let size = font_size(&lines, w, h, text_x);
    let (embedded, japanese_hex) = encode_non_ascii(stamp.font.as_ref(), &lines, alloc);
    let japanese = draw_text(&mut content, &lines, &japanese_hex, size, text_x, h);
    let fonts = font_resources(japanese, embedded, alloc, &mut out);
    out.insert(0, (form_id, form_xobject(w, h, fonts, xobjects, &content)));
    out
}

/// Draws `img` at the left of the box, at most 40% of its width; where the text starts.
fn draw_image(content: &mut String, img: &Image, w: f64, h: f64) -> f64 {
    let ih = (h - 8.0).max(1.0);
    let mut iw = ih * f64::from(img.width) / f64::from(img.height.max(1));
    let mut ih2 = ih;
    if iw > w * 0.4 {
        iw = w * 0.4;
        ih2 = iw * f64::from(img.height) / f64::from(img.width.max(1));
    }
    content.push_str(&format!(
        "q {iw:.2} 0 0 {ih2:.2} 4 {:.2} cm /Im1 Do Q\n",
        (h - ih2) / 2.0
    ));
    4.0 + iw + 5.0
}

/// The Image XObject (and its soft mask, pushed first) into `out`; the image's id.
fn image_objects(img: &Image, alloc: &mut dyn FnMut() -> ObjectId, out: &mut Objects) -> ObjectId {
    let img_id = alloc();
    let image_dict = |color_space: &str, filter: &str| {
        let mut d = Dictionary::new();
        d.set("Type", name("XObject"));
        d.set("Subtype", name("Image"));
        d.set("Width", Object::Integer(i64::from(img.width)));
        d.set("Height", Object::Integer(i64::from(img.height)));
        d.set("ColorSpace", name(color_space));
        d.set("BitsPerComponent", Object::Integer(8));
        d.set("Filter", name(filter));
        d
    };
    let mut d = image_dict(img.color_space, img.filter);
    if let Some(alpha) = &img.alpha {
        let mask_id = alloc();
        let m = image_dict("DeviceGray", "FlateDecode");
        d.set("SMask", Object::Reference(mask_id));
        out.push((mask_id, stream(m, alpha)));
    }
    out.push((img_id, stream(d, &img.data)));
    img_id
}

/// The signer's name (if shown) and the other lines, empty ones left out.
fn text_lines(stamp: &Stamp) -> Vec<String> {
    stamp
        .signer
        .iter()
        .filter(|_| stamp.with_name)
        .cloned()
        .chain(stamp.lines.iter().cloned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The largest font size (3–11 pt) at which every line fits the box.
fn font_size(lines: &[String], w: f64, h: f64, text_x: f64) -> f64 {
    let n = lines.len().max(1) as f64;
    let avail = (w - text_x - 4.0).max(1.0);
    let widest = lines.iter().map(|l| width_units(l)).fold(1.0, f64::max);
    ((h - 8.0) / n / 1.25)
        .min(11.0)
        .min(avail / widest)
        .max(3.0)
}

/// Non-ASCII lines as hex strings: glyph ids of the embedded subset of
/// `font` (with the subset font), or UTF-16 for the standard (not embedded)
/// Japanese font when no font file is at hand or it cannot be subset.
fn encode_non_ascii(
    font: Option<&crate::font::StampFont>,
    lines: &[String],
    alloc: &mut dyn FnMut() -> ObjectId,
) -> (Option<(Dictionary, crate::font::Objects)>, Vec<String>) {
    if let Some(font) = font.filter(|_| !lines.iter().all(|l| ascii(l))) {
        let mut subset = font.subset();
        let hex: Vec<String> = lines.iter().map(|l| subset.encode(l)).collect();
        match subset.finish(alloc) {
            Ok(f) => return (Some(f), hex),
            Err(e) => tracing::warn!(%e, "drawing the stamp with the standard Japanese font"),
        }
    }
    (None, lines.iter().map(|l| utf16_hex(l)).collect())
}

/// The text object: ASCII lines in Helvetica (/F1), others in the Japanese
/// font (/F2); whether /F2 is used.
fn draw_text(
    content: &mut String,
    lines: &[String],
    japanese_hex: &[String],
    size: f64,
    text_x: f64,
    h: f64,
) -> bool {
    let mut y = h - 4.0 - size;
    let mut japanese = false;
    content.push_str("BT 0.1 0.1 0.4 rg\n");
    for (line, hex) in lines.iter().zip(japanese_hex) {
        if ascii(line) {
            content.push_str(&format!(
                "/F1 {size:.2} Tf 1 0 0 1 {text_x:.2} {y:.2} Tm ({}) Tj\n",
                literal(line)
            ));
        } else {
            japanese = true;
            content.push_str(&format!(
                "/F2 {size:.2} Tf 1 0 0 1 {text_x:.2} {y:.2} Tm <{hex}> Tj\n"
            ));
        }
        y -= size * 1.25;
    }
    content.push_str("ET\n");
    japanese
}

/// The `/Font` resources: Helvetica, and the Japanese font if `japanese`
/// (embedded subset, else the standard one), each an object of its own
/// (poppler's pdffonts trips over direct ones in an appearance stream).
fn font_resources(
    japanese: bool,
    embedded: Option<(Dictionary, crate::font::Objects)>,
    alloc: &mut dyn FnMut() -> ObjectId,
    out: &mut Objects,
) -> Dictionary {
    let mut helvetica = Dictionary::new();
    helvetica.set("Type", name("Font"));
    helvetica.set("Subtype", name("Type1"));
    helvetica.set("BaseFont", name("Helvetica"));
    helvetica.set("Encoding", name("WinAnsiEncoding"));
    let mut fonts = Dictionary::new();
    let mut font_object = |key: &str, d: Dictionary, out: &mut Objects| {
        let id = alloc();
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = lopdf::Writer::write_object(&mut bytes, &Object::Dictionary(d));
        out.push((id, bytes));
        fonts.set(key, Object::Reference(id));
    };
    font_object("F1", helvetica, out);
    if japanese {
        match embedded {
            Some((font, objects)) => {
                out.extend(objects);
                font_object("F2", font, out);
            }
            None => font_object("F2", japanese_font(), out),
        }
    }
    fonts
}

/// The appearance stream itself (a Form XObject of the box's size).
fn form_xobject(w: f64, h: f64, fonts: Dictionary, xobjects: Dictionary, content: &str) -> Vec<u8> {
    let mut res = Dictionary::new();
    res.set("Font", Object::Dictionary(fonts));
    if !xobjects.is_empty() {
        res.set("XObject", Object::Dictionary(xobjects));
    }
    let mut d = Dictionary::new();
    d.set("Type", name("XObject"));
    d.set("Subtype", name("Form"));
    d.set(
        "BBox",
        Object::Array(vec![
            0.into(),
            0.into(),
            Object::Real(w as f32),
            Object::Real(h as f32),
        ]),
    );
    d.set("Resources", Object::Dictionary(res));
    stream(d, content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut() -> ObjectId {
        let mut n = 10;
        move || {
            n += 1;
            (n, 0)
        }
    }

    #[test]
    fn rect_and_text() {
        let s = Stamp {
            page: 1,
            rect: None,
            lines: vec!["Signed (test)".into(), "署名 2026".into()],
            with_name: true,
            signer: Some("試験　花子".into()),
            image: None,
            font: None,
        };
        assert_eq!(
            rect_on(&s, [0.0, 0.0, 595.0, 842.0]),
            [339.0, 36.0, 559.0, 90.0]
        );
        let objs = objects(&s, 220.0, 54.0, &mut counter());
        assert_eq!(objs.len(), 3, "form, Helvetica, the Japanese font");
        let ap = String::from_utf8_lossy(&objs[0].1).into_owned();
        assert!(ap.contains("(Signed \\(test\\)) Tj"), "{ap}");
        // Without a font file: 試験　花子 in UTF-16BE, with the standard Japanese font.
        assert!(ap.contains("<8A669A13300082B15B50> Tj"), "{ap}");
        assert!(ap.contains("/Subtype/Form"), "{ap}");
        assert!(ap.contains("/F2 13 0 R"), "{ap}");
        let f2 = String::from_utf8_lossy(&objs[2].1).into_owned();
        assert!(f2.contains("/Encoding/UniJIS-UTF16-H"), "{f2}");
    }

    #[test]
    fn images_become_xobjects() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seal.png");
        let mut enc = png::Encoder::new(std::fs::File::create(&p).unwrap(), 2, 1);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[255, 0, 0, 255, 0, 0, 255, 0]).unwrap();
        drop(w);
        let img = load_image(&p).unwrap();
        let s = Stamp {
            page: 1,
            rect: None,
            lines: vec!["x".into()],
            with_name: false,
            signer: Some("not shown".into()),
            image: Some(img),
            font: None,
        };
        let objs = objects(&s, 220.0, 54.0, &mut counter());
        assert_eq!(objs.len(), 4, "form, mask, image, Helvetica");
        let form = String::from_utf8_lossy(&objs[0].1).into_owned();
        assert!(form.contains("/Im1 Do"), "{form}");
        assert!(!form.contains("not shown"));
        let image = String::from_utf8_lossy(&objs[2].1).into_owned();
        assert!(image.contains("/SMask 13 0 R"), "{image}");
        std::fs::write(&p, b"GIF89a").unwrap();
        assert!(load_image(&p)
            .unwrap_err()
            .to_string()
            .contains("neither a PNG nor a JPEG"));
    }
}
