//! A lister written in JavaScript: the engine's workers ask JavaScript for
//! each directory through a thread-safe function, and JavaScript answers
//! with `replyListing(id, ...)` when its (possibly asynchronous) lister is
//! done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use dc_core::locks;
use dc_listing::{DirEntry, DirLister, DirListing, ListError};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::errors::{invalid, OrThrow};
use crate::list::{task, ListOptions, ListTask, Source};
use crate::progress::ProgressCallback;
use crate::tree::{lossy, split_nul};

/// One directory the engine wants listed.
#[napi(object)]
pub struct ListRequest {
    /// Pass back to `replyListing`.
    pub id: f64,
    pub lfn: String,
    /// The asking worker, `0..threads`.
    pub worker: u32,
}

type Reply = std::result::Result<DirListing, ListError>;

/// Workers waiting for JavaScript, by request id.
static WAITING: LazyLock<Mutex<HashMap<u64, mpsc::Sender<Reply>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type RequestCallback = ThreadsafeFunction<ListRequest, (), ListRequest, Status, false>;

pub struct JsLister {
    callback: RequestCallback,
}

impl DirLister for JsLister {
    fn list_dir(&self, worker: usize, lfn: &[u8], timeout: Duration) -> Reply {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        locks::lock(&WAITING).insert(id, tx);
        let request = ListRequest { id: id as f64, lfn: lossy(lfn), worker: worker as u32 };
        // the call's queue is unbounded (no MaxQueueSize), so Blocking never waits: the bound on calls
        // queued to JavaScript is this worker's wait for the answer below, one request per worker
        let status = self.callback.call(request, ThreadsafeFunctionCallMode::Blocking);
        let forget = || locks::lock(&WAITING).remove(&id);
        if status != Status::Ok {
            forget();
            return Err(ListError::fatal(format!("the JavaScript lister could not be called: {status}")));
        }
        if let Ok(reply) = rx.recv_timeout(timeout) {
            reply
        } else {
            forget();
            let message = format!("the JavaScript lister gave no answer in {timeout:?}");
            Err(ListError { timed_out: true, ..ListError::retryable(message) })
        }
    }
}

/// Answer a `ListRequest`: the directory's entries as columns (names
/// NUL-separated; `isDir` 0 or 1, sizes in bytes (-1 unknown), mtimes in unix
/// seconds, one each per name), or `error` when it could not be listed
/// (`retryable`: another attempt may pass; `timedOut`: it gave no answer in
/// time, which is retryable too).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn reply_listing(
    env: Env,
    id: f64,
    names: Option<Buffer>,
    is_dir: Option<Uint8Array>,
    sizes: Option<Float64Array>,
    mtimes: Option<Float64Array>,
    error: Option<String>,
    retryable: Option<bool>,
    timed_out: Option<bool>,
) -> Result<()> {
    let reply = match error {
        Some(message) if timed_out.unwrap_or(false) => Err(ListError::timed_out(message)),
        Some(message) if retryable.unwrap_or(false) => Err(ListError::retryable(message)),
        Some(message) => Err(ListError::fatal(message)),
        None => {
            let names = split_nul(names.as_deref().unwrap_or(&[]));
            let dirs: &[u8] = is_dir.as_deref().unwrap_or(&[]);
            let sizes: &[f64] = sizes.as_deref().unwrap_or(&[]);
            let mtimes: &[f64] = mtimes.as_deref().unwrap_or(&[]);
            if dirs.len() != names.len() || sizes.len() != names.len() || mtimes.len() != names.len() {
                return Err(invalid(format!(
                    "replyListing: {} names, {} isDir, {} sizes, {} mtimes: one of each per entry",
                    names.len(),
                    dirs.len(),
                    sizes.len(),
                    mtimes.len()
                )))
                .or_throw(env);
            }
            let entries = names
                .iter()
                .enumerate()
                .map(|(i, name)| DirEntry {
                    name: name.to_vec(),
                    is_dir: dirs[i] != 0,
                    size: if sizes[i] < 0.0 { dc_core::UNKNOWN_SIZE } else { sizes[i] as u64 },
                    mtime: mtimes[i] as i64,
                })
                .collect();
            Ok(DirListing { mtime: None, entries })
        }
    };
    let waiting = locks::lock(&WAITING).remove(&(id as u64));
    // a reply after the timeout finds nobody waiting: it is dropped
    if let Some(tx) = waiting {
        let _ = tx.send(reply);
    }
    Ok(())
}

/// List with a lister written in JavaScript, starting from `roots`
/// (`options.roots`, default `/`); `onRequest` is called for every directory
/// and must answer with `replyListing`.
#[napi(
    ts_args_type = "onRequest: (request: ListRequest) => void, options?: ListOptions, onProgress?: (event: ListProgress) => void, signal?: AbortSignal",
    ts_return_type = "Promise<Tree>"
)]
pub fn list_with_js(
    env: Env,
    on_request: RequestCallback,
    options: Option<ListOptions>,
    on_progress: Option<ProgressCallback>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<ListTask>> {
    task(Source::Js(Some(JsLister { callback: on_request })), options, on_progress, signal).or_throw(env)
}
