//! The core of dynamo-consistency: the directory tree of a listing, its
//! stable hashes, the comparison of an inventory with a storage listing,
//! tree files and listing-file parsers. Nothing here knows of N-API.

pub mod atomic;
pub mod compare;
pub mod input;
pub mod listcompare;
pub mod listfile;
pub mod locks;
pub mod tree;
pub mod treefile;

pub use atomic::{write_atomic, write_lines};
pub use compare::{compare, CompareOptions, CompareResult, Entry};
pub use input::{read_input, InputError};
pub use listcompare::{compare_listing_files, ListingComparison, ListingCounts};
pub use listfile::{read_listing, write_listing, ListingError, ListingFormat, Loader};
pub use tree::{DirId, DirState, Tree, UnlistedDir, ROOT, UNKNOWN_SIZE};
pub use treefile::{is_tree_file, load_tree, save_tree, TreeFileError};

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Cases per property test: 512 in `cargo test`, `PROPTEST_CASES` for the
/// long run of the benchmarks (`bench/fuzz.mjs`).
#[cfg(test)]
pub(crate) fn property_cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}
