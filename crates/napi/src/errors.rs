//! Errors crossing to JavaScript as data: a [`Failure`] becomes a JS `Error`
//! whose `message` is the plain message and which carries `code` and, for an
//! input at fault, `file` and `line` properties. The TypeScript boundary
//! (`src/native.ts`) reads those properties to pick an error class.

use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Status};

/// A failure of a native call: what JavaScript receives as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `E_...`, one of the codes the TypeScript boundary knows.
    pub code: &'static str,
    pub message: String,
    /// The input file at fault.
    pub file: Option<String>,
    /// The line of `file` at fault (1-based).
    pub line: Option<u32>,
}

/// The result of native work: a value, or a failure for JavaScript.
pub type Outcome<T> = std::result::Result<T, Failure>;

impl Failure {
    pub fn new(code: &'static str, message: impl std::fmt::Display) -> Failure {
        Failure { code, message: message.to_string(), file: None, line: None }
    }

    /// The same failure, about `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Failure {
        self.file = Some(file.into());
        self
    }

    /// The JS error object, as an error napi-rs throws (or rejects with) as it is.
    pub fn into_error(self, env: Env) -> napi::Error {
        let built = (|| -> napi::Result<napi::Error> {
            let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, self.message.clone()))?;
            obj.set_named_property("code", self.code)?;
            if let Some(file) = &self.file {
                obj.set_named_property("file", file.as_str())?;
            }
            if let Some(line) = self.line {
                obj.set_named_property("line", line)?;
            }
            Ok(napi::Error::from(obj.to_unknown()))
        })();
        // an environment that cannot build an object (it is tearing down) gets the message alone
        built.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, self.message))
    }
}

/// An [`Outcome`] handed to JavaScript: its failure as a JS error.
pub trait OrThrow<T> {
    fn or_throw(self, env: Env) -> napi::Result<T>;
}

impl<T> OrThrow<T> for Outcome<T> {
    fn or_throw(self, env: Env) -> napi::Result<T> {
        self.map_err(|f| f.into_error(env))
    }
}

/// Bad arguments from the caller.
pub fn invalid(message: impl std::fmt::Display) -> Failure {
    Failure::new("E_INVALID_ARGUMENT", message)
}

/// A failure with one of the codes the TypeScript boundary knows.
pub fn failure(code: &'static str, message: impl std::fmt::Display) -> Failure {
    Failure::new(code, message)
}

pub fn listing_error(e: dc_core::ListingError) -> Failure {
    let code = match e {
        dc_core::ListingError::EmptyTree { .. } => "E_BAD_TREE_FILE",
        _ => "E_BAD_LISTING",
    };
    let line = e.line().and_then(|l| u32::try_from(l).ok());
    let file = match &e {
        dc_core::ListingError::Io { path, .. }
        | dc_core::ListingError::BadLine { path, .. }
        | dc_core::ListingError::EmptyTree { path } => path.clone(),
    };
    Failure { line, ..Failure::new(code, e).in_file(file) }
}

pub fn tree_file_error(e: dc_core::TreeFileError) -> Failure {
    use dc_core::TreeFileError as T;
    let file = match &e {
        T::Io { path, .. }
        | T::NotATreeFile { path }
        | T::Empty { path }
        | T::Version { path, .. }
        | T::Truncated { path }
        | T::Corrupt { path, .. } => path.clone(),
    };
    let code = if matches!(e, T::Io { .. }) { "E_IO" } else { "E_BAD_TREE_FILE" };
    Failure::new(code, e).in_file(file)
}

pub fn io_error(path: &std::path::Path, e: std::io::Error) -> Failure {
    failure("E_IO", format!("{}: {e}", path.display()))
}

/// Run the body of a native task so that a panic in it (a bug, or input
/// no check foresaw) becomes an `E_INTERNAL` failure for its promise. A panic
/// unwinding out of a task's `compute` would cross N-API's `extern "C"`
/// boundary, where Rust aborts the whole Node process; `#[napi(catch_unwind)]`
/// guards synchronous functions only.
pub fn no_panic<T>(what: &str, body: impl FnOnce() -> Outcome<T>) -> Outcome<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(std::string::ToString::to_string)
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            Err(failure("E_INTERNAL", format!("{what} failed on an internal error: {message}")))
        }
    }
}
