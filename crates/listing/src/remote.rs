//! Listers for storage URLs (`root://`, gfal URLs), chosen by scheme and
//! access method.

use crate::engine::DirLister;
use crate::gfal::GfalLister;
use crate::xrootd::XrootdLister;

/// A storage URL taken apart: `root://host:port//store` is scheme `root`,
/// server `host:port` and LFN `/store`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageUrl {
    pub scheme: String,
    /// `host[:port]`, with any `user@` removed; empty for `file://`.
    pub server: String,
    /// The absolute path the URL names, without a trailing slash (`/` for the top).
    pub lfn: Vec<u8>,
}

impl StorageUrl {
    pub fn parse(url: &str) -> Result<StorageUrl, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("{url}: not a URL (scheme://host/path)"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-') {
            return Err(format!("{url}: not a URL scheme: {scheme:?}"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let server = authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_string();
        if server.is_empty() && scheme != "file" {
            return Err(format!("{url}: no server named"));
        }
        if path.contains('?') || path.contains('#') {
            return Err(format!("{url}: a query or fragment in a storage URL is not supported"));
        }
        // `root://host//store` and `root://host/store` both name /store
        let mut lfn = Vec::with_capacity(path.len());
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            lfn.push(b'/');
            lfn.extend_from_slice(comp.as_bytes());
        }
        if lfn.is_empty() {
            lfn.push(b'/');
        }
        Ok(StorageUrl { scheme, server, lfn })
    }
}

/// The methods a URL may be listed with.
pub const METHODS: [&str; 3] = ["native", "xrdfs", "gfal"];

/// A lister for `url` and the LFN its path names, or why there is none.
///
/// `root://` (and `xroot://`) URLs use `method`: `native` (our binding to
/// the XRootD client library), `xrdfs` (persistent `xrdfs` shells) or
/// `gfal` (`gfal-ls`). `file://` URLs use the local lister unless the
/// method is `gfal`; other schemes (`davs://`, `srm://`, `gsiftp://`, ...)
/// always go through gfal. `threads` is the number of connections (or
/// shells): one per engine worker; the native lister keeps `depth` requests
/// in flight on each connection (0: one synchronous request per worker).
/// With `doors`, the connections of `root://` URLs (native and xrdfs) go to
/// those servers in turn instead of the URL's. `env` is set for the `xrdfs`
/// and `gfal-ls` processes (credentials); the native lister's client library
/// reads the process's own environment.
pub fn lister_for_url(
    url: &str,
    method: &str,
    threads: usize,
    depth: usize,
    doors: &[String],
    env: &[(String, String)],
) -> Result<(Box<dyn DirLister>, Vec<u8>), String> {
    let parsed = StorageUrl::parse(url)?;
    if !METHODS.contains(&method) {
        return Err(format!("unknown listing method {method:?} (one of: {})", METHODS.join(", ")));
    }
    let threads = threads.max(1);
    let servers = if doors.is_empty() { vec![parsed.server.clone()] } else { doors.to_vec() };
    let lister: Box<dyn DirLister> = match (parsed.scheme.as_str(), method) {
        ("root" | "xroot", "native") => Box::new(XrootdLister::over(&servers, threads)?.with_depth(depth)),
        ("root" | "xroot", "xrdfs") => Box::new(crate::xrdfs::XrdfsLister::over(&servers, threads).with_env(env)),
        ("file", m) if m != "gfal" => Box::new(crate::LocalLister::new("/")),
        ("root" | "xroot", _) => {
            Box::new(GfalLister::new(&format!("{}://{}/", parsed.scheme, parsed.server)).with_env(env))
        }
        (scheme, _) => Box::new(GfalLister::new(&format!("{scheme}://{}", parsed.server)).with_env(env)),
    };
    Ok((lister, parsed.lfn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_server_and_lfn() {
        let u = StorageUrl::parse("root://eos.cern.ch:1094//store/mc/").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.server.as_str(), u.lfn.as_slice()),
            ("root", "eos.cern.ch:1094", &b"/store/mc"[..])
        );
        let u = StorageUrl::parse("root://user@host/store").unwrap();
        assert_eq!((u.server.as_str(), u.lfn.as_slice()), ("host", &b"/store"[..]));
        assert_eq!(StorageUrl::parse("root://host:1094").unwrap().lfn, b"/");
        let u = StorageUrl::parse("file:///tmp/a b").unwrap();
        assert_eq!((u.server.as_str(), u.lfn.as_slice()), ("", &b"/tmp/a b"[..]));
        assert!(StorageUrl::parse("root:///store").is_err());
        assert!(StorageUrl::parse("/store").is_err());
        assert!(StorageUrl::parse("root://h//a?b").is_err());
    }

    #[test]
    fn without_xrootd_support_the_native_method_says_what_to_install() {
        let native = lister_for_url("root://127.0.0.1:1//store", "native", 1, 4, &[], &[]);
        if xrootd_sys::available() {
            assert!(native.is_ok());
        } else {
            let err = native.err().unwrap();
            assert!(err.contains("XRootD support is unavailable") && err.contains("libxrdcl3"), "{err}");
        }
    }

    #[test]
    fn unknown_method_is_refused() {
        let err = lister_for_url("root://h//store", "ftp", 1, 4, &[], &[]).err().unwrap();
        assert!(err.contains("unknown listing method"), "{err}");
    }
}
