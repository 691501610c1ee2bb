//! The body of an upload: one request carries the options, the secret (sign
//! password or PIN, possibly empty) and the files, so the secret is sent once.
//!
//! Layout: frames of a 4-byte big-endian length and that many bytes. Frame 1
//! is the options (JSON, with the file names in order), frame 2 the secret,
//! then one frame per file. Files go straight to a private temporary
//! directory, never whole into memory; every length is checked against the
//! limits before it is read. What it refuses: a frame longer than its limit
//! or than what is left of the body, names with path separators (only the
//! last component is used), a body that ends early or has bytes left over.

use serde::de::DeserializeOwned;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The largest options frame.
const MAX_OPTIONS: u32 = 64 * 1024;
/// The largest secret (the sign password has at most 16 characters).
const MAX_SECRET: u32 = 64;

/// What an upload body may be wrong with.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the upload is malformed: {0}")]
    Malformed(&'static str),
    #[error("the upload's options are malformed: {0}")]
    Options(serde_json::Error),
    #[error("cannot store the uploaded file: {0}")]
    Store(std::io::Error),
    #[error("the upload was interrupted: {0}")]
    Read(std::io::Error),
}

/// A parsed upload.
pub struct Upload<O> {
    pub options: O,
    pub secret: Zeroizing<Vec<u8>>,
    /// The stored files, in the order of the options' names.
    pub files: Vec<PathBuf>,
}

/// Options must say how their files are named.
pub trait Named {
    fn names(&self) -> Vec<String>;
}

/// Reads an upload of at most `limit` bytes from `r`, storing files in `dir`.
pub fn read_upload<O: DeserializeOwned + Named>(
    r: &mut dyn Read,
    limit: u64,
    dir: &Path,
) -> Result<Upload<O>, BodyError> {
    let mut r = r.take(limit);
    let options_len = frame_len(&mut r, MAX_OPTIONS.into())?;
    let mut options = vec![0u8; options_len as usize];
    r.read_exact(&mut options).map_err(BodyError::Read)?;
    let options: O = serde_json::from_slice(&options).map_err(BodyError::Options)?;
    let secret_len = frame_len(&mut r, MAX_SECRET.into())?;
    let mut secret = Zeroizing::new(vec![0u8; secret_len as usize]);
    r.read_exact(&mut secret).map_err(BodyError::Read)?;
    let mut files = Vec::new();
    for (i, name) in options.names().iter().enumerate() {
        let len = frame_len(&mut r, limit)?;
        let path = dir.join(safe_name(name, i, &files));
        let mut f = std::fs::File::create(&path).map_err(BodyError::Store)?;
        let copied = std::io::copy(&mut (&mut r).take(len), &mut f).map_err(BodyError::Read)?;
        if copied != len {
            return Err(BodyError::Malformed("a file is shorter than announced"));
        }
        f.flush().map_err(BodyError::Store)?;
        files.push(path);
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest).map_err(BodyError::Read)? != 0 {
        return Err(BodyError::Malformed("bytes after the last file"));
    }
    Ok(Upload {
        options,
        secret,
        files,
    })
}

fn frame_len(r: &mut dyn Read, max: u64) -> Result<u64, BodyError> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)
        .map_err(|_| BodyError::Malformed("the body ends early"))?;
    let n = u64::from(u32::from_be_bytes(b));
    if n > max {
        return Err(BodyError::Malformed("a part is larger than allowed"));
    }
    Ok(n)
}

/// The last path component of a browser-given name, without control
/// characters or leading dots, unique among `taken`; `file-N.pdf` if nothing
/// usable is left.
pub fn safe_name(given: &str, i: usize, taken: &[PathBuf]) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim_start_matches('.')
        .chars()
        .take(120)
        .collect();
    let name = if clean.trim().is_empty() {
        format!("file-{}.pdf", i + 1)
    } else {
        clean
    };
    let clash = |n: &str| taken.iter().any(|t| t.file_name().is_some_and(|f| f == n));
    if clash(&name) {
        format!("{}-{name}", i + 1)
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Opts {
        names: Vec<String>,
    }
    impl Named for Opts {
        fn names(&self) -> Vec<String> {
            self.names.clone()
        }
    }

    fn frame(out: &mut Vec<u8>, b: &[u8]) {
        out.extend((b.len() as u32).to_be_bytes());
        out.extend(b);
    }

    #[test]
    fn files_and_secret_are_split_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = Vec::new();
        frame(&mut body, br#"{"names":["../../etc/a.pdf","a.pdf"]}"#);
        frame(&mut body, b"ABC123");
        frame(&mut body, b"one");
        frame(&mut body, b"two");
        let u: Upload<Opts> = read_upload(&mut &body[..], 1000, dir.path()).unwrap();
        assert_eq!(&u.secret[..], b"ABC123");
        assert_eq!(u.files[0], dir.path().join("a.pdf"));
        assert_eq!(u.files[1], dir.path().join("2-a.pdf"));
        assert_eq!(std::fs::read(&u.files[1]).unwrap(), b"two");
    }

    #[test]
    fn lies_and_limits_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = Vec::new();
        frame(&mut body, br#"{"names":["a.pdf"]}"#);
        frame(&mut body, b"");
        body.extend(100u32.to_be_bytes());
        body.extend(b"short");
        let r = read_upload::<Opts>(&mut &body[..], 1000, dir.path());
        assert!(matches!(r, Err(BodyError::Malformed(_))));
        let r = read_upload::<Opts>(&mut &body[..], 20, dir.path());
        assert!(r.is_err());
        let mut secret = Vec::new();
        frame(&mut secret, br#"{"names":[]}"#);
        frame(&mut secret, &[b'A'; 65]);
        assert!(read_upload::<Opts>(&mut &secret[..], 1000, dir.path()).is_err());
    }

    #[test]
    fn names_lose_their_paths_and_dots() {
        assert_eq!(safe_name("..", 0, &[]), "file-1.pdf");
        assert_eq!(safe_name("C:\\x\\.申請書.pdf", 0, &[]), "申請書.pdf");
    }
}
