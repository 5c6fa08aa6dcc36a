//! Pipelined mode: for an [`AsyncDirLister`], no worker threads; the
//! coordinator itself keeps several requests in flight on each connection.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use dc_core::Tree;

use super::coordinator::{no_server_left, Coordinator};
use super::types::{
    AsyncDirLister, DirListing, EngineError, EngineOptions, Handback, Job, ListError, Outcome, Progress,
};
use crate::breaker::Breaker;

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
pub(super) fn run(
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
