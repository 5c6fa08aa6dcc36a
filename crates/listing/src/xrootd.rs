//! The native XRootD lister: `DirList` with stat information through our
//! own binding to the XRootD client library, one connection per worker.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use xrootd_sys::FileSystem;

use crate::engine::{DirEntry, DirLister, DirListing, ListError};

/// Lists a server over `threads` independent connections, so that the
/// server works on that many directories at once.
pub struct XrootdLister {
    host_port: String,
    /// One handle per worker; replaced (a new connection) on reconnect.
    // XrdCl's synchronous calls block only the engine worker that made them, and the engine runs one
    // worker thread per connection, so one handle per worker keeps one request in flight per connection.
    conns: Vec<Mutex<Arc<FileSystem>>>,
    generations: Vec<AtomicU32>,
}

/// The error a build without the XRootD client library gives.
pub fn unavailable_message() -> &'static str {
    xrootd_sys::NOT_BUILT_MESSAGE
}

fn connection(host_port: &str, worker: usize, generation: u32) -> Result<FileSystem, xrootd_sys::Error> {
    // XrdCl keys a channel by user@host:port: a distinct user name is a distinct TCP connection
    FileSystem::new(&xrootd_sys::connection_url(host_port, &format!("g{generation}w"), worker))
}

impl XrootdLister {
    /// A lister for the server `host_port` (`host` or `host:port`).
    pub fn new(host_port: &str, threads: usize) -> Result<XrootdLister, String> {
        if !xrootd_sys::available() {
            return Err(unavailable_message().to_string());
        }
        let threads = threads.max(1);
        let mut conns = Vec::with_capacity(threads);
        for w in 0..threads {
            let fs = connection(host_port, w, 0).map_err(|e| format!("root://{host_port}: {e}"))?;
            conns.push(Mutex::new(Arc::new(fs)));
        }
        Ok(XrootdLister {
            host_port: host_port.to_string(),
            conns,
            generations: (0..threads).map(|_| AtomicU32::new(0)).collect(),
        })
    }

    fn handle(&self, worker: usize) -> Arc<FileSystem> {
        let slot = &self.conns[worker % self.conns.len()];
        slot.lock().expect("connection lock").clone()
    }

    /// The data servers (or further redirectors) that `lfn` is found behind.
    pub fn locate(&self, lfn: &[u8], timeout: Duration) -> Result<Vec<xrootd_sys::Location>, ListError> {
        self.handle(0).locate(lfn, timeout).map_err(|e| to_list_error(lfn, &e))
    }
}

/// Whether a server error number (`kXR_*`) may pass on another attempt:
/// a busy or failing server, not a refusal.
pub fn retryable_server_error(kxr: u32) -> bool {
    use xrootd_sys::kxr::*;
    matches!(kxr, SERVER_ERROR | NO_SERVER | OVERLOADED | IO_ERROR | FS_ERROR)
}

fn to_list_error(lfn: &[u8], e: &xrootd_sys::Error) -> ListError {
    let message = format!("{}: {}", String::from_utf8_lossy(lfn), e.message.trim());
    if e.is_retryable() {
        ListError::retryable(message)
    } else {
        ListError::fatal(message)
    }
}

impl DirLister for XrootdLister {
    fn list_dir(&self, worker: usize, lfn: &[u8], timeout: Duration) -> Result<DirListing, ListError> {
        let fs = self.handle(worker);
        let list = fs.dir_list(lfn, true, timeout).map_err(|e| to_list_error(lfn, &e))?;
        let mut entries = Vec::with_capacity(list.entries.len());
        for (name, stat) in list.entries {
            let stat = match stat {
                Some(s) => s,
                // the server gave no stat for this entry (it vanished, or dstat is unsupported): ask for it
                None => {
                    let path = dc_core::tree::join_lfn(lfn, &name);
                    match fs.stat(&path, timeout) {
                        Ok(s) => s,
                        Err(e) if e.is_server_error() && e.server_errno == xrootd_sys::kxr::NOT_FOUND => continue,
                        Err(e) => return Err(to_list_error(&path, &e)),
                    }
                }
            };
            let is_dir = stat.is_dir();
            entries.push(DirEntry { name, is_dir, size: if is_dir { 0 } else { stat.size }, mtime: stat.mtime as i64 });
        }
        Ok(DirListing { mtime: None, entries })
    }

    fn reconnect(&self, worker: usize) {
        let w = worker % self.conns.len();
        let generation = self.generations[w].fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(fs) = connection(&self.host_port, w, generation) {
            *self.conns[w].lock().expect("connection lock") = Arc::new(fs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_server::{checks, have_xrootd};

    fn ready() -> bool {
        if !xrootd_sys::available() {
            eprintln!("SKIPPED: built without the XRootD client library");
            return false;
        }
        have_xrootd()
    }

    fn make(host_port: &str, threads: usize) -> Box<dyn DirLister> {
        Box::new(XrootdLister::new(host_port, threads).unwrap())
    }

    #[test]
    fn tree_equals_the_local_walk() {
        if ready() {
            checks::same_as_local(&make, 1, true);
            checks::same_as_local(&make, 8, true);
        }
    }

    #[test]
    fn unreadable_directory_is_unlisted() {
        if ready() {
            checks::unreadable_dir_is_unlisted(&make);
        }
    }

    #[test]
    fn silent_server_times_out() {
        if xrootd_sys::available() {
            checks::silent_server_times_out(&make);
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
