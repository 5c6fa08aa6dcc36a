//! Compiles the C++ shim over XrdCl when the XRootD client headers and
//! library are present, and sets `cfg(xrootd)`; otherwise the crate builds
//! without it and says so at run time.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xrootd)");
    println!("cargo:rerun-if-changed=shim/xrdcl_shim.cc");
    println!("cargo:rerun-if-env-changed=XROOTD_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=XROOTD_LIB_DIR");
    println!("cargo:rerun-if-env-changed=DC_NO_XROOTD");
    if std::env::var_os("DC_NO_XROOTD").is_some() {
        println!("cargo:warning=XRootD support disabled by DC_NO_XROOTD");
        return;
    }
    let include = match find_include() {
        Some(dir) => dir,
        None => {
            println!(
                "cargo:warning=XRootD client headers not found (XrdCl/XrdClFileSystem.hh): building without XRootD support; install libxrootd-client-dev (or set XROOTD_INCLUDE_DIR) and rebuild"
            );
            return;
        }
    };
    let lib_dir = find_lib();
    if lib_dir.is_none() {
        println!(
            "cargo:warning=libXrdCl.so not found: building without XRootD support; install libxrootd-client-dev (or set XROOTD_LIB_DIR) and rebuild"
        );
        return;
    }
    println!("cargo:rerun-if-changed={}", include.join("XrdCl/XrdClFileSystem.hh").display());
    cc::Build::new()
        .cpp(true)
        .file("shim/xrdcl_shim.cc")
        .include(&include)
        .flag_if_supported("-std=c++14")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("dc_xrdcl_shim");
    if let Some(dir) = lib_dir {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=XrdCl");
    println!("cargo:rustc-cfg=xrootd");
}

fn find_include() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("XROOTD_INCLUDE_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates
        .extend(["/usr/include/xrootd", "/usr/local/include/xrootd", "/opt/xrootd/include/xrootd"].map(PathBuf::from));
    candidates.into_iter().find(|d| d.join("XrdCl/XrdClFileSystem.hh").is_file())
}

fn find_lib() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("XROOTD_LIB_DIR") {
        candidates.push(PathBuf::from(d));
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    candidates.push(PathBuf::from(format!("/usr/lib/{arch}-linux-gnu")));
    candidates.extend(
        ["/usr/lib64", "/usr/lib", "/usr/local/lib64", "/usr/local/lib", "/opt/xrootd/lib64", "/opt/xrootd/lib"]
            .map(PathBuf::from),
    );
    candidates.into_iter().find(|d| has_lib(d))
}

fn has_lib(dir: &Path) -> bool {
    dir.join("libXrdCl.so").exists()
}
