//! A seeking PDF reader: it reads the cross-reference sections and then only
//! the objects it is asked for, by positioned reads, so memory does not grow
//! with the file (a 200 MiB scan needs a few dictionaries, not 200 MiB).
//!
//! Why by hand: lopdf (used for the objects themselves) only loads whole
//! documents; its object parser is private. The one public door to it is
//! [`lopdf::ObjectStream`], which parses the objects of an object stream, so
//! [`parse_one`] wraps the bytes of one object in a one-object stream. The
//! cross-reference tables and streams are read here (ISO 32000-1 §7.5.4,
//! §7.5.8), including hybrid files (`/XRefStm`) and `/Prev` chains.
//!
//! Refuses rather than guesses: a `startxref` that points at no
//! cross-reference section, a section that does not parse, an object whose
//! header names another object, loops in `/Prev`. The caller decides what to
//! do then (signing refuses, verifying falls back to lopdf's repairing
//! loader and reports the damage). Streams are not loaded, except object
//! streams and cross-reference streams; a stream object reads as its
//! dictionary.

use lopdf::{Dictionary, Object, ObjectId, ObjectStream, Stream};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io;

/// Bytes that can be read at any position: a file, or memory in tests.
pub trait Source {
    /// The total length.
    fn size(&self) -> u64;
    /// Reads up to `buf.len()` bytes at `off`; fewer only at the end.
    fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl Source for std::fs::File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match FileExt::read_at(self, &mut buf[done..], off + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl Source for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// The first `len` bytes of another source: the file as it was when a
/// signature covering exactly those bytes was made.
pub struct Prefix<'a> {
    /// The whole file.
    pub src: &'a dyn Source,
    /// Where the view ends.
    pub len: u64,
}

impl Source for Prefix<'_> {
    fn size(&self) -> u64 {
        self.len.min(self.src.size())
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.size().saturating_sub(off);
        let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.src.read_at(off, &mut buf[..n])
    }
}

/// Reads `len` bytes at `off` (fewer at the end of the source).
pub fn read_vec(src: &dyn Source, off: u64, len: usize) -> io::Result<Vec<u8>> {
    let len = len.min(src.size().saturating_sub(off) as usize);
    let mut v = vec![0; len];
    let n = src.read_at(off, &mut v)?;
    v.truncate(n);
    Ok(v)
}

/// Calls `f` with consecutive chunks of `start..end` (1 MiB each).
pub fn for_chunks(
    src: &dyn Source,
    start: u64,
    end: u64,
    mut f: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut at = start;
    while at < end {
        let want = (end - at).min(buf.len() as u64) as usize;
        let n = src.read_at(at, &mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while it was read",
            ));
        }
        f(&buf[..n])?;
        at += n as u64;
    }
    Ok(())
}

/// How often `needle` occurs in `start..end`, read in chunks.
pub fn count_in(src: &dyn Source, start: u64, end: u64, needle: &[u8]) -> io::Result<usize> {
    let mut carry: Vec<u8> = Vec::new();
    let mut n = 0;
    let keep = needle.len().saturating_sub(1);
    for_chunks(src, start, end, |chunk| {
        carry.extend_from_slice(chunk);
        n += memchr::memmem::find_iter(&carry, needle).count();
        // Keep the last bytes that could start a match, but never a whole match.
        let tail = carry.len().saturating_sub(keep);
        carry.drain(..tail);
        Ok(())
    })?;
    Ok(n)
}

/// One cross-reference entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Not in use.
    Free,
    /// At a byte offset.
    Normal {
        /// Where `N G obj` starts.
        offset: u64,
        /// Generation.
        gen: u16,
    },
    /// The `index`-th object of object stream `container`.
    Compressed {
        /// The object stream's number.
        container: u32,
    },
}

/// The largest object (or cross-reference table) read, so a hostile length
/// cannot make the reader allocate without bound.
const MAX_OBJECT: u64 = 64 << 20;
/// The most candidate ends (`endobj`, `stream` …) tried for one object.
const MAX_TRIES: usize = 32;
/// The most cross-reference sections followed through `/Prev`.
const MAX_SECTIONS: usize = 100_000;

/// A PDF opened for reading objects on demand.
pub struct Reader<'s> {
    src: &'s dyn Source,
    /// Newest entry per object number.
    entries: HashMap<u32, Entry>,
    /// The newest trailer (for an xref stream: its dictionary).
    pub trailer: Dictionary,
    /// Offset of the newest cross-reference section (`startxref`).
    pub xref_start: u64,
    /// Whether the newest section is a cross-reference stream.
    pub xref_stream: bool,
    /// Offsets of every section, newest first.
    pub sections: Vec<u64>,
    cache: RefCell<HashMap<ObjectId, Object>>,
    object_streams: RefCell<HashMap<u32, std::rc::Rc<HashMap<u32, Object>>>>,
}

fn err(msg: impl Into<String>) -> String {
    msg.into()
}

impl<'s> Reader<'s> {
    /// Reads the cross-reference data of `src`.
    pub fn open(src: &'s dyn Source) -> Result<Reader<'s>, String> {
        let size = src.size();
        let tail_len = size.min(2048);
        let tail = read_vec(src, size - tail_len, tail_len as usize).map_err(|e| e.to_string())?;
        let at = memchr::memmem::rfind(&tail, b"startxref")
            .ok_or_else(|| err("no `startxref` near the end of the file"))?;
        let xref_start = leading_int(&tail[at + 9..])
            .ok_or_else(|| err("`startxref` is not followed by an offset"))?;
        let mut r = Reader {
            src,
            entries: HashMap::new(),
            trailer: Dictionary::new(),
            xref_start,
            xref_stream: false,
            sections: Vec::new(),
            cache: RefCell::default(),
            object_streams: RefCell::default(),
        };
        let mut next = Some(xref_start);
        let mut seen = HashSet::new();
        while let Some(off) = next {
            if !seen.insert(off) || seen.len() > MAX_SECTIONS {
                return Err(err(format!(
                    "the cross-reference sections loop (at byte {off})"
                )));
            }
            let (entries, trailer, is_stream) = r.section(off)?;
            if r.sections.is_empty() {
                r.trailer = trailer.clone();
                r.xref_stream = is_stream;
            }
            r.sections.push(off);
            for (n, e) in entries {
                r.entries.entry(n).or_insert(e);
            }
            next = match trailer.get(b"Prev") {
                Ok(p) => Some(
                    p.as_i64()
                        .ok()
                        .and_then(|p| u64::try_from(p).ok())
                        .ok_or_else(|| err("/Prev is not an offset"))?,
                ),
                Err(_) => None,
            };
        }
        Ok(r)
    }

    /// The entries of one section (a table, with its `/XRefStm` in a hybrid
    /// file, or a stream) and its trailer.
    #[allow(clippy::type_complexity)]
    fn section(&self, off: u64) -> Result<(Vec<(u32, Entry)>, Dictionary, bool), String> {
        let head = read_vec(self.src, off, 64).map_err(|e| e.to_string())?;
        let skip = head.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if head[skip..].starts_with(b"xref") {
            let (mut entries, trailer) = self.table(off + skip as u64 + 4)?;
            if let Ok(x) = trailer.get(b"XRefStm") {
                let x = x
                    .as_i64()
                    .ok()
                    .and_then(|x| u64::try_from(x).ok())
                    .ok_or_else(|| err("/XRefStm is not an offset"))?;
                // Hybrid file: objects in object streams are free (or absent)
                // in the table, for old readers; the stream says where they are.
                let (extra, _) = self.xref_stream_at(x)?;
                let table: HashMap<u32, Entry> = entries.iter().copied().collect();
                for (n, e) in extra {
                    if matches!(table.get(&n), None | Some(Entry::Free)) {
                        entries.retain(|(m, _)| *m != n);
                        entries.push((n, e));
                    }
                }
            }
            Ok((entries, trailer, false))
        } else {
            let (entries, dict) = self.xref_stream_at(off)?;
            Ok((entries, dict, true))
        }
    }

    /// A classic table after its `xref` keyword, then `trailer << … >>`.
    fn table(&self, mut at: u64) -> Result<(Vec<(u32, Entry)>, Dictionary), String> {
        let mut entries = Vec::new();
        let mut toks = Tokens::new(self.src, at);
        loop {
            let t = toks
                .next()
                .ok_or_else(|| err("the cross-reference table ends early"))?;
            if t == b"trailer" {
                at = toks.pos;
                break;
            }
            let first: u32 = parse_num(&t).ok_or_else(|| err("bad cross-reference subsection"))?;
            let count: u32 = toks
                .next()
                .and_then(|c| parse_num(&c))
                .ok_or_else(|| err("bad cross-reference subsection"))?;
            for i in 0..count {
                let (Some(o), Some(g), Some(k)) = (toks.next(), toks.next(), toks.next()) else {
                    return Err(err("the cross-reference table ends early"));
                };
                let n = first
                    .checked_add(i)
                    .ok_or_else(|| err("object number overflows"))?;
                let e = match k.as_slice() {
                    b"n" => Entry::Normal {
                        offset: parse_num(&o).ok_or_else(|| err("bad cross-reference entry"))?,
                        gen: parse_num(&g).ok_or_else(|| err("bad cross-reference entry"))?,
                    },
                    b"f" => Entry::Free,
                    _ => return Err(err("bad cross-reference entry")),
                };
                // The first of duplicate entries in one section wins, as in
                // most readers.
                entries.push((n, e));
            }
            if toks.pos - at > MAX_OBJECT * 4 {
                return Err(err("the cross-reference table is implausibly large"));
            }
        }
        let trailer = match self.parse_at(at, false)? {
            (Object::Dictionary(d), _) => d,
            _ => return Err(err("the trailer is not a dictionary")),
        };
        let mut seen = HashSet::new();
        entries.retain(|(n, _)| seen.insert(*n));
        Ok((entries, trailer))
    }

    /// A cross-reference stream object at `off`.
    fn xref_stream_at(&self, off: u64) -> Result<(Vec<(u32, Entry)>, Dictionary), String> {
        let (_, body_at) = self.header_at(off, None)?;
        let (dict, data) = self.stream_at(body_at, true)?;
        if !dict.has_type(b"XRef") {
            return Err(err(format!(
                "byte {off} holds neither a cross-reference table nor stream"
            )));
        }
        let w: Vec<usize> = dict
            .get(b"W")
            .and_then(Object::as_array)
            .map_err(|_| err("cross-reference stream without /W"))?
            .iter()
            .map(|o| o.as_i64().ok().and_then(|v| usize::try_from(v).ok()))
            .collect::<Option<_>>()
            .filter(|w: &Vec<usize>| w.len() == 3 && w.iter().all(|v| *v <= 8))
            .ok_or_else(|| err("bad /W in a cross-reference stream"))?;
        let size = dict
            .get(b"Size")
            .and_then(Object::as_i64)
            .map_err(|_| err("cross-reference stream without /Size"))?;
        let index: Vec<i64> = match dict.get(b"Index").and_then(Object::as_array) {
            Ok(a) => a.iter().filter_map(|o| o.as_i64().ok()).collect(),
            Err(_) => vec![0, size],
        };
        let row = w.iter().sum::<usize>();
        if row == 0 {
            return Err(err("bad /W in a cross-reference stream"));
        }
        let field = |b: &[u8]| b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
        let mut entries = Vec::new();
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks(2) {
            let [first, count] = pair else { break };
            let first = u32::try_from(*first).map_err(|_| err("bad /Index"))?;
            for i in 0..u32::try_from(*count).map_err(|_| err("bad /Index"))? {
                let r = rows
                    .next()
                    .ok_or_else(|| err("the cross-reference stream is shorter than its /Index"))?;
                let (a, rest) = r.split_at(w[0]);
                let (b, c) = rest.split_at(w[1]);
                let kind = if w[0] == 0 { 1 } else { field(a) };
                let e = match kind {
                    0 => Entry::Free,
                    1 => Entry::Normal {
                        offset: field(b),
                        gen: u16::try_from(field(c)).unwrap_or(u16::MAX),
                    },
                    2 => Entry::Compressed {
                        container: u32::try_from(field(b))
                            .map_err(|_| err("bad object stream number"))?,
                    },
                    // Unknown types are to be ignored (§7.5.8.3).
                    _ => continue,
                };
                let n = first
                    .checked_add(i)
                    .ok_or_else(|| err("object number overflows"))?;
                entries.push((n, e));
            }
        }
        Ok((entries, dict))
    }

    /// Checks `N G obj` at `off` (naming `want` when given); returns the id and
    /// where the body starts.
    fn header_at(&self, off: u64, want: Option<ObjectId>) -> Result<(ObjectId, u64), String> {
        let head = read_vec(self.src, off, 64).map_err(|e| e.to_string())?;
        let mut toks = Tokens::in_slice(&head);
        let n = toks.next().and_then(|t| parse_num::<u32>(&t));
        let g = toks.next().and_then(|t| parse_num::<u16>(&t));
        let kw = toks.next();
        let (Some(n), Some(g), Some(kw)) = (n, g, kw) else {
            return Err(err(format!("no object at byte {off}")));
        };
        if kw != b"obj" {
            return Err(err(format!("no object at byte {off}")));
        }
        if let Some(w) = want {
            if w.0 != n {
                return Err(err(format!(
                    "the cross-reference entry of object {} points at object {n}",
                    w.0
                )));
            }
        }
        Ok(((n, g), off + toks.pos))
    }

    /// Parses the object whose body starts at `at`, trying each `endobj`
    /// (and, when `stream_ok`, `stream`) keyword after it as its end, so a
    /// keyword inside a string does not cut the object short. Returns the
    /// object and where the keyword that ended it starts.
    fn parse_at(&self, at: u64, stream_ok: bool) -> Result<(Object, u64), String> {
        let mut window = 4096u64;
        loop {
            let buf = read_vec(self.src, at, window as usize).map_err(|e| e.to_string())?;
            let mut ends: Vec<usize> = memchr::memmem::find_iter(&buf, b"endobj").collect();
            ends.extend(memchr::memmem::find_iter(&buf, b"trailer"));
            ends.extend(memchr::memmem::find_iter(&buf, b"startxref"));
            if stream_ok {
                ends.extend(
                    memchr::memmem::find_iter(&buf, b"stream")
                        .filter(|&p| p < 3 || &buf[p - 3..p] != b"end"),
                );
            }
            ends.sort_unstable();
            // A real object has its end among the first few keywords after
            // it; trying more would only let a hostile file make this slow.
            for &e in ends.iter().take(MAX_TRIES) {
                if let Some(o) = parse_one(&buf[..e]) {
                    return Ok((o, at + e as u64));
                }
            }
            let whole = buf.len() < window as usize;
            if whole || window >= MAX_OBJECT {
                // At the end of the file, an object needs no keyword after it
                // (a trailer dictionary, say).
                if let Some(o) = parse_one(&buf) {
                    return Ok((o, at + buf.len() as u64));
                }
                return Err(err(format!("the object at byte {at} does not parse")));
            }
            window *= 4;
        }
    }

    /// Where a stream's data starts, if the keyword at `kw` is `stream`.
    fn stream_data_at(&self, kw: u64) -> Option<u64> {
        let head = read_vec(self.src, kw, 8).ok()?;
        if head.starts_with(b"stream\r\n") {
            Some(kw + 8)
        } else if head.starts_with(b"stream\n") || head.starts_with(b"stream\r") {
            Some(kw + 7)
        } else {
            None
        }
    }

    /// The length of a stream's data, per its `/Length`, checked against the file.
    pub fn stream_len(&self, dict: &Dictionary, data_at: u64) -> Result<u64, String> {
        let len = match dict.get(b"Length") {
            Ok(Object::Integer(l)) => *l,
            Ok(Object::Reference(id)) => self.object(*id)?.as_i64().unwrap_or(-1),
            _ => -1,
        };
        u64::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_OBJECT && data_at + l <= self.src.size())
            .ok_or_else(|| err(format!("byte {data_at}: bad stream /Length")))
    }

    /// The source this reader reads.
    pub fn source(&self) -> &dyn Source {
        self.src
    }

    /// A stream's dictionary and raw data, the body starting at `at`.
    fn stream_at(&self, at: u64, decode: bool) -> Result<(Dictionary, Vec<u8>), String> {
        let (o, kw) = self.parse_at(at, true)?;
        let (Object::Dictionary(dict), Some(data_at)) = (o, self.stream_data_at(kw)) else {
            return Err(err(format!("byte {at}: a stream was expected")));
        };
        let len = self.stream_len(&dict, data_at)?;
        let raw = read_vec(self.src, data_at, len as usize).map_err(|e| e.to_string())?;
        if !decode {
            return Ok((dict, raw));
        }
        let s = Stream::new(dict.clone(), raw);
        let data = s
            .decompressed_content_with_limit(MAX_OBJECT as usize)
            .or_else(|_| s.get_plain_content_with_limit(MAX_OBJECT as usize))
            .map_err(|e| err(format!("byte {at}: cannot decode stream: {e}")))?;
        Ok((dict, data))
    }

    /// The cross-reference entry of object `n`.
    pub fn entry(&self, n: u32) -> Option<Entry> {
        self.entries.get(&n).copied()
    }

    /// The largest object number in use.
    pub fn max_id(&self) -> u32 {
        self.entries.keys().copied().max().unwrap_or(0)
    }

    /// Object `id` (cached; a stream reads as its dictionary and the
    /// position of its data, see [`Stream::with_position`]).
    pub fn object(&self, id: ObjectId) -> Result<Object, String> {
        if let Some(o) = self.cache.borrow().get(&id) {
            return Ok(o.clone());
        }
        let o = match self.entry(id.0) {
            Some(Entry::Normal { offset, .. }) => {
                let (_, body) = self.header_at(offset, Some(id))?;
                let (o, kw) = self.parse_at(body, true)?;
                match o {
                    // A stream: its dictionary, and where its data starts
                    // (the data itself is not read).
                    Object::Dictionary(d) => match self.stream_data_at(kw) {
                        Some(at) => Object::Stream(Stream::with_position(
                            d,
                            usize::try_from(at).map_err(|_| err("offset too large"))?,
                        )),
                        None => Object::Dictionary(d),
                    },
                    o => o,
                }
            }
            Some(Entry::Compressed { container }) => {
                let objs = self.object_stream(container)?;
                objs.get(&id.0).cloned().ok_or_else(|| {
                    err(format!(
                        "object {} is not in object stream {container}",
                        id.0
                    ))
                })?
            }
            Some(Entry::Free) | None => return Err(err(format!("object {} does not exist", id.0))),
        };
        self.cache.borrow_mut().insert(id, o.clone());
        Ok(o)
    }

    fn object_stream(&self, n: u32) -> Result<std::rc::Rc<HashMap<u32, Object>>, String> {
        if let Some(s) = self.object_streams.borrow().get(&n) {
            return Ok(s.clone());
        }
        let Some(Entry::Normal { offset, .. }) = self.entry(n) else {
            return Err(err(format!("object stream {n} does not exist")));
        };
        let (_, body) = self.header_at(offset, Some((n, 0)))?;
        let (dict, raw) = self.stream_at(body, false)?;
        if !dict.has_type(b"ObjStm") {
            return Err(err(format!("object {n} is not an object stream")));
        }
        let s = ObjectStream::new_with_limit(&Stream::new(dict, raw), Some(MAX_OBJECT as usize))
            .map_err(|e| err(format!("object stream {n}: {e}")))?;
        let map: HashMap<u32, Object> = s.objects.into_iter().map(|((k, _), v)| (k, v)).collect();
        let rc = std::rc::Rc::new(map);
        self.object_streams.borrow_mut().insert(n, rc.clone());
        Ok(rc)
    }
}

/// Parses one PDF object from `bytes` with lopdf's parser (see the module docs).
fn parse_one(bytes: &[u8]) -> Option<Object> {
    let prefix = b"1 0 ";
    let mut content = Vec::with_capacity(prefix.len() + bytes.len());
    content.extend_from_slice(prefix);
    content.extend_from_slice(bytes);
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"ObjStm".to_vec()));
    d.set("N", Object::Integer(1));
    d.set("First", Object::Integer(prefix.len() as i64));
    let s = ObjectStream::new(&Stream::new(d, content)).ok()?;
    s.objects.into_values().next()
}

fn parse_num<T: std::str::FromStr>(t: &[u8]) -> Option<T> {
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// The unsigned integer at the start of `b` (after white space).
fn leading_int(b: &[u8]) -> Option<u64> {
    let s = b.iter().position(|c| !c.is_ascii_whitespace())?;
    let digits: Vec<u8> = b[s..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .copied()
        .collect();
    parse_num(&digits)
}

/// White-space separated tokens (comments skipped) read forward from a
/// position, buffered: the cross-reference table of a big file is megabytes.
struct Tokens<'a> {
    src: Option<&'a dyn Source>,
    buf: Vec<u8>,
    buf_at: u64,
    /// Absolute position after the last token.
    pos: u64,
}

impl<'a> Tokens<'a> {
    fn new(src: &'a dyn Source, at: u64) -> Self {
        Tokens {
            src: Some(src),
            buf: Vec::new(),
            buf_at: at,
            pos: at,
        }
    }
    fn in_slice(b: &[u8]) -> Tokens<'static> {
        Tokens {
            src: None,
            buf: b.to_vec(),
            buf_at: 0,
            pos: 0,
        }
    }
    fn byte(&mut self, at: u64) -> Option<u8> {
        let rel = at.checked_sub(self.buf_at)? as usize;
        if rel >= self.buf.len() {
            let src = self.src?;
            self.buf = read_vec(src, at, 1 << 16).ok()?;
            self.buf_at = at;
            return self.buf.first().copied();
        }
        Some(self.buf[rel])
    }
    fn next(&mut self) -> Option<Vec<u8>> {
        let mut at = self.pos;
        loop {
            let c = self.byte(at)?;
            if c == b'%' {
                while !matches!(self.byte(at)?, b'\r' | b'\n') {
                    at += 1;
                }
            } else if !c.is_ascii_whitespace() {
                break;
            }
            at += 1;
        }
        let mut t = Vec::new();
        while let Some(c) = self.byte(at) {
            if c.is_ascii_whitespace()
                || (!t.is_empty() && matches!(c, b'<' | b'/' | b'[' | b'(' | b'%'))
            {
                break;
            }
            t.push(c);
            at += 1;
            if t.len() > 32 {
                break;
            }
        }
        self.pos = at;
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::minimal_pdf;
    use std::io::Write;

    fn dict(o: Object) -> Dictionary {
        match o {
            Object::Dictionary(d) => d,
            o => panic!("not a dictionary: {o:?}"),
        }
    }

    #[test]
    fn reads_a_classic_table_object_by_object() {
        let pdf = minimal_pdf("1.4");
        let r = Reader::open(&pdf).unwrap();
        assert!(!r.xref_stream);
        assert_eq!(r.max_id(), 4);
        let root = r.trailer.get(b"Root").unwrap().as_reference().unwrap();
        let cat = dict(r.object(root).unwrap());
        assert!(cat.has_type(b"Catalog"));
        // A stream object reads as its dictionary and position; its data is not loaded.
        let Object::Stream(content) = r.object((4, 0)).unwrap() else {
            panic!("a stream expected")
        };
        assert!(content.content.is_empty());
        let at = content.start_position.unwrap() as u64;
        assert_eq!(r.stream_len(&content.dict, at).unwrap(), 36);
        assert_eq!(&pdf[at as usize..at as usize + 5], b"BT /F");
        assert!(r.object((9, 0)).is_err());
    }

    /// Objects 1–3 in an object stream (5), the content stream (4) plain,
    /// a Flate + PNG-Up-predicted cross-reference stream (6); with
    /// `hybrid`, a classic table that lists only 4 and 6 and points at the
    /// stream through /XRefStm, as in files written for old readers.
    fn xref_stream_pdf(hybrid: bool) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n%\xe2\xe3\n".to_vec();
        let content = b"BT /F1 24 Tf 72 720 Td (Hello) Tj ET";
        let off4 = out.len();
        write!(out, "4 0 obj\n<< /Length {} >>\nstream\n", content.len()).unwrap();
        out.extend_from_slice(content);
        out.extend_from_slice(b"\nendstream\nendobj\n");
        let members = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Lang (endobj) >>",
        ];
        let mut index = String::new();
        let mut body = String::new();
        for (i, m) in members.iter().enumerate() {
            index.push_str(&format!("{} {} ", i + 1, body.len()));
            body.push_str(m);
            body.push(' ');
        }
        let off5 = out.len();
        write!(
            out,
            "5 0 obj\n<< /Type /ObjStm /N 3 /First {} /Length {} >>\nstream\n{index}{body}\nendstream\nendobj\n",
            index.len(),
            index.len() + body.len()
        )
        .unwrap();
        let off6 = out.len();
        let rows: Vec<[u8; 4]> = [
            (0u8, 0u16, 255u8),
            (2, 5, 0),
            (2, 5, 1),
            (2, 5, 2),
            (1, off4 as u16, 0),
            (1, off5 as u16, 0),
            (1, off6 as u16, 0),
        ]
        .iter()
        .map(|(t, o, g)| {
            let o = o.to_be_bytes();
            [*t, o[0], o[1], *g]
        })
        .collect();
        let mut predicted = Vec::new();
        let mut prev = [0u8; 4];
        for row in &rows {
            predicted.push(2u8);
            predicted.extend(row.iter().zip(prev).map(|(a, b)| a.wrapping_sub(b)));
            prev = *row;
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&predicted).unwrap();
        let data = z.finish().unwrap();
        write!(
            out,
            "6 0 obj\n<< /Type /XRef /Size 7 /W [1 2 1] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> /Length {} >>\nstream\n",
            data.len()
        )
        .unwrap();
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\nendstream\nendobj\n");
        if hybrid {
            let x = out.len();
            write!(
                out,
                "xref\n0 1\n0000000000 65535 f\r\n4 1\n{off4:010} 00000 n\r\ntrailer\n<< /Size 7 /Root 1 0 R /XRefStm {off6} >>\nstartxref\n{x}\n%%EOF\n"
            )
            .unwrap();
        } else {
            write!(out, "startxref\n{off6}\n%%EOF\n").unwrap();
        }
        out
    }

    #[test]
    fn reads_xref_streams_object_streams_and_hybrid_files() {
        for hybrid in [false, true] {
            let pdf = xref_stream_pdf(hybrid);
            let r = Reader::open(&pdf).unwrap();
            assert_eq!(r.xref_stream, !hybrid);
            assert_eq!(r.entry(2), Some(Entry::Compressed { container: 5 }));
            let page = dict(r.object((3, 0)).unwrap());
            assert!(page.has_type(b"Page"), "{page:?}");
            assert!(dict(r.object((1, 0)).unwrap()).has_type(b"Catalog"));
            assert!(matches!(r.entry(6), Some(Entry::Normal { .. })));
        }
    }

    #[test]
    fn a_keyword_inside_a_string_does_not_end_the_object() {
        let pdf = String::from_utf8_lossy(&minimal_pdf("1.7")).replace(
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Catalog /Pages 2 0 R /Lang (endobj stream trailer) >>",
        );
        let pdf = crate::testing::reoffset(pdf.as_bytes());
        let r = Reader::open(&pdf).unwrap();
        let cat = dict(r.object((1, 0)).unwrap());
        assert_eq!(
            cat.get(b"Lang").unwrap().as_str().unwrap(),
            b"endobj stream trailer"
        );
    }

    #[test]
    fn refuses_what_it_cannot_follow() {
        let good = minimal_pdf("1.4");
        let text = String::from_utf8_lossy(&good).into_owned();
        let x = crate::testing::last_startxref(&good);
        // startxref pointing into the middle of an object.
        let bad = text.replace(&format!("startxref\n{x}"), "startxref\n20");
        assert!(Reader::open(&bad.into_bytes()).is_err());
        // No startxref at all.
        assert!(Reader::open(&text.replace("startxref", "startxrex").into_bytes()).is_err());
        // A /Prev that points back at the same section.
        let looped = text.replace("/Root 1 0 R >>", &format!("/Root 1 0 R /Prev {x} >>"));
        let e = Reader::open(&looped.into_bytes()).err().unwrap();
        assert!(e.contains("loop"), "{e}");
        // An entry that points at another object.
        let r = Reader::open(&good).unwrap();
        let Some(Entry::Normal { offset, .. }) = r.entry(2) else {
            panic!()
        };
        let swapped = text.replacen(
            &format!("{offset:010} 00000 n"),
            &format!("{:010} 00000 n", 9),
            1,
        );
        let swapped = swapped.into_bytes();
        let r = Reader::open(&swapped).unwrap();
        let e = r.object((2, 0)).err().unwrap();
        assert!(e.contains("points at object 1"), "{e}");
    }

    proptest::proptest! {
        /// Damaged files: the reader and the verifier built on it answer
        /// with an error or a report, never a panic.
        #[test]
        fn damaged_files_never_panic(
            edits in proptest::collection::vec((0usize..4000, proptest::num::u8::ANY, 0u8..3), 1..8),
            cut in proptest::option::of(0usize..4000),
        ) {
            let mut pdf = crate::testing::signed_sample();
            crate::testing::damage(&mut pdf, &edits, cut);
            if let Ok(r) = Reader::open(&pdf) {
                for n in 0..=r.max_id().min(64) {
                    let _ = r.object((n, 0));
                }
            }
            let _ = crate::verify::check_source("fuzz.pdf", &pdf, None, None, false);
        }
    }
}
