//! The gfal lister: one `gfal-ls -l` process per directory, for any URL
//! scheme gfal2 has a plugin for (`root://`, `davs://`, `srm://`, `file://`).
//!
//! Times are asked for in the `full-iso` style (seconds, not the minutes of
//! the default `-l` format) and in UTC. A listing is accepted only when the
//! process exits 0 and every line of its output parses as an entry.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::engine::{DirEntry, DirLister, DirListing, ListError};
use crate::ls_line;

pub struct GfalLister {
    /// What an LFN is appended to: `root://host:port/`, `file://`.
    prefix: String,
    /// Variables set for each `gfal-ls` (credentials: `X509_USER_PROXY`, ...).
    env: Vec<(String, String)>,
}

impl GfalLister {
    /// A lister for URLs `prefix` + LFN, e.g. prefix `root://host:1094/`
    /// lists `/store` as `root://host:1094//store`.
    pub fn new(prefix: &str) -> GfalLister {
        GfalLister { prefix: prefix.to_string(), env: Vec::new() }
    }

    /// The same lister with `env` set for each `gfal-ls` it runs.
    #[must_use]
    pub fn with_env(mut self, env: &[(String, String)]) -> GfalLister {
        self.env = env.to_vec();
        self
    }

    fn url(&self, lfn: &[u8]) -> Result<String, ListError> {
        let path = std::str::from_utf8(lfn).map_err(|_| {
            ListError::fatal(format!(
                "{}: a name that is not UTF-8 cannot be given to gfal",
                String::from_utf8_lossy(lfn)
            ))
        })?;
        Ok(format!("{}{}", self.prefix, path))
    }
}

/// Run `cmd` (`gfal-ls` on `url`), killed after `deadline`: a failure to run it is no answer, and
/// the deadline passing a time-out.
fn run_with_deadline(mut cmd: Command, deadline: Duration, url: &str) -> Result<Output, ListError> {
    let child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| {
            ListError::no_answer(format!("{url}: cannot start gfal-ls (install gfal2-util-scripts): {e}"))
        })?;
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    // collecting the output blocks until the process ends: a thread, so that this worker can stop waiting
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(deadline) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(ListError::no_answer(format!("{url}: gfal-ls: {e}"))),
        Err(_) => {
            // SAFETY: the process is not yet reaped (its waiter has not answered), so the pid is still its own
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = rx.recv_timeout(Duration::from_secs(5));
            Err(ListError::timed_out(format!("{url}: no answer from gfal-ls within {} s", deadline.as_secs())))
        }
    }
}

impl DirLister for GfalLister {
    fn list_dir(&self, _worker: usize, lfn: &[u8], timeout: Duration) -> Result<DirListing, ListError> {
        let url = self.url(lfn)?;
        let mut cmd = Command::new("gfal-ls");
        cmd.args(["-l", "-a", "--time-style", "full-iso", "-t"])
            .arg(timeout.as_secs().max(1).to_string())
            .arg(&url)
            .env("TZ", "UTC")
            .env("LC_ALL", "C.UTF-8")
            .env("XRD_REQUESTTIMEOUT", timeout.as_secs().max(1).to_string())
            .env("XRD_CONNECTIONRETRY", "1")
            .env("XRD_TIMEOUTRESOLUTION", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let out = run_with_deadline(cmd, timeout + Duration::from_secs(3), &url)?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !out.status.success() {
            return Err(error_of(&url, &stderr, out.status.code()).at(&self.prefix));
        }
        let mut entries = Vec::new();
        for line in out.stdout.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            match parse_entry(line) {
                Some(e) if e.name == b"." || e.name == b".." => {}
                Some(e) => entries.push(e),
                None => {
                    return Err(ListError::retryable(format!(
                        "{url}: unexpected gfal-ls output: {:?}",
                        String::from_utf8_lossy(line)
                    )))
                }
            }
        }
        Ok(DirListing { mtime: None, entries })
    }
}

/// XRootD's `EAUTH` on Linux (`EBADE`, "Invalid exchange"): what gfal's
/// XRootD plugin reports for a failed authentication.
const XROOTD_EAUTH: i32 = libc::EBADE;

trait At {
    /// An authentication failure's message, naming the server.
    fn at(self, server: &str) -> ListError;
}

impl At for ListError {
    fn at(self, server: &str) -> ListError {
        if self.auth {
            ListError::auth_failed(format!("authentication failed at {server}: {}", self.message))
        } else {
            self
        }
    }
}

/// `gfal-ls error: 13 (Permission denied) - ...`: refusals are final; a
/// timeout or a connection that failed is no answer from the server (gfal-ls
/// exits with that errno, and says `Command timed out` for its own timeout),
/// and `ETIMEDOUT` a time-out, as is `116 (Stale file handle)`, what gfal's
/// XRootD plugin reports for a request the server never answered;
/// `52 (Invalid exchange)` is a refused credential, which ends the listing.
fn error_of(url: &str, stderr: &str, status: Option<i32>) -> ListError {
    let errno = stderr
        .split("error:")
        .nth(1)
        .and_then(|rest| rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse::<i32>().ok());
    let message =
        if stderr.is_empty() { format!("{url}: gfal-ls exited with {status:?}") } else { format!("{url}: {stderr}") };
    let unreachable = |code: Option<i32>| {
        matches!(
            code,
            Some(
                libc::ETIMEDOUT
                    | libc::ECONNREFUSED
                    | libc::ECONNRESET
                    | libc::ECONNABORTED
                    | libc::EHOSTUNREACH
                    | libc::EHOSTDOWN
                    | libc::ENETUNREACH
            )
        )
    };
    match errno {
        Some(XROOTD_EAUTH) => ListError::auth_failed(format!("{message} (a refused credential)")),
        Some(libc::ENOENT | libc::EACCES | libc::EPERM | libc::ENOTDIR) => ListError::fatal(message),
        Some(libc::ETIMEDOUT) => ListError::timed_out(message),
        Some(libc::ESTALE) => ListError { timed_out: true, ..ListError::retryable(message) },
        None if status == Some(libc::ETIMEDOUT) => ListError::timed_out(message),
        _ if unreachable(errno) || (errno.is_none() && unreachable(status)) => ListError::no_answer(message),
        _ => ListError::retryable(message),
    }
}

/// `drwxr-xr-x   2 0     0          4096 2024-01-31 12:00:01.000000 +0000 name with spaces\t`
fn parse_entry(line: &[u8]) -> Option<DirEntry> {
    let line = line.strip_suffix(b"\t").unwrap_or(line);
    let ([perms, _links, _uid, _gid, size, date, time, zone], name) = ls_line::fields(line)?;
    let mtime = ls_line::parse_utc(date, time)? - ls_line::parse_zone(zone)?;
    ls_line::entry(perms, size, name, mtime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_server::{checks, have, have_xrootd};

    #[test]
    fn parses_full_iso_lines() {
        let e = parse_entry(b"-rw-r--r--   1 0     0             3 2024-01-31 12:00:01.000000 +0000  f 1 \t").unwrap();
        assert_eq!(e, DirEntry { name: b" f 1 ".to_vec(), is_dir: false, size: 3, mtime: 1706702401 });
        let e = parse_entry(b"drwxr-xr-x   2 0     0          4096 2024-01-31 13:00:01.000000 +0100 d\t").unwrap();
        assert_eq!((e.is_dir, e.mtime), (true, 1706702401));
        assert!(parse_entry(b"garbage").is_none());
        assert!(parse_entry(b"-rw-r--r--   1 0     0             3 Jan 31 12:00 f\t").is_none());
    }

    #[test]
    fn errors_name_the_cause() {
        let e = error_of("root://h//x", "gfal-ls error: 2 (No such file or directory) - Failed to stat file", Some(2));
        assert!(!e.retryable && e.message.contains("No such file"));
        let e = error_of("root://h//x", "gfal-ls error: 110 (Connection timed out)", Some(1));
        assert!(e.retryable && e.no_answer && e.timed_out);
        let e = error_of("root://h//x", "Command timed out after 3 seconds!", Some(110));
        assert!(e.retryable && e.no_answer && e.timed_out);
        let stderr = "gfal-ls error: 116 (Stale file handle) - Failed to stat file (Stale file handle)";
        let e = error_of("root://h//x", stderr, Some(116));
        assert!(e.retryable && !e.no_answer && e.timed_out);
        let e = error_of("root://h//x", "gfal-ls error: 111 (Connection refused)", Some(111));
        assert!(e.retryable && e.no_answer && !e.timed_out);
        let e = error_of("root://h//x", "gfal-ls error: 5 (Input/output error)", Some(5));
        assert!(e.retryable && !e.no_answer && !e.timed_out);
        let stderr = "gfal-ls error: 52 (Invalid exchange) - Failed to stat file (Invalid exchange)";
        let e = error_of("root://h//x", stderr, Some(52)).at("root://h/");
        assert!(e.auth && !e.retryable, "{e:?}");
        assert!(e.message.starts_with("authentication failed at root://h/: root://h//x: gfal-ls error: 52"), "{e:?}");
    }

    fn ready() -> bool {
        have_xrootd() && have("gfal-ls", "gfal2-util-scripts")
    }

    fn make(server: &str, _threads: usize) -> Box<dyn DirLister> {
        Box::new(GfalLister::new(&format!("root://{server}/")))
    }

    #[test]
    fn tree_equals_the_local_walk() {
        if ready() {
            checks::same_as_local_sized(&make, 4, true, 8, 6);
            let local = |_: &str, _: usize| -> Box<dyn DirLister> { Box::new(GfalLister::new("file://")) };
            checks::same_as_local_file_url(&local);
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
        if have("gfal-ls", "gfal2-util-scripts") {
            checks::silent_server_times_out(&make);
        }
    }
}
