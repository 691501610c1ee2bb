//! Bounded reads into zeroizing buffers, and the one rule for taking the PIN line out of them.
//!
//! Every read stops one byte past [`MAX_LEN`] so the caller can tell "too large" from "just
//! fits" without ever holding a document in memory. Buffers are allocated once at their final
//! size: a `Vec` that grows would leave copies of the PIN behind in freed memory.

use crate::MAX_LEN;
use std::io::{BufRead, Read};
use std::path::Path;
use zeroize::Zeroizing;

/// A zeroizing buffer that holds one byte more than any accepted input without reallocating.
fn buffer() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(Vec::with_capacity(MAX_LEN + 1))
}

/// The whole file, or its first `MAX_LEN + 1` bytes (a FIFO or `/dev/stdin` works too).
pub(crate) fn read_file(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut out = buffer();
    file.take(MAX_LEN as u64 + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// One line of standard input (up to `MAX_LEN + 1` bytes): what follows stays unread for the
/// program, which may read its document from standard input next.
pub(crate) fn read_stdin_line() -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut out = buffer();
    std::io::stdin()
        .lock()
        .take(MAX_LEN as u64 + 1)
        .read_until(b'\n', &mut out)?;
    Ok(out)
}

/// The first line without its line end (`\n`, `\r\n`, or a stray `\r`); `None` when the bytes
/// are not UTF-8. Checked in place: `String::from_utf8` of a copy would hand the copy to its
/// error, which is dropped without being wiped.
pub(crate) fn first_line(bytes: &[u8]) -> Option<Zeroizing<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let line = text.lines().next().unwrap_or("");
    Some(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_loses_its_line_end_only() {
        let line = |b: &[u8]| first_line(b).map(|s| s.to_string());
        assert_eq!(line(b"1234\nrest"), Some("1234".into()));
        assert_eq!(line(b"1234\r\n"), Some("1234".into()));
        assert_eq!(line(b"1234\r"), Some("1234".into()));
        assert_eq!(line(b" ab c \n"), Some(" ab c ".into()));
        assert_eq!(line(b""), Some(String::new()));
        assert_eq!(line(b"\n1234"), Some(String::new()));
        assert_eq!(line(b"\xff\n"), None);
    }

    #[test]
    fn a_file_is_read_one_byte_past_the_limit_at_most() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big");
        std::fs::write(&f, vec![b'1'; 3 * MAX_LEN]).unwrap();
        assert_eq!(read_file(&f).unwrap().len(), MAX_LEN + 1);
    }
}
