//! The N-API binding: every `#[napi]` item of dynamo-consistency, one file per
//! binding type. Errors cross as data (`errors::Failure`: a code, a message,
//! and for an input at fault its file and line) that the TypeScript boundary
//! turns into error classes.

// napi registers its items only outside `cfg(test)`; the binding has no Rust tests
#![cfg_attr(test, allow(dead_code))]
// a `#[napi]` function takes its arguments by value: napi-rs converts each
// JavaScript value into an owned Rust one before the call
#![allow(clippy::needless_pass_by_value)]

mod compare;
mod errors;
mod js_lister;
mod list;
mod progress;
mod sqlite;
mod tree;

use napi_derive::napi;

/// The version of the native module.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Whether the native XRootD lister (`--method native`) can be used here.
#[napi(object)]
pub struct XrootdSupport {
    pub available: bool,
    /// The shim over the XRootD client library that was loaded.
    pub path: Option<String>,
    /// Why it cannot be used, and what to install.
    pub reason: Option<String>,
}

/// Whether the native XRootD lister can be used: loads our shim over the
/// XRootD client library (once per process) and says from where, or why not.
#[napi]
pub fn xrootd_support() -> XrootdSupport {
    match dc_listing::xrootd::support() {
        Ok(path) => XrootdSupport { available: true, path: Some(path.display().to_string()), reason: None },
        Err(reason) => XrootdSupport { available: false, path: None, reason: Some(reason.to_string()) },
    }
}
