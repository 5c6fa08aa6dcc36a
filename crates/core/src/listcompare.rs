//! The comparison of two listing files without building their trees.
//!
//! Each file is read once into one 16-byte entry a line: the hash of the
//! line's (LFN, size), the same identity the tree comparison matches files
//! by, and where the line starts. Both vectors are sorted and merged; only
//! the lines left over are read again, for their names. A listing of one
//! file a directory then costs what one of 200 a directory does, and 100
//! million files a side fit in a few GB.
//!
//! The answers are those of [`crate::compare`] on the trees of the same
//! files (a property test holds the two to it). Where this path could not
//! give them, it declines and the caller builds the trees: a file that is
//! not a regular file or is a tree file (or named `*.tree`), a line whose size is unknown (it
//! matches any size), an LFN not in the form a tree gives back (not
//! starting with `/`, ending with `/`, or with an empty component).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::compare::{CompareOptions, CompareResult, Entry};
use crate::listfile::{parse_fast, parse_line, strip_cr, ListingError, ListingFormat, MAX_LINE};
use crate::tree::{file_hash, split_lfn, UNKNOWN_SIZE};
use crate::treefile::is_tree_file;

/// What one listing file held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingCounts {
    pub files: u64,
    /// Bytes.
    pub size: u64,
    /// Directories, the root and every ancestor of a file included (as a
    /// tree of the file counts them).
    pub directories: u64,
}

/// A comparison of two listing files, and what each held.
#[derive(Debug, Default)]
pub struct ListingComparison {
    pub result: CompareResult,
    pub inventory: ListingCounts,
    pub remote: ListingCounts,
}

/// The high bit of an entry's offset: the line is comparable at the
/// comparison's ignore age.
const COMPARABLE: u64 = 1 << 63;

struct Scan {
    /// (hash of LFN and size, line start | COMPARABLE), sorted.
    entries: Vec<(u64, u64)>,
    counts: ListingCounts,
}

/// Compare the listing files `inventory` and `remote` as
/// [`crate::compare`] compares their trees; `Ok(None)` when this path
/// declines (see the module's documentation).
pub fn compare_listing_files(
    inventory: &Path,
    remote: &Path,
    formats: (ListingFormat, ListingFormat),
    opts: CompareOptions,
) -> Result<Option<ListingComparison>, ListingError> {
    let (inv, rem) =
        rayon::join(|| scan(inventory, formats.0, opts.ignore_age), || scan(remote, formats.1, opts.ignore_age));
    let (Some(inv), Some(rem)) = (inv?, rem?) else { return Ok(None) };
    let (missing, orphan) = unmatched(&inv.entries, &rem.entries);
    let (missing, orphan) =
        rayon::join(|| entries_at(inventory, formats.0, missing), || entries_at(remote, formats.1, orphan));
    let result = CompareResult { missing: missing?, orphan: orphan?, ..CompareResult::default() };
    Ok(Some(ListingComparison { result, inventory: inv.counts, remote: rem.counts }))
}

/// Where a line starts, and the hash of its (LFN, size).
type LineAt = (u64, u64);

/// The comparable lines of each side whose (LFN, size) the other side does
/// not hold.
fn unmatched(a: &[(u64, u64)], b: &[(u64, u64)]) -> (Vec<LineAt>, Vec<LineAt>) {
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    let take = |out: &mut Vec<LineAt>, e: (u64, u64)| {
        if e.1 & COMPARABLE != 0 {
            out.push((e.1 & !COMPARABLE, e.0));
        }
    };
    loop {
        match (a.get(i), b.get(j)) {
            (None, None) => break,
            (Some(x), Some(y)) if x.0 == y.0 => {
                let h = x.0;
                while i < a.len() && a[i].0 == h {
                    i += 1;
                }
                while j < b.len() && b[j].0 == h {
                    j += 1;
                }
            }
            (Some(x), None) => {
                take(&mut only_a, *x);
                i += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                take(&mut only_a, *x);
                i += 1;
            }
            (_, Some(y)) => {
                take(&mut only_b, *y);
                j += 1;
            }
        }
    }
    (only_a, only_b)
}

/// A line's LFN (borrowed from the line when it holds no escape), size and
/// mtime.
type Parsed<'a> = (Cow<'a, [u8]>, u64, i64);

/// One line parsed: the fast parser for the common form, the full one
/// otherwise.
fn parse(raw: &[u8], format: ListingFormat) -> Result<Option<Parsed<'_>>, String> {
    if format == ListingFormat::Auto {
        if let Some((lfn, size, mtime)) = parse_fast(strip_cr(raw)) {
            return Ok(Some((Cow::Borrowed(lfn), size, mtime)));
        }
    }
    Ok(parse_line(raw, format)?.map(|l| (Cow::Owned(l.lfn), l.size, l.mtime)))
}

fn scan(path: &Path, format: ListingFormat, ignore_age: i64) -> Result<Option<Scan>, ListingError> {
    let name = path.display().to_string();
    let io_err = |source| ListingError::Io { path: name.clone(), source };
    let mut file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    // a file named *.tree is read as a tree, whatever it holds
    if !meta.is_file() || path.extension().is_some_and(|e| e == "tree") || is_tree_file(path) {
        return Ok(None);
    }
    let listed_at = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let mut entries: Vec<(u64, u64)> = Vec::new();
    let mut counts = ListingCounts::default();
    let mut dirs = DirectoryHashes::default();
    let mut buf = vec![0u8; 256 << 10];
    let (mut filled, mut base, mut line_no) = (0usize, 0u64, 0u64);
    loop {
        if filled == buf.len() {
            if buf.len() >= MAX_LINE {
                let message = format!("a line longer than {} MiB: not a listing file", MAX_LINE >> 20);
                return Err(ListingError::BadLine { path: name, line: line_no + 1, message });
            }
            buf.resize((buf.len() * 2).min(MAX_LINE), 0);
        }
        let n = file.read(&mut buf[filled..]).map_err(io_err)?;
        let eof = n == 0;
        filled += n;
        if base == 0 && entries.capacity() == 0 {
            // room for the whole file at the first block's line length, and a
            // little more, if memory allows it (a sparse file may claim any
            // length): growing copies the entries
            let lines = memchr::memchr_iter(b'\n', &buf[..filled]).count().max(1) as u64;
            let per_line = (filled as u64).div_ceil(lines).max(1);
            let guess = meta.len() / per_line;
            let _ = entries.try_reserve(usize::try_from(guess + guess / 32).unwrap_or(usize::MAX));
        }
        let mut start = 0;
        loop {
            let end = match memchr::memchr(b'\n', &buf[start..filled]) {
                Some(p) => start + p,
                None if eof && start < filled => filled,
                None => break,
            };
            line_no += 1;
            let parsed = parse(&buf[start..end], format).map_err(|message| ListingError::BadLine {
                path: name.clone(),
                line: line_no,
                message,
            })?;
            if let Some((lfn, size, mtime)) = parsed {
                let (dir, _) = split_lfn(&lfn);
                if size == UNKNOWN_SIZE || lfn.first() != Some(&b'/') || lfn.last() == Some(&b'/') || !dirs.add(dir) {
                    return Ok(None);
                }
                let comparable = if mtime.saturating_add(ignore_age) < listed_at { COMPARABLE } else { 0 };
                entries.push((file_hash(&lfn, size), (base + start as u64) | comparable));
                counts.files += 1;
                counts.size = counts.size.saturating_add(size);
            }
            start = (end + 1).min(filled);
        }
        if eof {
            break;
        }
        buf.copy_within(start..filled, 0);
        base += start as u64;
        filled -= start;
    }
    counts.directories = dirs.count();
    // by hash alone: lines of one hash are a run the merge takes whole
    entries.par_sort_unstable_by_key(|e| e.0);
    Ok(Some(Scan { entries, counts }))
}

/// The hashes of every directory path a listing names, to count them.
struct DirectoryHashes {
    last: Vec<u8>,
    hashes: Vec<u64>,
    empty_component: memchr::memmem::Finder<'static>,
}

impl Default for DirectoryHashes {
    fn default() -> Self {
        Self { last: Vec::new(), hashes: Vec::new(), empty_component: memchr::memmem::Finder::new(b"//") }
    }
}

impl DirectoryHashes {
    /// Record `dir` (a line's LFN up to its last `/`) and its ancestors:
    /// only those it does not share with the directory of the line before,
    /// since a listing gives a directory's files together. False when the
    /// LFN is not in the form a tree gives back (an empty component: `//`
    /// in the directory, or a directory ending with `/`), checked only for
    /// a directory other than the line before's.
    fn add(&mut self, dir: &[u8]) -> bool {
        if dir == self.last.as_slice() {
            return true;
        }
        if dir.last() == Some(&b'/') || self.empty_component.find(dir).is_some() {
            return false;
        }
        // the longest common prefix that ends a component of both: below
        // the common part a `/` ends one in both, at its end each is checked
        let common = crate::listfile::common_prefix(dir, &self.last);
        let ends = |p: &[u8]| common == p.len() || p[common] == b'/';
        let shared =
            if ends(dir) && ends(&self.last) { common } else { memchr::memrchr(b'/', &dir[..common]).unwrap_or(0) };
        let mut at = shared;
        while at < dir.len() {
            let next = memchr::memchr(b'/', &dir[at + 1..]).map_or(dir.len(), |p| at + 1 + p);
            self.hashes.push(xxh3_64(&dir[..next]));
            at = next;
        }
        self.last.clear();
        self.last.extend_from_slice(dir);
        true
    }

    fn count(mut self) -> u64 {
        self.hashes.par_sort_unstable();
        self.hashes.dedup();
        1 + self.hashes.len() as u64
    }
}

/// The entries of the lines starting at `offsets` (with the hash each had
/// when the file was read first), sorted as the tree comparison sorts them.
fn entries_at(path: &Path, format: ListingFormat, mut offsets: Vec<LineAt>) -> Result<Vec<Entry>, ListingError> {
    let name = path.display().to_string();
    let io_err = |source| ListingError::Io { path: name.clone(), source };
    offsets.sort_unstable();
    let file = File::open(path).map_err(io_err)?;
    let mut out = Vec::with_capacity(offsets.len());
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    for (at, hash) in offsets {
        line.clear();
        loop {
            let n = file.read_at(&mut chunk, at + line.len() as u64).map_err(io_err)?;
            if n == 0 {
                break;
            }
            match memchr::memchr(b'\n', &chunk[..n]) {
                Some(p) => {
                    line.extend_from_slice(&chunk[..p]);
                    break;
                }
                None => line.extend_from_slice(&chunk[..n]),
            }
            if line.len() > MAX_LINE {
                break;
            }
        }
        let changed = || ListingError::Io {
            path: name.clone(),
            source: io::Error::other("the file changed while it was compared"),
        };
        // the line read again must be the line read first
        match parse(&line, format) {
            Ok(Some((lfn, size, _))) if file_hash(&lfn, size) == hash => {
                out.push(Entry { lfn: lfn.into_owned(), size });
            }
            _ => return Err(changed()),
        }
    }
    out.par_sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::listfile::{read_listing, write_escaped};
    use crate::tree::Tree;

    /// (directory number, name number, size, age in seconds before now)
    type Spec = (u16, u8, u8, u32);

    fn lfn(dir: u16, name: u8) -> Vec<u8> {
        // both shapes: a few crowded directories and many of one file, at
        // several depths, names sorting before and after their siblings,
        // and names a tree keeps as bytes (a space at the end, not UTF-8)
        let mut out = b"/store".to_vec();
        for level in 0..=(dir % 3) {
            out.extend_from_slice(format!("/d{}", (dir >> (level * 2)) % 11).as_bytes());
            if dir % 5 == level {
                out.extend_from_slice(b"-x");
            }
        }
        out.extend_from_slice(format!("/f{}", name % 13).as_bytes());
        match name % 7 {
            0 => out.extend_from_slice(b" "),
            1 => out.push(0xe9),
            _ => {}
        }
        out
    }

    fn write(dir: &Path, file: &str, specs: &[Spec], now: i64) -> std::path::PathBuf {
        let mut text = Vec::new();
        for &(d, n, size, age) in specs {
            write_escaped(&mut text, &lfn(d, n)).unwrap();
            text.extend_from_slice(format!("|{size}|{}\n", now - i64::from(age)).as_bytes());
        }
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn files() -> impl Strategy<Value = Vec<Spec>> {
        prop::collection::vec((0u16..300, any::<u8>(), 0u8..3, 0u32..20_000), 0..150)
    }

    const AGE: i64 = 10_000;

    proptest! {
        #![proptest_config(ProptestConfig { cases: crate::property_cases() / 4, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn gives_every_list_the_trees_give(inv in files(), rem in files(), shared in files()) {
            let dir = tempfile::tempdir().unwrap();
            let now = crate::now();
            let inv: Vec<Spec> = shared.iter().chain(&inv).copied().collect();
            let rem: Vec<Spec> = shared.iter().chain(&rem).copied().collect();
            let (ip, rp) = (write(dir.path(), "inv.txt", &inv, now), write(dir.path(), "rem.txt", &rem, now));
            let opts = CompareOptions { ignore_age: AGE };
            let auto = (ListingFormat::Auto, ListingFormat::Auto);
            let fast = compare_listing_files(&ip, &rp, auto, opts).unwrap().expect("plain listings are compared");
            let (it, rt) = (read_listing(&ip, ListingFormat::Auto).unwrap(), read_listing(&rp, ListingFormat::Auto).unwrap());
            let trees = crate::compare(&it, &rt, opts);
            prop_assert_eq!(&fast.result.missing, &trees.missing);
            prop_assert_eq!(&fast.result.orphan, &trees.orphan);
            prop_assert_eq!(&fast.result.empty, &trees.empty);
            prop_assert_eq!(&fast.result.unlisted, &trees.unlisted);
            let counts = |t: &Tree| ListingCounts { files: t.file_count() as u64, size: t.total_size(), directories: t.dir_count() as u64 };
            prop_assert_eq!(fast.inventory, counts(&it));
            prop_assert_eq!(fast.remote, counts(&rt));
        }
    }

    #[test]
    fn declines_what_only_a_tree_can_answer() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, "/store/a|1|0\n").unwrap();
        let auto = (ListingFormat::Auto, ListingFormat::Auto);
        let opts = CompareOptions::default();
        assert!(compare_listing_files(&plain, &plain, auto, opts).unwrap().is_some());
        for (name, text) in
            [("unknown-size.txt", "/store/a|1|0\n/store/b||0\n"), ("double-slash.txt", "/store//a|1|0\n")]
        {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            assert!(compare_listing_files(&plain, &p, auto, opts).unwrap().is_none(), "{name}");
            assert!(compare_listing_files(&p, &plain, auto, opts).unwrap().is_none(), "{name}");
        }
        let mut tree = Tree::new(0);
        tree.add_file_path(b"/store/a", 1, 0);
        let tree_file = dir.path().join("a.tree");
        crate::save_tree(&tree, &tree_file).unwrap();
        assert!(compare_listing_files(&plain, &tree_file, auto, opts).unwrap().is_none());
        assert!(compare_listing_files(&plain, dir.path(), auto, opts).unwrap().is_none());
    }

    #[test]
    fn a_file_rewritten_between_its_two_reads_is_an_error_not_a_wrong_name() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, rem) = (dir.path().join("inv.txt"), dir.path().join("rem.txt"));
        std::fs::write(&inv, "/store/a|1|0\n").unwrap();
        std::fs::write(&rem, "/store/a|1|0\n/store/b|2|0\n").unwrap();
        let (i, r) = (
            scan(&inv, ListingFormat::Auto, 0).unwrap().unwrap(),
            scan(&rem, ListingFormat::Auto, 0).unwrap().unwrap(),
        );
        let (_, orphan) = unmatched(&i.entries, &r.entries);
        assert_eq!(
            entries_at(&rem, ListingFormat::Auto, orphan.clone()).unwrap(),
            [Entry { lfn: b"/store/b".to_vec(), size: 2 }]
        );
        // the same length, another name where the orphan's line was
        std::fs::write(&rem, "/store/a|1|0\n/store/c|2|0\n").unwrap();
        let err = entries_at(&rem, ListingFormat::Auto, orphan).unwrap_err();
        assert!(err.to_string().contains("changed while it was compared"), "{err}");
    }

    #[test]
    fn a_bad_line_is_an_error_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "/store/a|1|0\n").unwrap();
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "/store/a|1|0\n/store/b|99999999999999999999999|0\n").unwrap();
        let auto = (ListingFormat::Auto, ListingFormat::Auto);
        let err = compare_listing_files(&good, &bad, auto, CompareOptions::default()).unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().starts_with(&format!("{}:2:", bad.display())), "{err}");
    }

    #[test]
    fn a_sparse_terabyte_after_real_lines_is_refused_at_its_zeros() {
        use std::io::Write;
        // the first block's lines make a guess of a terabyte of them: the
        // room is asked for, not demanded (where memory is not overcommitted
        // the request fails and the read goes on), and the zeros are an error
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "/store/a|1|0\n").unwrap();
        let sparse = dir.path().join("sparse.txt");
        // a first block (256 KiB) of 16-byte lines, then a hole
        let mut lines = Vec::new();
        for i in 0..20_000 {
            writeln!(lines, "/store/{i:05}|1|0").unwrap();
        }
        std::fs::write(&sparse, &lines).unwrap();
        std::fs::OpenOptions::new().write(true).open(&sparse).unwrap().set_len(1 << 40).unwrap();
        let auto = (ListingFormat::Auto, ListingFormat::Auto);
        let err = compare_listing_files(&good, &sparse, auto, CompareOptions::default()).unwrap_err();
        assert_eq!(err.line(), Some(20_001));
        assert!(err.to_string().contains("not a listing file"), "{err}");
    }
}
