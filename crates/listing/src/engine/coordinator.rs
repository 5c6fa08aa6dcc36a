//! The coordinator: the calling thread, which owns the tree, adds each
//! result to it and queues the subdirectories it names, whichever mode runs
//! the listers ([`super::workers`] or [`super::pipelined`]); and, shared by
//! both, cancel, progress and checkpoints.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dc_core::treefile::save_tree_noted;
use dc_core::{DirId, DirState, Tree, ROOT};

use super::types::{DirLister, EngineError, EngineOptions, Handback, Job, ListError, Outcome, Progress};
use super::{pipelined, workers};
use crate::breaker::Breaker;

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
        return pipelined::run(async_lister, tree, opts, breaker, on_progress);
    }
    workers::run(lister, tree, opts, on_progress)
}

/// The outcome of a directory left unlisted because no server answers.
pub(super) fn no_server_left(dir: DirId, reason: &str) -> Outcome {
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
pub(super) struct Coordinator<'a> {
    opts: &'a EngineOptions,
    on_progress: &'a mut dyn FnMut(&Progress),
    progress: Progress,
    start: Instant,
    last_progress: Instant,
    last_checkpoint: Instant,
    checkpoint_cost: Duration,
}

impl<'a> Coordinator<'a> {
    pub(super) fn new(
        opts: &'a EngineOptions,
        tree: &Tree,
        on_progress: &'a mut dyn FnMut(&Progress),
    ) -> Coordinator<'a> {
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
    pub(super) fn wait(&self) -> Duration {
        self.opts.progress_every.min(Duration::from_millis(250))
    }

    /// Add a finished directory to the tree; return the subdirectories to list.
    pub(super) fn apply(&mut self, tree: &mut Tree, outcome: Outcome) -> Vec<Job> {
        self.progress.dirs_done += 1;
        self.progress.retries += u64::from(outcome.attempts.saturating_sub(1));
        apply(tree, outcome, &mut self.progress)
    }

    /// Called after each result and each wait: an error when the listing
    /// was cancelled (with the checkpoint saved), and progress and
    /// checkpoints when they are due.
    pub(super) fn tick(&mut self, tree: &Tree, in_flight: u64) -> Result<(), EngineError> {
        let opts = self.opts;
        if opts.cancel.load(Ordering::Relaxed) {
            let note = &opts.checkpoint_note;
            let saved = opts.checkpoint.as_ref().and_then(|p| save_tree_noted(tree, note, p).ok().map(|()| p.clone()));
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
    pub(super) fn finish(&mut self) {
        self.progress.dirs_queued = 0;
        self.progress.done = true;
        fill_rates(&mut self.progress, self.start);
        (self.on_progress)(&self.progress);
    }
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
            tree.set_unlisted(d, outcome.listed_at, &reason, e.timed_out);
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
