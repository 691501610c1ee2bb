//! A Japanese TrueType font for the visible signature, embedded as a subset
//! of the glyphs the stamp uses (ISO 32000-1 §9.7: a Type 0 font with
//! Identity-H encoding over a CIDFontType2 whose CIDs are the subset's glyph
//! ids, with a ToUnicode CMap so the text can be searched and copied).
//!
//! Why: the signer's name is kanji; without an embedded font a viewer must
//! supply one (Acrobat's Asian font pack, fontconfig on Linux), and PDF/A
//! wants every font embedded. The font is found on the system (Debian's
//! `fonts-ipaexfont-gothic`), or named by the caller; glyph lookup and metrics
//! come from ttf-parser, subsetting from typst's subsetter.
//!
//! Refuses: fonts without TrueType outlines (`glyf`; CFF-based OpenType would
//! need FontFile3), collections, and files ttf-parser cannot read.

use lopdf::{Dictionary, Object, ObjectId};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Numbered object bodies to add to the update.
pub type Objects = Vec<(ObjectId, Vec<u8>)>;

/// Where Debian puts Japanese TrueType fonts, most preferred first.
const SYSTEM_FONTS: &[&str] = &[
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

/// A font file that can be embedded.
#[derive(Clone)]
pub struct StampFont {
    data: Arc<Vec<u8>>,
    /// PostScript name, for `/BaseFont` (ASCII, no spaces).
    name: String,
}

impl std::fmt::Debug for StampFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StampFont({}, {} bytes)", self.name, self.data.len())
    }
}

impl StampFont {
    /// Reads and checks a TrueType font file.
    pub fn load(path: &Path) -> Result<StampFont, crate::Error> {
        Self::from_file(path).map_err(crate::Error::Invalid)
    }

    fn from_file(path: &Path) -> Result<StampFont, String> {
        let shown = path.display();
        let data = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let face = ttf_parser::Face::parse(&data, 0)
            .map_err(|e| format!("{shown} is not a font ttf-parser can read ({e})"))?;
        if face.tables().glyf.is_none() {
            return Err(format!(
                "{shown} has no TrueType outlines (glyf); use a .ttf font such as IPAexGothic"
            ));
        }
        let name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .unwrap_or_else(|| "JapaneseFont".into());
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        Ok(StampFont {
            data: Arc::new(data),
            name: if name.is_empty() {
                "JapaneseFont".into()
            } else {
                name
            },
        })
    }

    /// The first usable Japanese font where Debian installs them
    /// (`fonts-ipaexfont-gothic`, `fonts-ipafont-gothic`), if any.
    pub fn find_system() -> Option<StampFont> {
        SYSTEM_FONTS
            .iter()
            .find_map(|p| StampFont::load(Path::new(p)).ok())
    }

    /// Starts collecting the glyphs of one appearance.
    pub(crate) fn subset(&self) -> Subset<'_> {
        Subset {
            font: self,
            remapper: subsetter::GlyphRemapper::new(),
            used: BTreeMap::new(),
        }
    }
}

/// The glyphs one appearance draws with the embedded font.
pub struct Subset<'f> {
    font: &'f StampFont,
    remapper: subsetter::GlyphRemapper,
    /// New glyph id → (the character, advance width in 1/1000 em).
    used: BTreeMap<u16, (char, i64)>,
}

impl Subset<'_> {
    /// `text` as a hex string of the subset's glyph ids (2 bytes each); a
    /// character the font lacks is drawn as its `.notdef` glyph.
    pub fn encode(&mut self, text: &str) -> String {
        let Ok(face) = ttf_parser::Face::parse(&self.font.data, 0) else {
            return String::new();
        };
        let upem = f64::from(face.units_per_em().max(1));
        let mut hex = String::new();
        for c in text.chars() {
            let old = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
            let new = self.remapper.remap(old.0);
            let w = face.glyph_hor_advance(old).map_or(1000.0, f64::from) * 1000.0 / upem;
            self.used.entry(new).or_insert((c, w.round() as i64));
            hex.push_str(&format!("{new:04X}"));
        }
        hex
    }

    /// The Type 0 font dictionary (for the appearance's resources) and the
    /// indirect objects it needs (descriptor, font file, ToUnicode CMap).
    pub fn finish(
        self,
        alloc: &mut dyn FnMut() -> ObjectId,
    ) -> Result<(Dictionary, Objects), String> {
        let data = &self.font.data;
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| format!("font: {e}"))?;
        let file = subsetter::subset(data, 0, &self.remapper)
            .map_err(|e| format!("cannot subset the font {}: {e}", self.font.name))?;
        let upem = f64::from(face.units_per_em().max(1));
        let scale = |v: i16| (f64::from(v) * 1000.0 / upem).round() as i64;
        // A subset tag from the glyphs (ISO 32000-1 §9.6.4): six capitals.
        let digest = Sha256::digest(
            self.used
                .keys()
                .flat_map(|g| g.to_be_bytes())
                .collect::<Vec<u8>>(),
        );
        let tag: String = digest[..6]
            .iter()
            .map(|b| char::from(b'A' + b % 26))
            .collect();
        let base = format!("{tag}+{}", self.font.name);
        let name = |s: &str| Object::Name(s.as_bytes().to_vec());

        let file_id = alloc();
        let mut fd = Dictionary::new();
        fd.set("Length1", Object::Integer(file.len() as i64));
        fd.set("Filter", name("FlateDecode"));
        let file_obj = crate::stamp::stream(fd, &crate::stamp::deflate(&file));

        let bbox = face.global_bounding_box();
        let desc_id = alloc();
        let mut desc = Dictionary::new();
        desc.set("Type", name("FontDescriptor"));
        desc.set("FontName", name(&base));
        desc.set("Flags", Object::Integer(4));
        desc.set(
            "FontBBox",
            Object::Array(
                [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max]
                    .iter()
                    .map(|v| Object::Integer(scale(*v)))
                    .collect(),
            ),
        );
        desc.set("ItalicAngle", Object::Integer(0));
        desc.set("Ascent", Object::Integer(scale(face.ascender())));
        desc.set("Descent", Object::Integer(scale(face.descender())));
        desc.set(
            "CapHeight",
            Object::Integer(scale(face.capital_height().unwrap_or(face.ascender()))),
        );
        desc.set("StemV", Object::Integer(80));
        desc.set("FontFile2", Object::Reference(file_id));

        let cmap_id = alloc();
        let cmap = to_unicode(&self.used);
        let cmap_obj = crate::stamp::stream(Dictionary::new(), cmap.as_bytes());

        let mut info = Dictionary::new();
        info.set("Registry", Object::string_literal("Adobe"));
        info.set("Ordering", Object::string_literal("Identity"));
        info.set("Supplement", Object::Integer(0));
        let mut widths = Vec::new();
        for (g, (_, w)) in &self.used {
            widths.push(Object::Integer(i64::from(*g)));
            widths.push(Object::Array(vec![Object::Integer(*w)]));
        }
        let mut cid = Dictionary::new();
        cid.set("Type", name("Font"));
        cid.set("Subtype", name("CIDFontType2"));
        cid.set("BaseFont", name(&base));
        cid.set("CIDSystemInfo", Object::Dictionary(info));
        cid.set("FontDescriptor", Object::Reference(desc_id));
        cid.set("DW", Object::Integer(1000));
        cid.set("W", Object::Array(widths));
        cid.set("CIDToGIDMap", name("Identity"));
        let mut f = Dictionary::new();
        f.set("Type", name("Font"));
        f.set("Subtype", name("Type0"));
        f.set("BaseFont", name(&base));
        f.set("Encoding", name("Identity-H"));
        f.set(
            "DescendantFonts",
            Object::Array(vec![Object::Dictionary(cid)]),
        );
        f.set("ToUnicode", Object::Reference(cmap_id));

        let mut desc_bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = lopdf::Writer::write_object(&mut desc_bytes, &Object::Dictionary(desc));
        Ok((
            f,
            vec![
                (file_id, file_obj),
                (desc_id, desc_bytes),
                (cmap_id, cmap_obj),
            ],
        ))
    }
}

/// A ToUnicode CMap (glyph id → the character it draws).
fn to_unicode(used: &BTreeMap<u16, (char, i64)>) -> String {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = used.iter().collect();
    for chunk in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (g, (c, _)) in chunk {
            let utf16: String = c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            s.push_str(&format!("<{g:04X}> <{utf16}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_holds_the_glyphs_drawn_and_maps_them_back_to_text() {
        let font = StampFont::find_system().expect(
            "a Japanese TrueType font (fonts-ipaexfont-gothic, installed by scripts/deps.sh)",
        );
        let mut subset = font.subset();
        let hex = subset.encode("試験　花子");
        // Five characters, five 2-byte glyph ids after .notdef (0).
        assert_eq!(hex, "00010002000300040005");
        let mut n = 20;
        let mut alloc = || {
            n += 1;
            (n, 0)
        };
        let (type0, objects) = subset.finish(&mut alloc).unwrap();
        assert_eq!(
            type0.get(b"Encoding").unwrap().as_name().unwrap(),
            b"Identity-H"
        );
        let base = type0.get(b"BaseFont").unwrap().as_name().unwrap();
        // A subset's name: six capitals, "+", the PostScript name.
        assert_eq!(base.get(6), Some(&b'+'), "{base:?}");
        assert!(base[..6].iter().all(u8::is_ascii_uppercase), "{base:?}");
        assert_eq!(objects.len(), 3, "font file, descriptor, ToUnicode");
        let cmap = String::from_utf8_lossy(&objects[2].1).into_owned();
        assert!(cmap.contains("<0001> <8A66>"), "{cmap}");
        assert!(cmap.contains("<0005> <5B50>"), "{cmap}");
        // The embedded file is a font with just those glyphs (and .notdef).
        let file = &objects[0].1;
        let start = file.windows(7).position(|w| w == b"stream\n").unwrap() + 7;
        let end = file.len() - b"\nendstream".len();
        let mut raw = Vec::new();
        use std::io::Read;
        flate2::read::ZlibDecoder::new(&file[start..end])
            .read_to_end(&mut raw)
            .unwrap();
        let face = ttf_parser::Face::parse(&raw, 0).unwrap();
        assert_eq!(face.number_of_glyphs(), 6);
    }

    #[test]
    fn fonts_without_truetype_outlines_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ttf");
        std::fs::write(&p, b"not a font").unwrap();
        assert!(StampFont::load(&p)
            .unwrap_err()
            .to_string()
            .contains("not a font"));
    }
}
