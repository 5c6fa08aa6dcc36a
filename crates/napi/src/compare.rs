//! Comparing two trees. The result lists stay in Rust; JavaScript reads
//! them, filters them with masks and has Rust write them to files.

use std::io::Write;
use std::path::PathBuf;

use dc_core::{CompareOptions, CompareResult as CoreResult, Entry};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{invalid, io_error};
use crate::tree::{lossy, size_to_js, Tree, UnlistedDir};

#[napi(object, js_name = "CompareOptions")]
pub struct CompareOptionsJs {
    /// Files younger than this many seconds at their listing time are not
    /// compared.
    /// @default 0
    pub ignore_age: Option<f64>,
}

impl TryFrom<CompareOptionsJs> for CompareOptions {
    type Error = napi::Error;

    fn try_from(o: CompareOptionsJs) -> Result<CompareOptions> {
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

/// Missing and orphan files, empty and unlisted directories.
#[napi]
pub struct CompareResult {
    inner: CoreResult,
}

fn list_of<'a>(r: &'a mut CoreResult, kind: &str) -> Result<&'a mut Vec<Entry>> {
    match kind {
        "missing" => Ok(&mut r.missing),
        "orphan" => Ok(&mut r.orphan),
        _ => Err(invalid(format!("unknown list `{kind}` (missing or orphan)"))),
    }
}

fn write_lines<'a>(path: &str, lines: impl Iterator<Item = &'a [u8]>) -> Result<()> {
    let p = PathBuf::from(path);
    let file = std::fs::File::create(&p).map_err(|e| io_error(&p, e))?;
    let mut w = std::io::BufWriter::new(file);
    let go = || -> std::io::Result<()> {
        for line in lines {
            dc_core::listfile::write_escaped(&mut w, line)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    go().map_err(|e| io_error(&p, e))
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

    /// The `missing` or `orphan` list, sorted by LFN bytes.
    #[napi]
    pub fn files(&mut self, kind: String) -> Result<Vec<FileEntry>> {
        Ok(list_of(&mut self.inner, &kind)?
            .iter()
            .map(|e| FileEntry { lfn: lossy(&e.lfn), size: size_to_js(e.size) })
            .collect())
    }

    /// The LFNs of the `missing` or `orphan` list, NUL-separated (names that
    /// are not UTF-8 keep their bytes).
    #[napi]
    pub fn lfn_buffer(&mut self, kind: String) -> Result<Buffer> {
        let list = list_of(&mut self.inner, &kind)?;
        let mut out = Vec::with_capacity(list.iter().map(|e| e.lfn.len() + 1).sum());
        for e in list.iter() {
            out.extend_from_slice(&e.lfn);
            out.push(0);
        }
        Ok(out.into())
    }

    /// Keep the entries of a list whose mask byte is not 0 (one byte per
    /// entry, in list order): how vetoes are applied.
    #[napi]
    pub fn keep(&mut self, kind: String, mask: Uint8Array) -> Result<f64> {
        let list = list_of(&mut self.inner, &kind)?;
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

    /// Empty directories, deepest first.
    #[napi]
    pub fn empty(&self) -> Vec<String> {
        self.inner.empty.iter().map(|p| lossy(p)).collect()
    }

    #[napi]
    pub fn unlisted(&self) -> Vec<UnlistedDir> {
        self.inner.unlisted.iter().map(|(p, r)| UnlistedDir { path: lossy(p), reason: r.clone() }).collect()
    }

    /// Write a list as one LFN a line: `missing` and `orphan` sorted by
    /// bytes, `empty` deepest first, `unlisted` sorted by path.
    #[napi]
    pub fn write(&mut self, kind: String, path: String) -> Result<()> {
        match kind.as_str() {
            "empty" => write_lines(&path, self.inner.empty.iter().map(Vec::as_slice)),
            "unlisted" => write_lines(&path, self.inner.unlisted.iter().map(|u| u.0.as_slice())),
            _ => {
                let list = list_of(&mut self.inner, &kind)?;
                write_lines(&path, list.iter().map(|e| e.lfn.as_slice()))
            }
        }
    }
}

/// Compare an inventory tree with a remote (storage) tree.
#[napi]
pub fn compare(inventory: &Tree, remote: &Tree, options: Option<CompareOptionsJs>) -> Result<CompareResult> {
    let opts = options.map_or(Ok(CompareOptions::default()), CompareOptions::try_from)?;
    let (inv, rem) = (inventory.read(), remote.read());
    Ok(CompareResult { inner: dc_core::compare(&inv, &rem, opts) })
}

pub struct CompareTask {
    inventory: std::sync::Arc<std::sync::RwLock<dc_core::Tree>>,
    remote: std::sync::Arc<std::sync::RwLock<dc_core::Tree>>,
    opts: CompareOptions,
}

impl Task for CompareTask {
    type Output = CoreResult;
    type JsValue = CompareResult;

    fn compute(&mut self) -> Result<CoreResult> {
        let inv = self.inventory.read().unwrap_or_else(|e| e.into_inner());
        let rem = self.remote.read().unwrap_or_else(|e| e.into_inner());
        Ok(dc_core::compare(&inv, &rem, self.opts))
    }

    fn resolve(&mut self, _env: Env, output: CoreResult) -> Result<CompareResult> {
        Ok(CompareResult { inner: output })
    }
}

/// `compare` off the JS thread.
#[napi(ts_return_type = "Promise<CompareResult>")]
pub fn compare_async(
    inventory: &Tree,
    remote: &Tree,
    options: Option<CompareOptionsJs>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CompareTask>> {
    let opts = options.map_or(Ok(CompareOptions::default()), CompareOptions::try_from)?;
    let task = CompareTask { inventory: inventory.inner.clone(), remote: remote.inner.clone(), opts };
    Ok(AsyncTask::with_optional_signal(task, signal))
}
