//! The one progress event of a listing, sent to JavaScript in batches.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// Progress of a listing, sent every `progressIntervalMs` and once at the end.
#[napi(object)]
#[derive(Clone)]
pub struct ListProgress {
    pub dirs_done: f64,
    pub dirs_queued: f64,
    pub files: f64,
    pub bytes: f64,
    pub unlisted: f64,
    pub retries: f64,
    pub elapsed_seconds: f64,
    pub files_per_second: f64,
    pub done: bool,
}

impl From<&dc_listing::Progress> for ListProgress {
    fn from(p: &dc_listing::Progress) -> Self {
        ListProgress {
            dirs_done: p.dirs_done as f64,
            dirs_queued: p.dirs_queued as f64,
            files: p.files as f64,
            bytes: p.bytes as f64,
            unlisted: p.unlisted as f64,
            retries: p.retries as f64,
            elapsed_seconds: p.elapsed_secs,
            files_per_second: p.files_per_sec,
            done: p.done,
        }
    }
}

/// A JavaScript `(event) => void` callable from any thread.
pub type ProgressCallback = ThreadsafeFunction<ListProgress, (), ListProgress, Status, false>;

/// Send without blocking: a slow consumer loses intermediate events, never
/// slows the listing.
pub fn send(callback: Option<&ProgressCallback>, p: &dc_listing::Progress) {
    if let Some(cb) = callback {
        cb.call(ListProgress::from(p), ThreadsafeFunctionCallMode::NonBlocking);
    }
}
