//! Comparing two trees. The result lists stay in Rust; JavaScript reads
//! them, filters them with masks and has Rust write them to files.

use std::path::PathBuf;

use dc_core::locks;
use dc_core::{CompareOptions, CompareResult as CoreResult, Entry};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{invalid, io_error, listing_error, no_panic, OrThrow, Outcome};
use crate::tree::{lossy, parse_format, size_to_js, split_nul, ListingFormat, Tree, UnlistedDir};

#[napi(object, js_name = "CompareOptions")]
pub struct CompareOptionsJs {
    /// Files younger than this many seconds at their listing time are not
    /// compared.
    /// @default 0
    pub ignore_age: Option<f64>,
}

impl TryFrom<CompareOptionsJs> for CompareOptions {
    type Error = crate::errors::Failure;

    fn try_from(o: CompareOptionsJs) -> Outcome<CompareOptions> {
        let ignore_age = o.ignore_age.unwrap_or(0.0);
        if !ignore_age.is_finite() || ignore_age < 0.0 {
            return Err(invalid(format!("ignoreAge must be a non-negative number of seconds, not {ignore_age}")));
        }
        Ok(CompareOptions { ignore_age: ignore_age as i64 })
    }
}

#[napi(object)]
pub struct FileEntry {
    pub lfn: String,
    /// Bytes; -1 when unknown.
    pub size: f64,
}

/// The files of a `missing` or `orphan` list as columns, in list order.
#[napi(object)]
pub struct FindingColumns {
    /// The names, each followed by a NUL byte: their exact bytes.
    pub lfns: Buffer,
    /// Bytes; -1 when unknown.
    pub sizes: Float64Array,
}

/// Missing and orphan files, empty and unlisted directories.
#[napi]
pub struct CompareResult {
    inner: CoreResult,
    /// What each listing file held, when two were compared without trees.
    counts: Option<(dc_core::ListingCounts, dc_core::ListingCounts)>,
}

/// A list of a comparison: files the inventory has and the storage lacks
/// (`missing`), files only the storage has (`orphan`), `empty` directories
/// and `unlisted` ones.
#[napi(string_enum = "lowercase")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Missing,
    Orphan,
    Empty,
    Unlisted,
}

/// A list of files of a comparison: `missing` or `orphan`.
#[napi(string_enum = "lowercase")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileListKind {
    Missing,
    Orphan,
}

fn list_of(r: &mut CoreResult, kind: FileListKind) -> &mut Vec<Entry> {
    match kind {
        FileListKind::Missing => &mut r.missing,
        FileListKind::Orphan => &mut r.orphan,
    }
}

/// The names of a list: `missing` and `orphan` files, `empty` and `unlisted` directories.
fn names_of(r: &mut CoreResult, kind: ListKind) -> Vec<&[u8]> {
    match kind {
        ListKind::Empty => r.empty.iter().map(Vec::as_slice).collect(),
        ListKind::Unlisted => r.unlisted.iter().map(|u| u.path.as_slice()).collect(),
        ListKind::Missing => r.missing.iter().map(|e| e.lfn.as_slice()).collect(),
        ListKind::Orphan => r.orphan.iter().map(|e| e.lfn.as_slice()).collect(),
    }
}

fn retain_masked<T>(list: &mut Vec<T>, mask: &[u8]) -> Outcome<f64> {
    if mask.len() != list.len() {
        return Err(invalid(format!("keep: the mask has {} bytes for {} entries", mask.len(), list.len())));
    }
    let mut i = 0;
    list.retain(|_| {
        let keep = mask[i] != 0;
        i += 1;
        keep
    });
    Ok(list.len() as f64)
}

/// Names joined, each followed by a NUL byte: how lists of LFNs cross to
/// JavaScript with their bytes kept.
pub(crate) fn nul_joined<'a>(names: impl IntoIterator<Item = &'a [u8]>) -> Buffer {
    let mut out = Vec::new();
    for n in names {
        out.extend_from_slice(n);
        out.push(0);
    }
    out.into()
}

/// Write a list of names (`lfns`, each followed by a NUL byte) to `path`,
/// one a line and escaped as listing files are, through a temporary file
/// renamed into place: every list the tool writes goes through here.
/// `suffixes`, one per name, are written after the name as they are (the
/// tool's own figures, such as `|size`).
#[napi]
pub fn write_lfn_list(env: Env, path: String, lfns: Buffer, suffixes: Option<Vec<String>>) -> Result<()> {
    write_lfn_list_now(path, &lfns, suffixes).or_throw(env)
}

fn write_lfn_list_now(path: String, lfns: &[u8], suffixes: Option<Vec<String>>) -> Outcome<()> {
    let p = PathBuf::from(path);
    let names = split_nul(lfns);
    match suffixes {
        None => dc_core::write_lines(&p, names),
        Some(suffixes) => {
            if suffixes.len() != names.len() {
                return Err(invalid(format!(
                    "{} names and {} suffixes: one of each per line",
                    names.len(),
                    suffixes.len()
                )));
            }
            dc_core::write_atomic(&p, |w| {
                for (name, suffix) in names.iter().zip(&suffixes) {
                    dc_core::listfile::write_escaped(w, name)?;
                    std::io::Write::write_all(w, suffix.as_bytes())?;
                    std::io::Write::write_all(w, b"\n")?;
                }
                Ok(())
            })
        }
    }
    .map_err(|e| io_error(&p, e))
}

#[napi]
impl CompareResult {
    #[napi(getter)]
    pub fn missing_count(&self) -> f64 {
        self.inner.missing.len() as f64
    }

    #[napi(getter)]
    pub fn orphan_count(&self) -> f64 {
        self.inner.orphan.len() as f64
    }

    #[napi(getter)]
    pub fn missing_size(&self) -> f64 {
        self.inner.missing_size() as f64
    }

    #[napi(getter)]
    pub fn orphan_size(&self) -> f64 {
        self.inner.orphan_size() as f64
    }

    #[napi(getter)]
    pub fn empty_count(&self) -> f64 {
        self.inner.empty.len() as f64
    }

    #[napi(getter)]
    pub fn unlisted_count(&self) -> f64 {
        self.inner.unlisted.len() as f64
    }

    /// Directory pairs skipped because their content hashes agreed.
    #[napi(getter)]
    pub fn skipped_dirs(&self) -> f64 {
        self.inner.skipped_dirs as f64
    }

    /// The `missing` or `orphan` list, sorted by LFN bytes (names that are
    /// not UTF-8 are shown with U+FFFD: `lfnBuffer` has their bytes).
    #[napi]
    pub fn files(&mut self, kind: FileListKind) -> Vec<FileEntry> {
        list_of(&mut self.inner, kind)
            .iter()
            .map(|e| FileEntry { lfn: lossy(&e.lfn), size: size_to_js(e.size) })
            .collect()
    }

    /// The names of a list (`missing`, `orphan`, `empty` or `unlisted`), in
    /// its order, each followed by a NUL byte: their exact bytes.
    #[napi]
    pub fn lfn_buffer(&mut self, kind: ListKind) -> Buffer {
        nul_joined(names_of(&mut self.inner, kind))
    }

    /// The sizes of the `missing` or `orphan` files, in list order (-1 when
    /// unknown).
    #[napi]
    pub fn sizes(&mut self, kind: FileListKind) -> Float64Array {
        let sizes: Vec<f64> = list_of(&mut self.inner, kind).iter().map(|e| size_to_js(e.size)).collect();
        sizes.into()
    }

    /// The `missing` or `orphan` files with their sizes, in list order, in
    /// one call.
    #[napi]
    pub fn findings(&mut self, kind: FileListKind) -> FindingColumns {
        let list = list_of(&mut self.inner, kind);
        let sizes: Vec<f64> = list.iter().map(|e| size_to_js(e.size)).collect();
        FindingColumns { lfns: nul_joined(list.iter().map(|e| e.lfn.as_slice())), sizes: sizes.into() }
    }

    /// Keep the entries of a list whose mask byte is not 0 (one byte per
    /// entry, in list order): how vetoes are applied.
    #[napi]
    pub fn keep(&mut self, env: Env, kind: ListKind, mask: Uint8Array) -> Result<f64> {
        let r = &mut self.inner;
        match kind {
            ListKind::Missing => retain_masked(&mut r.missing, &mask),
            ListKind::Orphan => retain_masked(&mut r.orphan, &mask),
            ListKind::Empty => retain_masked(&mut r.empty, &mask),
            ListKind::Unlisted => retain_masked(&mut r.unlisted, &mask),
        }
        .or_throw(env)
    }

    /// Empty directories, deepest first (names that are not UTF-8 are shown
    /// with U+FFFD: `lfnBuffer('empty')` has their bytes).
    #[napi]
    pub fn empty(&self) -> Vec<String> {
        self.inner.empty.iter().map(|p| lossy(p)).collect()
    }

    #[napi]
    pub fn unlisted(&self) -> Vec<UnlistedDir> {
        self.inner.unlisted.iter().map(UnlistedDir::from).collect()
    }

    /// Write a list as one name a line, escaped, through a temporary file
    /// renamed into place: `missing` and `orphan` sorted by bytes, `empty`
    /// deepest first, `unlisted` sorted by path.
    #[napi]
    pub fn write(&mut self, env: Env, kind: ListKind, path: String) -> Result<()> {
        let p = PathBuf::from(path);
        let names = names_of(&mut self.inner, kind);
        dc_core::write_lines(&p, names).map_err(|e| io_error(&p, e)).or_throw(env)
    }
}

/// Compare an inventory tree with a remote (storage) tree.
#[napi]
pub fn compare(env: Env, inventory: &Tree, remote: &Tree, options: Option<CompareOptionsJs>) -> Result<CompareResult> {
    let opts = options.map_or(Ok(CompareOptions::default()), CompareOptions::try_from).or_throw(env)?;
    let (inv, rem) = (inventory.read(), remote.read());
    Ok(CompareResult { inner: dc_core::compare(&inv, &rem, opts), counts: None })
}

pub struct CompareTask {
    inventory: std::sync::Arc<std::sync::RwLock<dc_core::Tree>>,
    remote: std::sync::Arc<std::sync::RwLock<dc_core::Tree>>,
    opts: CompareOptions,
}

impl Task for CompareTask {
    type Output = Outcome<CoreResult>;
    type JsValue = CompareResult;

    fn compute(&mut self) -> Result<Outcome<CoreResult>> {
        Ok(no_panic("the comparison", || {
            let inv = locks::read(&self.inventory);
            let rem = locks::read(&self.remote);
            Ok(dc_core::compare(&inv, &rem, self.opts))
        }))
    }

    fn resolve(&mut self, env: Env, output: Outcome<CoreResult>) -> Result<CompareResult> {
        output.map(|inner| CompareResult { inner, counts: None }).or_throw(env)
    }
}

/// `compare` off the JS thread.
#[napi(ts_return_type = "Promise<CompareResult>")]
pub fn compare_async(
    env: Env,
    inventory: &Tree,
    remote: &Tree,
    options: Option<CompareOptionsJs>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CompareTask>> {
    let opts = options.map_or(Ok(CompareOptions::default()), CompareOptions::try_from).or_throw(env)?;
    let task = CompareTask { inventory: inventory.inner.clone(), remote: remote.inner.clone(), opts };
    Ok(AsyncTask::with_optional_signal(task, signal))
}

/// What a listing file held: files, their bytes, and directories (the root
/// and every ancestor of a file included).
#[napi(object)]
pub struct ListingCounts {
    pub files: f64,
    pub size: f64,
    pub directories: f64,
}

impl From<dc_core::ListingCounts> for ListingCounts {
    fn from(c: dc_core::ListingCounts) -> ListingCounts {
        ListingCounts { files: c.files as f64, size: c.size as f64, directories: c.directories as f64 }
    }
}

#[napi(object)]
pub struct ListingsCounts {
    pub inventory: ListingCounts,
    pub remote: ListingCounts,
}

#[napi]
impl CompareResult {
    /// What each listing file held, when `compareListingsAsync` compared
    /// two; null for a comparison of trees.
    #[napi(getter)]
    pub fn listing_counts(&self) -> Option<ListingsCounts> {
        self.counts.map(|(i, r)| ListingsCounts { inventory: i.into(), remote: r.into() })
    }
}

#[napi(object)]
pub struct CompareListingsOptions {
    /// Files younger than this many seconds at their listing time are not
    /// compared.
    /// @default 0
    pub ignore_age: Option<f64>,
    /// The format of the remote listing (the inventory's is `auto`).
    /// @default "auto"
    pub remote_format: Option<ListingFormat>,
}

pub struct CompareListingsTask {
    inventory: PathBuf,
    remote: PathBuf,
    formats: (dc_core::ListingFormat, dc_core::ListingFormat),
    opts: CompareOptions,
}

impl Task for CompareListingsTask {
    type Output = Outcome<Option<dc_core::ListingComparison>>;
    type JsValue = Option<CompareResult>;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(no_panic("the comparison of two listing files", || {
            dc_core::compare_listing_files(&self.inventory, &self.remote, self.formats, self.opts)
                .map_err(listing_error)
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        let found = output.or_throw(env)?;
        Ok(found.map(|c| CompareResult { inner: c.result, counts: Some((c.inventory, c.remote)) }))
    }
}

/// Compare two listing files without building their trees, giving the
/// lists a comparison of their trees gives, off the JS thread. Null when
/// only trees can answer: a file that is not a regular listing file (a
/// tree file, a directory, a pipe), a line of unknown size, or an LFN with
/// an empty component; read the trees then.
#[napi(ts_return_type = "Promise<CompareResult | null>")]
pub fn compare_listings_async(
    env: Env,
    inventory: String,
    remote: String,
    options: Option<CompareListingsOptions>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CompareListingsTask>> {
    let (ignore_age, remote_format) = options.map_or((None, None), |o| (o.ignore_age, o.remote_format));
    let opts = CompareOptions::try_from(CompareOptionsJs { ignore_age }).or_throw(env)?;
    let formats = (dc_core::ListingFormat::Auto, parse_format(remote_format));
    let task = CompareListingsTask { inventory: inventory.into(), remote: remote.into(), formats, opts };
    Ok(AsyncTask::with_optional_signal(task, signal))
}
