//! The listing engine shared by every lister.
//!
//! N workers take directories from one shared queue and list them through a
//! [`DirLister`]; the calling thread (the coordinator) owns the tree, adds
//! each result to it and queues the subdirectories it names. A directory that
//! still fails after its retries is recorded unlisted with its reason, so
//! nothing under it is ever reported missing. The tree content does not
//! depend on the number of workers or the order results come back in.
//!
//! A lister that can keep several requests in flight ([`AsyncDirLister`],
//! the native XRootD one) needs no worker threads: the coordinator itself
//! starts up to `depth` listings on each of its connections and the answers
//! come back to it through the same channel.
//!
//! Directories known but not yet listed are `Pending` in the tree; a
//! checkpoint is the tree saved with them, and resuming lists the pending
//! directories of a loaded checkpoint.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use dc_core::locks;
use dc_core::treefile::save_tree_noted;
use dc_core::{DirId, DirState, Tree, ROOT};

use crate::breaker::Breaker;

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
}

impl ListError {
    /// An error that another attempt may pass (a busy server, an I/O error on it).
    pub fn retryable(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: true, no_answer: false, auth: false }
    }

    /// A final answer.
    pub fn fatal(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: false, no_answer: false, auth: false }
    }

    /// No answer from the server: retryable, and counted by the circuit breaker.
    pub fn no_answer(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: true, no_answer: true, auth: false }
    }

    /// The server refused the client's credentials: the message names the
    /// server (`authentication failed at root://host:port: ...`). It ends
    /// the listing ([`EngineError::Auth`]).
    pub fn auth_failed(message: impl Into<String>) -> ListError {
        ListError { message: message.into(), retryable: false, no_answer: false, auth: true }
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
    #[error("the listing was cancelled{}", checkpoint_note(.0))]
    Cancelled(Option<PathBuf>),
    /// The server refused the credentials: nothing could be listed with them.
    #[error("{0}")]
    Auth(String),
    #[error("writing the checkpoint failed: {0}")]
    Checkpoint(#[from] dc_core::TreeFileError),
}

fn checkpoint_note(p: &Option<PathBuf>) -> String {
    match p {
        Some(p) => format!(" (checkpoint in {}; resume to go on)", p.display()),
        None => String::new(),
    }
}

struct Job {
    dir: DirId,
    lfn: Vec<u8>,
    /// Attempts so far.
    attempts: u32,
    /// The server that gave no answer to the last attempt: the next goes to
    /// another one still answering, if there is one.
    avoid: Option<usize>,
}

impl Job {
    fn new(dir: DirId, lfn: Vec<u8>) -> Job {
        Job { dir, lfn, attempts: 0, avoid: None }
    }
}

struct Outcome {
    dir: DirId,
    listed_at: i64,
    attempts: u32,
    handback: Handback,
    result: Result<DirListing, ListError>,
}

/// What a worker hands back to the coordinator besides results.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Handback {
    /// The directory's result is final.
    No,
    /// The worker's server went down before the directory was listed.
    ServerDown,
    /// Server `.0` gave no answer: the next attempt goes to another server.
    Elsewhere(usize),
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// List every pending directory of `tree` (a fresh tree gets `roots` as
/// pending directories first) until none is left.
pub fn run(
    lister: &dyn DirLister,
    mut tree: Tree,
    roots: &[&[u8]],
    opts: &EngineOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Tree, EngineError> {
    // A fresh tree knows only the way down to the roots: the directories
    // above them are traversed, not listed.
    let fresh = tree.dir_count() == 1 && tree.file_count() == 0;
    if fresh {
        tree.set_state(ROOT, DirState::Traversed);
    }
    for root in roots {
        let comps: Vec<&[u8]> = root.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
        let mut d = ROOT;
        for (i, comp) in comps.iter().enumerate() {
            let state = if i + 1 == comps.len() { DirState::Pending } else { DirState::Traversed };
            d = tree.add_dir(d, comp, state);
        }
        if comps.is_empty() && fresh {
            tree.set_state(ROOT, DirState::Pending);
        }
    }
    if let Some(async_lister) = lister.as_async() {
        let conns = async_lister.connections().max(1);
        let breaker =
            Breaker::new(opts.timeout, (0..conns).map(|c| lister.server_of(c)).collect(), lister.server_names());
        return run_async(async_lister, tree, opts, breaker, on_progress);
    }
    let threads = opts.threads.max(1);
    let queue = Mutex::new(Queue { jobs: VecDeque::new(), closed: false });
    let wake = Condvar::new();
    // shared by the workers, which count their own failures and answers, and the coordinator
    let breaker = Mutex::new(Breaker::new(
        opts.timeout,
        (0..threads).map(|w| lister.server_of(w)).collect(),
        lister.server_names(),
    ));
    let mut in_flight = 0u64;
    {
        let mut q = locks::lock(&queue);
        for d in tree.pending() {
            q.jobs.push_back(Job::new(d, tree.dir_path(d)));
            in_flight += 1;
        }
    }
    let mut coord = Coordinator::new(opts, &tree, on_progress);
    let (tx, rx) = mpsc::channel::<Outcome>();

    // Listing waits on disks and networks, not on the CPU: plain threads, one
    // per connection, rather than rayon's CPU-sized pool.
    std::thread::scope(|scope| -> Result<Tree, EngineError> {
        for worker in 0..threads {
            let tx = tx.clone();
            let (queue, wake, breaker) = (&queue, &wake, &breaker);
            scope.spawn(move || worker_loop(lister, worker, queue, wake, breaker, tx, opts));
        }
        drop(tx);
        let close = || {
            locks::lock(&queue).closed = true;
            wake.notify_all();
        };
        // with every server down, what is queued is unlisted at once (the breaker's lock is
        // never held while the queue's is taken here: workers take them the other way round)
        let unlist_queued = |tree: &mut Tree, coord: &mut Coordinator, in_flight: &mut u64| {
            let reason = {
                let mut b = locks::lock(&breaker);
                b.check();
                if !b.all_down() {
                    return;
                }
                b.reason()
            };
            let jobs: Vec<Job> = locks::lock(&queue).jobs.drain(..).collect();
            *in_flight -= jobs.len() as u64;
            for job in jobs {
                coord.apply(tree, no_server_left(job.dir, &reason));
            }
        };
        while in_flight > 0 {
            match rx.recv_timeout(coord.wait()) {
                Ok(outcome) if outcome.handback == Handback::ServerDown => {
                    // its server went down while it was tried: another server lists it, or none is left
                    let reason = {
                        let b = locks::lock(&breaker);
                        b.all_down().then(|| b.reason())
                    };
                    match reason {
                        Some(reason) => {
                            in_flight -= 1;
                            coord.apply(&mut tree, no_server_left(outcome.dir, &reason));
                        }
                        None => {
                            let job = Job::new(outcome.dir, tree.dir_path(outcome.dir));
                            locks::lock(&queue).jobs.push_front(job);
                            wake.notify_all();
                        }
                    }
                }
                Ok(Outcome { dir, attempts, handback: Handback::Elsewhere(server), .. }) => {
                    let job = Job { dir, lfn: tree.dir_path(dir), attempts, avoid: Some(server) };
                    locks::lock(&queue).jobs.push_front(job);
                    wake.notify_all();
                }
                Ok(Outcome { result: Err(e), .. }) if e.auth => {
                    close();
                    return Err(EngineError::Auth(e.message));
                }
                Ok(outcome) => {
                    in_flight -= 1;
                    let new_jobs = coord.apply(&mut tree, outcome);
                    if !new_jobs.is_empty() {
                        in_flight += new_jobs.len() as u64;
                        let n = new_jobs.len();
                        locks::lock(&queue).jobs.extend(new_jobs);
                        // wake as many workers as there is work for, not all of them
                        for _ in 0..n.min(threads) {
                            wake.notify_one();
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // every worker has ended: a cancel, or every server is down
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if !opts.cancel.load(Ordering::Relaxed) {
                        unlist_queued(&mut tree, &mut coord, &mut in_flight);
                    }
                    if in_flight > 0 {
                        coord.tick(&tree, in_flight)?;
                        close();
                        return Err(EngineError::Cancelled(None));
                    }
                }
            }
            unlist_queued(&mut tree, &mut coord, &mut in_flight);
            if let Err(e) = coord.tick(&tree, in_flight) {
                close();
                return Err(e);
            }
        }
        close();
        coord.finish();
        tree.shrink_to_fit();
        Ok(tree)
    })
}

/// The outcome of a directory left unlisted because no server answers.
fn no_server_left(dir: DirId, reason: &str) -> Outcome {
    Outcome {
        dir,
        listed_at: dc_core::now(),
        attempts: 0,
        handback: Handback::No,
        result: Err(ListError::no_answer(reason)),
    }
}

/// What the coordinator does besides adding results to the tree, shared by
/// both ways of running listers: cancel, progress, checkpoints.
struct Coordinator<'a> {
    opts: &'a EngineOptions,
    on_progress: &'a mut dyn FnMut(&Progress),
    progress: Progress,
    start: Instant,
    last_progress: Instant,
    last_checkpoint: Instant,
    checkpoint_cost: Duration,
}

impl<'a> Coordinator<'a> {
    fn new(opts: &'a EngineOptions, tree: &Tree, on_progress: &'a mut dyn FnMut(&Progress)) -> Coordinator<'a> {
        let now = Instant::now();
        Coordinator {
            opts,
            on_progress,
            progress: Progress { files: tree.file_count() as u64, ..Progress::default() },
            start: now,
            last_progress: now,
            last_checkpoint: now,
            checkpoint_cost: Duration::ZERO,
        }
    }

    /// How long to wait for the next result before looking at the clock.
    fn wait(&self) -> Duration {
        self.opts.progress_every.min(Duration::from_millis(250))
    }

    /// Add a finished directory to the tree; return the subdirectories to list.
    fn apply(&mut self, tree: &mut Tree, outcome: Outcome) -> Vec<Job> {
        self.progress.dirs_done += 1;
        self.progress.retries += outcome.attempts.saturating_sub(1) as u64;
        apply(tree, outcome, &mut self.progress)
    }

    /// Called after each result and each wait: an error when the listing
    /// was cancelled (with the checkpoint saved), and progress and
    /// checkpoints when they are due.
    fn tick(&mut self, tree: &Tree, in_flight: u64) -> Result<(), EngineError> {
        let opts = self.opts;
        if opts.cancel.load(Ordering::Relaxed) {
            let note = &opts.checkpoint_note;
            let saved = opts.checkpoint.as_ref().and_then(|p| save_tree_noted(tree, note, p).ok().map(|_| p.clone()));
            return Err(EngineError::Cancelled(saved));
        }
        if self.last_progress.elapsed() >= opts.progress_every {
            self.last_progress = Instant::now();
            self.progress.dirs_queued = in_flight;
            fill_rates(&mut self.progress, self.start);
            (self.on_progress)(&self.progress);
        }
        if let Some(path) = &opts.checkpoint {
            // a checkpoint of a big tree takes a while: keep it under a tenth of the time
            if self.last_checkpoint.elapsed() >= opts.checkpoint_every.max(self.checkpoint_cost * 10) {
                let t0 = Instant::now();
                save_tree_noted(tree, &opts.checkpoint_note, path)?;
                self.checkpoint_cost = t0.elapsed();
                self.last_checkpoint = Instant::now();
            }
        }
        Ok(())
    }

    /// The last progress event, with the totals.
    fn finish(&mut self) {
        self.progress.dirs_queued = 0;
        self.progress.done = true;
        fill_rates(&mut self.progress, self.start);
        (self.on_progress)(&self.progress);
    }
}

/// A request of the asynchronous mode that came back.
struct AsyncOutcome {
    conn: usize,
    /// The connection's generation when the request was sent.
    generation: u32,
    job: Job,
    attempts: u32,
    listed_at: i64,
    result: Result<DirListing, ListError>,
}

/// The engine for an [`AsyncDirLister`]: the coordinator keeps up to
/// `depth` requests in flight on each connection, fills free slots from a
/// FIFO of directories (the same breadth-first order as the workers), and
/// retries a failed directory on a new connection.
fn run_async(
    lister: &dyn AsyncDirLister,
    mut tree: Tree,
    opts: &EngineOptions,
    mut breaker: Breaker,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Tree, EngineError> {
    let conns = lister.connections().max(1);
    let depth = lister.depth().max(1);
    let mut waiting: VecDeque<Job> = tree.pending().into_iter().map(|d| Job::new(d, tree.dir_path(d))).collect();
    let mut busy = vec![0usize; conns];
    // a failure reconnects its connection once: requests of an older generation do not again
    let mut generations = vec![0u32; conns];
    let mut coord = Coordinator::new(opts, &tree, on_progress);
    let (tx, rx) = mpsc::channel::<AsyncOutcome>();
    let dispatch = |waiting: &mut VecDeque<Job>, busy: &mut [usize], generations: &[u32], breaker: &Breaker| {
        while let Some(next) = waiting.front() {
            if opts.cancel.load(Ordering::Relaxed) {
                break;
            }
            // the least busy connection to a server that is not down, the lowest-numbered among equals,
            // and not to the server that gave no answer to the last attempt while another still answers
            let live = |c: usize| !breaker.conn_down(c);
            let elsewhere = |c: usize| live(c) && Some(breaker.server_of(c)) != next.avoid;
            let pick = |ok: &dyn Fn(usize) -> bool| {
                busy.iter().enumerate().filter(|&(c, _)| ok(c)).min_by_key(|&(_, &b)| b).map(|(c, &b)| (c, b))
            };
            let Some((conn, load)) = pick(&elsewhere).or_else(|| pick(&live)) else {
                break;
            };
            if load >= depth {
                break;
            }
            let job = waiting.pop_front().expect("a waiting directory");
            let attempts = job.attempts;
            busy[conn] += 1;
            let tx = tx.clone();
            let generation = generations[conn];
            let listed_at = dc_core::now();
            let lfn = job.lfn.clone();
            lister.start(
                conn,
                &lfn,
                opts.timeout,
                Box::new(move |result| {
                    // the coordinator may be gone (cancelled): then nobody wants the answer
                    let _ = tx.send(AsyncOutcome { conn, generation, job, attempts: attempts + 1, listed_at, result });
                }),
            );
        }
    };
    dispatch(&mut waiting, &mut busy, &generations, &breaker);
    let in_flight = |waiting: &VecDeque<Job>, busy: &[usize]| waiting.len() as u64 + busy.iter().sum::<usize>() as u64;
    while in_flight(&waiting, &busy) > 0 {
        match rx.recv_timeout(coord.wait()) {
            // refused credentials: no other directory would be listed either (requests in flight
            // end unheard: their senders find the channel gone)
            Ok(AsyncOutcome { result: Err(e), .. }) if e.auth => return Err(EngineError::Auth(e.message)),
            Ok(o) => {
                busy[o.conn] -= 1;
                match &o.result {
                    Err(e) if e.no_answer => breaker.no_answer(o.conn),
                    _ => breaker.answered(o.conn),
                }
                breaker.check();
                match o.result {
                    // cancelled: the directory stays pending for a resumed listing, not unlisted
                    Err(e) if e.retryable && opts.cancel.load(Ordering::Relaxed) => {
                        waiting.push_front(Job { attempts: o.attempts - 1, ..o.job });
                    }
                    // its server is down: another server lists it from the start, or it is unlisted below
                    Err(e) if e.retryable && breaker.conn_down(o.conn) => {
                        waiting.push_front(Job::new(o.job.dir, o.job.lfn));
                    }
                    Err(e) if e.retryable && o.attempts <= opts.retries => {
                        if o.generation == generations[o.conn] {
                            generations[o.conn] += 1;
                            lister.reconnect(o.conn);
                        }
                        let avoid = e.no_answer.then(|| breaker.server_of(o.conn));
                        waiting.push_front(Job { attempts: o.attempts, avoid, ..o.job });
                    }
                    result => {
                        let outcome = Outcome {
                            dir: o.job.dir,
                            listed_at: o.listed_at,
                            attempts: o.attempts,
                            handback: Handback::No,
                            result,
                        };
                        let jobs = coord.apply(&mut tree, outcome);
                        waiting.extend(jobs);
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                breaker.check();
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the coordinator holds a sender itself"),
        }
        // with every server down, what waits is unlisted at once; requests in flight end by their timeout
        if breaker.all_down() && !opts.cancel.load(Ordering::Relaxed) {
            let reason = breaker.reason();
            for job in waiting.drain(..) {
                coord.apply(&mut tree, no_server_left(job.dir, &reason));
            }
        }
        dispatch(&mut waiting, &mut busy, &generations, &breaker);
        coord.tick(&tree, in_flight(&waiting, &busy))?;
    }
    coord.finish();
    tree.shrink_to_fit();
    Ok(tree)
}

fn fill_rates(p: &mut Progress, start: Instant) {
    p.elapsed_secs = start.elapsed().as_secs_f64();
    p.files_per_sec = if p.elapsed_secs > 0.0 { p.files as f64 / p.elapsed_secs } else { 0.0 };
}

/// Add one directory's outcome to the tree; return the subdirectories to list.
fn apply(tree: &mut Tree, outcome: Outcome, progress: &mut Progress) -> Vec<Job> {
    let d = outcome.dir;
    match outcome.result {
        Err(e) => {
            let reason = if outcome.attempts > 1 {
                format!("{} (after {} attempts)", e.message, outcome.attempts)
            } else {
                e.message
            };
            tree.set_unlisted(d, outcome.listed_at, &reason);
            progress.unlisted += 1;
            Vec::new()
        }
        Ok(listing) => {
            tree.set_listed(d, outcome.listed_at);
            if let Some(m) = listing.mtime {
                tree.set_dir_mtime(d, m);
            }
            let mut jobs = Vec::new();
            let base = tree.dir_path(d);
            for entry in listing.entries {
                if entry.name.is_empty() || entry.name == b"." || entry.name == b".." || entry.name.contains(&b'/') {
                    continue;
                }
                if entry.is_dir {
                    let sub = tree.add_dir(d, &entry.name, DirState::Pending);
                    tree.set_dir_mtime(sub, entry.mtime);
                    if tree.state(sub) == DirState::Pending {
                        jobs.push(Job::new(sub, dc_core::tree::join_lfn(&base, &entry.name)));
                    }
                } else {
                    progress.files += 1;
                    if entry.size != dc_core::UNKNOWN_SIZE {
                        progress.bytes += entry.size;
                    }
                    tree.add_file(d, &entry.name, entry.size, entry.mtime);
                }
            }
            jobs
        }
    }
}

fn worker_loop(
    lister: &dyn DirLister,
    worker: usize,
    queue: &Mutex<Queue>,
    wake: &Condvar,
    breaker: &Mutex<Breaker>,
    tx: mpsc::Sender<Outcome>,
    opts: &EngineOptions,
) {
    let server = locks::lock(breaker).server_of(worker);
    loop {
        let mut job = {
            let mut q = locks::lock(queue);
            loop {
                if q.closed {
                    return;
                }
                let (down, another_live) = {
                    let b = locks::lock(breaker);
                    (b.conn_down(worker), b.another_live(server))
                };
                // a worker whose server is down takes no more work; one woken for work passes it on
                if down {
                    wake.notify_all();
                    return;
                }
                // not a directory this server gave no answer for, while another server answers
                if let Some(i) = q.jobs.iter().position(|j| j.avoid != Some(server) || !another_live) {
                    break q.jobs.remove(i).expect("a queued directory");
                }
                // woken for new work or a server gone down; the timeout is a safety net
                q = locks::wait_timeout(wake, q, Duration::from_millis(250));
            }
        };
        let mut handback = Handback::No;
        let result = loop {
            job.attempts += 1;
            let listed_at = dc_core::now();
            let result = lister.list_dir(worker, &job.lfn, opts.timeout);
            let (down, another_live) = {
                let mut b = locks::lock(breaker);
                match &result {
                    Err(e) if e.no_answer => b.no_answer(worker),
                    _ => b.answered(worker),
                }
                b.check();
                (b.conn_down(worker), b.another_live(server))
            };
            match result {
                Ok(listing) => break (listed_at, Ok(listing)),
                // cancelled: the directory stays pending for a resumed listing, not unlisted
                Err(e) if e.retryable && opts.cancel.load(Ordering::Relaxed) => return,
                // the server is down: the coordinator gives the directory to another or unlists it
                Err(e) if e.retryable && down => {
                    handback = Handback::ServerDown;
                    break (listed_at, Err(e));
                }
                // no answer: the next attempt goes to another server still answering
                Err(e) if e.no_answer && job.attempts <= opts.retries && another_live => {
                    lister.reconnect(worker);
                    handback = Handback::Elsewhere(server);
                    break (listed_at, Err(e));
                }
                Err(e) if e.retryable && job.attempts <= opts.retries => lister.reconnect(worker),
                Err(e) => break (listed_at, Err(e)),
            }
        };
        let outcome = Outcome { dir: job.dir, listed_at: result.0, attempts: job.attempts, handback, result: result.1 };
        if tx.send(outcome).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicU32;

    /// A lister over an in-memory map, failing where told to.
    struct MapLister {
        dirs: HashMap<Vec<u8>, Vec<DirEntry>>,
        fail_always: Vec<Vec<u8>>,
        fail_once: Mutex<Vec<Vec<u8>>>,
        /// Directories whose listing the server refuses for the credentials.
        refused: Vec<Vec<u8>>,
        calls: AtomicU32,
        /// Set when a listing fails in a way that may pass (a cancel arriving during a failure).
        cancel_on_failure: Option<Arc<AtomicBool>>,
    }

    fn file(name: &str, size: u64) -> DirEntry {
        DirEntry { name: name.into(), is_dir: false, size, mtime: 10 }
    }

    fn dir(name: &str) -> DirEntry {
        DirEntry { name: name.into(), is_dir: true, size: 0, mtime: 10 }
    }

    impl DirLister for MapLister {
        fn list_dir(&self, _w: usize, lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.refused.iter().any(|f| f == lfn) {
                return Err(ListError::auth_failed("authentication failed at root://door: [FATAL] Auth failed"));
            }
            if self.fail_always.iter().any(|f| f == lfn) {
                return Err(ListError::retryable("Operation expired"));
            }
            {
                let mut once = self.fail_once.lock().unwrap();
                if let Some(p) = once.iter().position(|f| f == lfn) {
                    once.remove(p);
                    if let Some(cancel) = &self.cancel_on_failure {
                        // let the coordinator catch up and wait for this answer first
                        std::thread::sleep(Duration::from_millis(50));
                        cancel.store(true, Ordering::Relaxed);
                    }
                    return Err(ListError::retryable("socket error"));
                }
            }
            match self.dirs.get(lfn) {
                Some(e) => Ok(DirListing { mtime: Some(5), entries: e.clone() }),
                None => Err(ListError::fatal("No such file or directory")),
            }
        }
    }

    fn site() -> MapLister {
        let mut dirs = HashMap::new();
        dirs.insert(b"/store".to_vec(), vec![dir("mc"), dir("data"), dir("bad"), file("top", 1)]);
        let mc: Vec<DirEntry> = (0..50).map(|i| dir(&format!("d{i}"))).collect();
        dirs.insert(b"/store/mc".to_vec(), mc);
        for i in 0..50 {
            let files = (0..20).map(|j| file(&format!("f{j}.root"), (i * 100 + j) as u64)).collect();
            dirs.insert(format!("/store/mc/d{i}").into_bytes(), files);
        }
        dirs.insert(b"/store/data".to_vec(), vec![file("x", 7), dir("empty")]);
        dirs.insert(b"/store/data/empty".to_vec(), vec![]);
        dirs.insert(b"/store/bad".to_vec(), vec![file("never", 1)]);
        MapLister {
            dirs,
            fail_always: vec![b"/store/bad".to_vec()],
            fail_once: Mutex::new(vec![b"/store/mc/d7".to_vec(), b"/store/mc/d9".to_vec()]),
            refused: Vec::new(),
            calls: AtomicU32::new(0),
            cancel_on_failure: None,
        }
    }

    fn opts(threads: usize) -> EngineOptions {
        EngineOptions { threads, retries: 2, ..EngineOptions::default() }
    }

    #[test]
    fn same_tree_for_any_number_of_workers() {
        let mut hashes = Vec::new();
        for threads in [1, 3, 16] {
            let t = run(&site(), Tree::new(0), &[b"/store"], &opts(threads), &mut |_| {}).unwrap();
            assert_eq!(t.file_count(), 50 * 20 + 2);
            assert!(t.pending().is_empty());
            hashes.push(t.hash());
        }
        assert!(hashes.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn failures_retry_then_unlisted() {
        let lister = site();
        let t = run(&lister, Tree::new(0), &[b"/store"], &opts(4), &mut |_| {}).unwrap();
        assert_bad_unlisted_and_flaky_listed(&t);
    }

    /// What the site's failures leave: /store/bad unlisted after its three
    /// attempts, the two directories that failed once listed on their retry.
    fn assert_bad_unlisted_and_flaky_listed(t: &Tree) {
        let unlisted = t.unlisted();
        assert_eq!(unlisted.len(), 1);
        assert_eq!(unlisted[0].0, b"/store/bad");
        assert!(unlisted[0].1.contains("after 3 attempts"), "{}", unlisted[0].1);
        assert_eq!(t.files_in(t.find_dir(b"/store/mc/d7").unwrap()).len(), 20);
        assert_eq!(t.files_in(t.find_dir(b"/store/mc/d9").unwrap()).len(), 20);
    }

    #[test]
    fn progress_ends_with_totals() {
        let mut last = Progress::default();
        run(&site(), Tree::new(0), &[b"/store"], &opts(2), &mut |p| last = p.clone()).unwrap();
        assert!(last.done);
        assert_eq!(last.files, 1002);
        assert_eq!(last.unlisted, 1);
        assert_eq!(last.dirs_done, 1 + 3 + 50 + 1);
    }

    #[test]
    fn cancelled_listing_resumes_to_the_same_tree() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.tree");
        let clean = run(&site(), Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();

        struct Stopper<'a> {
            inner: MapLister,
            cancel: &'a AtomicBool,
        }
        impl DirLister for Stopper<'_> {
            fn list_dir(&self, w: usize, lfn: &[u8], t: Duration) -> Result<DirListing, ListError> {
                if self.inner.calls.load(Ordering::Relaxed) >= 20 {
                    self.cancel.store(true, Ordering::Relaxed);
                }
                self.inner.list_dir(w, lfn, t)
            }
        }
        let o = EngineOptions { checkpoint: Some(ck.clone()), ..opts(2) };
        let stopper = Stopper { inner: site(), cancel: &o.cancel };
        let err = run(&stopper, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err().expect("cancelled");
        assert!(matches!(err, EngineError::Cancelled(Some(_))));
        let partial = dc_core::load_tree(&ck).unwrap();
        assert!(!partial.pending().is_empty());
        assert!(partial.file_count() < clean.file_count());
        let resumed = run(&site(), partial, &[b"/store"], &opts(2), &mut |_| {}).unwrap();
        assert_eq!(resumed.hash(), clean.hash());
        assert_eq!(resumed.files_sorted(None), clean.files_sorted(None));
    }

    /// The map lister behind an asynchronous face: each answer comes from a
    /// thread of its own after a pseudo-random pause, so answers overtake
    /// each other; it records the most requests ever in flight on a connection.
    struct AsyncMap {
        inner: Arc<MapLister>,
        conns: usize,
        depth: usize,
        in_flight: Arc<Vec<AtomicU32>>,
        most: Arc<AtomicU32>,
        reconnects: AtomicU32,
        cancel_after: Option<(u32, Arc<AtomicBool>)>,
    }

    impl AsyncMap {
        fn new(conns: usize, depth: usize) -> AsyncMap {
            AsyncMap {
                inner: Arc::new(site()),
                conns,
                depth,
                in_flight: Arc::new((0..conns).map(|_| AtomicU32::new(0)).collect()),
                most: Arc::new(AtomicU32::new(0)),
                reconnects: AtomicU32::new(0),
                cancel_after: None,
            }
        }
    }

    impl DirLister for AsyncMap {
        fn list_dir(&self, _w: usize, _lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
            panic!("the engine must use the asynchronous face")
        }

        fn as_async(&self) -> Option<&dyn AsyncDirLister> {
            Some(self)
        }
    }

    impl AsyncDirLister for AsyncMap {
        fn connections(&self) -> usize {
            self.conns
        }

        fn depth(&self) -> usize {
            self.depth
        }

        fn start(&self, conn: usize, lfn: &[u8], t: Duration, done: ListingDone) {
            let now = self.in_flight[conn].fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            if let Some((after, cancel)) = &self.cancel_after {
                if self.inner.calls.load(Ordering::Relaxed) >= *after {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            let (inner, in_flight, lfn) = (self.inner.clone(), self.in_flight.clone(), lfn.to_vec());
            let pause = (lfn.iter().map(|&b| b as u64).sum::<u64>() * 7919) % 1500;
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_micros(pause));
                let result = inner.list_dir(conn, &lfn, t);
                in_flight[conn].fetch_sub(1, Ordering::SeqCst);
                done(result);
            });
        }

        fn reconnect(&self, _conn: usize) {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn asynchronous_listers_give_the_same_tree_within_their_depth() {
        let want = run(&site(), Tree::new(0), &[b"/store"], &opts(1), &mut |_| {}).unwrap();
        for (conns, depth) in [(1, 1), (1, 8), (3, 4), (16, 2)] {
            let lister = AsyncMap::new(conns, depth);
            let mut last = Progress::default();
            let t = run(&lister, Tree::new(0), &[b"/store"], &opts(conns), &mut |p| last = p.clone()).unwrap();
            assert_eq!(t.hash(), want.hash(), "{conns} connections, depth {depth}");
            assert_eq!(t.files_sorted(None), want.files_sorted(None));
            assert!(t.pending().is_empty());
            assert!(lister.most.load(Ordering::SeqCst) as usize <= depth, "more than {depth} in flight");
            assert!(last.done);
            assert_eq!((last.files, last.unlisted, last.dirs_done), (1002, 1, 1 + 3 + 50 + 1));
        }
    }

    #[test]
    fn asynchronous_failures_retry_on_a_new_connection_then_unlisted() {
        let lister = AsyncMap::new(2, 4);
        let t = run(&lister, Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();
        assert_bad_unlisted_and_flaky_listed(&t);
        // four failed attempts (two of /store/bad, one each of d7 and d9), at most one reconnect each
        let reconnects = lister.reconnects.load(Ordering::Relaxed);
        assert!((1..=4).contains(&reconnects), "{reconnects} reconnects");
    }

    #[test]
    fn refused_credentials_end_the_listing_at_once() {
        // in the middle of the tree: directories listed before it do not make the listing a success
        let refused = || MapLister { refused: vec![b"/store/mc/d3".to_vec()], ..site() };
        let expect_auth = |r: Result<Tree, EngineError>| match r {
            Err(EngineError::Auth(m)) => assert!(m.starts_with("authentication failed at root://door"), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(t) => panic!("listed {} files, {} unlisted", t.file_count(), t.unlisted().len()),
        };
        for threads in [1, 4] {
            let lister = refused();
            expect_auth(run(&lister, Tree::new(0), &[b"/store"], &opts(threads), &mut |_| {}));
        }
        let lister = AsyncMap { inner: Arc::new(refused()), ..AsyncMap::new(2, 4) };
        expect_auth(run(&lister, Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}));
    }

    #[test]
    fn a_cancelled_asynchronous_listing_resumes_to_the_same_tree() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.tree");
        let clean = run(&site(), Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();
        let o = EngineOptions { checkpoint: Some(ck.clone()), checkpoint_note: b"of /store".to_vec(), ..opts(2) };
        let lister = AsyncMap { cancel_after: Some((20, o.cancel.clone())), ..AsyncMap::new(2, 4) };
        let err = run(&lister, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err().expect("cancelled");
        assert!(matches!(err, EngineError::Cancelled(Some(_))));
        let (partial, note) = dc_core::treefile::load_tree_noted(&ck).unwrap();
        assert_eq!(note, b"of /store");
        assert!(!partial.pending().is_empty());
        let resumed = run(&AsyncMap::new(3, 2), partial, &[b"/store"], &opts(3), &mut |_| {}).unwrap();
        assert_eq!(resumed.hash(), clean.hash());
        assert_eq!(resumed.files_sorted(None), clean.files_sorted(None));
    }

    #[test]
    fn a_failure_while_cancelling_leaves_its_directory_pending() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.tree");
        // one request at a time: the coordinator sleeps until the failed answer wakes it
        for asynchronous in [false, true] {
            let o = EngineOptions { checkpoint: Some(ck.clone()), ..opts(1) };
            let inner = MapLister { cancel_on_failure: Some(o.cancel.clone()), ..site() };
            let err = if asynchronous {
                let lister = AsyncMap { inner: Arc::new(inner), ..AsyncMap::new(1, 1) };
                run(&lister, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err()
            } else {
                run(&inner, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err()
            };
            assert!(matches!(err, Some(EngineError::Cancelled(Some(_)))), "{err:?}");
            let partial = dc_core::load_tree(&ck).unwrap();
            // the directory whose failure met the cancel (d7 or d9) is to be listed again on resume
            for name in [&b"/store/mc/d7"[..], b"/store/mc/d9"] {
                let d = partial.find_dir(name).expect("known directory");
                assert_ne!(partial.state(d), DirState::Unlisted, "asynchronous: {asynchronous}");
            }
            assert!(partial.unlisted().iter().all(|u| u.0 != b"/store/mc/d7" && u.0 != b"/store/mc/d9"));
        }
    }

    /// A site of `servers` doors that each see the whole namespace (the
    /// connection or worker `c` goes to door `c % servers`), one of which, or
    /// all, stop answering after `dies_after` listings: their attempts then
    /// fail with no answer after a short pause, as a refused connection does.
    struct Doors {
        dirs: HashMap<Vec<u8>, Vec<DirEntry>>,
        servers: usize,
        /// The door that dies; `None`: all of them.
        dead_door: Option<usize>,
        dies_after: u32,
        conns: usize,
        asynchronous: bool,
        calls: AtomicU32,
        /// Attempts on a dead door.
        calls_dead: AtomicU32,
    }

    impl Doors {
        fn new(
            servers: usize,
            dead_door: Option<usize>,
            dies_after: u32,
            conns: usize,
            asynchronous: bool,
        ) -> Arc<Doors> {
            let mut dirs = HashMap::new();
            dirs.insert(b"/store".to_vec(), vec![dir("mc")]);
            dirs.insert(b"/store/mc".to_vec(), (0..100).map(|i| dir(&format!("d{i}"))).collect());
            for i in 0..100 {
                dirs.insert(format!("/store/mc/d{i}").into_bytes(), (0..4).map(|j| dir(&format!("s{j}"))).collect());
                for j in 0..4 {
                    let files = (0..3).map(|k| file(&format!("f{k}.root"), (i * 100 + j * 10 + k) as u64)).collect();
                    dirs.insert(format!("/store/mc/d{i}/s{j}").into_bytes(), files);
                }
            }
            Arc::new(Doors {
                dirs,
                servers,
                dead_door,
                dies_after,
                conns,
                asynchronous,
                calls: AtomicU32::new(0),
                calls_dead: AtomicU32::new(0),
            })
        }

        fn list(&self, conn: usize, lfn: &[u8]) -> Result<DirListing, ListError> {
            let calls = self.calls.fetch_add(1, Ordering::SeqCst);
            let door = conn % self.servers;
            if calls >= self.dies_after && self.dead_door.is_none_or(|d| d == door) {
                self.calls_dead.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
                return Err(ListError::no_answer(format!("door {door}: Connection refused")));
            }
            std::thread::sleep(Duration::from_micros(200));
            Ok(DirListing { mtime: Some(5), entries: self.dirs[lfn].clone() })
        }
    }

    /// The engine's view of a shared `Doors`.
    struct DoorsLister(Arc<Doors>);

    impl DirLister for DoorsLister {
        fn list_dir(&self, w: usize, lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
            self.0.list(w, lfn)
        }

        fn server_names(&self) -> Vec<String> {
            (0..self.0.servers).map(|d| format!("door{d}:1094")).collect()
        }

        fn server_of(&self, conn: usize) -> usize {
            conn % self.0.servers
        }

        fn as_async(&self) -> Option<&dyn AsyncDirLister> {
            self.0.asynchronous.then_some(self as &dyn AsyncDirLister)
        }
    }

    impl AsyncDirLister for DoorsLister {
        fn connections(&self) -> usize {
            self.0.conns
        }

        fn depth(&self) -> usize {
            2
        }

        fn start(&self, conn: usize, lfn: &[u8], _t: Duration, done: ListingDone) {
            let (doors, lfn) = (self.0.clone(), lfn.to_vec());
            std::thread::spawn(move || done(doors.list(conn, &lfn)));
        }

        fn reconnect(&self, _conn: usize) {}
    }

    fn list_doors(doors: &Arc<Doors>, retries: u32, timeout: Duration) -> Tree {
        let o = EngineOptions { threads: doors.conns, retries, timeout, ..EngineOptions::default() };
        run(&DoorsLister(doors.clone()), Tree::new(0), &[b"/store"], &o, &mut |_| {}).unwrap()
    }

    /// Every file of `clean` is in `tree` or below one of its unlisted directories, and `tree` invents none.
    fn nothing_lost(tree: &Tree, clean: &Tree) {
        let unlisted: Vec<Vec<u8>> = tree.unlisted().into_iter().map(|u| u.0).collect();
        let got: std::collections::HashSet<_> = tree.files_sorted(None).into_iter().collect();
        let want: std::collections::HashSet<_> = clean.files_sorted(None).into_iter().collect();
        assert!(got.is_subset(&want));
        for f in &want {
            let covered =
                got.contains(f) || unlisted.iter().any(|u| f.0.starts_with(u) && f.0.get(u.len()) == Some(&b'/'));
            assert!(covered, "{} lost", String::from_utf8_lossy(&f.0));
        }
    }

    #[test]
    fn a_dead_server_ends_the_listing_after_the_timeout() {
        for asynchronous in [false, true] {
            let clean = list_doors(&Doors::new(1, None, u32::MAX, 4, asynchronous), 1, Duration::from_secs(1));
            assert_eq!(clean.file_count(), 100 * 4 * 3);
            // dies with some 240 directories known and not listed (52 of /store/mc/dN, 192 below the others)
            let doors = Doors::new(1, None, 50, 4, asynchronous);
            let t0 = Instant::now();
            let tree = list_doors(&doors, 1, Duration::from_millis(100));
            let took = t0.elapsed();
            let unlisted = tree.unlisted();
            assert!(unlisted.len() > 200, "asynchronous: {asynchronous}: {} unlisted", unlisted.len());
            let reasons: Vec<&str> = unlisted.iter().map(|u| u.1.as_str()).collect();
            let unreachable = reasons.iter().filter(|r| r.starts_with("server unreachable")).count();
            // the rest failed their two attempts before the server was found down
            assert!(
                reasons.iter().all(|r| r.starts_with("server unreachable: no answer from door0:1094 for 0.1 s")
                    || r.ends_with("Connection refused (after 2 attempts)")),
                "{reasons:?}"
            );
            assert!(unreachable > 150, "asynchronous: {asynchronous}: {unreachable} unreachable");
            eprintln!(
                "asynchronous: {asynchronous}: {unreachable} of {} unlisted as unreachable, {took:?}",
                unlisted.len()
            );
            // without the breaker, every directory would be tried twice: some 500 attempts of 10 ms
            let dead = doors.calls_dead.load(Ordering::SeqCst);
            eprintln!("{dead} attempts on the dead server");
            assert!(dead < 150, "asynchronous: {asynchronous}: {dead} attempts on the dead server");
            assert!(took < Duration::from_secs(2), "asynchronous: {asynchronous}: {took:?}");
            nothing_lost(&tree, &clean);
            assert!(tree.pending().is_empty());
        }
    }

    #[test]
    fn directories_of_a_dead_door_go_to_the_doors_still_answering() {
        for asynchronous in [false, true] {
            let clean = list_doors(&Doors::new(2, None, u32::MAX, 4, asynchronous), 3, Duration::ZERO);
            // door 1 dies early; its connections fail at once, so it is down as soon as both have failed
            let doors = Doors::new(2, Some(1), 30, 4, asynchronous);
            let tree = list_doors(&doors, 3, Duration::ZERO);
            assert_eq!(tree.unlisted(), vec![], "asynchronous: {asynchronous}");
            assert_eq!(tree.hash(), clean.hash());
            assert_eq!(tree.files_sorted(None), clean.files_sorted(None));
            let dead = doors.calls_dead.load(Ordering::SeqCst);
            assert!(dead < 20, "asynchronous: {asynchronous}: {dead} attempts on the dead door");
        }
    }

    #[test]
    fn an_attempt_that_got_no_answer_is_retried_on_another_door() {
        // the breaker never trips within the listing (Timeout 60 s): every directory door 1 fails
        // is retried on door 0, so one retry is enough for all of them
        for asynchronous in [false, true] {
            let clean = list_doors(&Doors::new(2, None, u32::MAX, 4, asynchronous), 1, Duration::from_secs(60));
            let doors = Doors::new(2, Some(1), 30, 4, asynchronous);
            let tree = list_doors(&doors, 1, Duration::from_secs(60));
            assert_eq!(tree.unlisted(), vec![], "asynchronous: {asynchronous}");
            assert_eq!(tree.files_sorted(None), clean.files_sorted(None));
            assert!(doors.calls_dead.load(Ordering::SeqCst) > 0);
        }
    }

    #[test]
    fn a_server_that_answers_errors_is_not_down() {
        // /store/bad fails with a retryable error the server sent, on every connection: never down
        for asynchronous in [false, true] {
            let o = EngineOptions { threads: 3, retries: 2, timeout: Duration::ZERO, ..EngineOptions::default() };
            let t = if asynchronous {
                run(&AsyncMap::new(3, 2), Tree::new(0), &[b"/store"], &o, &mut |_| {}).unwrap()
            } else {
                run(&site(), Tree::new(0), &[b"/store"], &o, &mut |_| {}).unwrap()
            };
            assert_bad_unlisted_and_flaky_listed(&t);
            assert_eq!(t.file_count(), 50 * 20 + 2);
        }
    }
}
