//! A picture of one page, for placing the visible signature: rendered by
//! poppler's `pdftoppm` (Debian `poppler-utils`) in a child process, so no
//! PDF renderer is linked in and a crash on a hostile file stays in the child.
//! Without `pdftoppm` the page shows a schematic A4 page instead.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Rendering resolution: 36 dpi = half a pixel per point, an A4 page is 298 × 421.
const DPI: u32 = 36;
/// A page that takes longer than this to render is not worth waiting for.
const LIMIT: Duration = Duration::from_secs(20);

/// A rendered page.
pub struct Page {
    pub png: Vec<u8>,
    /// Page size in points (from the picture's size at [`DPI`]).
    pub width_pt: f64,
    pub height_pt: f64,
}

/// Renders page `page` (1 = first) of `pdf` into `dir`; `None` if it cannot.
pub fn render(pdf: &Path, page: u32, dir: &Path) -> Option<Page> {
    let n = page.max(1).to_string();
    let mut child = Command::new("pdftoppm")
        .args([
            "-png",
            "-r",
            &DPI.to_string(),
            "-f",
            &n,
            "-l",
            &n,
            "-singlefile",
        ])
        .arg(pdf)
        .arg(dir.join("preview"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().ok()? {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        return None;
    }
    let png = std::fs::read(dir.join("preview.png")).ok()?;
    let (w, h) = png_size(&png)?;
    let pt = |px: u32| f64::from(px) * 72.0 / f64::from(DPI);
    Some(Page {
        png,
        width_pt: pt(w),
        height_pt: pt(h),
    })
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |r: std::ops::Range<usize>| -> Option<u32> {
        Some(u32::from_be_bytes(png.get(r)?.try_into().ok()?))
    };
    Some((be(16..20)?, be(20..24)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_size_reads_ihdr_and_refuses_other_data() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(298u32.to_be_bytes());
        png.extend(421u32.to_be_bytes());
        assert_eq!(super::png_size(&png), Some((298, 421)));
        assert_eq!(super::png_size(b"GIF89a"), None);
        assert_eq!(super::png_size(&png[..20]), None);
    }
}
