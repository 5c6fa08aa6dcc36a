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
    failure("E_BAD_LISTING", e)
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
