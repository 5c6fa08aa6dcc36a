//! The native XRootD lister: `DirList` with stat information through our
//! own binding to the XRootD client library, over several connections with
//! several requests in flight on each (asynchronous `DirList`), or one
//! synchronous request per connection and worker when the depth is 0.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc_core::locks;
pub use xrootd_sys::support;
use xrootd_sys::FileSystem;

use crate::engine::{AsyncDirLister, DirEntry, DirLister, DirListing, ListError, ListingDone};

/// Requests in flight on one connection by default: enough to keep the
/// server busy between answers, few enough that a slow directory does not
/// hold many others back.
pub const DEFAULT_DEPTH: usize = 4;

/// Lists a server over `threads` independent connections, so that the
/// server works on that many directories at once.
pub struct XrootdLister {
    /// This lister's number in the process: its connections are its own.
    id: u32,
    /// The servers the connections go to, in turn.
    doors: Vec<String>,
    /// One handle per connection (and per engine worker in the synchronous
    /// mode); replaced by a new connection on reconnect.
    conns: Vec<Mutex<Arc<FileSystem>>>,
    generations: Vec<AtomicU32>,
    /// Requests in flight per connection; 0 for synchronous requests from the engine's workers.
    depth: usize,
}

/// Listers made so far in this process.
static LISTERS: AtomicU32 = AtomicU32::new(0);

fn connection(host_port: &str, lister: u32, worker: usize, generation: u32) -> Result<FileSystem, xrootd_sys::Error> {
    // XrdCl keys a channel by user@host:port: a distinct user name is a distinct TCP connection.
    // The lister's number keeps a new listing off the channels of an earlier one, which XrdCl
    // keeps for the whole process: after an outage they refuse to connect again for
    // ConnectionWindow seconds, and every request of the new listing would expire.
    FileSystem::new(&xrootd_sys::connection_url(host_port, &format!("l{lister}g{generation}w"), worker))
}

impl XrootdLister {
    /// A lister for the server `host_port` (`host` or `host:port`).
    pub fn new(host_port: &str, threads: usize) -> Result<XrootdLister, String> {
        XrootdLister::over(&[host_port.to_string()], threads)
    }

    /// A lister whose `threads` connections go to `doors` in turn
    /// (connection `i` to door `i % doors.len()`): servers that each see
    /// the whole namespace, such as a site's doors behind its redirector.
    pub fn over(doors: &[String], threads: usize) -> Result<XrootdLister, String> {
        // the shim and the XRootD client library are loaded here, on first use
        xrootd_sys::support().map_err(str::to_string)?;
        if doors.is_empty() {
            return Err("no server to list".to_string());
        }
        let threads = threads.max(1);
        let id = LISTERS.fetch_add(1, Ordering::Relaxed);
        let mut conns = Vec::with_capacity(threads);
        for w in 0..threads {
            let door = &doors[w % doors.len()];
            let fs = connection(door, id, w, 0).map_err(|e| format!("root://{door}: {e}"))?;
            conns.push(Mutex::new(Arc::new(fs)));
        }
        Ok(XrootdLister {
            id,
            doors: doors.to_vec(),
            conns,
            generations: (0..threads).map(|_| AtomicU32::new(0)).collect(),
            depth: DEFAULT_DEPTH,
        })
    }

    /// The same lister with `depth` requests in flight per connection (0:
    /// synchronous requests, one per engine worker and connection).
    #[must_use]
    pub fn with_depth(mut self, depth: usize) -> XrootdLister {
        self.depth = depth;
        self
    }

    /// The server of a connection (or worker).
    fn door_of(&self, conn: usize) -> &str {
        &self.doors[(conn % self.conns.len()) % self.doors.len()]
    }

    fn handle(&self, worker: usize) -> Arc<FileSystem> {
        let slot = &self.conns[worker % self.conns.len()];
        locks::lock(slot).clone()
    }

    /// The data servers (or further redirectors) that `lfn` is found behind.
    pub fn locate(&self, lfn: &[u8], timeout: Duration) -> Result<Vec<xrootd_sys::Location>, ListError> {
        self.handle(0).locate(lfn, timeout).map_err(|e| to_list_error(&self.doors[0], lfn, &e))
    }
}

/// XrdCl's code for a failed authentication (`errAuthFailed`): no
/// credential the server accepts (none, expired, of an untrusted CA, a
/// wrong key), whatever the directory.
const ERR_AUTH_FAILED: u16 = 204;

fn to_list_error(door: &str, lfn: &[u8], e: &xrootd_sys::Error) -> ListError {
    if e.code == ERR_AUTH_FAILED {
        return ListError::auth_failed(format!("authentication failed at root://{door}: {}", e.message.trim()));
    }
    let message = format!("{}: {}", String::from_utf8_lossy(lfn), e.message.trim());
    if e.is_timeout() {
        ListError::timed_out(message)
    } else if e.is_no_answer() {
        ListError::no_answer(message)
    } else if e.is_retryable() {
        ListError::retryable(message)
    } else {
        ListError::fatal(message)
    }
}

/// A directory's listing from the server's answer: entries the server gave
/// no stat information for (one that vanished meanwhile, or a server without
/// `dstat`) are asked for one by one, and those gone by then are left out.
fn listing_from(
    door: &str,
    fs: &FileSystem,
    lfn: &[u8],
    list: xrootd_sys::DirectoryList,
    timeout: Duration,
) -> Result<DirListing, ListError> {
    let mut entries = Vec::with_capacity(list.entries.len());
    for (name, stat) in list.entries {
        let stat = if let Some(s) = stat {
            s
        } else {
            let path = dc_core::tree::join_lfn(lfn, &name);
            match fs.stat(&path, timeout) {
                Ok(s) => s,
                Err(e) if e.is_server_error() && e.server_errno == xrootd_sys::kxr::NOT_FOUND => continue,
                Err(e) => return Err(to_list_error(door, &path, &e)),
            }
        };
        let is_dir = stat.is_dir();
        entries.push(DirEntry { name, is_dir, size: if is_dir { 0 } else { stat.size }, mtime: stat.mtime as i64 });
    }
    Ok(DirListing { mtime: None, entries })
}

impl DirLister for XrootdLister {
    fn list_dir(&self, worker: usize, lfn: &[u8], timeout: Duration) -> Result<DirListing, ListError> {
        let fs = self.handle(worker);
        let door = self.door_of(worker);
        let list = fs.dir_list(lfn, true, timeout).map_err(|e| to_list_error(door, lfn, &e))?;
        listing_from(door, &fs, lfn, list, timeout)
    }

    fn reconnect(&self, worker: usize) {
        AsyncDirLister::reconnect(self, worker);
    }

    fn server_names(&self) -> Vec<String> {
        self.doors.clone()
    }

    fn server_of(&self, conn: usize) -> usize {
        (conn % self.conns.len()) % self.doors.len()
    }

    fn as_async(&self) -> Option<&dyn AsyncDirLister> {
        (self.depth > 0).then_some(self as &dyn AsyncDirLister)
    }
}

impl AsyncDirLister for XrootdLister {
    fn connections(&self) -> usize {
        self.conns.len()
    }

    fn depth(&self) -> usize {
        self.depth.max(1)
    }

    fn start(&self, conn: usize, lfn: &[u8], timeout: Duration, done: ListingDone) {
        let fs = self.handle(conn);
        let door = self.door_of(conn).to_string();
        let dir = lfn.to_vec();
        // the closure keeps the handle alive until the answer, even if the connection is replaced meanwhile
        let keep = fs.clone();
        fs.dir_list_async(
            lfn,
            true,
            timeout,
            Box::new(move |answer| match answer {
                Err(e) => done(Err(to_list_error(&door, &dir, &e))),
                Ok(list) if list.entries.iter().all(|(_, stat)| stat.is_some()) => {
                    done(listing_from(&door, &keep, &dir, list, timeout));
                }
                // entries without stat information need synchronous stats, which must not run on
                // XrdCl's own thread: a thread of their own (rare: a vanished entry, an old server)
                Ok(list) => {
                    std::thread::spawn(move || done(listing_from(&door, &keep, &dir, list, timeout)));
                }
            }),
        );
    }

    fn reconnect(&self, conn: usize) {
        let w = conn % self.conns.len();
        let generation = self.generations[w].fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(fs) = connection(&self.doors[w % self.doors.len()], self.id, w, generation) {
            *locks::lock(&self.conns[w]) = Arc::new(fs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_server::{checks, have_xrootd};

    #[test]
    fn errors_say_whether_they_timed_out() {
        let error = |code: u16, server_errno: u32| {
            let e = xrootd_sys::Error { code, server_errno, fatal: false, message: "m".to_string() };
            to_list_error("door:1094", b"/store", &e)
        };
        for code in [xrootd_sys::ERR_OPERATION_EXPIRED, xrootd_sys::ERR_SOCKET_TIMEOUT] {
            let e = error(code, 0);
            assert!(e.timed_out && e.no_answer && e.retryable, "{code}: {e:?}");
        }
        // a refused or lost connection gave no answer but did not time out
        for code in [108, xrootd_sys::ERR_OPERATION_INTERRUPTED] {
            let e = error(code, 0);
            assert!(!e.timed_out && e.no_answer, "{code}: {e:?}");
        }
        let e = error(xrootd_sys::ERR_ERROR_RESPONSE, xrootd_sys::kxr::NOT_FOUND);
        assert!(!e.timed_out && !e.retryable, "{e:?}");
    }

    fn ready() -> bool {
        if !xrootd_sys::available() {
            eprintln!("SKIPPED: no XRootD support: {}", xrootd_sys::support().err().unwrap_or_default());
            return false;
        }
        have_xrootd()
    }

    fn make(host_port: &str, threads: usize) -> Box<dyn DirLister> {
        Box::new(XrootdLister::new(host_port, threads).unwrap())
    }

    fn make_sync(host_port: &str, threads: usize) -> Box<dyn DirLister> {
        Box::new(XrootdLister::new(host_port, threads).unwrap().with_depth(0))
    }

    #[test]
    fn tree_equals_the_local_walk() {
        if ready() {
            checks::same_as_local(&make, 1, true);
            checks::same_as_local(&make, 8, true);
            checks::same_as_local(&make_sync, 3, true);
        }
    }

    #[test]
    fn a_directory_too_big_for_one_response_is_listed_whole() {
        // 6,000 entries with stat information: the server answers in several partial responses
        if ready() {
            checks::same_as_local_sized(&make, 2, true, 2, 6000);
            checks::same_as_local_sized(&make_sync, 2, true, 2, 6000);
        }
    }

    #[test]
    fn unreadable_directory_is_unlisted() {
        if ready() {
            checks::unreadable_dir_is_unlisted(&make);
            checks::unreadable_dir_is_unlisted(&make_sync);
        }
    }

    #[test]
    fn silent_server_times_out() {
        if xrootd_sys::available() {
            checks::silent_server_times_out(&make);
            checks::silent_server_times_out(&make_sync);
        }
    }

    #[test]
    fn server_restart_loses_nothing() {
        if ready() {
            checks::server_restart_loses_nothing(&make, 4);
        }
    }

    #[test]
    fn stat_and_locate() {
        if ready() {
            let mut server = crate::test_server::XrootdServer::new();
            crate::test_server::make_tree(&server.data, 2, 1);
            server.start();
            let lister = XrootdLister::new(&server.host_port(), 1).unwrap();
            let stat = lister.handle(0).stat(b"/store/data/top file", Duration::from_secs(10)).unwrap();
            assert_eq!((stat.size, stat.is_dir()), (3, false));
            let err = lister.handle(0).stat(b"/store/nothing", Duration::from_secs(10)).unwrap_err();
            assert_eq!((err.is_server_error(), err.server_errno), (true, xrootd_sys::kxr::NOT_FOUND), "{err:?}");
            assert!(!err.is_retryable());
            let found = lister.locate(b"/store/data/top file", Duration::from_secs(10)).unwrap();
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].address.ends_with(&format!(":{}", server.port)), "{found:?}");
        }
    }
}
