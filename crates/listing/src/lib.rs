//! The parallel listing engine and the listers built on it.

pub mod below;
mod breaker;
pub mod engine;
pub mod gfal;
pub mod local;
mod ls_line;
pub mod remote;
pub mod xrdfs;
pub mod xrootd;

#[cfg(test)]
mod test_server;

pub use engine::{
    run, AsyncDirLister, DirEntry, DirLister, DirListing, EngineError, EngineOptions, ListError, Progress,
};
pub use local::LocalLister;
