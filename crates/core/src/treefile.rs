//! Tree files: a versioned binary form of a tree with a checksum.
//!
//! Layout (little endian): magic `DCTREE\0\n`, version u32, (version 2
//! only: a note, what the tree is of, such as the target and options of the
//! listing a checkpoint belongs to), default listed time i64, directory
//! count u64, file count u64; then every directory in
//! path order (parent u32, name, mtime i64, `listed_at` i64, state u8, reason),
//! then every file grouped by directory in name order (directory u32, name,
//! size u64, mtime i64); a name or reason is a u32 length and its bytes.
//! The state byte is the [`DirState`], with the high bit
//! ([`STATE_TIMED_OUT`]) set on an unlisted directory that timed out: files
//! written before that bit existed have it clear everywhere and read the same.
//! Last comes the xxh3-64 of everything before it. The same tree gives the
//! same bytes whatever order it was built in. A truncated or corrupt file is
//! an error, never a wrong tree, and never a huge allocation: the counts in
//! the header are checked against the length of the file before anything is
//! reserved for them, and a reader of unknown length (a pipe) reserves
//! little and grows as the entries arrive.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use crate::tree::{DirId, DirState, Tree};

pub const MAGIC: &[u8; 8] = b"DCTREE\0\n";
/// The version of a tree file without a note; one with a note is version 2.
pub const VERSION: u32 = 1;
pub const VERSION_NOTED: u32 = 2;
const MAX_NAME: u32 = 1 << 20;
/// The bit of the state byte that marks an unlisted directory that timed out.
pub const STATE_TIMED_OUT: u8 = 0x80;
/// The fewest bytes the header, one directory, one file and the checksum
/// take: what a count of them in a file of known length is checked against.
const HEADER_BYTES: u64 = 8 + 4 + 8 + 8 + 8;
const DIR_MIN_BYTES: u64 = 4 + 4 + 8 + 8 + 1 + 4;
const FILE_MIN_BYTES: u64 = 4 + 4 + 8 + 8;
const SUM_BYTES: u64 = 8;
/// Files reserved for ahead when the length of the input is unknown.
const STREAM_RESERVE: u64 = 1 << 16;

#[derive(Debug, thiserror::Error)]
pub enum TreeFileError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a tree file")]
    NotATreeFile { path: String },
    #[error("{path}: the tree file is empty (a save that never finished, or a truncation)")]
    Empty { path: String },
    #[error(
        "{path}: tree file version {found} is not supported (this build reads versions {VERSION} and {VERSION_NOTED})"
    )]
    Version { path: String, found: u32 },
    #[error("{path}: the tree file is truncated")]
    Truncated { path: String },
    #[error("{path}: the tree file is corrupt ({what})")]
    Corrupt { path: String, what: String },
}

/// Whether the file at `path` starts like a tree file.
pub fn is_tree_file(path: &Path) -> bool {
    let mut head = [0u8; 8];
    File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == MAGIC
}

struct HashWriter<W: Write> {
    inner: W,
    hasher: Xxh3,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn put_bytes<W: Write>(w: &mut W, b: &[u8]) -> io::Result<()> {
    w.write_all(&(b.len() as u32).to_le_bytes())?;
    w.write_all(b)
}

/// Write `tree` to `w` in canonical order.
pub fn write_tree<W: Write>(tree: &Tree, w: W) -> io::Result<()> {
    write_tree_noted(tree, b"", w)
}

/// [`write_tree`] with a note of what the tree is of (version 2; an empty
/// note writes version 1).
pub fn write_tree_noted<W: Write>(tree: &Tree, note: &[u8], w: W) -> io::Result<()> {
    if note.len() > MAX_NAME as usize {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a tree file's note is at most 1 MiB"));
    }
    let mut w = HashWriter { inner: w, hasher: Xxh3::new() };
    let n = tree.dir_count();
    let paths = tree.dir_paths();
    let mut order: Vec<DirId> = (0..n as DirId).collect();
    order.sort_unstable_by(|&a, &b| paths[a as usize].cmp(&paths[b as usize]));
    // a parent's path is a prefix of its child's, so it sorts first
    let mut new_id = vec![0u32; n];
    for (pos, &d) in order.iter().enumerate() {
        new_id[d as usize] = pos as u32;
    }
    w.write_all(MAGIC)?;
    if note.is_empty() {
        w.write_all(&VERSION.to_le_bytes())?;
    } else {
        w.write_all(&VERSION_NOTED.to_le_bytes())?;
        put_bytes(&mut w, note)?;
    }
    w.write_all(&tree.default_listed_at().to_le_bytes())?;
    w.write_all(&(n as u64).to_le_bytes())?;
    w.write_all(&(tree.file_count() as u64).to_le_bytes())?;
    for &d in &order {
        w.write_all(&new_id[tree.parent(d) as usize].to_le_bytes())?;
        put_bytes(&mut w, tree.dir_name(d))?;
        w.write_all(&tree.dir_mtime(d).to_le_bytes())?;
        w.write_all(&tree.listed_at(d).to_le_bytes())?;
        let timed_out = if tree.unlisted_timed_out(d) { STATE_TIMED_OUT } else { 0 };
        w.write_all(&[tree.state(d) as u8 | timed_out])?;
        put_bytes(&mut w, tree.unlisted_reason(d).unwrap_or("").as_bytes())?;
    }
    for &d in &order {
        let mut files: Vec<u32> = tree.files_in(d).to_vec();
        files.sort_unstable_by(|&a, &b| tree.file(a as usize).name.cmp(tree.file(b as usize).name));
        for f in files {
            let f = tree.file(f as usize);
            w.write_all(&new_id[d as usize].to_le_bytes())?;
            put_bytes(&mut w, f.name)?;
            w.write_all(&f.size.to_le_bytes())?;
            w.write_all(&f.mtime.to_le_bytes())?;
        }
    }
    let sum = w.hasher.digest();
    w.inner.write_all(&sum.to_le_bytes())?;
    w.inner.flush()
}

/// Save to `path` through a temporary file renamed into place, so that a
/// crash never leaves a half-written tree under the final name.
pub fn save_tree(tree: &Tree, path: &Path) -> Result<(), TreeFileError> {
    save_tree_noted(tree, b"", path)
}

/// [`save_tree`] with a note (see [`write_tree_noted`]).
pub fn save_tree_noted(tree: &Tree, note: &[u8], path: &Path) -> Result<(), TreeFileError> {
    let name = path.display().to_string();
    let io_err = |source| TreeFileError::Io { path: name.clone(), source };
    crate::atomic::write_atomic(path, |w| write_tree_noted(tree, note, w)).map_err(io_err)
}

struct HashReader<R: Read> {
    inner: R,
    hasher: Xxh3,
}

impl<R: Read> HashReader<R> {
    fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)?;
        self.hasher.update(buf);
        Ok(())
    }

    fn u8(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn i64(&mut self) -> io::Result<i64> {
        Ok(self.u64()? as i64)
    }
}

/// Read a tree written by [`write_tree`]; `name` labels errors.
pub fn read_tree<R: Read>(r: R, name: &str) -> Result<Tree, TreeFileError> {
    read_tree_sized(r, name, None)
}

/// [`read_tree`] of an input of `len` bytes when it is known (a regular
/// file): counts the input cannot hold are an error before any allocation.
pub fn read_tree_sized<R: Read>(r: R, name: &str, len: Option<u64>) -> Result<Tree, TreeFileError> {
    read_tree_noted(r, name, len).map(|(tree, _)| tree)
}

/// [`read_tree_sized`] that gives the file's note too (empty in version 1).
// one pass over the file in the order of the layout above, checked against it in one place
#[allow(clippy::too_many_lines)]
pub fn read_tree_noted<R: Read>(r: R, name: &str, len: Option<u64>) -> Result<(Tree, Vec<u8>), TreeFileError> {
    let path = name.to_string();
    let mut r = HashReader { inner: r, hasher: Xxh3::new() };
    let map = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            TreeFileError::Truncated { path: path.clone() }
        } else {
            TreeFileError::Io { path: path.clone(), source: e }
        }
    };
    let corrupt = |what: &str| TreeFileError::Corrupt { path: path.clone(), what: what.to_string() };
    let mut magic = [0u8; 8];
    r.exact(&mut magic).map_err(|_| TreeFileError::NotATreeFile { path: path.clone() })?;
    if &magic != MAGIC {
        return Err(TreeFileError::NotATreeFile { path });
    }
    let version = r.u32().map_err(map)?;
    let mut note = Vec::new();
    match version {
        VERSION => {}
        VERSION_NOTED => {
            let n = r.u32().map_err(map)?;
            if n > MAX_NAME || len.is_some_and(|len| u64::from(n) > len) {
                return Err(corrupt("note too long"));
            }
            note.resize(n as usize, 0);
            r.exact(&mut note).map_err(map)?;
        }
        _ => return Err(TreeFileError::Version { path, found: version }),
    }
    let default_listed_at = r.i64().map_err(map)?;
    let n_dirs = r.u64().map_err(map)?;
    let n_files = r.u64().map_err(map)?;
    if n_dirs == 0 || n_dirs > u64::from(u32::MAX) || n_files > u64::from(u32::MAX) {
        return Err(corrupt("impossible counts"));
    }
    // both counts fit in 32 bits: the sum cannot overflow
    let least = HEADER_BYTES
        + if note.is_empty() { 0 } else { 4 + note.len() as u64 }
        + n_dirs * DIR_MIN_BYTES
        + n_files * FILE_MIN_BYTES
        + SUM_BYTES;
    if len.is_some_and(|len| least > len) {
        return Err(corrupt(&format!(
            "{n_dirs} directories and {n_files} files cannot fit in {} bytes",
            len.unwrap_or(0)
        )));
    }
    let mut tree = Tree::new(default_listed_at);
    let mut name_buf = Vec::new();
    let read_name = |r: &mut HashReader<R>, buf: &mut Vec<u8>| -> Result<(), TreeFileError> {
        let len = r.u32().map_err(map)?;
        if len > MAX_NAME {
            return Err(corrupt("name too long"));
        }
        buf.resize(len as usize, 0);
        r.exact(buf).map_err(map)
    };
    let mut reason = Vec::new();
    for d in 0..n_dirs as u32 {
        let parent = r.u32().map_err(map)?;
        read_name(&mut r, &mut name_buf)?;
        let mtime = r.i64().map_err(map)?;
        let listed_at = r.i64().map_err(map)?;
        let state_byte = r.u8().map_err(map)?;
        let timed_out = state_byte & STATE_TIMED_OUT != 0;
        let state = DirState::from_u8(state_byte & !STATE_TIMED_OUT)
            .filter(|&s| !timed_out || s == DirState::Unlisted)
            .ok_or_else(|| corrupt("bad directory state"))?;
        read_name(&mut r, &mut reason)?;
        let id = if d == 0 {
            0
        } else {
            if parent >= d {
                return Err(corrupt("directory before its parent"));
            }
            let before = tree.dir_count();
            let id = tree.add_dir(parent, &name_buf, state);
            if tree.dir_count() == before {
                return Err(corrupt("duplicate directory"));
            }
            id
        };
        tree.set_dir_mtime(id, mtime);
        if state == DirState::Unlisted {
            tree.set_unlisted(id, listed_at, &String::from_utf8_lossy(&reason), timed_out);
        } else {
            tree.set_listed(id, listed_at);
            tree.set_state(id, state);
        }
    }
    tree.reserve_files(if len.is_some() { n_files } else { n_files.min(STREAM_RESERVE) } as usize, 0);
    for _ in 0..n_files {
        let dir = r.u32().map_err(map)?;
        if u64::from(dir) >= n_dirs {
            return Err(corrupt("file in an unknown directory"));
        }
        read_name(&mut r, &mut name_buf)?;
        let size = r.u64().map_err(map)?;
        let mtime = r.i64().map_err(map)?;
        tree.add_file(dir, &name_buf, size, mtime);
    }
    let expect = r.hasher.digest();
    let mut sum = [0u8; 8];
    r.inner.read_exact(&mut sum).map_err(map)?;
    if u64::from_le_bytes(sum) != expect {
        return Err(corrupt("checksum mismatch"));
    }
    let mut extra = [0u8; 1];
    if r.inner.read(&mut extra).map_err(map)? != 0 {
        return Err(corrupt("bytes after the checksum"));
    }
    tree.shrink_to_fit();
    Ok((tree, note))
}

pub fn load_tree(path: &Path) -> Result<Tree, TreeFileError> {
    load_tree_noted(path).map(|(tree, _)| tree)
}

/// [`load_tree`] that gives the file's note too (empty in version 1).
pub fn load_tree_noted(path: &Path) -> Result<(Tree, Vec<u8>), TreeFileError> {
    let name = path.display().to_string();
    let io_err = |source| TreeFileError::Io { path: name.clone(), source };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    let len = meta.is_file().then_some(meta.len());
    read_tree_noted(BufReader::with_capacity(1 << 20, file), &name, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(reverse: bool) -> Tree {
        let mut files = vec![
            (&b"/store/mc/a/1.root"[..], 10u64, 5i64),
            (b"/store/mc/a/\xffbad utf8", 20, 6),
            (b"/store/data/new\nline", 30, 7),
        ];
        if reverse {
            files.reverse();
        }
        let mut t = Tree::new(1234);
        for (lfn, size, mtime) in files {
            t.add_file_path(lfn, size, mtime);
        }
        let u = t.ensure_dir(b"/store/unlisted");
        t.set_unlisted(u, 99, "Operation expired", true);
        let refused = t.ensure_dir(b"/store/refused");
        t.set_unlisted(refused, 98, "permission denied", false);
        let e = t.ensure_dir_as(b"/store/pending", DirState::Pending);
        t.set_dir_mtime(e, 77);
        t
    }

    fn bytes(t: &Tree) -> Vec<u8> {
        let mut out = Vec::new();
        write_tree(t, &mut out).unwrap();
        out
    }

    #[test]
    fn round_trip_and_canonical() {
        let a = sample(false);
        let b = sample(true);
        assert_eq!(bytes(&a), bytes(&b));
        let back = read_tree(&bytes(&a)[..], "t").unwrap();
        assert_eq!(back.hash(), a.hash());
        assert_eq!(back.files_sorted(None), a.files_sorted(None));
        assert_eq!(back.unlisted(), a.unlisted());
        assert_eq!(back.pending().len(), 1);
        assert_eq!(back.dir_mtime(back.find_dir(b"/store/pending").unwrap()), 77);
        assert_eq!(bytes(&back), bytes(&a));
    }

    #[test]
    fn whether_an_unlisted_directory_timed_out_is_kept_in_its_state_byte() {
        let one = |timed_out: bool| {
            let mut t = Tree::new(0);
            let u = t.ensure_dir(b"/u");
            t.set_unlisted(u, 5, "no answer", timed_out);
            bytes(&t)
        };
        let (timed_out, refused) = (one(true), one(false));
        let back = read_tree(&timed_out[..], "t").unwrap();
        assert!(back.unlisted()[0].timed_out);
        assert!(!read_tree(&refused[..], "t").unwrap().unlisted()[0].timed_out);
        // the files differ in the state byte alone (and the checksum): without the bit, the
        // bytes are those of a tree file from before the bit existed
        let at: Vec<usize> = (0..timed_out.len() - 8).filter(|&i| timed_out[i] != refused[i]).collect();
        assert_eq!(at.len(), 1);
        assert_eq!((timed_out[at[0]], refused[at[0]]), (STATE_TIMED_OUT | DirState::Unlisted as u8, 2));
        // the bit on a directory that is not unlisted is corrupt
        let mut pending = refused;
        pending[at[0]] = STATE_TIMED_OUT | DirState::Pending as u8;
        let end = pending.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&pending[..end]);
        pending[end..].copy_from_slice(&sum.to_le_bytes());
        let err = read_tree(&pending[..], "t").err().expect("must fail");
        assert!(err.to_string().contains("bad directory state"), "{err}");
    }

    #[test]
    fn truncated_and_corrupt() {
        let good = bytes(&sample(false));
        for cut in [0, 5, 20, good.len() / 2, good.len() - 1] {
            let err = read_tree(&good[..cut], "t").err().expect("must fail");
            assert!(
                matches!(err, TreeFileError::Truncated { .. } | TreeFileError::NotATreeFile { .. }),
                "cut {cut}: {err}"
            );
        }
        for pos in [30, good.len() / 2, good.len() - 3] {
            let mut bad = good.clone();
            bad[pos] ^= 0x40;
            assert!(read_tree(&bad[..], "t").is_err(), "flip at {pos} must be detected");
        }
        let mut longer = good;
        longer.push(0);
        assert!(read_tree(&longer[..], "t").is_err());
    }

    #[test]
    fn counts_the_file_cannot_hold_are_refused_before_any_allocation() {
        let good = bytes(&sample(false));
        // the file count is the u64 at 28; one byte changed makes it billions
        let mut bad = good.clone();
        bad[31] = 0x7f;
        let err = read_tree_sized(&bad[..], "t", Some(bad.len() as u64)).err().expect("must fail");
        assert!(matches!(err, TreeFileError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("cannot fit"), "{err}");
        // of unknown length (a pipe): little is reserved, and the end of the input ends it
        let err = read_tree(&bad[..], "t").err().expect("must fail");
        assert!(matches!(err, TreeFileError::Corrupt { .. } | TreeFileError::Truncated { .. }), "{err}");
        let mut bad_dirs = good.clone();
        bad_dirs[23] = 0x01;
        let err = read_tree_sized(&bad_dirs[..], "t", Some(bad_dirs.len() as u64)).err().expect("must fail");
        assert!(matches!(err, TreeFileError::Corrupt { .. }), "{err}");
        assert!(read_tree_sized(&good[..], "t", Some(good.len() as u64)).is_ok());
    }

    #[test]
    fn a_note_is_kept_and_changes_nothing_else() {
        let t = sample(false);
        let mut noted = Vec::new();
        write_tree_noted(&t, b"target /a", &mut noted).unwrap();
        let (back, note) = read_tree_noted(&noted[..], "t", Some(noted.len() as u64)).unwrap();
        assert_eq!(note, b"target /a");
        assert_eq!(back.hash(), t.hash());
        assert_eq!(read_tree(&noted[..], "t").unwrap().hash(), t.hash());
        // no note: version 1, the same bytes as ever
        let (_, none) = read_tree_noted(&bytes(&t)[..], "t", None).unwrap();
        assert!(none.is_empty());
        let mut flipped = noted.clone();
        flipped[14] ^= 1;
        assert!(read_tree(&flipped[..], "t").is_err());
    }

    #[test]
    fn save_and_load_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.tree");
        let t = sample(false);
        save_tree(&t, &path).unwrap();
        assert!(is_tree_file(&path));
        assert_eq!(load_tree(&path).unwrap().hash(), t.hash());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn good() -> Vec<u8> {
            bytes(&sample(false))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: crate::property_cases(), failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn any_bytes_after_the_magic_are_an_error_never_a_panic(
                version in prop_oneof![Just(VERSION), Just(VERSION_NOTED), any::<u32>()],
                rest in prop::collection::vec(any::<u8>(), 0..400),
            ) {
                let mut input = MAGIC.to_vec();
                input.extend_from_slice(&version.to_le_bytes());
                input.extend_from_slice(&rest);
                let len = input.len() as u64;
                prop_assert!(read_tree_noted(&input[..], "t", Some(len)).is_err());
                prop_assert!(read_tree(&input[..], "t").is_err());
            }

            #[test]
            fn a_changed_byte_is_an_error(pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
                let mut input = good();
                let i = pos.index(input.len());
                input[i] ^= xor;
                let len = input.len() as u64;
                prop_assert!(read_tree_sized(&input[..], "t", Some(len)).is_err());
                prop_assert!(read_tree(&input[..], "t").is_err());
            }

            #[test]
            fn counts_of_any_size_are_checked_before_reserving(
                dirs in any::<u64>(), files in any::<u64>(), cut in any::<prop::sample::Index>()
            ) {
                let mut input = good();
                input[20..28].copy_from_slice(&dirs.to_le_bytes());
                input[28..36].copy_from_slice(&files.to_le_bytes());
                let cut = cut.index(input.len());
                let len = cut as u64;
                // whatever the counts claim, the answer is an error about the file, at once
                prop_assert!(read_tree_sized(&input[..cut], "t", Some(len)).is_err());
                if (dirs, files) != (6, 3) {
                    prop_assert!(read_tree(&input[..], "t").is_err());
                }
            }
        }
    }
}
