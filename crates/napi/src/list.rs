//! Listing storage: a local directory or a storage URL, through the shared
//! listing engine.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dc_core::Tree as CoreTree;
use dc_listing::{DirLister, EngineError, EngineOptions, LocalLister};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{failure, invalid, no_panic, Failure, OrThrow, Outcome};
use crate::progress::{self, ProgressCallback};
use crate::tree::Tree;

#[napi(object)]
#[derive(Default)]
pub struct ListOptions {
    /// Parallel workers (for a server: connections), 1 to `MAX_THREADS`.
    /// @default 8 for a local directory, 4 for a server
    pub threads: Option<f64>,
    /// Further attempts for a directory whose listing failed in a way that
    /// may pass, 0 to `MAX_RETRIES`.
    /// @default 2
    pub retries: Option<f64>,
    /// Seconds one directory listing may take (network listers), 0.001 to
    /// `MAX_SECONDS`.
    /// @default 300
    pub timeout: Option<f64>,
    /// Requests in flight on each connection of the native XRootD lister; 0
    /// sends one synchronous request per connection at a time. At most
    /// `MAX_DEPTH`.
    /// @default `DEFAULT_DEPTH` (4)
    pub depth: Option<f64>,
    /// Servers (`host:port`) to spread the connections of a `root://` URL
    /// over, in turn, instead of the URL's own: doors that each see the
    /// whole namespace (native and xrdfs).
    pub doors: Option<Vec<String>>,
    /// Environment variables set for the `xrdfs` and `gfal-ls` processes of
    /// the xrdfs and gfal methods (credentials: `X509_USER_PROXY`,
    /// `X509_CERT_DIR`, `XrdSecSSSKT`, `BEARER_TOKEN_FILE`, ...). The native
    /// lister's client library reads the process's own environment instead.
    pub environment: Option<std::collections::HashMap<String, String>>,
    /// How to reach a server; ignored for local paths.
    /// @default "native"
    pub method: Option<ListMethod>,
    /// Directories (absolute, below the target) to list instead of the whole target.
    pub roots: Option<Vec<String>>,
    /// Name what a server holds by its path below the target URL's path,
    /// as a local directory's listing always is, rather than by its whole
    /// path on the server: a site's LFNs below its storage prefix
    /// (`root://door//cms` lists `/cms/store/x` as `/store/x`).
    /// @default false
    pub relative: Option<bool>,
    /// Where to keep a checkpoint of the listing while it runs.
    pub checkpoint: Option<String>,
    /// Seconds between checkpoints, 0.01 to `MAX_SECONDS`; a big tree is saved less
    /// often, so that saving never takes more than a tenth of the time.
    /// @default 5
    pub checkpoint_interval: Option<f64>,
    /// Go on from the checkpoint if there is one.
    /// @default false
    pub resume: Option<bool>,
    /// Milliseconds between progress events, 10 to 3600000.
    /// @default 200
    pub progress_interval_ms: Option<f64>,
}

/// How a server is reached: the native XRootD client, `xrdfs` processes,
/// or `gfal-ls` processes.
#[napi(string_enum = "lowercase")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListMethod {
    #[default]
    Native,
    Xrdfs,
    Gfal,
}

impl ListMethod {
    fn as_str(self) -> &'static str {
        match self {
            ListMethod::Native => "native",
            ListMethod::Xrdfs => "xrdfs",
            ListMethod::Gfal => "gfal",
        }
    }
}

// The most a listing option may be: beyond these a number is a mistake, and
// a few of them (a timeout of 1e20 seconds) would overflow a clock. The
// command line and the configuration check their values against these.

/// The most listing workers or connections (`threads`).
#[napi]
pub const MAX_THREADS: u32 = 1024;
/// The most requests in flight on one connection (`depth`).
#[napi]
pub const MAX_DEPTH: u32 = 1024;
/// The most further attempts for one directory (`retries`).
#[napi]
pub const MAX_RETRIES: u32 = 100;
/// The most seconds of a timeout or an interval: a day.
#[napi]
pub const MAX_SECONDS: u32 = 86_400;
/// Requests in flight on each connection of the native XRootD lister when
/// `depth` is not given.
#[napi]
pub const DEFAULT_DEPTH: u32 = dc_listing::xrootd::DEFAULT_DEPTH as u32;
const MAX_PROGRESS_MS: u32 = 3_600_000;
/// Workers listing a local directory when `threads` is not given (a server
/// gets the engine's default).
const LOCAL_THREADS: usize = 8;

/// [`ListOptions`] checked: every number a finite number in its range, every
/// variable name a name. Built before a listing task is, so that a bad
/// option fails the call and no listing starts.
pub(crate) struct ListSettings {
    /// `None`: the default of the lister (local or remote).
    threads: Option<usize>,
    retries: u32,
    timeout: Duration,
    depth: usize,
    method: ListMethod,
    doors: Vec<String>,
    /// Sorted by name.
    environment: Vec<(String, String)>,
    roots: Vec<String>,
    relative: bool,
    checkpoint: Option<PathBuf>,
    resume: bool,
    checkpoint_every: Duration,
    progress_every: Duration,
}

/// `value` when it is a number from `min` to `max` (a whole one when
/// `whole`), else an error naming the option; `None` when it is not given.
fn bounded(name: &str, value: Option<f64>, min: f64, max: u32, whole: bool) -> Outcome<Option<f64>> {
    let max = f64::from(max);
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= min && v <= max && (!whole || v.fract() == 0.0) => Ok(Some(v)),
        Some(v) => {
            let kind = if whole { "a whole number" } else { "a number" };
            Err(invalid(format!("{name} must be {kind} from {min} to {max}, not {v}")))
        }
    }
}

impl TryFrom<ListOptions> for ListSettings {
    type Error = Failure;

    fn try_from(o: ListOptions) -> Outcome<ListSettings> {
        let defaults = EngineOptions::default();
        let threads = bounded("threads", o.threads, 1.0, MAX_THREADS, true)?;
        let retries = bounded("retries", o.retries, 0.0, MAX_RETRIES, true)?;
        let timeout = bounded("timeout", o.timeout, 0.001, MAX_SECONDS, false)?;
        let depth = bounded("depth", o.depth, 0.0, MAX_DEPTH, true)?;
        let checkpoint_every = bounded("checkpointInterval", o.checkpoint_interval, 0.01, MAX_SECONDS, false)?;
        let progress_ms = bounded("progressIntervalMs", o.progress_interval_ms, 10.0, MAX_PROGRESS_MS, false)?;
        let mut environment: Vec<(String, String)> = o.environment.unwrap_or_default().into_iter().collect();
        environment.sort();
        if let Some((k, _)) =
            environment.iter().find(|(k, v)| k.is_empty() || k.contains(['=', '\0']) || v.contains('\0'))
        {
            return Err(invalid(format!("environment: {k:?} is not a variable name, or its value holds a NUL")));
        }
        Ok(ListSettings {
            threads: threads.map(|t| t as usize),
            retries: retries.map_or(defaults.retries, |r| r as u32),
            timeout: timeout.map_or(defaults.timeout, Duration::from_secs_f64),
            depth: depth.map_or(dc_listing::xrootd::DEFAULT_DEPTH, |d| d as usize),
            method: o.method.unwrap_or_default(),
            doors: o.doors.unwrap_or_default(),
            environment,
            roots: o.roots.unwrap_or_default(),
            relative: o.relative.unwrap_or(false),
            checkpoint: o.checkpoint.map(PathBuf::from),
            resume: o.resume.unwrap_or(false),
            checkpoint_every: checkpoint_every.map_or(defaults.checkpoint_every, Duration::from_secs_f64),
            progress_every: progress_ms.map_or(defaults.progress_every, |ms| Duration::from_secs_f64(ms / 1000.0)),
        })
    }
}

/// Where a listing comes from: a path or URL, or a lister written in JavaScript.
pub(crate) enum Source {
    Target(String),
    Js(Option<crate::js_lister::JsLister>),
}

pub struct ListTask {
    source: Source,
    settings: ListSettings,
    cancel: Arc<AtomicBool>,
    on_progress: Option<ProgressCallback>,
}

fn is_url(target: &str) -> bool {
    target.contains("://")
}

const CHECKPOINT_HEAD: &str = "dynamo-consistency listing checkpoint";

/// What a checkpoint is of: the target and the options that decide what
/// the tree holds (method, starting directories). Threads, retries and
/// timeouts may change from one attempt to the next; the target may not.
fn checkpoint_note(source: &Source, method: ListMethod, roots: &[Vec<u8>]) -> Vec<u8> {
    let mut note = format!("{CHECKPOINT_HEAD}\n");
    match source {
        Source::Target(t) if is_url(t) => {
            let _ = write!(note, "target {t}\nmethod {}\n", method.as_str());
        }
        Source::Target(t) => {
            let _ = write!(note, "target {t}\nmethod local\n");
        }
        Source::Js(_) => note += "target (a lister written in JavaScript)\n",
    }
    let mut note = note.into_bytes();
    for r in roots {
        note.extend_from_slice(b"root ");
        note.extend_from_slice(r);
        note.push(b'\n');
    }
    note
}

/// A note for a message: its lines after the first, joined.
fn describe_note(note: &[u8]) -> String {
    let text = String::from_utf8_lossy(note);
    match text.strip_prefix(CHECKPOINT_HEAD) {
        Some(rest) => rest.trim().lines().collect::<Vec<_>>().join(", "),
        None => "no record of its target: written by an earlier version".to_string(),
    }
}

fn lister_for(target: &str, s: &ListSettings, threads: usize) -> Outcome<(Box<dyn DirLister>, Vec<u8>)> {
    if is_url(target) {
        return dc_listing::remote::lister_for_url(
            target,
            s.method.as_str(),
            threads,
            s.depth,
            &s.doors,
            &s.environment,
        )
        .map_err(|e| failure("E_LISTER", e));
    }
    let meta = std::fs::metadata(target).map_err(|e| failure("E_NOT_FOUND", format!("{target}: {e}")))?;
    if !meta.is_dir() {
        return Err(failure("E_NOT_FOUND", format!("{target}: not a directory")));
    }
    Ok((Box::new(LocalLister::new(PathBuf::from(target))), b"/".to_vec()))
}

impl Task for ListTask {
    type Output = Outcome<CoreTree>;
    type JsValue = Tree;

    fn compute(&mut self) -> Result<Outcome<CoreTree>> {
        Ok(no_panic("the listing", || self.list()))
    }

    fn resolve(&mut self, env: Env, output: Outcome<CoreTree>) -> Result<Tree> {
        output.map(Tree::wrap).or_throw(env)
    }
}

impl ListTask {
    fn list(&mut self) -> Outcome<CoreTree> {
        let settings = &self.settings;
        let local = matches!(&self.source, Source::Target(t) if !is_url(t));
        let threads = settings.threads.unwrap_or(if local { LOCAL_THREADS } else { EngineOptions::default().threads });
        let (lister, base): (Box<dyn DirLister>, Vec<u8>) = match &mut self.source {
            Source::Target(target) => match lister_for(target, settings, threads)? {
                (lister, base) if settings.relative && is_url(target) => {
                    (dc_listing::below::Below::wrap(lister, &base), b"/".to_vec())
                }
                found => found,
            },
            Source::Js(js) => (Box::new(js.take().ok_or_else(|| invalid("a listing task runs once"))?), b"/".to_vec()),
        };
        let roots: Vec<Vec<u8>> = match settings.roots.as_slice() {
            [] => vec![base],
            r => r.iter().map(|r| dc_core::tree::join_lfn(&base, r.trim_start_matches('/').as_bytes())).collect(),
        };
        let checkpoint = settings.checkpoint.clone();
        let note = checkpoint_note(&self.source, settings.method, &roots);
        let start = match &checkpoint {
            Some(p) if settings.resume && p.exists() => match dc_core::treefile::load_tree_noted(p) {
                Ok((tree, found)) if found == note => tree,
                Ok((_, found)) => {
                    return Err(failure(
                        "E_CHECKPOINT",
                        format!(
                            "{} is the checkpoint of another listing ({}), not of this one ({}): resume that \
                             listing, or remove the checkpoint to start afresh",
                            p.display(),
                            describe_note(&found),
                            describe_note(&note)
                        ),
                    ))
                }
                // a checkpoint that does not load (truncated by a crash) is started afresh
                Err(_) => CoreTree::new(dc_core::now()),
            },
            _ => CoreTree::new(dc_core::now()),
        };
        let engine_opts = EngineOptions {
            threads,
            retries: settings.retries,
            timeout: settings.timeout,
            progress_every: settings.progress_every,
            checkpoint: checkpoint.clone(),
            checkpoint_note: note,
            checkpoint_every: settings.checkpoint_every,
            cancel: self.cancel.clone(),
        };
        let root_refs: Vec<&[u8]> = roots.iter().map(Vec::as_slice).collect();
        let cb = &self.on_progress;
        let result =
            dc_listing::run(lister.as_ref(), start, &root_refs, &engine_opts, &mut |p| progress::send(cb.as_ref(), p));
        match result {
            Ok(tree) => {
                if let Some(p) = &checkpoint {
                    let _ = std::fs::remove_file(p);
                }
                Ok(tree)
            }
            Err(e @ EngineError::Cancelled(_)) => Err(failure("E_CANCELLED", e)),
            Err(e @ EngineError::Auth(_)) => Err(failure("E_AUTH", e)),
            Err(e) => Err(failure("E_IO", e)),
        }
    }
}

/// List a local directory (its files named by their path below it, with a
/// leading `/`) or a storage URL (`root://host:port//path`, gfal URLs).
/// An abort stops the listing within a fraction of a second; give each call
/// a signal of its own (napi-rs tells only the first task a signal was given
/// to of its abort).
#[napi(
    ts_args_type = "target: string, options?: ListOptions, onProgress?: (event: ListProgress) => void, signal?: AbortSignal",
    ts_return_type = "Promise<Tree>"
)]
pub fn list_remote(
    env: Env,
    target: String,
    options: Option<ListOptions>,
    on_progress: Option<ProgressCallback>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<ListTask>> {
    task(Source::Target(target), options, on_progress, signal).or_throw(env)
}

/// A listing task, its options checked first: a bad option fails the call
/// before anything is listed.
pub(crate) fn task(
    source: Source,
    options: Option<ListOptions>,
    on_progress: Option<ProgressCallback>,
    signal: Option<AbortSignal>,
) -> Outcome<AsyncTask<ListTask>> {
    let settings = ListSettings::try_from(options.unwrap_or_default())?;
    let cancel = Arc::new(AtomicBool::new(false));
    if let Some(s) = &signal {
        let flag = cancel.clone();
        // a running listing cannot be dropped by N-API: it stops at its next check of this flag
        s.on_abort(move || flag.store(true, Ordering::Relaxed));
    }
    Ok(AsyncTask::with_optional_signal(ListTask { source, settings, cancel, on_progress }, signal))
}

/// One server behind an XRootD redirector.
#[napi(object)]
pub struct ServerLocation {
    /// `host:port`.
    pub address: String,
    /// A further redirector rather than a data server.
    pub manager: bool,
}

pub struct LocateTask {
    url: String,
    timeout: Duration,
    cancel: Arc<AtomicBool>,
}

fn locate_now(url: &str, timeout: Duration) -> Outcome<Vec<ServerLocation>> {
    let parsed = dc_listing::remote::StorageUrl::parse(url).map_err(invalid)?;
    let lister = dc_listing::xrootd::XrootdLister::new(&parsed.server, 1).map_err(|e| failure("E_LISTER", e))?;
    let found = lister.locate(&parsed.lfn, timeout).map_err(|e| failure("E_LOCATE", e.message))?;
    Ok(found.into_iter().map(|l| ServerLocation { address: l.address, manager: l.manager }).collect())
}

impl Task for LocateTask {
    type Output = Outcome<Vec<ServerLocation>>;
    type JsValue = Vec<ServerLocation>;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(no_panic("locate", || {
            let (tx, rx) = std::sync::mpsc::channel();
            let (url, timeout) = (self.url.clone(), self.timeout);
            // a thread of its own: XrdCl's locate cannot be interrupted, and a cancel must not wait
            // up to the timeout for it (the thread ends by itself then, its answer unread)
            std::thread::Builder::new()
                .name("dc-locate".into())
                .spawn(move || {
                    let _ = tx.send(locate_now(&url, timeout));
                })
                .map_err(|e| failure("E_LOCATE", format!("{}: cannot start a thread: {e}", self.url)))?;
            loop {
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(found) => return found,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) if self.cancel.load(Ordering::Relaxed) => {
                        return Err(failure("E_CANCELLED", format!("locating {} was cancelled", self.url)));
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(failure(
                            "E_LOCATE",
                            format!("{}: the locate thread ended without an answer", self.url),
                        ));
                    }
                }
            }
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        output.or_throw(env)
    }
}

/// The servers a redirector sends `root://host:port//path` to (XRootD
/// `locate`); `timeoutSeconds` from 0.001 to 86400, default 30. An abort
/// returns at once (`E_CANCELLED`); give each call a signal of its own
/// (napi-rs tells only the first task a signal was given to of its abort).
#[napi(
    ts_args_type = "url: string, timeoutSeconds?: number, signal?: AbortSignal",
    ts_return_type = "Promise<ServerLocation[]>"
)]
pub fn locate(
    env: Env,
    url: String,
    timeout_seconds: Option<f64>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<LocateTask>> {
    let timeout = bounded("timeoutSeconds", timeout_seconds, 0.001, MAX_SECONDS, false).or_throw(env)?.unwrap_or(30.0);
    let cancel = Arc::new(AtomicBool::new(false));
    if let Some(s) = &signal {
        let flag = cancel.clone();
        s.on_abort(move || flag.store(true, Ordering::Relaxed));
    }
    Ok(AsyncTask::with_optional_signal(LocateTask { url, timeout: Duration::from_secs_f64(timeout), cancel }, signal))
}
