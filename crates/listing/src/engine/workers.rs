//! Worker-thread mode: for a [`DirLister`] that lists one directory per
//! call, `threads` workers take directories from one shared queue and hand
//! their outcomes to the coordinator through a channel.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use dc_core::{locks, Tree};

use super::coordinator::{no_server_left, Coordinator};
use super::types::{DirLister, EngineError, EngineOptions, Handback, Job, Outcome, Progress};
use crate::breaker::Breaker;

/// The directories waiting for a worker.
struct Queue {
    /// Breadth-first (new subdirectories at the back, retries at the front),
    /// where ripgrep's walker goes depth-first to bound what it holds: here
    /// every directory a listing names is in the tree (`Pending`) at once in
    /// any order, so depth-first would save nothing, while a FIFO spreads
    /// each level's directories over all workers and servers.
    jobs: VecDeque<Job>,
    closed: bool,
}

/// List the pending directories of `tree` with `opts.threads` workers.
// the coordinator's loop in this mode, kept whole so that its cases read side by side
#[allow(clippy::too_many_lines)]
pub(super) fn run(
    lister: &dyn DirLister,
    mut tree: Tree,
    opts: &EngineOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Tree, EngineError> {
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
                    if let Some(reason) = reason {
                        in_flight -= 1;
                        coord.apply(&mut tree, no_server_left(outcome.dir, &reason));
                    } else {
                        let job = Job::new(outcome.dir, tree.dir_path(outcome.dir));
                        locks::lock(&queue).jobs.push_front(job);
                        wake.notify_all();
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

// `tx` is the worker's own sender: dropped when the worker ends, which the coordinator sees
#[allow(clippy::needless_pass_by_value)]
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
