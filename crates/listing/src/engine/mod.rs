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
//!
//! `types` holds what the engine and the listers share; the coordinator
//! (`coordinator`) runs one of two modes: worker threads (`workers`) or
//! pipelined requests (`pipelined`).

mod coordinator;
mod pipelined;
mod types;
mod workers;

#[cfg(test)]
mod tests;

pub use coordinator::run;
pub use types::{
    AsyncDirLister, DirEntry, DirLister, DirListing, EngineError, EngineOptions, ListError, ListingDone, Progress,
};
