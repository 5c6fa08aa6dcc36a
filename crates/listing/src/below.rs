//! A lister whose tree is keyed by the path below a storage prefix.
//!
//! A site's storage holds LFN `/store/x` at `PathPrefix` + `/store/x`
//! (`/cms/store/x`, `/pnfs/example.org/data/cms/store/x`), and its listing
//! is compared with the inventory's LFNs. [`Below`] lists `prefix` + the
//! directory asked for, and the engine names every directory and file by
//! the path it asked for: the tree's paths are the LFNs, as a local
//! listing's are the paths below its directory.

use std::time::Duration;

use crate::engine::{AsyncDirLister, DirLister, DirListing, ListError, ListingDone};

/// `inner`, asked for `prefix` + each directory.
pub struct Below {
    inner: Box<dyn DirLister>,
    /// Without a trailing `/`; never empty (a prefix of `/` needs no `Below`).
    prefix: Vec<u8>,
}

impl Below {
    /// `inner` under `prefix` (an absolute storage path); `inner` itself
    /// when the prefix is the root.
    #[must_use]
    pub fn wrap(inner: Box<dyn DirLister>, prefix: &[u8]) -> Box<dyn DirLister> {
        let mut prefix = prefix.to_vec();
        while prefix.last() == Some(&b'/') {
            prefix.pop();
        }
        if prefix.is_empty() {
            return inner;
        }
        if prefix[0] != b'/' {
            prefix.insert(0, b'/');
        }
        Box::new(Below { inner, prefix })
    }

    fn storage_path(&self, lfn: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(self.prefix.len() + lfn.len() + 1);
        p.extend_from_slice(&self.prefix);
        if lfn.first() != Some(&b'/') {
            p.push(b'/');
        }
        if lfn != b"/" {
            p.extend_from_slice(lfn);
        }
        p
    }
}

impl DirLister for Below {
    fn list_dir(&self, worker: usize, lfn: &[u8], timeout: Duration) -> Result<DirListing, ListError> {
        self.inner.list_dir(worker, &self.storage_path(lfn), timeout)
    }

    fn reconnect(&self, worker: usize) {
        self.inner.reconnect(worker);
    }

    fn server_names(&self) -> Vec<String> {
        self.inner.server_names()
    }

    fn server_of(&self, conn: usize) -> usize {
        self.inner.server_of(conn)
    }

    fn as_async(&self) -> Option<&dyn AsyncDirLister> {
        self.inner.as_async().map(|_| self as &dyn AsyncDirLister)
    }
}

impl AsyncDirLister for Below {
    // only reached through `as_async`, which answers for an inner lister that has an asynchronous face
    fn connections(&self) -> usize {
        self.inner.as_async().map_or(0, AsyncDirLister::connections)
    }

    fn depth(&self) -> usize {
        self.inner.as_async().map_or(0, AsyncDirLister::depth)
    }

    fn start(&self, conn: usize, lfn: &[u8], timeout: Duration, done: ListingDone) {
        match self.inner.as_async() {
            Some(inner) => inner.start(conn, &self.storage_path(lfn), timeout, done),
            None => done(Err(ListError::fatal("the lister has no asynchronous face"))),
        }
    }

    fn reconnect(&self, conn: usize) {
        if let Some(inner) = self.inner.as_async() {
            inner.reconnect(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::engine::{run, EngineOptions};
    use crate::LocalLister;

    #[test]
    fn asks_for_the_storage_path_and_names_by_the_path_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("cms/store/mc/a");
        fs::create_dir_all(&store).unwrap();
        fs::write(store.join("f.root"), b"abc").unwrap();
        fs::create_dir_all(dir.path().join("other")).unwrap();
        fs::write(dir.path().join("other/g.root"), b"x").unwrap();

        // the local lister names paths below its directory; `Below` puts `/cms` before each
        let lister = Below::wrap(Box::new(LocalLister::new(dir.path())), b"/cms/");
        let tree =
            run(lister.as_ref(), dc_core::Tree::new(0), &[b"/store"], &EngineOptions::default(), &mut |_| {}).unwrap();
        let files: Vec<(Vec<u8>, u64)> = tree.files_sorted(None).into_iter().map(|f| (f.0, f.1)).collect();
        assert_eq!(files, vec![(b"/store/mc/a/f.root".to_vec(), 3)]);
    }

    #[test]
    fn a_root_prefix_is_no_prefix() {
        let b = Below { inner: Box::new(LocalLister::new("/")), prefix: b"/cms".to_vec() };
        assert_eq!(b.storage_path(b"/"), b"/cms".to_vec());
        assert_eq!(b.storage_path(b"/store"), b"/cms/store".to_vec());
        assert_eq!(b.storage_path(b"store"), b"/cms/store".to_vec());
        for p in [&b"/"[..], b"//", b""] {
            let inner: Box<dyn DirLister> = Box::new(LocalLister::new("/"));
            let ptr = std::ptr::from_ref(inner.as_ref()).cast::<u8>();
            let wrapped = Below::wrap(inner, p);
            assert_eq!(std::ptr::from_ref(wrapped.as_ref()).cast::<u8>(), ptr, "prefix {p:?}");
        }
    }
}
