//! The visible signature (`--stamp`): a framed box on a page with a few lines
//! of text, drawn by an appearance stream (Form XObject) that the widget's
//! `/AP /N` points to. Text is ASCII in the standard Helvetica font (no font
//! file to embed); characters outside ASCII are replaced by `?`, so the
//! signer's kanji name is not drawn (it is in the certificate; a Japanese
//! stamp needs an embedded CJK font, which is not done here).

use lopdf::{Dictionary, Object};

/// Where and what to draw.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// 1-based page number.
    pub page: u32,
    /// `[x y w h]` in points from the page's lower-left corner; `None` = bottom
    /// right corner, 220 × 54, 36 pt from the edges.
    pub rect: Option<[f64; 4]>,
    /// Text lines, top to bottom.
    pub lines: Vec<String>,
}

/// Width and height of the default box.
const DEFAULT_W: f64 = 220.0;
const DEFAULT_H: f64 = 54.0;

/// Parses `X,Y,W,H`.
pub fn parse_rect(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--stamp-rect {s:?}: expected X,Y,W,H in points"))?;
    match v[..] {
        [x, y, w, h] if w > 0.0 && h > 0.0 && x >= 0.0 && y >= 0.0 => Ok([x, y, w, h]),
        _ => Err(format!(
            "--stamp-rect {s:?}: expected four numbers X,Y,W,H with W and H > 0"
        )),
    }
}

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

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .flat_map(|c| match c {
            '(' | ')' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The appearance stream object (`<< … >> stream … endstream`) for a box of
/// `w` × `h` points.
pub fn appearance(stamp: &Stamp, w: f64, h: f64) -> Vec<u8> {
    let n = stamp.lines.len().max(1) as f64;
    let size = ((h - 8.0) / n / 1.25).clamp(4.0, 11.0);
    let mut c = format!(
        "q 0.2 0.2 0.6 RG 1 w 0.5 0.5 {:.2} {:.2} re S Q\nBT /F1 {size:.2} Tf 0.1 0.1 0.4 rg\n",
        w - 1.0,
        h - 1.0
    );
    let mut y = h - 4.0 - size;
    for line in &stamp.lines {
        c.push_str(&format!("1 0 0 1 5 {y:.2} Tm ({}) Tj\n", escape(line)));
        y -= size * 1.25;
    }
    c.push_str("ET\n");
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
    font.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
    let mut fonts = Dictionary::new();
    fonts.set("F1", Object::Dictionary(font));
    let mut res = Dictionary::new();
    res.set("Font", Object::Dictionary(fonts));
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"XObject".to_vec()));
    d.set("Subtype", Object::Name(b"Form".to_vec()));
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
    d.set("Length", Object::Integer(c.len() as i64));
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = lopdf::Writer::write_object(&mut out, &Object::Dictionary(d));
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(c.as_bytes());
    out.extend_from_slice(b"\nendstream");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_and_text() {
        assert_eq!(
            parse_rect("10,20,100,40").unwrap(),
            [10.0, 20.0, 100.0, 40.0]
        );
        assert!(parse_rect("10,20,0,40").is_err());
        assert!(parse_rect("a,b").is_err());
        let s = Stamp {
            page: 1,
            rect: None,
            lines: vec!["Signed (test) 署名".into()],
        };
        assert_eq!(
            rect_on(&s, [0.0, 0.0, 595.0, 842.0]),
            [339.0, 36.0, 559.0, 90.0]
        );
        let ap = String::from_utf8(appearance(&s, 220.0, 54.0)).unwrap();
        assert!(ap.contains("(Signed \\(test\\) ??) Tj"), "{ap}");
        assert!(ap.contains("/Subtype/Form"), "{ap}");
    }
}
