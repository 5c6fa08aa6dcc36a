//! The comparison of an inventory tree with a remote (storage) tree.
//!
//! - missing: comparable inventory files with no remote file of the same path
//!   and size, outside unlisted remote directories;
//! - orphan: comparable remote files with no inventory file of the same path
//!   and size, comparable or not;
//! - a size mismatch is both;
//! - directory pairs whose hashes over comparable content agree are skipped
//!   whole.
//!
//! Vetoes (deletion requests, protected datasets, ...) are applied by the
//! caller to the returned lists.

use std::cmp::Ordering;

use rayon::prelude::*;
use rustc_hash::FxHashSet;

use crate::tree::{join_lfn, DirId, DirState, Tree, UnlistedDir, ROOT, UNKNOWN_SIZE};

#[derive(Clone, Copy, Debug, Default)]
pub struct CompareOptions {
    /// Files younger than this many seconds at their directory's listing
    /// time are not compared (they may still be in transfer).
    pub ignore_age: i64,
}

/// One file of a result list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub lfn: Vec<u8>,
    pub size: u64,
}

#[derive(Debug, Default)]
pub struct CompareResult {
    /// Sorted by LFN bytes.
    pub missing: Vec<Entry>,
    /// Sorted by LFN bytes.
    pub orphan: Vec<Entry>,
    /// Empty remote directories, deepest first.
    pub empty: Vec<Vec<u8>>,
    /// Unlisted remote directories with their reasons and whether they timed out, sorted by path.
    pub unlisted: Vec<UnlistedDir>,
    /// Directory pairs skipped because their hashes agreed.
    pub skipped_dirs: u64,
}

impl CompareResult {
    pub fn missing_size(&self) -> u64 {
        sum_sizes(&self.missing)
    }

    pub fn orphan_size(&self) -> u64 {
        sum_sizes(&self.orphan)
    }
}

fn sum_sizes(list: &[Entry]) -> u64 {
    list.iter().filter(|e| e.size != UNKNOWN_SIZE).map(|e| e.size).sum()
}

struct Side<'a> {
    tree: &'a Tree,
    /// By directory, over comparable content.
    hashes: Vec<u64>,
    /// By file: name and size.
    file_hashes: Vec<u64>,
}

impl<'a> Side<'a> {
    fn new(tree: &'a Tree, ignore_age: i64) -> Side<'a> {
        let file_hashes = tree.file_hashes();
        let hashes = tree.dir_hashes_from(&file_hashes, Some(ignore_age));
        Side { tree, hashes, file_hashes }
    }

    /// The files of a directory as (hash, index), sorted.
    fn sorted(&self, files: &[u32]) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = files.iter().map(|&f| (self.file_hashes[f as usize], f)).collect();
        v.sort_unstable();
        v
    }
}

#[derive(Default)]
struct Found {
    missing: Vec<Entry>,
    orphan: Vec<Entry>,
    skipped: u64,
}

impl Found {
    fn merge(mut self, other: Found) -> Found {
        self.missing.extend(other.missing);
        self.orphan.extend(other.orphan);
        self.skipped += other.skipped;
        self
    }
}

/// The files of one directory, for lookups by name and size. A listing may
/// hold one name twice; a file matches when any entry of that name has its
/// size, and an unknown size matches any.
struct FileSet<'a> {
    exact: FxHashSet<(&'a [u8], u64)>,
    names: FxHashSet<&'a [u8]>,
}

impl<'a> FileSet<'a> {
    fn new(tree: &'a Tree, files: &[u32]) -> FileSet<'a> {
        let mut exact = FxHashSet::with_capacity_and_hasher(files.len(), rustc_hash::FxBuildHasher);
        let mut names = FxHashSet::default();
        for &f in files {
            let file = tree.file(f as usize);
            exact.insert((file.name, file.size));
            names.insert(file.name);
        }
        FileSet { exact, names }
    }

    fn has(&self, name: &[u8], size: u64) -> bool {
        if size == UNKNOWN_SIZE {
            return self.names.contains(name);
        }
        self.exact.contains(&(name, size)) || self.exact.contains(&(name, UNKNOWN_SIZE))
    }
}

pub fn compare(inventory: &Tree, remote: &Tree, opts: CompareOptions) -> CompareResult {
    let (inv, rem) = rayon::join(|| Side::new(inventory, opts.ignore_age), || Side::new(remote, opts.ignore_age));
    let ctx = Ctx { inv: &inv, rem: &rem, age: opts.ignore_age };
    let found = ctx.pair(Some(ROOT), Some(ROOT), b"/");
    let mut missing = found.missing;
    let mut orphan = found.orphan;
    missing.par_sort_unstable();
    orphan.par_sort_unstable();
    CompareResult {
        missing,
        orphan,
        empty: remote.empty_dirs(opts.ignore_age).into_iter().map(|d| remote.dir_path(d)).collect(),
        unlisted: remote.unlisted(),
        skipped_dirs: found.skipped,
    }
}

struct Ctx<'a> {
    inv: &'a Side<'a>,
    rem: &'a Side<'a>,
    age: i64,
}

impl Ctx<'_> {
    fn comparable(&self, t: &Tree, i: u32) -> bool {
        t.comparable(i as usize, Some(self.age))
    }

    /// Match the files of two directories by merging their sorted 64-bit
    /// (name, size) hashes: the same identity the directory hashes rely on
    /// (a collision could only hide a difference, never invent one).
    /// Returns false, having found nothing, when a size is unknown (it
    /// matches any size): then `by_name` does.
    fn merge(&self, inv_files: &[u32], rem_files: &[u32], path: &[u8], found: &mut Found) -> bool {
        let (it, rt) = (self.inv.tree, self.rem.tree);
        let unknown = |t: &Tree, files: &[u32]| files.iter().any(|&f| t.file(f as usize).size == UNKNOWN_SIZE);
        if unknown(it, inv_files) || unknown(rt, rem_files) {
            return false;
        }
        let (a, b) = (self.inv.sorted(inv_files), self.rem.sorted(rem_files));
        let (mut missing, mut orphan) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let ha = a.get(i).map(|x| x.0);
            let hb = b.get(j).map(|x| x.0);
            match (ha, hb) {
                (Some(x), Some(y)) if x == y => {
                    // the same (name, size) on both sides, maybe more than once
                    while i < a.len() && a[i].0 == x {
                        i += 1;
                    }
                    while j < b.len() && b[j].0 == x {
                        j += 1;
                    }
                }
                (Some(x), y) if y.is_none_or(|y| x < y) => {
                    if self.comparable(it, a[i].1) {
                        missing.push(a[i].1);
                    }
                    i += 1;
                }
                _ => {
                    if self.comparable(rt, b[j].1) {
                        orphan.push(b[j].1);
                    }
                    j += 1;
                }
            }
        }
        for f in missing {
            let file = it.file(f as usize);
            found.missing.push(Entry { lfn: join_lfn(path, file.name), size: file.size });
        }
        for f in orphan {
            let file = rt.file(f as usize);
            found.orphan.push(Entry { lfn: join_lfn(path, file.name), size: file.size });
        }
        true
    }

    /// Match the files of two directories by name and size.
    fn by_name(&self, inv_files: &[u32], rem_files: &[u32], path: &[u8], found: &mut Found) {
        let (it, rt) = (self.inv.tree, self.rem.tree);
        let rem_set = FileSet::new(rt, rem_files);
        for &f in inv_files.iter().filter(|&&f| self.comparable(it, f)) {
            let file = it.file(f as usize);
            if !rem_set.has(file.name, file.size) {
                found.missing.push(Entry { lfn: join_lfn(path, file.name), size: file.size });
            }
        }
        let inv_set = FileSet::new(it, inv_files);
        for &f in rem_files.iter().filter(|&&f| self.comparable(rt, f)) {
            let file = rt.file(f as usize);
            if !inv_set.has(file.name, file.size) {
                found.orphan.push(Entry { lfn: join_lfn(path, file.name), size: file.size });
            }
        }
    }

    /// Compare the inventory directory `i` with the remote directory `r`
    /// (either may be absent) at `path`.
    fn pair(&self, i: Option<DirId>, r: Option<DirId>, path: &[u8]) -> Found {
        let (it, rt) = (self.inv.tree, self.rem.tree);
        if let (Some(i), Some(r)) = (i, r) {
            if self.inv.hashes[i as usize] == self.rem.hashes[r as usize] {
                return Found { skipped: 1, ..Found::default() };
            }
        }
        // Nothing under a directory that was not listed is known: it yields
        // neither missing nor orphan files. Of a traversed directory (above
        // the listing's roots) only the subdirectories listed below it are.
        let traversed = match r.map(|r| rt.state(r)) {
            Some(DirState::Pending | DirState::Unlisted) => return Found::default(),
            Some(DirState::Traversed) => true,
            _ => false,
        };
        let mut found = Found::default();
        let inv_files = if traversed { &[][..] } else { i.map_or(&[][..], |d| it.files_in(d)) };
        let rem_files = r.map_or(&[][..], |d| rt.files_in(d));
        if rem_files.is_empty() {
            for &f in inv_files.iter().filter(|&&f| self.comparable(it, f)) {
                let file = it.file(f as usize);
                found.missing.push(Entry { lfn: join_lfn(path, file.name), size: file.size });
            }
        } else if inv_files.is_empty() {
            for &f in rem_files.iter().filter(|&&f| self.comparable(rt, f)) {
                let file = rt.file(f as usize);
                found.orphan.push(Entry { lfn: join_lfn(path, file.name), size: file.size });
            }
        } else if !self.merge(inv_files, rem_files, path, &mut found) {
            self.by_name(inv_files, rem_files, path, &mut found);
        }

        // Subdirectories: matched by merging the two sorted lists of names,
        // each differing pair compared in parallel.
        let inv_subs = i.map_or(&[][..], |d| it.subdirs(d));
        let rem_subs = r.map_or(&[][..], |d| rt.subdirs(d));
        let mut pairs: Vec<(Option<DirId>, Option<DirId>)> = Vec::new();
        let (mut a, mut b) = (0, 0);
        while a < inv_subs.len() || b < rem_subs.len() {
            let order = match (inv_subs.get(a), rem_subs.get(b)) {
                (Some(&x), Some(&y)) => it.dir_name(x).cmp(rt.dir_name(y)),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match order {
                Ordering::Equal => {
                    let (x, y) = (inv_subs[a], rem_subs[b]);
                    if self.inv.hashes[x as usize] == self.rem.hashes[y as usize] {
                        // the same content: skipped here, not in a task of its own
                        found.skipped += 1;
                    } else {
                        pairs.push((Some(x), Some(y)));
                    }
                    a += 1;
                    b += 1;
                }
                Ordering::Less => {
                    if !traversed {
                        pairs.push((Some(inv_subs[a]), None));
                    }
                    a += 1;
                }
                Ordering::Greater => {
                    pairs.push((None, Some(rem_subs[b])));
                    b += 1;
                }
            }
        }
        let sub = pairs
            .into_par_iter()
            .map(|(si, sr)| {
                let name = match (si, sr) {
                    (Some(si), _) => it.dir_name(si),
                    (None, Some(sr)) => rt.dir_name(sr),
                    (None, None) => unreachable!("a pair has at least one side"),
                };
                self.pair(si, sr, &join_lfn(path, name))
            })
            .reduce(Found::default, Found::merge);
        found.merge(sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(listed_at: i64, files: &[(&str, u64, i64)]) -> Tree {
        let mut t = Tree::new(listed_at);
        for &(lfn, size, mtime) in files {
            t.add_file_path(lfn.as_bytes(), size, mtime);
        }
        t
    }

    fn lfns(list: &[Entry]) -> Vec<String> {
        list.iter().map(|e| String::from_utf8_lossy(&e.lfn).into_owned()).collect()
    }

    const NOW: i64 = 1_000_000;

    #[test]
    fn missing_orphan_and_size_mismatch() {
        let inv = tree(NOW, &[("/s/a/1", 1, 0), ("/s/a/2", 2, 0), ("/s/b/3", 3, 0), ("/s/c/4", 4, 0)]);
        let rem = tree(NOW, &[("/s/a/1", 1, 0), ("/s/a/2", 99, 0), ("/s/b/5", 5, 0), ("/s/d/6", 6, 0)]);
        let r = compare(&inv, &rem, CompareOptions { ignore_age: 0 });
        assert_eq!(lfns(&r.missing), ["/s/a/2", "/s/b/3", "/s/c/4"]);
        assert_eq!(lfns(&r.orphan), ["/s/a/2", "/s/b/5", "/s/d/6"]);
        assert_eq!(r.missing_size(), 2 + 3 + 4);
        assert_eq!(r.orphan_size(), 99 + 5 + 6);
    }

    #[test]
    fn ignore_age_shields_new_files() {
        let day = 86_400;
        let inv = tree(NOW, &[("/s/new", 1, NOW - day / 2), ("/s/old", 1, NOW - 3 * day)]);
        let rem = tree(NOW, &[("/s/newremote", 1, NOW - day / 2), ("/s/oldremote", 1, NOW - 3 * day)]);
        let r = compare(&inv, &rem, CompareOptions { ignore_age: day });
        assert_eq!(lfns(&r.missing), ["/s/old"]);
        assert_eq!(lfns(&r.orphan), ["/s/oldremote"]);
    }

    #[test]
    fn non_comparable_inventory_file_still_shields_remote_copy() {
        // inventory gives incomplete replicas the current time
        let inv = tree(NOW, &[("/s/transferring", 7, NOW)]);
        let rem = tree(NOW, &[("/s/transferring", 7, 0)]);
        let r = compare(&inv, &rem, CompareOptions { ignore_age: 0 });
        assert!(r.missing.is_empty());
        assert!(r.orphan.is_empty());
    }

    #[test]
    fn unlisted_remote_directory_hides_missing() {
        let inv = tree(NOW, &[("/s/u/deep/1", 1, 0), ("/s/u/2", 1, 0), ("/s/ok/3", 1, 0)]);
        let mut rem = tree(NOW, &[("/s/ok/4", 1, 0)]);
        let u = rem.ensure_dir(b"/s/u");
        rem.set_unlisted(u, NOW, "timeout", true);
        let refused = rem.ensure_dir(b"/s/refused");
        rem.set_unlisted(refused, NOW, "permission denied", false);
        let r = compare(&inv, &rem, CompareOptions::default());
        assert_eq!(lfns(&r.missing), ["/s/ok/3"]);
        assert_eq!(lfns(&r.orphan), ["/s/ok/4"]);
        let unlisted = |path: &str, reason: &str, timed_out| UnlistedDir {
            path: path.as_bytes().to_vec(),
            reason: reason.to_string(),
            timed_out,
        };
        assert_eq!(
            r.unlisted,
            vec![unlisted("/s/refused", "permission denied", false), unlisted("/s/u", "timeout", true)]
        );
    }

    #[test]
    fn only_the_listed_roots_count_below_traversed_directories() {
        let inv = tree(NOW, &[("/store/mc/a/1", 1, 0), ("/store/user/x/2", 1, 0), ("/store/top", 1, 0)]);
        let mut rem = tree(NOW, &[("/store/mc/b/3", 1, 0)]);
        rem.set_state(ROOT, DirState::Traversed);
        let store = rem.find_dir(b"/store").unwrap();
        rem.set_state(store, DirState::Traversed);
        let r = compare(&inv, &rem, CompareOptions::default());
        assert_eq!(lfns(&r.missing), ["/store/mc/a/1"]);
        assert_eq!(lfns(&r.orphan), ["/store/mc/b/3"]);
    }

    #[test]
    fn identical_subtrees_are_skipped() {
        let files: Vec<(String, u64, i64)> = (0..50).map(|i| (format!("/s/d{}/f{}", i % 10, i / 10), i, 0)).collect();
        let refs: Vec<(&str, u64, i64)> = files.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
        let inv = tree(NOW, &refs);
        let mut rem = tree(NOW, &refs);
        rem.add_file_path(b"/s/d3/extra", 1, 0);
        let r = compare(&inv, &rem, CompareOptions::default());
        assert_eq!(lfns(&r.orphan), ["/s/d3/extra"]);
        assert!(r.missing.is_empty());
        // d0..d9 but d3 agree
        assert_eq!(r.skipped_dirs, 9);
    }

    #[test]
    fn duplicate_names_match_any_entry() {
        let inv = tree(NOW, &[("/s/a", 1, 0), ("/s/a", 2, 0)]);
        let rem = tree(NOW, &[("/s/a", 2, 0)]);
        let r = compare(&inv, &rem, CompareOptions::default());
        assert_eq!(lfns(&r.missing), ["/s/a"]);
        assert!(r.orphan.is_empty());
    }

    #[test]
    fn merge_and_by_name_agree() {
        // many directories, random differences: the hash merge against the name sets
        let mut inv = Tree::new(NOW);
        let mut rem = Tree::new(NOW);
        let mut x = 12345u64;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        };
        for d in 0..40 {
            for f in 0..60 {
                let lfn = format!("/s/d{d}/f{f}");
                let size = next() % 5;
                let mtime = if next() % 10 == 0 { NOW } else { 0 };
                match next() % 20 {
                    0 => inv.add_file_path(lfn.as_bytes(), size, mtime),
                    1 => rem.add_file_path(lfn.as_bytes(), size, mtime),
                    2 => {
                        inv.add_file_path(lfn.as_bytes(), size, mtime);
                        rem.add_file_path(lfn.as_bytes(), size + 1, mtime);
                    }
                    _ => {
                        inv.add_file_path(lfn.as_bytes(), size, mtime);
                        rem.add_file_path(lfn.as_bytes(), size, 0);
                    }
                }
            }
        }
        let r = compare(&inv, &rem, CompareOptions::default());
        let (iside, rside) = (Side::new(&inv, 0), Side::new(&rem, 0));
        let ctx = Ctx { inv: &iside, rem: &rside, age: 0 };
        let mut by_name = Found::default();
        for d in 0..40 {
            let path = format!("/s/d{d}");
            let (i, r) = (inv.find_dir(path.as_bytes()).unwrap(), rem.find_dir(path.as_bytes()).unwrap());
            ctx.by_name(inv.files_in(i), rem.files_in(r), path.as_bytes(), &mut by_name);
        }
        by_name.missing.sort();
        by_name.orphan.sort();
        assert!(!r.missing.is_empty() && !r.orphan.is_empty());
        assert_eq!(r.missing, by_name.missing);
        assert_eq!(r.orphan, by_name.orphan);
    }

    #[test]
    fn unknown_size_matches_any() {
        let inv = tree(NOW, &[("/s/a", UNKNOWN_SIZE, 0)]);
        let rem = tree(NOW, &[("/s/a", 12, 0)]);
        let r = compare(&inv, &rem, CompareOptions::default());
        assert!(r.missing.is_empty() && r.orphan.is_empty());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::listfile::{read_into, write_escaped, ListingFormat};

        /// A file: (directory number, name number, size, age in seconds at
        /// the listing time). Directory numbers spread over both shapes: a
        /// few crowded directories and many of one file, at several depths.
        type Spec = (u16, u8, Option<u8>, u16);

        fn lfn(dir: u16, name: u8) -> Vec<u8> {
            // `dir` picks a depth and path; names of every length, sorting
            // before and after their siblings (`d1` < `d1-x` < `d10`)
            let depth = 1 + dir % 3;
            let mut out = b"/store".to_vec();
            for level in 0..depth {
                out.extend_from_slice(format!("/d{}", (dir >> (level * 2)) % 11).as_bytes());
                if dir % 5 == level {
                    out.extend_from_slice(b"-x");
                }
            }
            out.extend_from_slice(format!("/f{}", name % 13).as_bytes());
            out
        }

        fn files() -> impl Strategy<Value = Vec<Spec>> {
            let one = (0u16..200, any::<u8>(), prop::option::weighted(0.9, 0u8..4), 0u16..200);
            prop::collection::vec(one, 0..120)
        }

        const LISTED: i64 = 100_000;
        const AGE: i64 = 100;

        fn text(specs: &[Spec]) -> Vec<u8> {
            let mut out = Vec::new();
            for &(dir, name, size, age) in specs {
                write_escaped(&mut out, &lfn(dir, name)).unwrap();
                match size {
                    Some(s) => out.extend_from_slice(format!("|{s}|{}\n", LISTED - i64::from(age)).as_bytes()),
                    None => out.extend_from_slice(format!("||{}\n", LISTED - i64::from(age)).as_bytes()),
                }
            }
            out
        }

        /// Three ways to the same tree: the reader given the lines in byte
        /// order (no directory lookup), in the order drawn (lookups), and
        /// files added one by one.
        fn trees(specs: &[Spec]) -> [Tree; 3] {
            let mut sorted = specs.to_vec();
            sorted.sort_by_key(|&(d, n, _, _)| lfn(d, n));
            let mut a = Tree::new(LISTED);
            read_into(&mut a, &text(&sorted)[..], "sorted", ListingFormat::Auto).unwrap();
            let mut b = Tree::new(LISTED);
            read_into(&mut b, &text(specs)[..], "drawn", ListingFormat::Auto).unwrap();
            let mut c = Tree::new(LISTED);
            for &(dir, name, size, age) in specs {
                c.add_file_path(&lfn(dir, name), size.map_or(UNKNOWN_SIZE, u64::from), LISTED - i64::from(age));
            }
            [a, b, c]
        }

        /// The rules by brute force: a file of one side is matched by a file
        /// of the same LFN on the other with its size or an unknown one.
        fn oracle(inv: &[Spec], rem: &[Spec]) -> (Vec<Entry>, Vec<Entry>) {
            let entries = |specs: &[Spec]| -> Vec<(Vec<u8>, u64, bool)> {
                specs
                    .iter()
                    .map(|&(d, n, s, age)| (lfn(d, n), s.map_or(UNKNOWN_SIZE, u64::from), i64::from(age) > AGE))
                    .collect()
            };
            let (i, r) = (entries(inv), entries(rem));
            let matched = |name: &[u8], size: u64, other: &[(Vec<u8>, u64, bool)]| {
                other.iter().any(|(n, s, _)| n == name && (size == UNKNOWN_SIZE || *s == UNKNOWN_SIZE || *s == size))
            };
            let unmatched = |from: &[(Vec<u8>, u64, bool)], other: &[(Vec<u8>, u64, bool)]| {
                let mut out: Vec<Entry> = from
                    .iter()
                    .filter(|(n, s, comparable)| *comparable && !matched(n, *s, other))
                    .map(|(n, s, _)| Entry { lfn: n.clone(), size: *s })
                    .collect();
                out.sort();
                out
            };
            (unmatched(&i, &r), unmatched(&r, &i))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: crate::property_cases(), failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn every_way_of_building_the_trees_gives_the_rules_answers(inv in files(), rem in files(), shared in files()) {
                // files on both sides, plus each side's own
                let inv: Vec<Spec> = shared.iter().chain(&inv).copied().collect();
                let rem: Vec<Spec> = shared.iter().chain(&rem).copied().collect();
                let (missing, orphan) = oracle(&inv, &rem);
                let (invs, rems) = (trees(&inv), trees(&rem));
                // every way gives the same directories, none of them twice
                let paths = |t: &Tree| {
                    let mut p = t.dir_paths();
                    p.sort();
                    p
                };
                for side in [&invs, &rems] {
                    let want = paths(&side[2]);
                    for t in side {
                        let mut got = paths(t);
                        prop_assert_eq!(&got, &want);
                        got.dedup();
                        prop_assert_eq!(got.len(), t.dir_count());
                    }
                }
                for i in &invs {
                    for r in &rems {
                        let result = compare(i, r, CompareOptions { ignore_age: AGE });
                        prop_assert_eq!(&result.missing, &missing);
                        prop_assert_eq!(&result.orphan, &orphan);
                    }
                }
            }
        }
    }
}
