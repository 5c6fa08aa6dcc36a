//! Builds our C++ shim over XrdCl as a shared library of its own
//! ([`shim_name`]) that links the XRootD client library, when the XRootD
//! client headers and library are present, and sets `cfg(xrootd)`. The crate
//! itself does not link XrdCl: it loads the shim at run time. The shim is
//! written to `OUT_DIR` and copied to the profile directory (`target/release`,
//! `target/<triple>/release`), where `scripts/place-shim.mjs` takes it to sit
//! beside the `.node` file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xrootd)");
    println!("cargo:rerun-if-changed=shim/xrdcl_shim.cc");
    println!("cargo:rerun-if-env-changed=XROOTD_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=XROOTD_LIB_DIR");
    println!("cargo:rerun-if-env-changed=DC_NO_XROOTD");
    let name = shim_name();
    println!("cargo:rustc-env=DC_XRDCL_SHIM_NAME={name}");
    if std::env::var_os("DC_NO_XROOTD").is_some() {
        println!("cargo:warning=XRootD shim not built (DC_NO_XROOTD is set)");
        return;
    }
    let Some(include) = find_include() else {
        println!(
            "cargo:warning=XRootD client headers not found (XrdCl/XrdClFileSystem.hh): the XRootD shim is not built; install libxrootd-client-dev (or set XROOTD_INCLUDE_DIR) and rebuild"
        );
        return;
    };
    let Some(lib_dir) = find_lib() else {
        println!(
            "cargo:warning=libXrdCl not found: the XRootD shim is not built; install libxrootd-client-dev (or set XROOTD_LIB_DIR) and rebuild"
        );
        return;
    };
    println!("cargo:rerun-if-changed={}", include.join("XrdCl/XrdClFileSystem.hh").display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let shim = out.join(&name);
    // DC_XRDCL_SHIM_CXX, or the compiler cc picks for the target (CXX, CXX_<target>) with its
    // flags. The shim must use the C++ library ABI of the XrdCl it links (libstdc++'s C++11
    // ABI on every current distribution): a cross toolchain for old glibc whose GCC predates
    // that ABI (4.8) builds the Rust code, and the host's g++ builds the shim.
    println!("cargo:rerun-if-env-changed=DC_XRDCL_SHIM_CXX");
    let mut cmd = match std::env::var("DC_XRDCL_SHIM_CXX").ok().filter(|c| !c.trim().is_empty()) {
        Some(cxx) => {
            let mut words = cxx.split_whitespace();
            let mut cmd = Command::new(words.next().unwrap_or("c++"));
            cmd.args(words).args(["-fPIC", "-O2"]);
            cmd
        }
        None => cc::Build::new().cpp(true).pic(true).opt_level(2).debug(false).get_compiler().to_command(),
    };
    cmd.arg("-shared")
        .arg("-std=c++14")
        .arg("-Wno-unused-parameter")
        .arg("-I")
        .arg(&include)
        .arg("shim/xrdcl_shim.cc")
        .arg("-o")
        .arg(&shim)
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lXrdCl");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        cmd.arg(format!("-Wl,-install_name,@loader_path/{name}"));
    } else {
        cmd.arg(format!("-Wl,-soname,{name}")).arg("-Wl,--as-needed");
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run the C++ compiler {cmd:?}: {e}"));
    assert!(status.success(), "building the XRootD shim failed: {cmd:?}");
    // the profile directory is OUT_DIR's fourth ancestor: <profile>/build/<crate>-<hash>/out
    if let Some(profile) = out.ancestors().nth(3) {
        let _ = std::fs::copy(&shim, profile.join(&name));
    }
    println!("cargo:rustc-env=DC_XRDCL_SHIM_BUILT={}", shim.display());
    println!("cargo:rustc-cfg=xrootd");
}

/// `libdc_xrdcl.<platform>.<so|dylib>`, the platform spelled as in the
/// names of the `.node` files (`linux-x64-gnu`, `darwin-arm64`).
fn shim_name() -> String {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let os = match var("CARGO_CFG_TARGET_OS").as_str() {
        "macos" => "darwin".to_string(),
        other => other.to_string(),
    };
    let arch = match var("CARGO_CFG_TARGET_ARCH").as_str() {
        "x86_64" => "x64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    };
    let env = var("CARGO_CFG_TARGET_ENV");
    let ext = if os == "darwin" { "dylib" } else { "so" };
    if env.is_empty() || os == "darwin" {
        format!("libdc_xrdcl.{os}-{arch}.{ext}")
    } else {
        format!("libdc_xrdcl.{os}-{arch}-{env}.{ext}")
    }
}

fn find_include() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("XROOTD_INCLUDE_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.extend(
        [
            "/usr/include/xrootd",
            "/usr/local/include/xrootd",
            "/opt/xrootd/include/xrootd",
            "/opt/homebrew/opt/xrootd/include/xrootd",
        ]
        .map(PathBuf::from),
    );
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
        [
            "/usr/lib64",
            "/usr/lib",
            "/usr/local/lib64",
            "/usr/local/lib",
            "/opt/xrootd/lib64",
            "/opt/xrootd/lib",
            "/opt/homebrew/opt/xrootd/lib",
        ]
        .map(PathBuf::from),
    );
    candidates.into_iter().find(|d| has_lib(d))
}

fn has_lib(dir: &Path) -> bool {
    let name =
        if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") { "libXrdCl.dylib" } else { "libXrdCl.so" };
    dir.join(name).exists()
}
