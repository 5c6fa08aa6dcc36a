//! FFI to the XRootD client library (XrdCl) through a small C++ shim, and a
//! safe wrapper over it.
//!
//! A [`FileSystem`] is one client handle on one server. XrdCl keys its TCP
//! channels by `user@host:port`, so handles opened with distinct user names
//! (see [`connection_url`]) use distinct connections and one server works on
//! several requests at once.
//!
//! [`FileSystem::dir_list_async`] sends a `DirList` and returns at once; its
//! callback runs on one of XrdCl's threads when the answer (or the timeout)
//! comes, so that one thread keeps many requests in flight on several
//! connections. The other calls are XrdCl's synchronous ones: each blocks
//! its calling thread until the answer or the timeout.
//!
//! The shim is a shared library of ours ([`SHIM_NAME`]) that links XrdCl;
//! this crate does not link it, but loads the shim on first use (see
//! [`support`]), so that a program built on it runs on hosts without the
//! XRootD client library and only its XRootD calls fail there, with one line
//! that says what to install. Built without the XRootD headers (no
//! `libxrootd-client-dev`), the crate makes no shim; it still compiles and
//! finds a shim given at run time.

use std::fmt;
use std::time::Duration;

use shim::Api;

/// XrdCl's code for "the server answered with an error" ([`Error::server_errno`] holds its kXR_ number).
pub const ERR_ERROR_RESPONSE: u16 = 400;
/// XrdCl's code for a request whose timeout passed.
pub const ERR_OPERATION_EXPIRED: u16 = 206;
/// XrdCl's code for a socket that gave no data in time.
pub const ERR_SOCKET_TIMEOUT: u16 = 103;
/// XrdCl's code for a request cut short (its connection was lost).
pub const ERR_OPERATION_INTERRUPTED: u16 = 207;

/// The server's error numbers (`XProtocol`'s `kXR_*`) the listers tell apart.
pub mod kxr {
    pub const ARG_INVALID: u32 = 3000;
    pub const FS_ERROR: u32 = 3005;
    pub const IO_ERROR: u32 = 3007;
    pub const NOT_AUTHORIZED: u32 = 3010;
    pub const NOT_FOUND: u32 = 3011;
    pub const SERVER_ERROR: u32 = 3012;
    pub const NO_SERVER: u32 = 3014;
    pub const NOT_FILE: u32 = 3015;
    pub const IS_DIRECTORY: u32 = 3016;
    pub const OVERLOADED: u32 = 3024;

    /// Whether a server error number may pass on another attempt: a busy
    /// or failing server, not a refusal (permission denied, no such
    /// directory, a bad argument).
    pub fn is_retryable(code: u32) -> bool {
        matches!(code, SERVER_ERROR | NO_SERVER | OVERLOADED | IO_ERROR | FS_ERROR)
    }
}

/// `StatInfo` flag: the entry is a directory.
pub const FLAG_IS_DIR: u32 = 2;
/// `StatInfo` flag: neither a file nor a directory.
pub const FLAG_OTHER: u32 = 4;

/// A failed request: XrdCl's status and the server's error, if it sent one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// XrdCl's error code (for example [`ERR_ERROR_RESPONSE`], [`ERR_OPERATION_EXPIRED`]).
    pub code: u16,
    /// The server's `kXR_*` error number when `code` is [`ERR_ERROR_RESPONSE`], otherwise an errno or 0.
    pub server_errno: u32,
    /// XrdCl marked the error fatal (retrying the same request cannot help).
    pub fatal: bool,
    pub message: String,
}

impl Error {
    /// The error every call returns when the shim or XrdCl cannot be loaded.
    pub fn unavailable(reason: &str) -> Error {
        Error { code: 0, server_errno: 0, fatal: true, message: reason.to_string() }
    }

    /// Whether the server itself answered no (as opposed to a network or client failure).
    pub fn is_server_error(&self) -> bool {
        self.code == ERR_ERROR_RESPONSE
    }

    /// Whether another attempt, perhaps on a new connection, may succeed: a
    /// timeout, a lost connection, a busy server; not a refusal such as
    /// permission denied or no such directory.
    pub fn is_retryable(&self) -> bool {
        if self.is_server_error() {
            return kxr::is_retryable(self.server_errno);
        }
        // client-side: invalid arguments and addresses are final, the rest is the network
        !matches!(self.code, 0..=99 | 101) || self.code == ERR_OPERATION_EXPIRED
    }

    /// Whether the server gave no answer at all: a socket or connection
    /// failure (XrdCl's codes 102 to 108), a timeout or an interrupted
    /// request; not an error the server sent, a failed handshake, login or
    /// TLS session, or a client-side mistake.
    pub fn is_no_answer(&self) -> bool {
        matches!(self.code, 102..=108 | ERR_OPERATION_EXPIRED | ERR_OPERATION_INTERRUPTED)
    }

    /// Whether the request timed out: its timeout passed, or its socket
    /// gave no data in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.code, ERR_OPERATION_EXPIRED | ERR_SOCKET_TIMEOUT)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Stat information of one entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatInfo {
    pub size: u64,
    /// Unix seconds.
    pub mtime: u64,
    /// XrdCl `StatInfo` flags ([`FLAG_IS_DIR`], [`FLAG_OTHER`], ...).
    pub flags: u32,
}

impl StatInfo {
    pub fn is_dir(&self) -> bool {
        self.flags & FLAG_IS_DIR != 0
    }
}

/// One server location found by [`FileSystem::locate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// `host:port`.
    pub address: String,
    /// A manager (redirector) rather than a data server.
    pub manager: bool,
}

/// The URL of connection number `n` to `host:port`: a distinct user name per
/// connection, so XrdCl opens a distinct TCP channel for each.
pub fn connection_url(host_port: &str, user_prefix: &str, n: usize) -> String {
    format!("root://{user_prefix}{n}@{host_port}//")
}

/// XrdCl takes whole seconds (0 = its default); round up and keep at least one.
pub fn timeout_secs(timeout: Duration) -> u16 {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    secs.clamp(1, u64::from(u16::MAX)) as u16
}

mod shim;

pub use shim::{support, SHIM_ENV, SHIM_NAME};

/// Whether the native XRootD client can be used: our shim over XrdCl and
/// the XRootD client library it links were found and loaded (on first use).
pub fn available() -> bool {
    shim::api().is_ok()
}

/// Copy a listing out of the shim and free it.
///
/// # Safety
/// `list` is null or a listing made by the shim that nothing else uses or frees.
unsafe fn take_listing(api: &Api, list: *mut shim::DirList) -> Result<DirectoryList, Error> {
    if list.is_null() {
        return Err(Error {
            code: 0,
            server_errno: 0,
            fatal: false,
            message: "the server sent no directory listing".into(),
        });
    }
    // SAFETY: `list` is a live listing until dirlist_free below
    let n = unsafe { (api.dirlist_len)(list) };
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let mut e = shim::Entry::new();
        // SAFETY: i < n; `e` is a valid out parameter
        unsafe { (api.dirlist_entry)(list, i, &raw mut e) };
        // SAFETY: the name points into the live listing, `name_len` bytes long
        let name = unsafe { std::slice::from_raw_parts(e.name.cast::<u8>(), e.name_len) }.to_vec();
        let stat = (e.has_stat != 0).then_some(StatInfo { size: e.size, mtime: e.mtime, flags: e.flags });
        entries.push((name, stat));
    }
    // SAFETY: allocated by the shim, freed once; no borrow of it is left
    unsafe { (api.dirlist_free)(list) };
    Ok(DirectoryList { entries })
}

/// What an asynchronous `DirList` calls with its answer.
pub type DirListCallback = Box<dyn FnOnce(Result<DirectoryList, Error>) + Send>;

/// The shim's completion callback: turns the answer into a Rust result and calls the boxed closure.
unsafe extern "C" fn dir_list_done(ctx: *mut std::ffi::c_void, list: *mut shim::DirList, st: *mut shim::Status) {
    // SAFETY: `ctx` is the Box<DirListCallback> leaked by dir_list_async, given back exactly once
    let done = unsafe { Box::from_raw(ctx.cast::<DirListCallback>()) };
    // SAFETY: `st` points to the shim's status for this call; its message is ours to free
    let status = unsafe { std::ptr::replace(st, shim::Status::new()) };
    // the shim calls back only once it is loaded
    let result = match shim::api() {
        Err(e) => Err(e),
        Ok(api) => match status.into_result(api) {
            // SAFETY: the listing of this call, handed over to us
            Ok(()) => unsafe { take_listing(api, list) },
            Err(e) => {
                if !list.is_null() {
                    // SAFETY: as above; not used after
                    unsafe { (api.dirlist_free)(list) };
                }
                Err(e)
            }
        },
    };
    // a panic must not unwind into XrdCl's thread
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || done(result))).is_err() {
        std::process::abort();
    }
}

/// One client handle on one server (one TCP channel per distinct `user@host:port`).
pub struct FileSystem {
    api: &'static Api,
    fs: *mut shim::Fs,
    url: String,
}

// SAFETY: XrdCl::FileSystem is safe to use from any thread (its requests go
// through the thread-safe PostMaster); the handle is only freed in Drop.
unsafe impl Send for FileSystem {}
// SAFETY: as above: concurrent requests on one FileSystem are allowed by XrdCl.
unsafe impl Sync for FileSystem {}

/// A directory listing: entry names with their stat information when the
/// server gave it.
#[derive(Clone, Debug, Default)]
pub struct DirectoryList {
    pub entries: Vec<(Vec<u8>, Option<StatInfo>)>,
}

impl FileSystem {
    /// A handle on the server named by `url` (`root://[user@]host[:port]//`).
    /// No connection is made until the first request. Loads the shim and
    /// the XRootD client library on first use; fails with
    /// the reason [`support`] gives when they cannot be loaded.
    pub fn new(url: &str) -> Result<FileSystem, Error> {
        let api = shim::api()?;
        let c = std::ffi::CString::new(url).map_err(|_| Error {
            code: 0,
            server_errno: 0,
            fatal: true,
            message: format!("{url}: a URL with a NUL byte"),
        })?;
        let mut st = shim::Status::new();
        // SAFETY: `c` is NUL-terminated; `st` is a valid out parameter
        let fs = unsafe { (api.fs_new)(c.as_ptr(), &raw mut st) };
        st.into_result(api)?;
        if fs.is_null() {
            return Err(Error { code: 0, server_errno: 0, fatal: true, message: format!("{url}: no handle") });
        }
        Ok(FileSystem { api, fs, url: url.to_string() })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// List the directory `path` (with stat information of each entry when
    /// `with_stat`), giving up after `timeout`.
    pub fn dir_list(&self, path: &[u8], with_stat: bool, timeout: Duration) -> Result<DirectoryList, Error> {
        let mut st = shim::Status::new();
        let mut list: *mut shim::DirList = std::ptr::null_mut();
        // SAFETY: `self.fs` is a live handle; `path` is valid for its length; out parameters are valid
        unsafe {
            (self.api.dirlist)(
                self.fs,
                path.as_ptr().cast(),
                path.len(),
                timeout_secs(timeout),
                i32::from(with_stat),
                &raw mut list,
                &raw mut st,
            )
        };
        st.into_result(self.api)?;
        // SAFETY: a listing from dirlist (or null), not used after this
        unsafe { take_listing(self.api, list) }
    }

    /// Send a `DirList` of `path` and return at once; `done` is called exactly
    /// once with the answer, the error or the timeout: from one of XrdCl's
    /// threads, or from this one when the request could not be sent. `done`
    /// must not make synchronous XrdCl calls (they would wait for the
    /// threads that run it).
    pub fn dir_list_async(&self, path: &[u8], with_stat: bool, timeout: Duration, done: DirListCallback) {
        let ctx = Box::into_raw(Box::new(done));
        let mut st = shim::Status::new();
        // SAFETY: live handle and path slice; `ctx` is given back to dir_list_done exactly once when
        // the shim accepted the request (return 0), and is ours again when it did not
        let rc = unsafe {
            (self.api.dirlist_async)(
                self.fs,
                path.as_ptr().cast(),
                path.len(),
                timeout_secs(timeout),
                i32::from(with_stat),
                dir_list_done,
                ctx.cast(),
                &raw mut st,
            )
        };
        if rc != 0 {
            // SAFETY: not sent: the shim will never call back, so the box is still ours
            let done = unsafe { Box::from_raw(ctx) };
            let err = st.into_result(self.api).err().unwrap_or_else(|| Error {
                code: 0,
                server_errno: 0,
                fatal: false,
                message: "the request could not be sent".into(),
            });
            done(Err(err));
        }
    }

    /// Stat information of `path`.
    pub fn stat(&self, path: &[u8], timeout: Duration) -> Result<StatInfo, Error> {
        let mut st = shim::Status::new();
        let mut e = shim::Entry::new();
        // SAFETY: live handle, valid path slice and out parameters
        unsafe {
            (self.api.stat)(self.fs, path.as_ptr().cast(), path.len(), timeout_secs(timeout), &raw mut e, &raw mut st)
        };
        st.into_result(self.api)?;
        Ok(StatInfo { size: e.size, mtime: e.mtime, flags: e.flags })
    }

    /// The servers that hold `path` (behind a redirector: its data servers).
    pub fn locate(&self, path: &[u8], timeout: Duration) -> Result<Vec<Location>, Error> {
        let mut st = shim::Status::new();
        let mut out: *mut std::os::raw::c_char = std::ptr::null_mut();
        // SAFETY: live handle, valid path slice and out parameters
        unsafe {
            (self.api.locate)(
                self.fs,
                path.as_ptr().cast(),
                path.len(),
                timeout_secs(timeout),
                &raw mut out,
                &raw mut st,
            )
        };
        let text = if out.is_null() {
            String::new()
        } else {
            // SAFETY: NUL-terminated string from the shim, freed once right after
            let t = unsafe { std::ffi::CStr::from_ptr(out) }.to_string_lossy().into_owned();
            // SAFETY: allocated by the shim's dup_string
            unsafe { (self.api.string_free)(out) };
            t
        };
        st.into_result(self.api)?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let (kind, address) = l.split_once(' ')?;
                Some(Location { address: address.to_string(), manager: kind == "M" })
            })
            .collect())
    }
}

impl Drop for FileSystem {
    fn drop(&mut self) {
        // SAFETY: the handle came from fs_new and is freed once
        unsafe { (self.api.fs_free)(self.fs) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_servers_are_retried_refusals_are_not() {
        for code in [kxr::OVERLOADED, kxr::SERVER_ERROR, kxr::NO_SERVER, kxr::IO_ERROR, kxr::FS_ERROR] {
            assert!(kxr::is_retryable(code), "{code}");
            let e = Error { code: ERR_ERROR_RESPONSE, server_errno: code, fatal: false, message: String::new() };
            assert!(e.is_retryable(), "{code}");
        }
        for code in [kxr::NOT_FOUND, kxr::NOT_AUTHORIZED, kxr::ARG_INVALID, kxr::NOT_FILE, kxr::IS_DIRECTORY] {
            assert!(!kxr::is_retryable(code), "{code}");
            let e = Error { code: ERR_ERROR_RESPONSE, server_errno: code, fatal: false, message: String::new() };
            assert!(!e.is_retryable(), "{code}");
        }
    }

    #[test]
    fn timeouts_round_up_to_whole_seconds() {
        assert_eq!(timeout_secs(Duration::from_millis(1)), 1);
        assert_eq!(timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(timeout_secs(Duration::from_secs(3)), 3);
        assert_eq!(timeout_secs(Duration::from_secs(1 << 20)), u16::MAX);
    }

    #[test]
    fn refusals_are_final_and_network_failures_retryable() {
        let server =
            |errno| Error { code: ERR_ERROR_RESPONSE, server_errno: errno, fatal: true, message: String::new() };
        assert!(!server(kxr::NOT_AUTHORIZED).is_retryable());
        assert!(!server(kxr::NOT_FOUND).is_retryable());
        assert!(server(kxr::OVERLOADED).is_retryable());
        let client = |code| Error { code, server_errno: 0, fatal: false, message: String::new() };
        assert!(client(ERR_OPERATION_EXPIRED).is_retryable());
        assert!(client(108).is_retryable()); // connection error
        assert!(!client(101).is_retryable()); // invalid address
        assert!(client(ERR_OPERATION_EXPIRED).is_no_answer() && client(108).is_no_answer());
        assert!(!client(101).is_no_answer() && !client(203).is_no_answer()); // invalid address, login failed
        assert!(!server(kxr::OVERLOADED).is_no_answer());
    }

    #[test]
    fn connection_urls_differ_by_user() {
        assert_eq!(connection_url("localhost:1094", "dc", 3), "root://dc3@localhost:1094//");
    }

    #[cfg(xrootd)]
    #[test]
    fn a_refused_connection_is_a_retryable_error() {
        // a port nothing listens on (bound, then closed)
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let fs = FileSystem::new(&format!("root://t@127.0.0.1:{port}//")).unwrap();
        let err = fs.dir_list(b"/", true, Duration::from_secs(3)).unwrap_err();
        assert!(err.is_retryable() && err.is_no_answer(), "{err:?}");
    }

    #[cfg(xrootd)]
    #[test]
    fn an_asynchronous_listing_answers_once_with_the_refusal() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let fs = FileSystem::new(&format!("root://ta@127.0.0.1:{port}//")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..3 {
            let tx = tx.clone();
            fs.dir_list_async(b"/store", true, Duration::from_secs(3), Box::new(move |r| tx.send((i, r)).unwrap()));
        }
        drop(tx);
        // each callback ran exactly once, then the channel closed
        let mut got: Vec<(i32, Result<DirectoryList, Error>)> = rx.iter().collect();
        got.sort_by_key(|g| g.0);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [0, 1, 2]);
        for (_, r) in got {
            let err = r.unwrap_err();
            assert!(err.is_retryable(), "{err:?}");
        }
    }
}
