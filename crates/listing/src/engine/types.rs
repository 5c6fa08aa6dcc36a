//! What the engine and its listers share: the lister traits, a directory's
//! listing and error, the options, progress and errors of a listing, and the
//! jobs and outcomes passed between the coordinator and the listing modes.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use dc_core::DirId;

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub is_dir: bool,
    pub size: u64,
    /// Unix seconds; 0 when unknown.
    pub mtime: i64,
}

/// What listing one directory gave.
#[derive(Clone, Debug, Default)]
pub struct DirListing {
    /// The directory's own mtime when the lister knows it.
    pub mtime: Option<i64>,
    pub entries: Vec<DirEntry>,
}

/// Why a directory could not be listed.
// independent facts about one failure, each asked on its own by the engine
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    pub message: String,
    /// Whether another attempt may succeed (a timeout, a dropped connection),
    /// as opposed to a final answer (permission denied, no such directory).
    pub retryable: bool,
    /// Whether the server gave no answer at all (a timeout, a refused or
    /// dropped connection), as opposed to an error it sent: what the
    /// circuit breaker counts.
    pub no_answer: bool,
    /// Whether the server refused the client's credentials (none, expired,
    /// not trusted): no directory can be listed with them, so the listing
    /// stops at once rather than record every directory unlisted.
    pub auth: bool,
    /// Whether the attempt timed out (no answer within the time allowed),
    /// as opposed to failing with an error: kept with the directory when it
    /// ends unlisted.
    pub timed_out: bool,
}

impl ListError {
    /// An error that another attempt may pass (a busy server, an I/O error on it).
    pub fn retryable(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: true, no_answer: false, auth: false, timed_out: false }
    }

    /// A final answer.
    pub fn fatal(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: false, no_answer: false, auth: false, timed_out: false }
    }

    /// No answer from the server: retryable, and counted by the circuit breaker.
    pub fn no_answer(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: true, no_answer: true, auth: false, timed_out: false }
    }

    /// No answer from the server within the time allowed: [`ListError::no_answer`] that timed out.
    pub fn timed_out(message: impl Into<String>) -> ListError {
        ListError { timed_out: true, ..ListError::no_answer(message) }
    }

    /// The server refused the client's credentials: the message names the
    /// server (`authentication failed at root://host:port: ...`). It ends
    /// the listing ([`EngineError::Auth`]).
    pub fn auth_failed(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: false, no_answer: false, auth: true, timed_out: false }
    }
}

/// Something that lists one directory at a time. Implementations are called
/// from several worker threads at once.
pub trait DirLister: Send + Sync {
    /// List the directory `lfn` (an absolute path from the tree's root).
    /// `worker` is the calling worker's index in `0..threads`, so that a
    /// lister can keep one connection per worker. A lister that can bound
    /// its own wait must give up after `timeout`.
    fn list_dir(&self, worker: usize, lfn: &[u8], timeout: Duration) -> Result<DirListing, ListError>;

    /// Called on a worker before it retries a failed directory.
    fn reconnect(&self, _worker: usize) {}

    /// The servers the lister's connections go to (its doors), by name:
    /// the circuit breaker finds each of them down on its own.
    fn server_names(&self) -> Vec<String> {
        vec!["the server".to_string()]
    }

    /// The server (an index into `server_names`) of a worker, or of a
    /// connection of the asynchronous face.
    fn server_of(&self, _conn: usize) -> usize {
        0
    }

    /// The lister's asynchronous face, if it has one: the engine then uses
    /// it instead of `list_dir` and runs no worker threads.
    fn as_async(&self) -> Option<&dyn AsyncDirLister> {
        None
    }
}

/// What an asynchronous listing calls, exactly once, with its result.
pub type ListingDone = Box<dyn FnOnce(Result<DirListing, ListError>) + Send>;

/// A lister that sends requests and is told of their answers later, so that
/// one thread keeps many requests in flight.
pub trait AsyncDirLister: Send + Sync {
    /// How many connections the lister has.
    fn connections(&self) -> usize;

    /// How many requests the engine may have in flight on one connection.
    fn depth(&self) -> usize;

    /// Start listing `lfn` on connection `conn`; `done` gets the result
    /// (after `timeout` at the latest), from any thread, or from this one
    /// when the request could not be sent.
    fn start(&self, conn: usize, lfn: &[u8], timeout: Duration, done: ListingDone);

    /// Replace connection `conn` by a new one (requests in flight on the
    /// old one end as they will).
    fn reconnect(&self, conn: usize);
}

/// Figures reported while a listing runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub dirs_done: u64,
    pub dirs_queued: u64,
    pub files: u64,
    pub bytes: u64,
    pub unlisted: u64,
    pub retries: u64,
    pub elapsed_secs: f64,
    pub files_per_sec: f64,
    pub done: bool,
}

pub struct EngineOptions {
    pub threads: usize,
    /// Further attempts after the first for a directory whose error is retryable.
    pub retries: u32,
    pub timeout: Duration,
    pub progress_every: Duration,
    /// Where to save checkpoints; none without it.
    pub checkpoint: Option<PathBuf>,
    /// Saved in each checkpoint: what the listing is of (target and
    /// options), so that a resume can refuse a checkpoint of another.
    pub checkpoint_note: Vec<u8>,
    pub checkpoint_every: Duration,
    pub cancel: Arc<AtomicBool>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: 4,
            retries: 2,
            timeout: Duration::from_secs(300),
            progress_every: Duration::from_millis(200),
            checkpoint: None,
            checkpoint_note: Vec::new(),
            checkpoint_every: Duration::from_secs(5),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the listing was cancelled{}", checkpoint_note(.0.as_ref()))]
    Cancelled(Option<PathBuf>),
    /// The server refused the credentials: nothing could be listed with them.
    #[error("{0}")]
    Auth(String),
    #[error("writing the checkpoint failed: {0}")]
    Checkpoint(#[from] dc_core::TreeFileError),
}

fn checkpoint_note(p: Option<&PathBuf>) -> String {
    match p {
        Some(p) => format!(" (checkpoint in {}; resume to go on)", p.display()),
        None => String::new(),
    }
}

pub(super) struct Job {
    pub(super) dir: DirId,
    pub(super) lfn: Vec<u8>,
    /// Attempts so far.
    pub(super) attempts: u32,
    /// The server that gave no answer to the last attempt: the next goes to
    /// another one still answering, if there is one.
    pub(super) avoid: Option<usize>,
}

impl Job {
    pub(super) fn new(dir: DirId, lfn: Vec<u8>) -> Job {
        Job { dir, lfn, attempts: 0, avoid: None }
    }
}

/// A directory's result, as the coordinator gets it.
pub(super) struct Outcome {
    pub(super) dir: DirId,
    pub(super) listed_at: i64,
    pub(super) attempts: u32,
    pub(super) handback: Handback,
    pub(super) result: Result<DirListing, ListError>,
}

/// What a worker hands back to the coordinator besides results.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Handback {
    /// The directory's result is final.
    No,
    /// The worker's server went down before the directory was listed.
    ServerDown,
    /// Server `.0` gave no answer: the next attempt goes to another server.
    Elsewhere(usize),
}
