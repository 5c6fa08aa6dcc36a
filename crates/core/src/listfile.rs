//! Listing files: one file a line.
//!
//! The default format takes, per line, `LFN`, `LFN|size`, `LFN|size|mtime`
//! (spaces around `|` allowed) or `LFN size [mtime]`. Blank lines and lines
//! starting with `#` are skipped. In an LFN, `\n`, `\r`, `\t`, `\|`, `\\` and
//! `\xHH` stand for a newline, carriage return, tab, `|`, a backslash and the
//! byte of hex value HH (any other backslash is kept as it is), so that every
//! name can be written on one line; the writer uses `\xHH` for whitespace at
//! either end of a name, which the reader would otherwise trim. A NUL byte is
//! never part of a name: a line holding one is an error.
//!
//! A size is a whole number of bytes up to 2^64 - 2; an empty size field
//! (`LFN||mtime`) is an unknown size. mtime is unix seconds, negative before
//! 1970, and may be fractional (`find -printf %T@`): it is rounded down. A
//! number too large for its field is an error, never part of a name. The
//! whitespace form reads numbers from the right: `/a b 12` is the file `/a b`
//! of 12 bytes, and a negative last word is an mtime only after a size;
//! names whose last word is a number need the `|` form, which is the form
//! the tool writes: whatever it writes reads back the same.
//!
//! The RAL dump format (`LFN size days-since-epoch`) is chosen explicitly.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::tree::{split_lfn, DirId, DirState, Tree, ROOT, UNKNOWN_SIZE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ListingFormat {
    #[default]
    Auto,
    /// `LFN size days-since-epoch`, as the RAL storage dumps.
    Ral,
}

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}:{line}: {message}")]
    BadLine { path: String, line: u64, message: String },
    #[error(
        "{path}: an empty file named *.tree: a tree file is never empty (a save that never finished, or a truncation)"
    )]
    EmptyTree { path: String },
}

impl ListingError {
    pub fn line(&self) -> Option<u64> {
        match self {
            ListingError::BadLine { line, .. } => Some(*line),
            ListingError::Io { .. } | ListingError::EmptyTree { .. } => None,
        }
    }
}

/// One parsed line.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub lfn: Vec<u8>,
    pub size: u64,
    pub mtime: i64,
}

/// Parse one line; `Ok(None)` for blank and comment lines.
pub fn parse_line(raw: &[u8], format: ListingFormat) -> Result<Option<Line>, String> {
    if let Some(at) = memchr::memchr(0, raw) {
        return Err(format!("a NUL byte at column {}: names never hold one", at + 1));
    }
    let line = trim(strip_cr(raw));
    if line.is_empty() || line[0] == b'#' {
        return Ok(None);
    }
    let (lfn, size, mtime) = match format {
        ListingFormat::Ral => {
            let (rest, days) = last_word(line).ok_or("empty line")?;
            let (lfn, size) = last_word(rest).filter(|(head, _)| !head.is_empty()).ok_or("expected `LFN size days`")?;
            let days = parse_number(days)
                .and_then(|d| d.checked_mul(86_400))
                .ok_or_else(|| format!("bad day count `{}`", show(days)))?;
            (unescape(trim(lfn)), parse_size(size)?, days)
        }
        ListingFormat::Auto if has_unescaped_pipe(line) => {
            let fields = split_unescaped_pipes(line);
            if fields.len() > 3 {
                return Err(format!("expected `LFN|size|mtime`, found {} fields", fields.len()));
            }
            let lfn = unescape(trim(fields[0]));
            let size = match fields.get(1).map(|f| trim(f)) {
                Some(f) if !f.is_empty() => parse_size(f)?,
                _ => UNKNOWN_SIZE,
            };
            let mtime = match fields.get(2) {
                Some(f) => parse_number(trim(f)).ok_or_else(|| format!("bad mtime `{}`", show(trim(f))))?,
                None => 0,
            };
            (lfn, size, mtime)
        }
        ListingFormat::Auto => {
            // numbers read from the right: LFN [size [mtime]]; a number is
            // told by its form, so that one too large is an error, not a name
            let (rest, size, mtime) = match last_word_after_name(line) {
                Some((head, last)) if looks_numeric(last) => match last_word_after_name(head) {
                    Some((name, size)) if looks_numeric(size) && !size.starts_with(b"-") => {
                        (name, Some(size), Some(last))
                    }
                    _ if !last.starts_with(b"-") => (head, Some(last), None),
                    _ => (line, None, None),
                },
                _ => (line, None, None),
            };
            let size = match size {
                Some(s) => parse_size(s)?,
                None => UNKNOWN_SIZE,
            };
            let mtime = match mtime {
                Some(m) => parse_number(m).ok_or_else(|| format!("bad mtime `{}`", show(m)))?,
                None => 0,
            };
            (unescape(trim(rest)), size, mtime)
        }
    };
    if lfn.first() != Some(&b'/') {
        return Err(format!("an LFN must start with `/`, found `{}`", show(&lfn)));
    }
    if split_lfn(&lfn).1.is_empty() {
        return Err(format!("`{}` names a directory, not a file", show(&lfn)));
    }
    Ok(Some(Line { lfn, size, mtime }))
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(120).collect::<String>())
    } else {
        s.into_owned()
    }
}

pub(crate) fn strip_cr(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

fn last_word(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let b = trim(b);
    if b.is_empty() {
        return None;
    }
    match b.iter().rposition(u8::is_ascii_whitespace) {
        Some(p) => Some((trim(&b[..p]), &b[p + 1..])),
        None => Some((&b[..0], b)),
    }
}

/// The last word of `b` when words come before it.
fn last_word_after_name(b: &[u8]) -> Option<(&[u8], &[u8])> {
    last_word(b).filter(|(head, _)| !head.is_empty())
}

/// Whether `b` has the form of a number: `-`, digits, `.` and digits.
fn looks_numeric(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    !int.is_empty() && int.iter().all(u8::is_ascii_digit) && frac.iter().all(u8::is_ascii_digit)
}

/// An integer or decimal, negative or not, rounded down; `None` when it
/// is not one or does not fit in an i64.
fn parse_number(b: &[u8]) -> Option<i64> {
    if !looks_numeric(b) {
        return None;
    }
    let negative = b.first() == Some(&b'-');
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    let whole: i64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    if negative && frac.iter().any(|&c| c != b'0') {
        whole.checked_sub(1)
    } else {
        Some(whole)
    }
}

fn parse_size(b: &[u8]) -> Result<u64, String> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad size `{}`: expected a number of bytes", show(b)));
    }
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&s| s != UNKNOWN_SIZE)
        .ok_or_else(|| format!("size `{}` is too large", show(b)))
}

fn has_unescaped_pipe(b: &[u8]) -> bool {
    let mut escaped = false;
    for &c in b {
        match c {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'|' => return true,
            _ => {}
        }
    }
    false
}

fn split_unescaped_pipes(b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(3);
    let mut start = 0;
    let mut escaped = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'|' => {
                out.push(&b[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&b[start..]);
    out
}

pub fn unescape(b: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'\\', b).is_none() {
        return b.to_vec();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let rep = match b[i + 1] {
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'|' => Some(b'|'),
                b'\\' => Some(b'\\'),
                _ => None,
            };
            if let Some(r) = rep {
                out.push(r);
                i += 2;
                continue;
            }
            if b[i + 1] == b'x' && i + 3 < b.len() {
                if let (Some(hi), Some(lo)) = (hex(b[i + 2]), hex(b[i + 3])) {
                    out.push(hi << 4 | lo);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Write an LFN on one line: the inverse of [`unescape`]. Whitespace at
/// either end is written `\xHH`, since readers trim it.
pub fn write_escaped<W: Write>(w: &mut W, lfn: &[u8]) -> io::Result<()> {
    let edge = |c: Option<&u8>| c.is_some_and(u8::is_ascii_whitespace);
    if !edge(lfn.first())
        && !edge(lfn.last())
        && !lfn.iter().any(|&c| matches!(c, b'\n' | b'\r' | b'\t' | b'|' | b'\\'))
    {
        return w.write_all(lfn);
    }
    let body_start = lfn.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(lfn.len());
    let body_end = lfn.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(body_start, |e| e + 1);
    for (i, &c) in lfn.iter().enumerate() {
        match c {
            _ if c.is_ascii_whitespace() && (i < body_start || i >= body_end) => write!(w, "\\x{c:02x}")?,
            b'\n' => w.write_all(b"\\n")?,
            b'\r' => w.write_all(b"\\r")?,
            b'\t' => w.write_all(b"\\t")?,
            b'|' => w.write_all(b"\\|")?,
            b'\\' => w.write_all(b"\\\\")?,
            _ => w.write_all(&[c])?,
        }
    }
    Ok(())
}

/// The common line `LFN|size|mtime` with no escapes and no spaces to trim,
/// parsed without copying; anything else goes through [`parse_line`].
pub(crate) fn parse_fast(line: &[u8]) -> Option<(&[u8], u64, i64)> {
    if line.first() != Some(&b'/') {
        return None;
    }
    // the two numbers read from the end, each up to the `|` before it
    let (mtime, p2) = digits_before(line, line.len())?;
    let (size, p1) = digits_before(line, p2)?;
    let lfn = &line[..p1];
    // one pass over the LFN for a third field, an escape or a NUL (an error, from the full parser)
    if memchr::memchr3(b'|', b'\\', 0, lfn).is_some() {
        return None;
    }
    if lfn.last().is_none_or(|c| c.is_ascii_whitespace() || *c == b'/') {
        return None;
    }
    if size == UNKNOWN_SIZE || mtime > i64::MAX as u64 {
        return None;
    }
    Some((lfn, size, mtime as i64))
}

/// The plain run of 1 to 19 ASCII digits that ends at `end` and follows a
/// `|`: its value and where that `|` is. One backward pass, no search.
fn digits_before(line: &[u8], end: usize) -> Option<(u64, usize)> {
    let stop = end.saturating_sub(19);
    let (mut at, mut value, mut unit) = (end, 0u64, 1u64);
    while at > stop {
        let digit = line[at - 1].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value += u64::from(digit) * unit;
        unit = unit.wrapping_mul(10);
        at -= 1;
    }
    (at < end && at > 0 && line[at - 1] == b'|').then_some((value, at - 1))
}

/// The length of the longest common prefix of `a` and `b`, eight bytes at
/// a time.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Adds parsed lines to a tree, remembering the path of the last directory
/// and the directory of each of its components: a listing gives a
/// directory's files together, so a file costs no directory lookup when it
/// is in the same directory as the line before, and a new directory only
/// the components it does not share with the last one (one, for a listing
/// of one file a directory). A listing in byte order costs no lookup at
/// all: a directory this reader created, and whose children it has added in
/// increasing order, cannot hold a name greater than the last of them.
/// Whatever gives files a path at a time (an inventory query) adds them
/// through it too.
pub struct Loader<'t> {
    tree: &'t mut Tree,
    last_dir: Vec<u8>,
    /// The components of `last_dir`, the root first.
    components: Vec<Component>,
}

struct Component {
    /// Where the component ends in `last_dir` (0 for the root).
    end: usize,
    dir: DirId,
    /// Created by this reader, every child added in increasing order, the
    /// last of them `last_child`.
    in_order: bool,
    last_child: Option<DirId>,
}

/// Where a [`Loader`] left a tree, kept in the tree: the next loader (the
/// next batch of an inventory query) goes on from it, unless anything else
/// added to the tree since (its directory or file count differs).
pub(crate) struct LoadState {
    last_dir: Vec<u8>,
    components: Vec<Component>,
    counts: (usize, usize),
}

impl<'t> Loader<'t> {
    /// A reader adding to `tree`, which nothing else changes while it lives;
    /// it goes on from where the last loader of `tree` left it.
    pub fn new(tree: &'t mut Tree) -> Loader<'t> {
        let counts = (tree.dir_count(), tree.file_count());
        if let Some(s) = tree.loaded.take().filter(|s| s.counts == counts) {
            return Loader { tree, last_dir: s.last_dir, components: s.components };
        }
        let in_order = tree.dir_count() == 1;
        Loader {
            tree,
            last_dir: Vec::new(),
            components: vec![Component { end: 0, dir: ROOT, in_order, last_child: None }],
        }
    }

    fn add(&mut self, line: &Line) {
        self.add_parts(&line.lfn, line.size, line.mtime);
    }

    fn dir(&mut self, dir: &[u8]) -> DirId {
        if dir == self.last_dir.as_slice() {
            return self.components.last().map_or(ROOT, |c| c.dir);
        }
        let common = common_prefix(dir, &self.last_dir);
        // keep the components that are whole components of `dir` too
        while self.components.len() > 1 {
            let end = self.components[self.components.len() - 1].end;
            if end <= common && (end == dir.len() || dir[end] == b'/') {
                break;
            }
            self.components.pop();
        }
        let mut at = self.components[self.components.len() - 1].end;
        while at < dir.len() {
            let len = memchr::memchr(b'/', &dir[at..]).unwrap_or(dir.len() - at);
            if len > 0 {
                let name = &dir[at..at + len];
                let parent = self.components.last_mut().expect("the root is never popped");
                let after_last = parent.last_child.is_none_or(|c| self.tree.dir_name(c) < name);
                let (d, created) = if parent.in_order && after_last {
                    (self.tree.add_new_dir(parent.dir, name, DirState::Listed), true)
                } else {
                    parent.in_order = false;
                    self.tree.add_dir_found(parent.dir, name, DirState::Listed)
                };
                parent.last_child = Some(d);
                self.components.push(Component { end: at + len, dir: d, in_order: created, last_child: None });
            }
            at += len + 1;
        }
        self.last_dir.clear();
        self.last_dir.extend_from_slice(dir);
        self.components.last().map_or(ROOT, |c| c.dir)
    }

    /// Add the file at `lfn` (an absolute path), creating its directories.
    pub fn add_parts(&mut self, lfn: &[u8], size: u64, mtime: i64) {
        let (dir, name) = split_lfn(lfn);
        let d = self.dir(dir);
        self.tree.add_file(d, name, size, mtime);
    }

    /// Parse one raw line (without its newline) and add it.
    fn line(&mut self, raw: &[u8], format: ListingFormat) -> Result<bool, String> {
        if format == ListingFormat::Auto {
            if let Some((lfn, size, mtime)) = parse_fast(strip_cr(raw)) {
                self.add_parts(lfn, size, mtime);
                return Ok(true);
            }
        }
        match parse_line(raw, format)? {
            Some(line) => {
                self.add(&line);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl Drop for Loader<'_> {
    fn drop(&mut self) {
        let counts = (self.tree.dir_count(), self.tree.file_count());
        let (last_dir, components) = (std::mem::take(&mut self.last_dir), std::mem::take(&mut self.components));
        self.tree.loaded = Some(LoadState { last_dir, components, counts });
    }
}

/// The longest line a listing may hold. A name component is at most 1 MiB
/// in a tree file, and a line rarely a few hundred bytes: a longer one is not
/// a listing (a binary file, or a sparse file of zeros), and is refused
/// rather than buffered until memory runs out.
pub const MAX_LINE: usize = 16 << 20;

/// The most of a file's length taken as a guess of its number of files
/// when reserving space: a sparse or lying length costs nothing beyond it.
const MAX_RESERVE_BYTES: u64 = 256 << 20;

/// Read every line of `reader` into `tree`; `name` labels errors.
pub fn read_into<R: Read>(
    tree: &mut Tree,
    mut reader: R,
    name: &str,
    format: ListingFormat,
) -> Result<u64, ListingError> {
    let io_err = |source| ListingError::Io { path: name.to_string(), source };
    let mut loader = Loader::new(tree);
    let mut buf = vec![0u8; 256 << 10];
    let mut filled = 0usize;
    let mut line_no = 0u64;
    let mut files = 0u64;
    loop {
        if filled == buf.len() {
            if buf.len() >= MAX_LINE {
                let message = format!("a line longer than {} MiB: not a listing file", MAX_LINE >> 20);
                return Err(ListingError::BadLine { path: name.to_string(), line: line_no + 1, message });
            }
            buf.resize((buf.len() * 2).min(MAX_LINE), 0);
        }
        let n = reader.read(&mut buf[filled..]).map_err(io_err)?;
        let eof = n == 0;
        filled += n;
        let mut start = 0;
        while let Some(p) = memchr::memchr(b'\n', &buf[start..filled]) {
            line_no += 1;
            let raw = &buf[start..start + p];
            start += p + 1;
            match loader.line(raw, format) {
                Ok(added) => files += u64::from(added),
                Err(message) => return Err(ListingError::BadLine { path: name.to_string(), line: line_no, message }),
            }
        }
        if eof {
            if start < filled {
                line_no += 1;
                match loader.line(&buf[start..filled], format) {
                    Ok(added) => files += u64::from(added),
                    Err(message) => {
                        return Err(ListingError::BadLine { path: name.to_string(), line: line_no, message })
                    }
                }
            }
            loader.tree.shrink_to_fit();
            return Ok(files);
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

/// Read a listing file into a new tree whose directories count as listed at
/// the file's modification time (when the dump was made).
pub fn read_listing(path: &Path, format: ListingFormat) -> Result<Tree, ListingError> {
    let name = path.display().to_string();
    let io_err = |source| ListingError::Io { path: name.clone(), source };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    refuse_empty_tree(path, &meta)?;
    let mut tree = tree_for(&meta);
    read_into(&mut tree, file, &name, format)?;
    Ok(tree)
}

/// An empty file named `*.tree` is a tree file that lost its content, not
/// an empty listing: read as one, it would make every inventory file missing
/// (or every storage file an orphan).
pub fn refuse_empty_tree(path: &Path, meta: &std::fs::Metadata) -> Result<(), ListingError> {
    if meta.is_file() && meta.len() == 0 && path.extension().is_some_and(|e| e == "tree") {
        return Err(ListingError::EmptyTree { path: path.display().to_string() });
    }
    Ok(())
}

/// An empty tree for the listing file of `meta`: listed at the file's
/// modification time, with room reserved for about as many files as its
/// length holds.
pub fn tree_for(meta: &std::fs::Metadata) -> Tree {
    let listed_at = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let mut tree = Tree::new(listed_at);
    // a CMS LFN line is about 100 bytes; beyond the cap the vectors grow as lines come
    let guess = if meta.is_file() { meta.len().min(MAX_RESERVE_BYTES) } else { 0 };
    tree.reserve_files((guess / 100) as usize, (guess / 3) as usize);
    tree
}

/// Write `LFN|size|mtime` lines, sorted by LFN bytes (a listing file that
/// [`read_listing`] reads back to the same files).
pub fn write_listing<W: Write>(w: &mut W, tree: &Tree) -> io::Result<()> {
    tree.walk_sorted(&mut |lfn, i| {
        let f = tree.file(i);
        write_escaped(w, lfn)?;
        if f.size == UNKNOWN_SIZE {
            // `LFN` alone would read back a last word that is a number as a size
            writeln!(w, "||{}", f.mtime)
        } else {
            writeln!(w, "|{}|{}", f.size, f.mtime)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Line> {
        parse_line(s.as_bytes(), ListingFormat::Auto).unwrap()
    }

    // compared with what parse_line gives, an Option
    #[allow(clippy::unnecessary_wraps)]
    fn line(lfn: &str, size: u64, mtime: i64) -> Option<Line> {
        Some(Line { lfn: lfn.as_bytes().to_vec(), size, mtime })
    }

    #[test]
    fn common_prefix_at_every_length() {
        let a = b"/store/mc/Era00/Primary0/AODSIM/x";
        for cut in 0..a.len() {
            let mut b = a.to_vec();
            b[cut] ^= 1;
            assert_eq!(common_prefix(a, &b), cut);
            assert_eq!(common_prefix(a, &a[..cut]), cut);
        }
        assert_eq!(common_prefix(a, a), a.len());
    }

    #[test]
    fn a_directory_costs_at_most_40_bytes_and_a_file_100_beyond_their_names() {
        // one file a directory, and about 200 a directory, as a listing gives them
        for (dirs, per_dir) in [(20_000, 1), (100, 200)] {
            let mut text = Vec::new();
            for d in 0..dirs {
                for f in 0..per_dir {
                    let line = format!(
                        "/store/mc/Era{}/Primary{}/AODSIM/Proc-v1/{d:06}/F{f:04}-{d}.root|1234567890|1600000000\n",
                        d % 7,
                        d / 1000
                    );
                    text.extend_from_slice(line.as_bytes());
                }
            }
            let mut t = Tree::new(1_700_000_000);
            read_into(&mut t, &text[..], "x", ListingFormat::Auto).unwrap();
            // the index a comparison builds counts too
            assert!(!t.subdirs(ROOT).is_empty());
            let m = t.memory();
            let per_dir_bytes = m.directories as f64 / t.dir_count() as f64;
            let per_file_bytes = m.files as f64 / t.file_count() as f64;
            assert!(per_dir_bytes <= 40.0, "{per_dir_bytes} bytes a directory at {per_dir} files a directory");
            assert!(per_file_bytes <= 100.0, "{per_file_bytes} bytes a file at {per_dir} files a directory");
            assert_eq!(t.file_count(), dirs * per_dir);
        }
    }

    #[test]
    fn every_form() {
        assert_eq!(p("/a/b"), line("/a/b", UNKNOWN_SIZE, 0));
        assert_eq!(p("/a/b|12"), line("/a/b", 12, 0));
        assert_eq!(p("/a/b | 12 | 1500000000"), line("/a/b", 12, 1_500_000_000));
        assert_eq!(p("/a/b 12"), line("/a/b", 12, 0));
        assert_eq!(p("/a/b 12 1500000000.75"), line("/a/b", 12, 1_500_000_000));
        assert_eq!(p("/a/with space.root|5|6"), line("/a/with space.root", 5, 6));
        assert_eq!(p("/a/with space.root 5"), line("/a/with space.root", 5, 0));
        assert_eq!(p("  "), None);
        assert_eq!(p("# comment"), None);
        assert_eq!(p("/a/new\\nline|1|2"), line("/a/new\nline", 1, 2));
        assert_eq!(p("/a/pi\\|pe|1|2"), line("/a/pi|pe", 1, 2));
        let ral = parse_line(b"/store/x.root 1024 17000", ListingFormat::Ral).unwrap();
        assert_eq!(ral, line("/store/x.root", 1024, 17_000 * 86_400));
    }

    #[test]
    fn fast_path_agrees_with_the_full_parser() {
        for l in [&b"/a/b|1|2"[..], b"/a b/c d|12|1500000000", b"/a/b|1|2\r", b"/x/\xff|3|4"] {
            let fast = parse_fast(strip_cr(l)).unwrap();
            let full = parse_line(l, ListingFormat::Auto).unwrap().unwrap();
            assert_eq!((fast.0.to_vec(), fast.1, fast.2), (full.lfn, full.size, full.mtime));
        }
        for l in [&b"/a/b |1|2"[..], b"/a\\|b|1|2", b"/a/|1|2", b"/a|b|1|2", b"/a|1|2.5", b"/a|-1|2", b"rel|1|2"] {
            assert!(parse_fast(l).is_none(), "{}", String::from_utf8_lossy(l));
        }
    }

    #[test]
    fn numbers_of_every_range_read_back() {
        assert_eq!(p("/old|5|-315619200"), line("/old", 5, -315_619_200));
        assert_eq!(p("/old 5 -315619200"), line("/old", 5, -315_619_200));
        assert_eq!(p("/old|5|-1.5"), line("/old", 5, -2));
        assert_eq!(p("/old|5|-0.5"), line("/old", 5, -1));
        assert_eq!(p("/m|1|-9223372036854775808"), line("/m", 1, i64::MIN));
        assert_eq!(p("/big 18446744073709551614"), line("/big", u64::MAX - 1, 0));
        assert_eq!(p("/big 9223372036854775808 7"), line("/big", 1 << 63, 7));
        assert_eq!(p("/u||7"), line("/u", UNKNOWN_SIZE, 7));
        assert_eq!(p("/u|"), line("/u", UNKNOWN_SIZE, 0));
        // a negative last word with no size before it is part of the name
        assert_eq!(p("/a b -5"), line("/a b -5", UNKNOWN_SIZE, 0));
        for bad in [&b"/huge 18446744073709551616"[..], b"/t 1 99999999999999999999", b"/t|1|-99999999999999999999"] {
            assert!(parse_line(bad, ListingFormat::Auto).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_line(b"/r 1 999999999999999999", ListingFormat::Ral).is_err());
    }

    #[test]
    fn bad_lines() {
        assert!(parse_line(b"relative/path|1", ListingFormat::Auto).is_err());
        assert!(parse_line(b"/a|-1", ListingFormat::Auto).is_err());
        assert!(parse_line(b"/a|1|x", ListingFormat::Auto).is_err());
        assert!(parse_line(b"/a|1|2|3", ListingFormat::Auto).is_err());
        assert!(parse_line(b"/a/dir/|1", ListingFormat::Auto).is_err());
        assert!(parse_line(b"/a 12", ListingFormat::Ral).is_err());
    }

    #[test]
    fn escape_round_trip() {
        for name in [
            &b"/a/plain"[..],
            b"/a/new\nline",
            b"/a/back\\slash\\n",
            b"/a/p|pe\t",
            b"/a/\xff\xfe",
            b"/a/trailing space ",
            b"/a/x\\x41",
            b"/a/tab end\t",
        ] {
            let mut out = Vec::new();
            write_escaped(&mut out, name).unwrap();
            assert!(!out.contains(&b'\n'));
            assert_eq!(unescape(&out), name);
            // as a whole line of a listing file too, where ends are trimmed
            let line = parse_line(&out, ListingFormat::Auto).unwrap().unwrap();
            assert_eq!(line.lfn, name, "{}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn a_nul_byte_is_an_error_naming_the_line() {
        let mut t = Tree::new(0);
        for text in [&b"/ok|1|2\n/store/mc/y/dark\0one.root|3|4\n"[..], b"/ok|1|2\n/store/mc/y/dark\0one.root 3\n"] {
            let err = read_into(&mut t, text, "dump.txt", ListingFormat::Auto).unwrap_err();
            assert_eq!(err.line(), Some(2));
            assert!(err.to_string().contains("NUL"), "{err}");
        }
        assert!(parse_line(b"/a/\0b 1 2", ListingFormat::Ral).is_err());
    }

    #[test]
    fn error_names_file_and_line() {
        let mut t = Tree::new(0);
        let text = b"/ok|1\n\n# c\n/bad|x\n";
        let err = read_into(&mut t, &text[..], "dump.txt", ListingFormat::Auto).unwrap_err();
        assert_eq!(err.line(), Some(4));
        assert!(err.to_string().starts_with("dump.txt:4: bad size"), "{err}");
    }

    #[test]
    fn write_then_read_back() {
        let mut t = Tree::new(0);
        t.add_file_path(b"/s/b|pipe", 2, 20);
        t.add_file_path(b"/s/a\nnl", 1, 10);
        t.add_file_path(b"/s/c d", 3, 30);
        t.add_file_path(b"/s/old", 4, -315_619_200);
        t.add_file_path(b"/s/big", u64::MAX - 1, i64::MIN);
        t.add_file_path(b"/s/unknown 12", UNKNOWN_SIZE, 9);
        t.add_file_path(b"/s/space end ", 5, 6);
        let mut out = Vec::new();
        write_listing(&mut out, &t).unwrap();
        let mut back = Tree::new(0);
        let n = read_into(&mut back, &out[..], "x", ListingFormat::Auto).unwrap();
        assert_eq!(n, 7);
        assert_eq!(back.hash(), t.hash());
        assert_eq!(back.files_sorted(None), t.files_sorted(None));
    }

    #[test]
    fn a_line_without_end_is_refused_not_buffered_forever() {
        let mut t = Tree::new(0);
        let endless = std::io::repeat(b'a').take(MAX_LINE as u64 + 10);
        let err = read_into(&mut t, endless, "zeros", ListingFormat::Auto).unwrap_err();
        assert_eq!(err.line(), Some(1));
        assert!(err.to_string().contains("longer than 16 MiB"), "{err}");
        // a long line under the limit is read
        let mut long = b"/store/".to_vec();
        long.extend(vec![b'x'; 9 << 20]);
        long.extend_from_slice(b"|1|2\n/store/b|3|4\n");
        let mut t = Tree::new(0);
        assert_eq!(read_into(&mut t, &long[..], "long", ListingFormat::Auto).unwrap(), 2);
    }

    #[test]
    fn an_empty_tree_file_is_not_an_empty_listing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.tree");
        File::create(&path).unwrap();
        let err = read_listing(&path, ListingFormat::Auto).err().expect("must fail");
        assert!(matches!(err, ListingError::EmptyTree { .. }), "{err}");
        let txt = dir.path().join("site.txt");
        File::create(&txt).unwrap();
        assert_eq!(read_listing(&txt, ListingFormat::Auto).unwrap().file_count(), 0);
    }

    #[test]
    fn a_sparse_terabyte_is_refused_without_reserving_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let f = File::create(&path).unwrap();
        f.set_len(1 << 40).unwrap();
        drop(f);
        let err = read_listing(&path, ListingFormat::Auto).err().expect("must fail");
        assert_eq!(err.line(), Some(1));
    }

    #[test]
    fn loaders_of_batches_build_the_tree_of_one_path_at_a_time() {
        // datasets interleaved, one file a directory and some directories
        // met again later; the files come in batches, each its own loader,
        // and between some batches a directory is added behind their back
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let files: Vec<(Vec<u8>, u64)> = (0..6000u64)
            .map(|i| {
                let leaf = if next(10) == 0 { next(i + 1) } else { i };
                let lfn = format!("/store/mc/Era{}/P{}/AODSIM/v1/{leaf:06}/f{i}.root", next(2), next(2));
                (lfn.into_bytes(), i)
            })
            .collect();
        let mut by_path = Tree::new(0);
        let mut batched = Tree::new(0);
        let mut at = 0;
        while at < files.len() {
            let end = (at + 1 + next(700) as usize).min(files.len());
            let mut loader = Loader::new(&mut batched);
            for (lfn, size) in &files[at..end] {
                loader.add_parts(lfn, *size, 0);
            }
            drop(loader);
            for (lfn, size) in &files[at..end] {
                by_path.add_file_path(lfn, *size, 0);
            }
            if next(4) == 0 && end < files.len() {
                // the directory of the next file: a loader going on from a
                // state kept across this change would create it again
                let extra = split_lfn(&files[end].0).0;
                batched.ensure_dir(extra);
                by_path.ensure_dir(extra);
            }
            at = end;
        }
        assert_eq!(batched.dir_count(), by_path.dir_count());
        assert_eq!(batched.file_count(), files.len());
        assert_eq!(batched.hash(), by_path.hash());
    }

    #[test]
    fn a_loader_starts_afresh_after_the_tree_changed_behind_it() {
        let mut t = Tree::new(0);
        let mut loader = Loader::new(&mut t);
        loader.add_parts(b"/a/1/f", 1, 0);
        drop(loader);
        // `/a` was created in order with its last child `1`: a loader going
        // on from there would take `/a/2` for new and create it twice
        t.ensure_dir(b"/a/2");
        let mut loader = Loader::new(&mut t);
        loader.add_parts(b"/a/2/g", 2, 0);
        drop(loader);
        assert_eq!(t.dir_count(), 4);
        assert_eq!(t.files_in(t.find_dir(b"/a/2").unwrap()).len(), 1);
    }

    #[test]
    fn lines_across_buffer_boundaries() {
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("/store/d{}/f{i}.root|{i}|{}\n", i % 97, i + 1).as_bytes());
        }
        let mut t = Tree::new(0);
        let n = read_into(&mut t, &text[..], "big", ListingFormat::Auto).unwrap();
        assert_eq!(n, 200_000);
        assert_eq!(t.total_size(), (0..200_000u64).sum::<u64>());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A name component: any bytes but NUL and `/`, not empty.
        fn component() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(any::<u8>().prop_filter("no NUL or /", |&c| c != 0 && c != b'/'), 1..12)
        }

        /// An LFN: `/` and one to four components.
        fn lfn() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(component(), 1..5).prop_map(|parts| {
                let mut out = Vec::new();
                for p in parts {
                    out.push(b'/');
                    out.extend_from_slice(&p);
                }
                out
            })
        }

        fn size() -> impl Strategy<Value = u64> {
            prop_oneof![Just(UNKNOWN_SIZE), Just(UNKNOWN_SIZE - 1), Just(0u64), any::<u64>()]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: crate::property_cases(), failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn any_bytes_give_a_line_or_an_error_never_a_panic(raw in prop::collection::vec(any::<u8>(), 0..200)) {
                for format in [ListingFormat::Auto, ListingFormat::Ral] {
                    if let Ok(Some(line)) = parse_line(&raw, format) {
                        prop_assert_eq!(line.lfn.first(), Some(&b'/'));
                    }
                }
                let mut t = Tree::new(0);
                let _ = read_into(&mut t, &raw[..], "x", ListingFormat::Auto);
            }

            #[test]
            fn numbers_and_separators_never_panic(
                words in prop::collection::vec(prop_oneof![
                    "-?[0-9]{1,25}(\\.[0-9]{0,3})?", "[|\\\\ \t]{1,3}", "/[a-z ]{0,4}", "x[0-9a-f]{0,3}"
                ], 1..6)
            ) {
                let raw = words.concat();
                for format in [ListingFormat::Auto, ListingFormat::Ral] {
                    let _ = parse_line(raw.as_bytes(), format);
                }
            }

            #[test]
            fn whatever_is_written_reads_back_the_same(name in lfn(), size in size(), mtime in any::<i64>()) {
                let mut out = Vec::new();
                write_escaped(&mut out, &name).unwrap();
                prop_assert!(!out.contains(&b'\n'));
                prop_assert_eq!(&unescape(&out), &name);
                // as a listing line, in the form the tool writes, through the full and the fast parser
                let mut t = Tree::new(0);
                t.add_file_path(&name, size, mtime);
                let mut text = Vec::new();
                write_listing(&mut text, &t).unwrap();
                let mut back = Tree::new(0);
                prop_assert_eq!(read_into(&mut back, &text[..], "x", ListingFormat::Auto).unwrap(), 1);
                prop_assert_eq!(back.files_sorted(None), t.files_sorted(None));
                let line = parse_line(text.strip_suffix(b"\n").unwrap(), ListingFormat::Auto).unwrap().unwrap();
                prop_assert_eq!(line, Line { lfn: t.files_sorted(None)[0].0.clone(), size, mtime });
            }
        }
    }
}
