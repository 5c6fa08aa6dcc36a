//! Our shim over XrdCl, found and loaded on first use: its C functions
//! resolved into one table of function pointers.
//!
//! The shim is looked for at the path in [`SHIM_ENV`] when that is set (and
//! there only), otherwise beside the module that holds this code (the
//! `.node` file of the Node binding), then where the build left it. Loading
//! it loads the XRootD client library it links; when either is missing, every
//! XRootD call fails with one line that says what to install.

use std::ffi::{c_char, c_int, c_void, CStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

/// The shim's file name on this platform (`libdc_xrdcl.linux-x64-gnu.so`, ...).
pub const SHIM_NAME: &str = env!("DC_XRDCL_SHIM_NAME");
/// The environment variable that gives the shim's path, in place of the search.
pub const SHIM_ENV: &str = "DYNAMO_CONSISTENCY_XRDCL_SHIM";
/// Where the build wrote the shim (absent when it built none).
const BUILT_AT: Option<&str> = option_env!("DC_XRDCL_SHIM_BUILT");

/// The XRootD client library the shim links.
const XRDCL: &str = if cfg!(target_os = "macos") { "libXrdCl.dylib" } else { "libXrdCl.so.3" };
/// What to install, and what to use in its place.
const REMEDY: &str = "(Debian/Ubuntu: libxrdcl3, EL: xrootd-client-libs), or list with --method xrdfs or --method gfal";

// mirrors the shim's C struct, field for field
#[allow(clippy::struct_field_names)]
#[repr(C)]
pub struct Status {
    pub status: u16,
    pub code: u16,
    pub err_no: u32,
    pub message: *mut c_char,
}

#[repr(C)]
pub struct Entry {
    pub name: *const c_char,
    pub name_len: usize,
    pub size: u64,
    pub mtime: u64,
    pub flags: u32,
    pub has_stat: c_int,
}

#[repr(C)]
pub struct Fs {
    _private: [u8; 0],
}

#[repr(C)]
pub struct DirList {
    _private: [u8; 0],
}

pub type DirListDone = unsafe extern "C" fn(ctx: *mut c_void, list: *mut DirList, st: *mut Status);

/// The shim's functions (see `shim/xrdcl_shim.cc`).
pub struct Api {
    pub fs_new: unsafe extern "C" fn(url: *const c_char, st: *mut Status) -> *mut Fs,
    pub fs_free: unsafe extern "C" fn(fs: *mut Fs),
    pub dirlist: unsafe extern "C" fn(
        fs: *mut Fs,
        path: *const c_char,
        path_len: usize,
        timeout: u16,
        with_stat: c_int,
        out: *mut *mut DirList,
        st: *mut Status,
    ) -> c_int,
    pub dirlist_len: unsafe extern "C" fn(list: *const DirList) -> usize,
    pub dirlist_entry: unsafe extern "C" fn(list: *const DirList, i: usize, out: *mut Entry),
    pub dirlist_free: unsafe extern "C" fn(list: *mut DirList),
    pub stat: unsafe extern "C" fn(
        fs: *mut Fs,
        path: *const c_char,
        path_len: usize,
        timeout: u16,
        out: *mut Entry,
        st: *mut Status,
    ) -> c_int,
    pub locate: unsafe extern "C" fn(
        fs: *mut Fs,
        path: *const c_char,
        path_len: usize,
        timeout: u16,
        out: *mut *mut c_char,
        st: *mut Status,
    ) -> c_int,
    pub string_free: unsafe extern "C" fn(s: *mut c_char),
    pub dirlist_async: unsafe extern "C" fn(
        fs: *mut Fs,
        path: *const c_char,
        path_len: usize,
        timeout: u16,
        with_stat: c_int,
        done: DirListDone,
        ctx: *mut c_void,
        st: *mut Status,
    ) -> c_int,
    /// Where the shim was loaded from.
    path: PathBuf,
    /// Kept loaded for the life of the process: the pointers above point into it.
    _library: Library,
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// The shim's functions, loaded on the first call.
pub(crate) fn api() -> Result<&'static Api, super::Error> {
    API.get_or_init(|| load(std::env::var_os(SHIM_ENV), module_path().as_deref()))
        .as_ref()
        .map_err(|reason| super::Error::unavailable(reason))
}

/// Where the shim was loaded from, or why it cannot be: one line that names
/// what is missing and what to install. Loads it on the first call.
pub fn support() -> Result<&'static Path, &'static str> {
    API.get_or_init(|| load(std::env::var_os(SHIM_ENV), module_path().as_deref()))
        .as_ref()
        .map(|api| api.path.as_path())
        .map_err(String::as_str)
}

/// Find and load the shim: at `env` when given, otherwise beside `module`, then where the build left it.
fn load(env: Option<OsString>, module: Option<&Path>) -> Result<Api, String> {
    let path = if let Some(p) = env.filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(format!(
                "native XRootD support is unavailable: {} (from {SHIM_ENV}) does not exist; it loads the XRootD client library {XRDCL} {REMEDY}",
                p.display()
            ));
        }
        p
    } else {
        let beside = module.and_then(Path::parent).map(|d| d.join(SHIM_NAME));
        let candidates = beside.iter().cloned().chain(BUILT_AT.map(PathBuf::from));
        if let Some(p) = candidates.into_iter().find(|p| p.is_file()) {
            p
        } else {
            let place = match &beside {
                Some(p) => format!("{} does not exist", p.display()),
                None => format!("{SHIM_NAME} not found"),
            };
            return Err(format!(
                "native XRootD support is unavailable: {place} (set {SHIM_ENV} to its path); it loads the XRootD client library {XRDCL} {REMEDY}"
            ));
        }
    };
    // SAFETY: our own shim; its initialisers are XrdCl's and the C++ runtime's. RTLD_NOW: a
    // symbol the host's XrdCl lacks fails here, not at its first call.
    let library = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
        let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
        format!(
            "native XRootD support is unavailable: {} (loading {}): install the XRootD client library {XRDCL} {REMEDY}",
            cause.trim(),
            path.display()
        )
    })?;
    let missing = |e: libloading::Error| {
        format!("native XRootD support is unavailable: {}: {e}: rebuild it with this version", path.display())
    };
    // SAFETY: each symbol has the signature declared in `Api` (the shim's `extern "C"` block)
    unsafe {
        Ok(Api {
            fs_new: *library.get(b"dcx_fs_new\0").map_err(missing)?,
            fs_free: *library.get(b"dcx_fs_free\0").map_err(missing)?,
            dirlist: *library.get(b"dcx_dirlist\0").map_err(missing)?,
            dirlist_len: *library.get(b"dcx_dirlist_len\0").map_err(missing)?,
            dirlist_entry: *library.get(b"dcx_dirlist_entry\0").map_err(missing)?,
            dirlist_free: *library.get(b"dcx_dirlist_free\0").map_err(missing)?,
            stat: *library.get(b"dcx_stat\0").map_err(missing)?,
            locate: *library.get(b"dcx_locate\0").map_err(missing)?,
            string_free: *library.get(b"dcx_string_free\0").map_err(missing)?,
            dirlist_async: *library.get(b"dcx_dirlist_async\0").map_err(missing)?,
            path,
            _library: library,
        })
    }
}

/// The file this code was loaded from: the `.node` module of the binding,
/// or the executable.
fn module_path() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: `module_path` is code of this module; `info` is a valid out parameter
    let found = unsafe { libc::dladdr(module_path as *const c_void, &raw mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr set a NUL-terminated path that lives as long as the module
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
    // an executable started through $PATH may be named without its directory
    Some(if path.parent().is_some_and(|p| p.as_os_str().is_empty()) { std::env::current_exe().ok()? } else { path })
}

impl Status {
    pub fn new() -> Status {
        Status { status: 0, code: 0, err_no: 0, message: std::ptr::null_mut() }
    }

    /// Take the message out (freeing the C string) and turn a failure into an error.
    pub fn into_result(mut self, api: &Api) -> Result<(), super::Error> {
        let message = if self.message.is_null() {
            None
        } else {
            // SAFETY: the shim wrote a NUL-terminated malloc'd string, freed here once
            let m = unsafe { CStr::from_ptr(self.message) }.to_string_lossy().into_owned();
            // SAFETY: allocated by the shim's dup_string
            unsafe { (api.string_free)(self.message) };
            self.message = std::ptr::null_mut();
            Some(m)
        };
        if self.status == 0 {
            return Ok(());
        }
        Err(super::Error {
            code: self.code,
            server_errno: self.err_no,
            fatal: self.status & 2 != 0,
            message: message.unwrap_or_else(|| format!("XRootD error {}", self.code)),
        })
    }
}

impl Entry {
    pub fn new() -> Entry {
        Entry { name: std::ptr::null(), name_len: 0, size: 0, mtime: 0, flags: 0, has_stat: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_shim_is_one_line_that_says_what_to_install() {
        let err = load(Some("/nonexistent/shim.so".into()), None).err().unwrap();
        assert!(err.contains("/nonexistent/shim.so") && err.contains(SHIM_ENV), "{err}");
        assert!(err.contains("libxrdcl3") && err.contains("xrootd-client-libs") && err.contains("--method xrdfs"));
        assert!(!err.contains('\n'), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = load(None, Some(&dir.path().join("m.node"))).err();
        if BUILT_AT.is_none() {
            let err = err.unwrap();
            assert!(err.contains(&dir.path().join(SHIM_NAME).display().to_string()), "{err}");
        }
    }

    #[test]
    fn a_shim_that_does_not_load_names_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join(SHIM_NAME);
        std::fs::write(&bad, "not a shared library").unwrap();
        let err = load(Some(bad.clone().into()), None).err().unwrap();
        assert!(err.contains(&bad.display().to_string()) && err.contains("libxrdcl3"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn the_shim_beside_the_module_is_found_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SHIM_NAME), "not a shared library").unwrap();
        let err = load(None, Some(&dir.path().join("m.node"))).err().unwrap();
        assert!(err.contains(&dir.path().join(SHIM_NAME).display().to_string()), "{err}");
    }

    #[cfg(xrootd)]
    #[test]
    fn the_built_shim_loads() {
        let api = load(None, None).unwrap();
        assert_eq!(api.path, PathBuf::from(BUILT_AT.unwrap()));
    }
}
