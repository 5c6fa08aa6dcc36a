//! The local POSIX lister: a directory tree on a mounted file system.
//!
//! Entries are taken with `lstat` (through the directory's descriptor), so
//! symbolic links are never followed: a link is listed as a file of its own
//! size. A local read cannot be interrupted, so the engine's timeout does not
//! apply here.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::{DirEntry, DirLister, DirListing, ListError};

pub struct LocalLister {
    base: PathBuf,
}

impl LocalLister {
    /// A lister whose LFN `/` is the directory `base`.
    pub fn new(base: impl Into<PathBuf>) -> LocalLister {
        LocalLister { base: base.into() }
    }

    fn path_of(&self, lfn: &[u8]) -> PathBuf {
        let rel = lfn.strip_prefix(b"/").unwrap_or(lfn);
        if rel.is_empty() {
            self.base.clone()
        } else {
            self.base.join(Path::new(OsStr::from_bytes(rel)))
        }
    }
}

pub fn io_error(context: &Path, e: &io::Error) -> ListError {
    let message = format!("{}: {}", context.display(), e);
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            ListError::fatal(message)
        }
        io::ErrorKind::TimedOut => ListError { timed_out: true, ..ListError::retryable(message) },
        _ => ListError::retryable(message),
    }
}

impl DirLister for LocalLister {
    fn list_dir(&self, _worker: usize, lfn: &[u8], _timeout: Duration) -> Result<DirListing, ListError> {
        let path = self.path_of(lfn);
        let dir = Dir::open(&path)?;
        let mtime = dir.stat_self().map_err(|e| io_error(&path, &e))?.st_mtime;
        let mut entries = Vec::new();
        dir.for_each(|name, st| {
            let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
            entries.push(DirEntry {
                name: name.to_vec(),
                is_dir,
                size: if is_dir { 0 } else { st.st_size as u64 },
                mtime: st.st_mtime,
            });
        })
        .map_err(|e| io_error(&path, &e))?;
        Ok(DirListing { mtime: Some(mtime), entries })
    }
}

/// An open directory read with `readdir` and `fstatat` on its descriptor:
/// one system call per entry, no path built, links not followed.
struct Dir {
    stream: *mut libc::DIR,
}

impl Dir {
    fn open(path: &Path) -> Result<Dir, ListError> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| ListError::fatal(format!("{}: a path with a NUL byte", path.display())))?;
        // SAFETY: `c` is a valid NUL-terminated path
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        if fd < 0 {
            // entries are classified by lstat, so only a root named by the user is ever a link here
            return Err(io_error(path, &io::Error::last_os_error()));
        }
        // SAFETY: `fd` is an open directory descriptor; the stream owns it from here
        let stream = unsafe { libc::fdopendir(fd) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so `fd` is still ours to close
            unsafe { libc::close(fd) };
            return Err(io_error(path, &e));
        }
        Ok(Dir { stream })
    }

    fn fd(&self) -> libc::c_int {
        // SAFETY: the stream is open for the life of `self`
        unsafe { libc::dirfd(self.stream) }
    }

    fn stat_self(&self) -> io::Result<libc::stat> {
        // SAFETY: a zeroed stat is a valid out-parameter
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor and out-pointer
        if unsafe { libc::fstat(self.fd(), &raw mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(st)
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], &libc::stat)) -> io::Result<()> {
        loop {
            // readdir reports errors only through errno
            // SAFETY: errno is thread-local
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: the stream is open; the entry lives until the next readdir
            let ent = unsafe { libc::readdir(self.stream) };
            if ent.is_null() {
                let e = io::Error::last_os_error();
                return if e.raw_os_error().unwrap_or(0) == 0 { Ok(()) } else { Err(e) };
            }
            // SAFETY: d_name is NUL-terminated within the entry
            let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            // SAFETY: a zeroed stat is a valid out-parameter
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: valid descriptor, NUL-terminated name, out-pointer
            let rc = unsafe { libc::fstatat(self.fd(), name.as_ptr(), &raw mut st, libc::AT_SYMLINK_NOFOLLOW) };
            if rc != 0 {
                let e = io::Error::last_os_error();
                // removed between readdir and stat: it is gone, not an error
                if e.kind() == io::ErrorKind::NotFound {
                    continue;
                }
                return Err(e);
            }
            f(bytes, &st);
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the stream was opened by fdopendir and is closed once
        unsafe { libc::closedir(self.stream) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{run, EngineOptions};
    use dc_core::Tree;
    use std::fs;

    #[test]
    fn lists_sizes_names_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("store/mc/a b")).unwrap();
        fs::create_dir_all(root.join("store/empty")).unwrap();
        fs::write(root.join("store/mc/a b/f 1.root"), b"12345").unwrap();
        fs::write(root.join("store/mc/\u{e9}t\u{e9}.root"), b"1").unwrap();
        fs::write(root.join(OsStr::from_bytes(b"store/new\nline")), b"12").unwrap();
        std::os::unix::fs::symlink(root.join("store/mc"), root.join("store/link")).unwrap();
        let opts = EngineOptions { threads: 3, ..EngineOptions::default() };
        let t = run(&LocalLister::new(root), Tree::new(0), &[b"/"], &opts, &mut |_| {}).unwrap();
        let files: Vec<(Vec<u8>, u64)> = t.files_sorted(None).into_iter().map(|f| (f.0, f.1)).collect();
        let link_size = fs::symlink_metadata(root.join("store/link")).unwrap().len();
        assert_eq!(
            files,
            vec![
                (b"/store/link".to_vec(), link_size),
                (b"/store/mc/a b/f 1.root".to_vec(), 5),
                ("/store/mc/\u{e9}t\u{e9}.root".as_bytes().to_vec(), 1),
                (b"/store/new\nline".to_vec(), 2),
            ]
        );
        assert!(t.find_dir(b"/store/empty").is_some());
        assert!(t.unlisted().is_empty());
    }

    #[test]
    fn a_listing_root_is_never_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("store/mc/old/older")).unwrap();
        let t =
            run(&LocalLister::new(dir.path()), Tree::new(0), &[b"/store/mc"], &EngineOptions::default(), &mut |_| {})
                .unwrap();
        // listed a second later than the directories were made
        let empty: Vec<Vec<u8>> = t.empty_dirs(-10).iter().map(|&d| t.dir_path(d)).collect();
        assert_eq!(empty, vec![b"/store/mc/old/older".to_vec(), b"/store/mc/old".to_vec()]);
        assert_eq!(t.state(t.find_dir(b"/store").unwrap()), dc_core::DirState::Traversed);
    }

    #[test]
    fn missing_root_is_unlisted() {
        let dir = tempfile::tempdir().unwrap();
        let t =
            run(&LocalLister::new(dir.path()), Tree::new(0), &[b"/nothing"], &EngineOptions::default(), &mut |_| {})
                .unwrap();
        let u = t.unlisted();
        assert_eq!(u.len(), 1);
        assert!(u[0].reason.contains("No such file"), "{}", u[0].reason);
    }
}
