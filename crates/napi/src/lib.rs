//! The N-API binding: every `#[napi]` item of dynamo-consistency, one file per
//! binding type. Errors carry a code prefix (`E_...: message`) that the
//! TypeScript boundary turns into error classes.

// napi registers its items only outside `cfg(test)`; the binding has no Rust tests
#![cfg_attr(test, allow(dead_code))]

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
