//! The directory tree of one listing (the original's `DirectoryInfo`).
//!
//! Storage is columnar so that a site of 100 million files stays compact:
//! directories are rows of parallel vectors with interned names, files are rows
//! of parallel vectors whose names live in one byte arena. No file owns a heap
//! object. Names are bytes: storage may hold names that are not UTF-8.
//!
//! Directory ids grow as directories are created, and a parent is always
//! created before its children, so `parent(d) < d` for every directory but the
//! root: bottom-up passes are a reverse scan over ids.

use std::fmt::Write as _;
use std::sync::OnceLock;

use std::hash::Hasher;

use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use xxhash_rust::xxh3::xxh3_64;

pub type DirId = u32;
pub const ROOT: DirId = 0;
/// Size of a file whose listing did not give one; it matches any size.
pub const UNKNOWN_SIZE: u64 = u64::MAX;

/// Whether a directory's listing succeeded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum DirState {
    Listed = 0,
    /// Known to exist, not listed yet (a listing in progress or a checkpoint).
    Pending = 1,
    /// The listing failed: nothing under it may be called missing.
    Unlisted = 2,
    /// Above the directories a listing started from: only the way down to
    /// them is known, not the directory's own files or other subdirectories.
    Traversed = 3,
}

impl DirState {
    pub fn from_u8(v: u8) -> Option<DirState> {
        match v {
            0 => Some(DirState::Listed),
            1 => Some(DirState::Pending),
            2 => Some(DirState::Unlisted),
            3 => Some(DirState::Traversed),
            _ => None,
        }
    }
}

/// An unlisted directory: its path, why its listing failed, and whether the
/// failure was a time-out (no answer in time, as opposed to an error the
/// server or the file system gave).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnlistedDir {
    pub path: Vec<u8>,
    pub reason: String,
    pub timed_out: bool,
}

/// Why an unlisted directory was not listed.
#[derive(Clone, Debug)]
struct Unlisted {
    reason: String,
    timed_out: bool,
}

/// The directories' names, in one byte arena.
#[derive(Default)]
struct DirNames {
    bytes: Vec<u8>,
    /// End of each directory's name in `bytes`, by directory id.
    end: Vec<u64>,
}

impl DirNames {
    fn name(&self, d: DirId) -> &[u8] {
        let d = d as usize;
        let start = if d == 0 { 0 } else { self.end[d - 1] as usize };
        &self.bytes[start..self.end[d] as usize]
    }

    fn push(&mut self, name: &[u8]) {
        self.bytes.extend_from_slice(name);
        self.end.push(self.bytes.len() as u64);
    }
}

/// The lookup of a directory by parent and name while a tree is built: a
/// hash table of directory ids keyed by (parent, name). Each entry keeps 32
/// bits of its key's hash, from which the table's hash is rebuilt: growing
/// the table reads no name, and a probe reads a name only when those bits
/// match. A tree read whole drops it; the sorted index serves lookups then.
type Children = HashTable<(DirId, u32)>;

/// The children a reader of a listing added under each parent in
/// increasing name order, while the table exists (see
/// [`Tree::add_new_dir`]): found by binary search instead of kept in the
/// table. A listing of one file a directory adds millions of such leaves,
/// and an insert into a table of millions is a cache miss or two each.
type Ordered = FxHashMap<DirId, Vec<DirId>>;

/// 32 bits of the hash of (parent, name).
fn child_key(parent: DirId, name: &[u8]) -> u32 {
    let mut h = FxHasher::default();
    h.write_u32(parent);
    h.write(name);
    let h = h.finish();
    (h >> 32) as u32 ^ h as u32
}

/// The table's 64-bit hash of a key, spread from its 32 bits.
fn table_hash(key: u32) -> u64 {
    (u64::from(key) | (u64::from(key) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A column of unix times, one a directory: four bytes each for every time
/// from 1970 to 2106, the rare other one (a negative or absurd mtime some
/// storage reports) kept exactly beside.
#[derive(Default)]
struct Times {
    small: Vec<u32>,
    other: FxHashMap<u32, i64>,
}

impl Times {
    /// Marks a time kept in `other`.
    const OTHER: u32 = u32::MAX;

    fn get(&self, i: usize) -> i64 {
        match self.small[i] {
            Times::OTHER => self.other[&(i as u32)],
            t => i64::from(t),
        }
    }

    fn small(t: i64) -> Option<u32> {
        u32::try_from(t).ok().filter(|&v| v != Times::OTHER)
    }

    fn push(&mut self, t: i64) {
        self.small.push(0);
        self.set(self.small.len() - 1, t);
    }

    fn set(&mut self, i: usize, t: i64) {
        if let Some(v) = Times::small(t) {
            if self.small[i] == Times::OTHER {
                self.other.remove(&(i as u32));
            }
            self.small[i] = v;
        } else {
            self.small[i] = Times::OTHER;
            self.other.insert(i as u32, t);
        }
    }

    fn shrink_to_fit(&mut self) {
        self.small.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        4 * self.small.capacity() + 24 * self.other.capacity()
    }
}

/// Files grouped by directory and directories grouped by parent, built on
/// demand (a counting sort, O(n)) and dropped on any change.
struct Index {
    file_start: Vec<u32>,
    file_order: Vec<u32>,
    child_start: Vec<u32>,
    child_order: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRef<'a> {
    pub dir: DirId,
    pub name: &'a [u8],
    pub size: u64,
    pub mtime: i64,
}

/// Heap bytes of a tree: its directories and files, and apart the bytes of
/// their names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub directories: usize,
    pub directory_names: usize,
    pub files: usize,
    pub file_names: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub files: u64,
    pub nodes: u64,
    pub empty_nodes: u64,
    pub unlisted: u64,
    pub pending: u64,
    pub total_size: u64,
}

pub struct Tree {
    names: DirNames,
    /// Built on first need, kept up to date as directories are added.
    children: OnceLock<Children>,
    /// Beside the table, the children added in name order.
    ordered: Ordered,
    /// Where the last listing reader left off.
    pub(crate) loaded: Option<crate::listfile::LoadState>,
    /// Read whole (`shrink_to_fit`), no directory added since.
    read_whole: bool,
    dir_parent: Vec<DirId>,
    dir_mtime: Times,
    dir_listed_at: Times,
    dir_state: Vec<DirState>,
    unlisted_why: FxHashMap<DirId, Unlisted>,
    file_dir: Vec<DirId>,
    file_name_end: Vec<u64>,
    file_names: Vec<u8>,
    file_size: Vec<u64>,
    file_mtime: Vec<i64>,
    /// Listed time given to directories created implicitly by file paths.
    default_listed_at: i64,
    index: OnceLock<Index>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new(0)
    }
}

impl Tree {
    /// An empty tree whose implicitly created directories count as listed at
    /// `listed_at` (unix seconds).
    pub fn new(listed_at: i64) -> Tree {
        let mut names = DirNames::default();
        // the root has the empty name and is nobody's child
        names.end.push(0);
        let mut tree = Tree {
            names,
            children: OnceLock::new(),
            ordered: Ordered::default(),
            loaded: None,
            read_whole: false,
            dir_parent: vec![ROOT],
            dir_mtime: Times::default(),
            dir_listed_at: Times::default(),
            dir_state: vec![DirState::Listed],
            unlisted_why: FxHashMap::default(),
            file_dir: Vec::new(),
            file_name_end: Vec::new(),
            file_names: Vec::new(),
            file_size: Vec::new(),
            file_mtime: Vec::new(),
            default_listed_at: listed_at,
            index: OnceLock::new(),
        };
        tree.dir_mtime.push(0);
        tree.dir_listed_at.push(listed_at);
        tree
    }

    pub fn default_listed_at(&self) -> i64 {
        self.default_listed_at
    }

    fn touch(&mut self) {
        self.index.take();
    }

    // ---- directories ------------------------------------------------------

    pub fn dir_count(&self) -> usize {
        self.dir_parent.len()
    }

    pub fn parent(&self, d: DirId) -> DirId {
        self.dir_parent[d as usize]
    }

    pub fn dir_name(&self, d: DirId) -> &[u8] {
        self.names.name(d)
    }

    pub fn dir_mtime(&self, d: DirId) -> i64 {
        self.dir_mtime.get(d as usize)
    }

    pub fn listed_at(&self, d: DirId) -> i64 {
        self.dir_listed_at.get(d as usize)
    }

    pub fn state(&self, d: DirId) -> DirState {
        self.dir_state[d as usize]
    }

    pub fn unlisted_reason(&self, d: DirId) -> Option<&str> {
        self.unlisted_why.get(&d).map(|u| u.reason.as_str())
    }

    /// Whether the unlisted directory `d` failed by timing out.
    pub fn unlisted_timed_out(&self, d: DirId) -> bool {
        self.unlisted_why.get(&d).is_some_and(|u| u.timed_out)
    }

    pub fn depth(&self, mut d: DirId) -> usize {
        let mut n = 0;
        while d != ROOT {
            d = self.parent(d);
            n += 1;
        }
        n
    }

    /// The absolute path of a directory: `/` for the root, `/a/b` below it.
    pub fn dir_path(&self, d: DirId) -> Vec<u8> {
        let mut chain = Vec::new();
        let mut cur = d;
        while cur != ROOT {
            chain.push(cur);
            cur = self.parent(cur);
        }
        if chain.is_empty() {
            return b"/".to_vec();
        }
        let mut out = Vec::new();
        for &c in chain.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(self.dir_name(c));
        }
        out
    }

    /// The subdirectory `name` of `parent`: from the lookup table while the
    /// tree is built, by binary search in the sorted index once it is.
    pub fn child(&self, parent: DirId, name: &[u8]) -> Option<DirId> {
        // a tree read whole looks up in its index (built once, no table);
        // one being built keeps the table, which adding does not invalidate
        if self.children.get().is_none() && (self.index.get().is_some() || self.read_whole) {
            let subs = self.subdirs(parent);
            return subs.binary_search_by(|&c| self.dir_name(c).cmp(name)).ok().map(|i| subs[i]);
        }
        let key = child_key(parent, name);
        self.children_table()
            .find(table_hash(key), |&(d, k)| {
                k == key && self.dir_parent[d as usize] == parent && self.dir_name(d) == name
            })
            .map(|e| e.0)
            .or_else(|| self.ordered_child(parent, name))
    }

    /// The child `name` of `parent` among those added in name order.
    fn ordered_child(&self, parent: DirId, name: &[u8]) -> Option<DirId> {
        let list = self.ordered.get(&parent)?;
        list.binary_search_by(|&c| self.names.name(c).cmp(name)).ok().map(|i| list[i])
    }

    fn children_table(&self) -> &Children {
        self.children.get_or_init(|| {
            let n = self.dir_count();
            let mut table = Children::with_capacity(n);
            for d in 1..n as DirId {
                let key = child_key(self.dir_parent[d as usize], self.dir_name(d));
                table.insert_unique(table_hash(key), (d, key), |&(_, k)| table_hash(k));
            }
            table
        })
    }

    /// The directory `name` under `parent`, created as `state` if absent.
    pub fn add_dir(&mut self, parent: DirId, name: &[u8], state: DirState) -> DirId {
        self.add_dir_found(parent, name, state).0
    }

    /// [`Tree::add_dir`], saying whether the directory was created.
    pub fn add_dir_found(&mut self, parent: DirId, name: &[u8], state: DirState) -> (DirId, bool) {
        self.children_table();
        if let Some(d) = self.ordered_child(parent, name) {
            return (d, false);
        }
        let key = child_key(parent, name);
        let next = self.dir_parent.len() as DirId;
        let (names, parents) = (&self.names, &self.dir_parent);
        let table = self.children.get_mut().expect("built above");
        match table.entry(
            table_hash(key),
            |&(d, k)| k == key && parents[d as usize] == parent && names.name(d) == name,
            |&(_, k)| table_hash(k),
        ) {
            Entry::Occupied(e) => (e.get().0, false),
            Entry::Vacant(v) => {
                v.insert((next, key));
                self.push_dir(parent, name, state);
                (next, true)
            }
        }
    }

    /// Add the directory `name` under `parent`, which the caller knows
    /// `parent` does not hold yet (a listing read in order proves it). A
    /// child named after every child added this way under `parent` is kept
    /// in `parent`'s ordered list, any other in the table.
    pub fn add_new_dir(&mut self, parent: DirId, name: &[u8], state: DirState) -> DirId {
        let d = self.dir_parent.len() as DirId;
        // without a table, the table is built from every directory when first needed
        if let Some(table) = self.children.get_mut() {
            let list = self.ordered.entry(parent).or_default();
            if list.last().is_none_or(|&c| self.names.name(c) < name) {
                list.push(d);
            } else {
                let key = child_key(parent, name);
                table.insert_unique(table_hash(key), (d, key), |&(_, k)| table_hash(k));
            }
        }
        self.push_dir(parent, name, state);
        d
    }

    fn push_dir(&mut self, parent: DirId, name: &[u8], state: DirState) {
        self.read_whole = false;
        self.dir_parent.push(parent);
        self.names.push(name);
        self.dir_mtime.push(0);
        let listed_at = self.default_listed_at;
        self.dir_listed_at.push(listed_at);
        self.dir_state.push(state);
        self.touch();
    }

    /// The directory at `path`, looked up component by component.
    pub fn find_dir(&self, path: &[u8]) -> Option<DirId> {
        let mut d = ROOT;
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            d = self.child(d, comp)?;
        }
        Some(d)
    }

    /// The directory at `path`, creating missing components as listed.
    pub fn ensure_dir(&mut self, path: &[u8]) -> DirId {
        self.ensure_dir_as(path, DirState::Listed)
    }

    pub fn ensure_dir_as(&mut self, path: &[u8], state: DirState) -> DirId {
        let mut d = ROOT;
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            d = self.add_dir(d, comp, state);
        }
        d
    }

    pub fn set_dir_mtime(&mut self, d: DirId, mtime: i64) {
        self.dir_mtime.set(d as usize, mtime);
    }

    pub fn set_listed(&mut self, d: DirId, listed_at: i64) {
        self.dir_state[d as usize] = DirState::Listed;
        self.dir_listed_at.set(d as usize, listed_at);
        self.unlisted_why.remove(&d);
    }

    /// Record `d` unlisted with the reason, and whether it timed out.
    pub fn set_unlisted(&mut self, d: DirId, listed_at: i64, reason: &str, timed_out: bool) {
        self.dir_state[d as usize] = DirState::Unlisted;
        self.dir_listed_at.set(d as usize, listed_at);
        self.unlisted_why.insert(d, Unlisted { reason: reason.to_string(), timed_out });
    }

    pub fn set_state(&mut self, d: DirId, state: DirState) {
        self.dir_state[d as usize] = state;
    }

    // ---- files ------------------------------------------------------------

    pub fn file_count(&self) -> usize {
        self.file_dir.len()
    }

    pub fn add_file(&mut self, dir: DirId, name: &[u8], size: u64, mtime: i64) {
        self.file_dir.push(dir);
        self.file_names.extend_from_slice(name);
        self.file_name_end.push(self.file_names.len() as u64);
        self.file_size.push(size);
        self.file_mtime.push(mtime);
        if self.index.get().is_some() {
            self.touch();
        }
    }

    /// Add a file by its absolute path (LFN).
    pub fn add_file_path(&mut self, lfn: &[u8], size: u64, mtime: i64) {
        let (dir, name) = split_lfn(lfn);
        let d = self.ensure_dir(dir);
        self.add_file(d, name, size, mtime);
    }

    /// Give back the room grown vectors hold beyond their length (after a
    /// tree is read whole).
    pub fn shrink_to_fit(&mut self) {
        self.children.take();
        self.ordered = Ordered::default();
        self.read_whole = true;
        self.names.bytes.shrink_to_fit();
        self.names.end.shrink_to_fit();
        self.dir_parent.shrink_to_fit();
        self.dir_mtime.shrink_to_fit();
        self.dir_listed_at.shrink_to_fit();
        self.dir_state.shrink_to_fit();
        self.file_dir.shrink_to_fit();
        self.file_name_end.shrink_to_fit();
        self.file_names.shrink_to_fit();
        self.file_size.shrink_to_fit();
        self.file_mtime.shrink_to_fit();
    }

    /// The bytes this tree holds on the heap, by what for.
    pub fn memory(&self) -> Memory {
        use std::mem::size_of;
        let (dir_index, file_index) = self.index.get().map_or((0, 0), |ix| {
            (
                4 * (ix.file_start.capacity() + ix.child_start.capacity() + ix.child_order.capacity()),
                4 * ix.file_order.capacity(),
            )
        });
        Memory {
            directories: 8 * self.names.end.capacity()
                + self.children.get().map_or(0, |t| t.capacity() * (size_of::<(DirId, u32)>() + 1))
                + self.ordered.values().map(|l| 4 * l.capacity() + 40).sum::<usize>()
                + 4 * self.dir_parent.capacity()
                + self.dir_mtime.heap_bytes()
                + self.dir_listed_at.heap_bytes()
                + self.dir_state.capacity()
                + dir_index,
            directory_names: self.names.bytes.capacity(),
            files: 4 * self.file_dir.capacity()
                + 8 * self.file_name_end.capacity()
                + 8 * self.file_size.capacity()
                + 8 * self.file_mtime.capacity()
                + file_index,
            file_names: self.file_names.capacity(),
        }
    }

    pub fn reserve_files(&mut self, files: usize, name_bytes: usize) {
        self.file_dir.reserve(files);
        self.file_name_end.reserve(files);
        self.file_size.reserve(files);
        self.file_mtime.reserve(files);
        self.file_names.reserve(name_bytes);
    }

    pub fn file(&self, i: usize) -> FileRef<'_> {
        let start = if i == 0 { 0 } else { self.file_name_end[i - 1] as usize };
        let end = self.file_name_end[i] as usize;
        FileRef {
            dir: self.file_dir[i],
            name: &self.file_names[start..end],
            size: self.file_size[i],
            mtime: self.file_mtime[i],
        }
    }

    pub fn file_lfn(&self, i: usize) -> Vec<u8> {
        let f = self.file(i);
        join_lfn(&self.dir_path(f.dir), f.name)
    }

    /// Whether file `i` may be compared: `mtime + ignore_age < listed_at`.
    pub fn comparable(&self, i: usize, ignore_age: Option<i64>) -> bool {
        match ignore_age {
            None => true,
            Some(age) => {
                let d = self.file_dir[i] as usize;
                self.file_mtime[i].saturating_add(age) < self.dir_listed_at.get(d)
            }
        }
    }

    // ---- index ------------------------------------------------------------

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let n = self.dir_count();
            let (file_start, file_order) = group_by(&self.file_dir, n);
            let (child_start, mut child_order) = group_by(&self.dir_parent[1..], n);
            // group_by over dir_parent[1..] yields positions shifted by one
            for c in &mut child_order {
                *c += 1;
            }
            // each directory's children by name: found by binary search, and
            // merged with another tree's in order (a listing read in order
            // gives them sorted already)
            for d in 0..n {
                let group = &mut child_order[child_start[d] as usize..child_start[d + 1] as usize];
                if !group.windows(2).all(|w| self.dir_name(w[0]) < self.dir_name(w[1])) {
                    group.sort_unstable_by(|&a, &b| self.dir_name(a).cmp(self.dir_name(b)));
                }
            }
            Index { file_start, file_order, child_start, child_order }
        })
    }

    /// Indices of the files directly in `d`.
    pub fn files_in(&self, d: DirId) -> &[u32] {
        let ix = self.index();
        let (a, b) = (ix.file_start[d as usize], ix.file_start[d as usize + 1]);
        &ix.file_order[a as usize..b as usize]
    }

    /// The subdirectories directly in `d`, sorted by name.
    pub fn subdirs(&self, d: DirId) -> &[u32] {
        let ix = self.index();
        let (a, b) = (ix.child_start[d as usize], ix.child_start[d as usize + 1]);
        &ix.child_order[a as usize..b as usize]
    }

    // ---- summaries ----------------------------------------------------------

    pub fn total_size(&self) -> u64 {
        self.file_size.iter().filter(|&&s| s != UNKNOWN_SIZE).sum()
    }

    pub fn counts(&self, ignore_age: i64) -> Counts {
        Counts {
            files: self.file_count() as u64,
            nodes: self.dir_count() as u64,
            empty_nodes: self.empty_dirs(ignore_age).len() as u64,
            unlisted: self.dir_state.iter().filter(|&&s| s == DirState::Unlisted).count() as u64,
            pending: self.dir_state.iter().filter(|&&s| s == DirState::Pending).count() as u64,
            total_size: self.total_size(),
        }
    }

    /// The hash of every file (name and size), by file index.
    pub fn file_hashes(&self) -> Vec<u64> {
        (0..self.file_count())
            .into_par_iter()
            .map(|i| {
                let f = self.file(i);
                file_hash(f.name, f.size)
            })
            .collect()
    }

    /// Hash of every directory. With `ignore_age`, only comparable files
    /// count; with `None`, all do. Stable: the same content gives the same
    /// hashes whatever order it was added in (sums of per-entry hashes).
    pub fn dir_hashes(&self, ignore_age: Option<i64>) -> Vec<u64> {
        self.dir_hashes_from(&self.file_hashes(), ignore_age)
    }

    /// [`Tree::dir_hashes`] over file hashes computed already.
    pub fn dir_hashes_from(&self, file_hashes: &[u64], ignore_age: Option<i64>) -> Vec<u64> {
        let n = self.dir_count();
        // per directory, in parallel: the sum of its files' hashes and the
        // hash of its name; the pass up the tree is then a few operations a
        // directory
        let ix = self.index();
        let own: Vec<(u64, u64)> = (0..n as DirId)
            .into_par_iter()
            .with_min_len(1024)
            .map(|d| {
                let files = &ix.file_order[ix.file_start[d as usize] as usize..ix.file_start[d as usize + 1] as usize];
                let sum = files
                    .iter()
                    .filter(|&&i| self.comparable(i as usize, ignore_age))
                    .fold(0u64, |acc, &i| acc.wrapping_add(file_hashes[i as usize]));
                (sum, if d == ROOT { 0 } else { xxh3_64(self.dir_name(d)) })
            })
            .collect();
        let mut sub_sums = vec![0u64; n];
        let mut hashes = vec![0u64; n];
        for d in (0..n).rev() {
            hashes[d] = dir_hash(own[d].0, sub_sums[d], self.dir_state[d]);
            if d != 0 {
                let p = self.dir_parent[d] as usize;
                let contribution = pair_hash(own[d].1, hashes[d]);
                sub_sums[p] = sub_sums[p].wrapping_add(contribution);
            }
        }
        hashes
    }

    /// The hash of the whole tree, over every file and directory.
    pub fn hash(&self) -> u64 {
        self.dir_hashes(None)[ROOT as usize]
    }

    /// The hash of the whole tree over every file and, apart, over the files
    /// comparable at `ignore_age`: what the verdicts of a comparison depend on.
    pub fn verdict_hash(&self, ignore_age: i64) -> u64 {
        let files = self.file_hashes();
        let all = self.dir_hashes_from(&files, None)[ROOT as usize];
        let comparable = self.dir_hashes_from(&files, Some(ignore_age))[ROOT as usize];
        pair_hash(all, comparable)
    }

    /// Directories with no file at any depth, none of whose subtree is
    /// unlisted or pending and all of whose subtree is older than
    /// `ignore_age` seconds at its listing time, deepest first (the order in
    /// which they can be removed one by one). The root and the directories a
    /// listing started from are never included.
    pub fn empty_dirs(&self, ignore_age: i64) -> Vec<DirId> {
        let n = self.dir_count();
        let mut blocked = vec![false; n];
        for &d in &self.file_dir {
            blocked[d as usize] = true;
        }
        for (d, b) in blocked.iter_mut().enumerate() {
            let young = self.dir_mtime.get(d).saturating_add(ignore_age) >= self.dir_listed_at.get(d);
            if young || self.dir_state[d] != DirState::Listed {
                *b = true;
            }
        }
        for d in (1..n).rev() {
            if blocked[d] {
                blocked[self.dir_parent[d] as usize] = true;
            }
        }
        let mut empty: Vec<(usize, Vec<u8>, DirId)> = (1..n)
            .filter(|&d| !blocked[d] && self.dir_state[self.dir_parent[d] as usize] != DirState::Traversed)
            .map(|d| (self.depth(d as DirId), self.dir_path(d as DirId), d as DirId))
            .collect();
        empty.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        empty.into_iter().map(|e| e.2).collect()
    }

    /// Unlisted directories (path, reason, whether they timed out), sorted by path.
    pub fn unlisted(&self) -> Vec<UnlistedDir> {
        let mut out: Vec<UnlistedDir> = (0..self.dir_count())
            .filter(|&d| self.dir_state[d] == DirState::Unlisted)
            .map(|d| UnlistedDir {
                path: self.dir_path(d as DirId),
                reason: self.unlisted_reason(d as DirId).unwrap_or("").to_string(),
                timed_out: self.unlisted_timed_out(d as DirId),
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Directories still waiting to be listed.
    pub fn pending(&self) -> Vec<DirId> {
        (0..self.dir_count() as DirId).filter(|&d| self.state(d) == DirState::Pending).collect()
    }

    /// LFNs of files at least `min_age` seconds old at their listing time
    /// (all files with `None`), sorted by bytes.
    pub fn files_sorted(&self, min_age: Option<i64>) -> Vec<(Vec<u8>, u64, i64)> {
        let mut out = Vec::new();
        self.walk_sorted::<()>(&mut |lfn, i| {
            if self.comparable(i, min_age) {
                let f = self.file(i);
                out.push((lfn.to_vec(), f.size, f.mtime));
            }
            Ok(())
        })
        .expect("collecting cannot fail");
        out
    }

    /// Call `visit(lfn, file index)` for every file in byte order of the
    /// LFNs, without sorting the LFNs themselves: each directory's files and
    /// subdirectories are merged by name, a subdirectory `s` sorting as
    /// `s/` (every LFN below it starts so), and walked depth first.
    pub fn walk_sorted<E>(&self, visit: &mut FileVisitor<'_, E>) -> Result<(), E> {
        enum Item<'a> {
            File(&'a [u8], usize),
            Dir(Vec<u8>, DirId),
        }
        fn key<'b>(it: &'b Item<'_>) -> &'b [u8] {
            match it {
                Item::File(n, _) => n,
                Item::Dir(k, _) => k,
            }
        }
        let mut path = Vec::new();
        let mut stack: Vec<(DirId, usize)> = vec![(ROOT, 0)];
        // (directory, length of `path` before its name) with its items in reverse
        let mut items_stack: Vec<Vec<Item<'_>>> = Vec::new();
        let items_of = |d: DirId| -> Vec<Item<'_>> {
            let mut items: Vec<Item<'_>> = self
                .files_in(d)
                .iter()
                .map(|&i| Item::File(self.file(i as usize).name, i as usize))
                .chain(self.subdirs(d).iter().map(|&s| {
                    let mut key = self.dir_name(s).to_vec();
                    key.push(b'/');
                    Item::Dir(key, s)
                }))
                .collect();
            // reversed: items are popped from the end
            items.sort_unstable_by(|a, b| key(b).cmp(key(a)));
            items
        };
        path.push(b'/');
        items_stack.push(items_of(ROOT));
        while let Some(items) = items_stack.last_mut() {
            match items.pop() {
                None => {
                    items_stack.pop();
                    if let Some((_, len)) = stack.pop() {
                        path.truncate(len);
                    }
                }
                Some(Item::File(name, i)) => {
                    let len = path.len();
                    path.extend_from_slice(name);
                    visit(&path, i)?;
                    path.truncate(len);
                }
                Some(Item::Dir(key, d)) => {
                    stack.push((d, path.len()));
                    path.extend_from_slice(&key);
                    items_stack.push(items_of(d));
                }
            }
        }
        Ok(())
    }

    /// The path of every directory, by id.
    pub fn dir_paths(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<Vec<u8>> = Vec::with_capacity(self.dir_count());
        paths.push(b"/".to_vec());
        for d in 1..self.dir_count() {
            let p = &paths[self.dir_parent[d] as usize];
            let path = join_lfn(p, self.dir_name(d as DirId));
            paths.push(path);
        }
        paths
    }

    /// Of one directory, from its subtree alone: the number of files and
    /// their total size at any depth, and its hash over every file (the
    /// values [`Tree::subtree_totals`] and [`Tree::dir_hashes`] give it).
    pub fn subtree_summary(&self, d: DirId) -> (u64, u64, u64) {
        // the subtree, parents before children; walked back, children first
        let mut dirs = vec![d];
        let mut k = 0;
        while k < dirs.len() {
            dirs.extend_from_slice(self.subdirs(dirs[k]));
            k += 1;
        }
        let mut acc: FxHashMap<DirId, (u64, u64, u64)> = FxHashMap::default();
        let mut result = (0, 0, 0);
        for &c in dirs.iter().rev() {
            let (mut files, mut size, subs) = acc.remove(&c).unwrap_or_default();
            let mut sum = 0u64;
            for &i in self.files_in(c) {
                let f = self.file(i as usize);
                files += 1;
                if f.size != UNKNOWN_SIZE {
                    size += f.size;
                }
                sum = sum.wrapping_add(file_hash(f.name, f.size));
            }
            let hash = dir_hash(sum, subs, self.dir_state[c as usize]);
            if c == d {
                result = (files, size, hash);
            } else {
                let p = acc.entry(self.parent(c)).or_default();
                p.0 += files;
                p.1 += size;
                p.2 = p.2.wrapping_add(pair_hash(xxh3_64(self.dir_name(c)), hash));
            }
        }
        result
    }

    /// Number of files and total size below `d`, at any depth.
    pub fn subtree_totals(&self) -> Vec<(u64, u64)> {
        let n = self.dir_count();
        let mut totals = vec![(0u64, 0u64); n];
        for i in 0..self.file_count() {
            let t = &mut totals[self.file_dir[i] as usize];
            t.0 += 1;
            if self.file_size[i] != UNKNOWN_SIZE {
                t.1 += self.file_size[i];
            }
        }
        for d in (1..n).rev() {
            let (f, s) = totals[d];
            let p = &mut totals[self.dir_parent[d] as usize];
            p.0 += f;
            p.1 += s;
        }
        totals
    }

    /// A short text picture of the tree, `max_depth` levels deep.
    pub fn display(&self, max_depth: usize) -> String {
        let totals = self.subtree_totals();
        let mut out = String::new();
        let mut stack = vec![(ROOT, 0usize)];
        while let Some((d, depth)) = stack.pop() {
            let name = if d == ROOT { "/".to_string() } else { String::from_utf8_lossy(self.dir_name(d)).into_owned() };
            let state = match self.state(d) {
                DirState::Listed | DirState::Traversed => "",
                DirState::Pending => " [pending]",
                DirState::Unlisted => " [unlisted]",
            };
            let (files, size) = totals[d as usize];
            // writing to a String cannot fail
            let _ = writeln!(out, "{}{} ({} files, {} bytes){}", "  ".repeat(depth), name, files, size, state);
            if depth < max_depth {
                let mut subs: Vec<DirId> = self.subdirs(d).to_vec();
                subs.sort_by(|a, b| self.dir_name(*b).cmp(self.dir_name(*a)));
                stack.extend(subs.into_iter().map(|s| (s, depth + 1)));
            }
        }
        out
    }

    /// Copy every directory and file of `other` below `at` in this tree.
    pub fn graft(&mut self, at: &[u8], other: &Tree) {
        let base = self.ensure_dir(at);
        let mut map = vec![base; other.dir_count()];
        {
            let d = base as usize;
            self.dir_mtime.set(d, other.dir_mtime.get(0));
            self.dir_listed_at.set(d, other.dir_listed_at.get(0));
            self.dir_state[d] = other.dir_state[0];
            if let Some(u) = other.unlisted_why.get(&ROOT) {
                self.unlisted_why.insert(base, u.clone());
            }
        }
        for od in 1..other.dir_count() {
            let parent = map[other.dir_parent[od] as usize];
            let d = self.add_dir(parent, other.dir_name(od as DirId), other.dir_state[od]);
            map[od] = d;
            self.dir_mtime.set(d as usize, other.dir_mtime.get(od));
            self.dir_listed_at.set(d as usize, other.dir_listed_at.get(od));
            self.dir_state[d as usize] = other.dir_state[od];
            if let Some(u) = other.unlisted_why.get(&(od as DirId)) {
                self.unlisted_why.insert(d, u.clone());
            }
        }
        for i in 0..other.file_count() {
            let f = other.file(i);
            self.add_file(map[f.dir as usize], f.name, f.size, f.mtime);
        }
        self.touch();
    }
}

/// Called with each file's LFN and index.
pub type FileVisitor<'a, E> = dyn FnMut(&[u8], usize) -> Result<(), E> + 'a;

/// Per-entry hash: name and size. The name is hashed alone, then mixed
/// with the size as one 16-byte input: seeding the name's hash with the size
/// would let short names collide (`f46` of 3 bytes with `f44` of 1 byte).
pub fn file_hash(name: &[u8], size: u64) -> u64 {
    pair_hash(xxh3_64(name), size)
}

/// A directory's hash: of the sum of its comparable files' hashes, the sum
/// of its subdirectories' (name, hash) mixes, and its state.
fn dir_hash(file_sum: u64, sub_sum: u64, state: DirState) -> u64 {
    let mut buf = [0u8; 17];
    buf[..8].copy_from_slice(&file_sum.to_le_bytes());
    buf[8..16].copy_from_slice(&sub_sum.to_le_bytes());
    buf[16] = state as u8;
    xxh3_64(&buf)
}

/// A full mix of two 64-bit values.
fn pair_hash(a: u64, b: u64) -> u64 {
    let mut buf = [0u8; 16];
    buf[..8].copy_from_slice(&a.to_le_bytes());
    buf[8..].copy_from_slice(&b.to_le_bytes());
    xxh3_64(&buf)
}

/// Split an LFN at its last `/` into directory and file name.
pub fn split_lfn(lfn: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memrchr(b'/', lfn) {
        Some(p) => (&lfn[..p], &lfn[p + 1..]),
        None => (b"", lfn),
    }
}

pub fn join_lfn(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.len() + 1 + name.len());
    out.extend_from_slice(dir);
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// Counting sort of positions by key: (start offsets per key, positions).
fn group_by(keys: &[u32], n: usize) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; n + 1];
    for &k in keys {
        start[k as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut order = vec![0u32; keys.len()];
    for (pos, &k) in keys.iter().enumerate() {
        let slot = &mut fill[k as usize];
        order[*slot as usize] = pos as u32;
        *slot += 1;
    }
    (start, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(order: &[usize]) -> Tree {
        let files: [(&[u8], u64, i64); 5] = [
            (b"/store/mc/a/1.root", 10, 100),
            (b"/store/mc/a/2.root", 20, 100),
            (b"/store/mc/b/3.root", 30, 100),
            (b"/store/data/x.root", 40, 100),
            (b"/store/data/y z.root", 50, 100),
        ];
        let mut t = Tree::new(1000);
        for &i in order {
            let (lfn, size, mtime) = files[i];
            t.add_file_path(lfn, size, mtime);
        }
        t
    }

    #[test]
    fn directory_times_outside_four_bytes_are_kept_exactly() {
        let mut t = Tree::new(-7);
        let d = t.ensure_dir(b"/a/b");
        for time in [0, 1_700_000_000, -1, i64::MIN, i64::MAX, 1 << 40, i64::from(u32::MAX), i64::from(u32::MAX) - 1] {
            t.set_dir_mtime(d, time);
            t.set_listed(d, time);
            assert_eq!((t.dir_mtime(d), t.listed_at(d)), (time, time));
        }
        assert_eq!(t.listed_at(ROOT), -7);
        assert_eq!(t.listed_at(t.find_dir(b"/a").unwrap()), -7);
    }

    #[test]
    fn a_subtree_summary_is_what_the_whole_tree_passes_give() {
        let mut t = Tree::new(100);
        for (i, lfn) in ["/a/b/1", "/a/b/2", "/a/c/3", "/a/4", "/d/e/f/5", "/d/6"].iter().enumerate() {
            let size = if i == 2 { UNKNOWN_SIZE } else { 10 * i as u64 + 1 };
            t.add_file_path(lfn.as_bytes(), size, 5);
        }
        t.ensure_dir(b"/a/empty");
        let (totals, hashes) = (t.subtree_totals(), t.dir_hashes(None));
        for d in 0..t.dir_count() as DirId {
            let (files, size, hash) = t.subtree_summary(d);
            assert_eq!((files, size), totals[d as usize], "totals of {}", String::from_utf8_lossy(&t.dir_path(d)));
            assert_eq!(hash, hashes[d as usize], "hash of {}", String::from_utf8_lossy(&t.dir_path(d)));
        }
    }

    #[test]
    fn hash_is_independent_of_order() {
        let a = sample(&[0, 1, 2, 3, 4]);
        let b = sample(&[4, 2, 0, 3, 1]);
        assert_eq!(a.hash(), b.hash());
        let c = sample(&[0, 1, 2, 3]);
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn short_names_with_other_sizes_do_not_collide() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..2000u64 {
            for size in 0..8u64 {
                assert!(seen.insert(file_hash(format!("f{n}").as_bytes(), size)), "f{n} {size}");
            }
        }
    }

    #[test]
    fn hash_sees_size_and_name() {
        let mut a = Tree::new(10);
        a.add_file_path(b"/a/b", 1, 0);
        let mut b = Tree::new(10);
        b.add_file_path(b"/a/b", 2, 0);
        let mut c = Tree::new(10);
        c.add_file_path(b"/a/c", 1, 0);
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        // the same file in another directory is other content
        let mut d = Tree::new(10);
        d.add_file_path(b"/x/b", 1, 0);
        assert_ne!(a.hash(), d.hash());
    }

    #[test]
    fn paths_counts_and_lookup() {
        let t = sample(&[0, 1, 2, 3, 4]);
        let d = t.find_dir(b"/store/mc/a").unwrap();
        assert_eq!(t.dir_path(d), b"/store/mc/a");
        assert_eq!(t.files_in(d).len(), 2);
        assert_eq!(t.total_size(), 150);
        assert_eq!(t.file_count(), 5);
        // root, store, mc, a, b, data
        assert_eq!(t.dir_count(), 6);
        assert!(t.find_dir(b"/store/nothing").is_none());
        let files = t.files_sorted(None);
        let names: Vec<&[u8]> = files.iter().map(|f| f.0.as_slice()).collect();
        assert_eq!(names[0], b"/store/data/x.root");
        assert_eq!(names[4], b"/store/mc/b/3.root");
    }

    #[test]
    fn walk_is_in_byte_order_of_lfns() {
        let mut t = Tree::new(0);
        let names: [&[u8]; 9] =
            [b"/a/b", b"/a/b-c/x", b"/a/b/x", b"/a/zzz", b"/a/b/c/y", b"/a/!", b"/a/b0", b"/b", b"/a/\xff"];
        for n in names {
            t.add_file_path(n, 1, 0);
        }
        let mut expect: Vec<Vec<u8>> = names.iter().map(|n| n.to_vec()).collect();
        expect.sort();
        let got: Vec<Vec<u8>> = t.files_sorted(None).into_iter().map(|f| f.0).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn empty_dirs_deepest_first_and_not_unlisted() {
        let mut t = Tree::new(1000);
        t.add_file_path(b"/store/keep/f", 1, 0);
        t.ensure_dir(b"/store/e1/e2/e3");
        t.ensure_dir(b"/store/e1/e4");
        let u = t.ensure_dir(b"/store/u1/u2");
        t.set_unlisted(u, 1000, "permission denied", false);
        let young = t.ensure_dir(b"/store/young");
        t.set_dir_mtime(young, 990);
        let empty: Vec<Vec<u8>> = t.empty_dirs(60).iter().map(|&d| t.dir_path(d)).collect();
        let expect: Vec<&[u8]> = vec![b"/store/e1/e2/e3", b"/store/e1/e2", b"/store/e1/e4", b"/store/e1"];
        assert_eq!(empty, expect);
    }

    #[test]
    fn graft_keeps_everything() {
        let inner = sample(&[0, 1, 2]);
        let mut outer = Tree::new(5);
        outer.graft(b"/top", &inner);
        assert_eq!(outer.file_count(), 3);
        let d = outer.find_dir(b"/top/store/mc/a").unwrap();
        assert_eq!(outer.files_in(d).len(), 2);
    }
}
