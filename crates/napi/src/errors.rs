//! Errors crossing to JavaScript: a `Status` and a code the TypeScript side
//! maps to an error class.

use napi::{Error, Status};

/// Bad arguments from the caller.
pub fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("E_INVALID_ARGUMENT: {message}"))
}

/// A failure with one of the codes the TypeScript boundary knows.
pub fn failure(code: &str, message: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("{code}: {message}"))
}

pub fn listing_error(e: dc_core::ListingError) -> Error {
    match e {
        dc_core::ListingError::EmptyTree { .. } => failure("E_BAD_TREE_FILE", e),
        _ => failure("E_BAD_LISTING", e),
    }
}

pub fn tree_file_error(e: dc_core::TreeFileError) -> Error {
    match e {
        dc_core::TreeFileError::Io { .. } => failure("E_IO", e),
        _ => failure("E_BAD_TREE_FILE", e),
    }
}

pub fn io_error(path: &std::path::Path, e: std::io::Error) -> Error {
    failure("E_IO", format!("{}: {e}", path.display()))
}

/// Run the body of a native task so that a panic in it (a bug, or input
/// no check foresaw) becomes an `E_INTERNAL` error for its promise. A panic
/// unwinding out of a task's `compute` would cross N-API's `extern "C"`
/// boundary, where Rust aborts the whole Node process; `#[napi(catch_unwind)]`
/// guards synchronous functions only.
pub fn no_panic<T>(what: &str, body: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            Err(failure("E_INTERNAL", format!("{what} failed on an internal error: {message}")))
        }
    }
}
