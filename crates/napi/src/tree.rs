//! The tree class: a listing held in Rust, reached from JavaScript through
//! counts, lookups and batches.

use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use dc_core::locks;
use dc_core::{DirState, ListingFormat as CoreFormat, Tree as CoreTree, UNKNOWN_SIZE};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{failure, invalid, io_error, listing_error, no_panic, tree_file_error, OrThrow, Outcome};

/// A directory tree: a storage listing or an inventory.
#[napi]
pub struct Tree {
    // shared with async tasks that read or fill it off the JS thread
    pub(crate) inner: Arc<RwLock<CoreTree>>,
}

/// Figures of a tree.
#[napi(object)]
pub struct TreeCounts {
    pub files: f64,
    pub nodes: f64,
    pub empty_nodes: f64,
    pub unlisted: f64,
    pub pending: f64,
    pub total_size: f64,
}

/// One directory of a tree.
#[napi(object)]
pub struct NodeInfo {
    pub path: String,
    pub name: String,
    /// Unix seconds; 0 when unknown.
    pub mtime: f64,
    pub listed_at: f64,
    pub state: NodeState,
    pub reason: Option<String>,
    /// Files directly in the directory.
    pub files: Vec<FileInfo>,
    /// Names of its subdirectories, sorted.
    pub subdirs: Vec<String>,
    /// Files at any depth below it, and their total size.
    pub total_files: f64,
    pub total_size: f64,
    /// Hex hash of its whole content.
    pub hash: String,
}

#[napi(object)]
pub struct FileInfo {
    pub name: String,
    /// Bytes; -1 when the listing gave no size.
    pub size: f64,
    pub mtime: f64,
}

#[napi(object)]
pub struct UnlistedDir {
    pub path: String,
    pub reason: String,
    /// The listing timed out (no answer in time), as opposed to failing with an error.
    pub timed_out: bool,
}

impl From<&dc_core::UnlistedDir> for UnlistedDir {
    fn from(u: &dc_core::UnlistedDir) -> UnlistedDir {
        UnlistedDir { path: lossy(&u.path), reason: u.reason.clone(), timed_out: u.timed_out }
    }
}

pub(crate) fn size_to_js(size: u64) -> f64 {
    if size == UNKNOWN_SIZE {
        -1.0
    } else {
        size as f64
    }
}

fn size_from_js(size: f64) -> Outcome<u64> {
    // -1 is exact: the one value JavaScript gives for an unknown size
    #[allow(clippy::float_cmp)]
    if size == -1.0 {
        Ok(UNKNOWN_SIZE)
    } else if size >= 0.0 && size.fract() == 0.0 && size < 9.007_199_254_740_992e15 {
        Ok(size as u64)
    } else {
        Err(invalid(format!("a size must be a whole number of bytes or -1 (unknown), not {size}")))
    }
}

/// The format of a listing file: `auto` tells `LFN|size|mtime` lines and
/// bare LFNs apart by themselves; `ral` is the RAL dump format.
#[napi(string_enum = "lowercase")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListingFormat {
    #[default]
    Auto,
    Ral,
}

impl From<ListingFormat> for CoreFormat {
    fn from(f: ListingFormat) -> CoreFormat {
        match f {
            ListingFormat::Auto => CoreFormat::Auto,
            ListingFormat::Ral => CoreFormat::Ral,
        }
    }
}

pub(crate) fn parse_format(format: Option<ListingFormat>) -> CoreFormat {
    format.unwrap_or_default().into()
}

/// The state of a directory of a tree: `traversed` is above the listing's
/// starting directories (only the way down is known).
#[napi(string_enum = "lowercase")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Listed,
    Pending,
    Unlisted,
    Traversed,
}

/// The names of a NUL-separated buffer (a last NUL is optional).
pub(crate) fn split_nul(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.strip_suffix(b"\0").unwrap_or(bytes).split(|&b| b == 0).collect()
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Tree {
    pub(crate) fn wrap(tree: CoreTree) -> Tree {
        Tree { inner: Arc::new(RwLock::new(tree)) }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, CoreTree> {
        locks::read(&self.inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, CoreTree> {
        locks::write(&self.inner)
    }

    fn add_files_now(&self, lfns: &[u8], sizes: &[f64], mtimes: &[f64]) -> Outcome<u32> {
        let names = split_nul(lfns);
        if names.len() != sizes.len() || names.len() != mtimes.len() {
            return Err(invalid(format!(
                "addFiles: {} paths, {} sizes and {} mtimes: one of each per file",
                names.len(),
                sizes.len(),
                mtimes.len()
            )));
        }
        for lfn in &names {
            if lfn.first() != Some(&b'/') || lfn.ends_with(b"/") {
                return Err(invalid(format!("addFiles: `{}` is not an absolute file path", lossy(lfn))));
            }
        }
        let sizes: Vec<u64> = sizes.iter().map(|&s| size_from_js(s)).collect::<Outcome<_>>()?;
        if let Some(bad) = mtimes.iter().find(|m| !m.is_finite()) {
            return Err(invalid(format!("addFiles: an mtime must be a number of seconds, not {bad}")));
        }
        let mut tree = self.write();
        // goes on from where the batch before left the tree
        let mut loader = dc_core::Loader::new(&mut tree);
        for (i, lfn) in names.iter().enumerate() {
            loader.add_parts(lfn, sizes[i], mtimes[i] as i64);
        }
        Ok(names.len() as u32)
    }
}

#[napi]
impl Tree {
    /// An empty tree; directories created by file paths count as listed at
    /// `listedAt` (unix seconds, default now).
    #[napi(constructor)]
    pub fn new(listed_at: Option<f64>) -> Tree {
        Tree::wrap(CoreTree::new(listed_at.map_or_else(dc_core::now, |t| t as i64)))
    }

    /// Load a tree file written by `save`.
    #[napi(factory, catch_unwind, writable = true, configurable = true)]
    pub fn load(env: Env, path: String) -> Result<Tree> {
        dc_core::load_tree(&PathBuf::from(path)).map(Tree::wrap).map_err(tree_file_error).or_throw(env)
    }

    /// Read a listing file (`auto` or `ral` format).
    #[napi(factory, catch_unwind, writable = true, configurable = true)]
    pub fn read_listing(env: Env, path: String, format: Option<ListingFormat>) -> Result<Tree> {
        dc_core::read_listing(&PathBuf::from(path), parse_format(format))
            .map(Tree::wrap)
            .map_err(listing_error)
            .or_throw(env)
    }

    /// Whether `path` is a tree file (by its first bytes).
    #[napi(writable = true, configurable = true)]
    pub fn is_tree_file(path: String) -> bool {
        dc_core::is_tree_file(&PathBuf::from(path))
    }

    /// Save in the versioned, checksummed binary format.
    #[napi]
    pub fn save(&self, env: Env, path: String) -> Result<()> {
        dc_core::save_tree(&self.read(), &PathBuf::from(path)).map_err(tree_file_error).or_throw(env)
    }

    /// Add a batch of files: `lfns` holds absolute paths separated by NUL
    /// bytes; `sizes` (bytes, -1 unknown) and `mtimes` (unix seconds) hold one
    /// number per path.
    #[napi]
    pub fn add_files(&self, env: Env, lfns: Buffer, sizes: Float64Array, mtimes: Float64Array) -> Result<u32> {
        self.add_files_now(&lfns, &sizes, &mtimes).or_throw(env)
    }

    /// Make sure the directory `path` exists (an empty directory stays in the tree).
    #[napi]
    pub fn add_directory(&self, env: Env, path: String, mtime: Option<f64>) -> Result<()> {
        if !path.starts_with('/') {
            return Err(invalid(format!("addDirectory: `{path}` is not an absolute path"))).or_throw(env);
        }
        let mut tree = self.write();
        let d = tree.ensure_dir(path.as_bytes());
        if let Some(m) = mtime {
            tree.set_dir_mtime(d, m as i64);
        }
        Ok(())
    }

    /// Record the directory `path` as unlisted, with the reason and whether
    /// it timed out (default false).
    #[napi]
    pub fn set_unlisted(&self, env: Env, path: String, reason: String, timed_out: Option<bool>) -> Result<()> {
        if !path.starts_with('/') {
            return Err(invalid(format!("setUnlisted: `{path}` is not an absolute path"))).or_throw(env);
        }
        let mut tree = self.write();
        let d = tree.ensure_dir(path.as_bytes());
        let at = tree.listed_at(d);
        tree.set_unlisted(d, at, &reason, timed_out.unwrap_or(false));
        Ok(())
    }

    #[napi(getter)]
    pub fn file_count(&self) -> f64 {
        self.read().file_count() as f64
    }

    #[napi(getter)]
    pub fn node_count(&self) -> f64 {
        self.read().dir_count() as f64
    }

    #[napi(getter)]
    pub fn total_size(&self) -> f64 {
        self.read().total_size() as f64
    }

    /// Hex hash of the whole tree: the same content gives the same hash in
    /// any order.
    #[napi(getter)]
    pub fn hash(&self) -> String {
        format!("{:016x}", self.read().hash())
    }

    /// Counts; empty directories are those older than `ignoreAge` seconds.
    #[napi]
    pub fn counts(&self, ignore_age: Option<f64>) -> TreeCounts {
        let c = self.read().counts(ignore_age.unwrap_or(0.0) as i64);
        TreeCounts {
            files: c.files as f64,
            nodes: c.nodes as f64,
            empty_nodes: c.empty_nodes as f64,
            unlisted: c.unlisted as f64,
            pending: c.pending as f64,
            total_size: c.total_size as f64,
        }
    }

    /// Empty the tree, giving back its memory at once (not when the
    /// object is collected): a caller done with a large tree says so.
    #[napi]
    pub fn clear(&self) {
        let listed_at = self.read().default_listed_at();
        *self.write() = CoreTree::new(listed_at);
    }

    /// Whether the tree has the directory `path`.
    #[napi]
    pub fn has_directory(&self, path: String) -> bool {
        self.read().find_dir(path.as_bytes()).is_some()
    }

    /// The directory at `path`, or null. Its totals and hash come from its
    /// subtree alone.
    #[napi]
    pub fn get_node(&self, path: String) -> Option<NodeInfo> {
        let tree = self.read();
        let d = tree.find_dir(path.as_bytes())?;
        let mut files: Vec<FileInfo> = tree
            .files_in(d)
            .iter()
            .map(|&i| {
                let f = tree.file(i as usize);
                FileInfo { name: lossy(f.name), size: size_to_js(f.size), mtime: f.mtime as f64 }
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let mut subdirs: Vec<String> = tree.subdirs(d).iter().map(|&s| lossy(tree.dir_name(s))).collect();
        subdirs.sort();
        let (total_files, total_size, hash) = tree.subtree_summary(d);
        Some(NodeInfo {
            path: lossy(&tree.dir_path(d)),
            name: lossy(tree.dir_name(d)),
            mtime: tree.dir_mtime(d) as f64,
            listed_at: tree.listed_at(d) as f64,
            state: match tree.state(d) {
                DirState::Listed => NodeState::Listed,
                DirState::Pending => NodeState::Pending,
                DirState::Unlisted => NodeState::Unlisted,
                DirState::Traversed => NodeState::Traversed,
            },
            reason: tree.unlisted_reason(d).map(str::to_string),
            files,
            subdirs,
            total_files: total_files as f64,
            total_size: total_size as f64,
            hash: format!("{hash:016x}"),
        })
    }

    /// LFNs of the files at least `minAge` seconds old at their listing
    /// time (all without it), sorted by bytes. For big trees prefer
    /// `writeListing`.
    #[napi]
    pub fn get_files(&self, min_age: Option<f64>) -> Vec<String> {
        self.read().files_sorted(min_age.map(|a| a as i64)).into_iter().map(|f| lossy(&f.0)).collect()
    }

    /// Empty directories older than `ignoreAge` seconds, deepest first.
    #[napi]
    pub fn empty_nodes_list(&self, ignore_age: Option<f64>) -> Vec<String> {
        let tree = self.read();
        tree.empty_dirs(ignore_age.unwrap_or(0.0) as i64).into_iter().map(|d| lossy(&tree.dir_path(d))).collect()
    }

    /// Unlisted directories and why, sorted by path.
    #[napi]
    pub fn get_unlisted(&self) -> Vec<UnlistedDir> {
        self.read().unlisted().iter().map(UnlistedDir::from).collect()
    }

    /// A text picture of the tree, `maxDepth` levels deep (default 3).
    #[napi]
    pub fn displays(&self, max_depth: Option<u32>) -> String {
        self.read().display(max_depth.unwrap_or(3) as usize)
    }

    /// Write the files as a listing file (`LFN|size|mtime`, sorted by bytes).
    #[napi]
    pub fn write_listing(&self, env: Env, path: String) -> Result<()> {
        let p = PathBuf::from(&path);
        let tree = self.read();
        dc_core::write_atomic(&p, |w| dc_core::write_listing(w, &tree)).map_err(|e| io_error(&p, e)).or_throw(env)
    }

    /// For each NUL-separated path of `lfns`: the size of the file of that
    /// path in this tree (-1 when its size is unknown), -2 when the path is
    /// a directory of the tree, -3 when the tree holds neither.
    #[napi]
    pub fn lookup(&self, lfns: Buffer) -> Float64Array {
        let tree = self.read();
        // the sizes of one directory's files at a time: lists come sorted, so by directory
        let mut cached: Option<(dc_core::DirId, std::collections::HashMap<&[u8], u64>)> = None;
        let mut out = Vec::new();
        for lfn in split_nul(&lfns) {
            if tree.find_dir(lfn).is_some() {
                out.push(-2.0);
                continue;
            }
            let (dir, name) = dc_core::tree::split_lfn(lfn);
            let Some(d) = tree.find_dir(dir) else {
                out.push(-3.0);
                continue;
            };
            if cached.as_ref().is_none_or(|(c, _)| *c != d) {
                let files = tree.files_in(d).iter().map(|&i| tree.file(i as usize)).map(|f| (f.name, f.size));
                cached = Some((d, files.collect()));
            }
            let sizes = &cached.as_ref().expect("filled above").1;
            out.push(sizes.get(name).map_or(-3.0, |&s| size_to_js(s)));
        }
        out.into()
    }

    /// The files, sorted by bytes, as columns: their LFNs (each followed by
    /// a NUL byte, their exact bytes), sizes (-1 unknown) and mtimes.
    #[napi]
    pub fn file_columns(&self) -> FileColumns {
        let files = self.read().files_sorted(None);
        let mut lfns = Vec::with_capacity(files.iter().map(|f| f.0.len() + 1).sum());
        for f in &files {
            lfns.extend_from_slice(&f.0);
            lfns.push(0);
        }
        FileColumns {
            lfns: lfns.into(),
            sizes: files.iter().map(|f| size_to_js(f.1)).collect::<Vec<f64>>().into(),
            mtimes: files.iter().map(|f| f.2 as f64).collect::<Vec<f64>>().into(),
        }
    }

    /// A hash of everything a comparison's verdicts depend on: every file's
    /// path and size, and which files are old enough (`ignoreAge` seconds)
    /// to be compared. Two trees with the same verdict hash give the same
    /// missing and orphan lists against any storage listing.
    #[napi]
    pub fn verdict_hash(&self, env: Env, ignore_age: f64) -> Result<String> {
        if !ignore_age.is_finite() || ignore_age < 0.0 {
            return Err(invalid(format!("ignoreAge must be a non-negative number of seconds, not {ignore_age}")))
                .or_throw(env);
        }
        Ok(format!("{:016x}", self.read().verdict_hash(ignore_age as i64)))
    }
}

#[napi]
impl Tree {
    /// Write the files as a listing to standard output.
    #[napi]
    pub fn write_listing_to_stdout(&self, env: Env) -> Result<()> {
        let stdout = std::io::stdout();
        // a descriptor of its own for the same output, past std's line buffer
        let out = std::os::fd::AsFd::as_fd(&stdout).try_clone_to_owned().map(std::fs::File::from);
        out.and_then(|out| {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, WaitWhenFull(out));
            dc_core::write_listing(&mut w, &self.read()).and_then(|()| std::io::Write::flush(&mut w))
        })
        .map_err(|e| failure("E_IO", format!("standard output: {e}")))
        .or_throw(env)
    }
}

/// A writer to a descriptor that may be non-blocking: Node makes a pipe on
/// its standard output so once `process.stdout` is used, and a full pipe
/// then answers "try again". It waits for the reader instead, as a blocking
/// write would.
struct WaitWhenFull(std::fs::File);

impl std::io::Write for WaitWhenFull {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A tree's files as columns.
#[napi(object)]
pub struct FileColumns {
    pub lfns: Buffer,
    pub sizes: Float64Array,
    pub mtimes: Float64Array,
}

/// What a [`LoadTask`] reads.
enum LoadKind {
    TreeFile,
    Listing(CoreFormat),
    /// A tree file or a listing, by its first bytes.
    Either(CoreFormat),
}

/// Load a tree file or read a listing off the JS thread.
pub struct LoadTask {
    path: PathBuf,
    kind: LoadKind,
}

impl Task for LoadTask {
    type Output = Outcome<CoreTree>;
    type JsValue = Tree;

    fn compute(&mut self) -> Result<Outcome<CoreTree>> {
        Ok(no_panic("reading a tree or listing file", || match self.kind {
            LoadKind::TreeFile => dc_core::load_tree(&self.path).map_err(tree_file_error),
            LoadKind::Listing(f) => dc_core::read_listing(&self.path, f).map_err(listing_error),
            LoadKind::Either(f) => dc_core::read_input(&self.path, f).map_err(|e| match e {
                dc_core::InputError::Tree(e) => tree_file_error(e),
                dc_core::InputError::Listing(e) => listing_error(e),
            }),
        }))
    }

    fn resolve(&mut self, env: Env, output: Outcome<CoreTree>) -> Result<Tree> {
        output.map(Tree::wrap).or_throw(env)
    }
}

/// Load a tree file without blocking the event loop.
#[napi(ts_return_type = "Promise<Tree>")]
pub fn load_tree_async(path: String, signal: Option<AbortSignal>) -> AsyncTask<LoadTask> {
    AsyncTask::with_optional_signal(LoadTask { path: path.into(), kind: LoadKind::TreeFile }, signal)
}

/// Read a listing file without blocking the event loop.
#[napi(ts_return_type = "Promise<Tree>")]
pub fn read_listing_async(
    path: String,
    format: Option<ListingFormat>,
    signal: Option<AbortSignal>,
) -> AsyncTask<LoadTask> {
    let kind = LoadKind::Listing(parse_format(format));
    AsyncTask::with_optional_signal(LoadTask { path: path.into(), kind }, signal)
}

/// Read a tree file or a listing file (`format` `auto` or `ral`), whichever
/// `path` holds, told by its first bytes: the file is opened and read once,
/// so a pipe or a FIFO works. A file named `*.tree` must hold a tree.
#[napi(ts_return_type = "Promise<Tree>")]
pub fn read_input_async(
    path: String,
    format: Option<ListingFormat>,
    signal: Option<AbortSignal>,
) -> AsyncTask<LoadTask> {
    let kind = LoadKind::Either(parse_format(format));
    AsyncTask::with_optional_signal(LoadTask { path: path.into(), kind }, signal)
}
