//! The `xrdfs` lister: one persistent `xrdfs HOST` shell per worker, fed
//! `ls -l PATH` commands on its standard input (the original's `directx`).
//!
//! Every command is followed by a marker command the shell does not know;
//! the shell echoes each command line it reads, so the marker's echo says
//! that the listing before it is complete. A listing is accepted only when
//! its marker came back, no error line came before it and every other line
//! parsed as an entry of the directory asked for. A shell that does not
//! answer within the timeout is killed and started again.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dc_core::locks;

use crate::engine::{DirEntry, DirLister, DirListing, ListError};
use crate::ls_line;

/// The width of the screen the shells echo commands on: wider than any
/// command (a path is at most a few thousand bytes).
const ECHO_COLUMNS: usize = 1 << 20;

pub struct XrdfsLister {
    /// The servers the shells talk to, in turn (shell `i` to server `i % len`).
    servers: Vec<String>,
    shells: Vec<Mutex<Option<Shell>>>,
    nonce: String,
    /// Variables set for each shell (credentials: `X509_USER_PROXY`, `XrdSecSSSKT`, ...).
    env: Vec<(String, String)>,
}

struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Vec<u8>>,
    seq: u64,
    timeout: Duration,
}

impl Shell {
    fn start(server: &str, timeout: Duration, env: &[(String, String)]) -> Result<Shell, ListError> {
        let secs = timeout.as_secs().max(1).to_string();
        // errors go to stderr: merged with stdout (2>&1) so that they arrive in order with the listing
        let mut child = Command::new("sh")
            .args(["-c", "exec xrdfs \"$0\" 2>&1", server])
            .env("XRD_REQUESTTIMEOUT", &secs)
            .env("XRD_CONNECTIONWINDOW", &secs)
            .env("XRD_CONNECTIONRETRY", "1")
            .env("XRD_TIMEOUTRESOLUTION", "1")
            .env("XRD_STREAMERRORWINDOW", "1")
            .env("TZ", "UTC")
            .env("TERM", "dumb")
            // readline echoes each command on a screen COLUMNS wide (its output is a pipe, whose width it
            // cannot ask): on a dumb terminal a line wider than that scrolls sideways and comes back cut,
            // as `\r<` and its tail, so a screen wider than any path keeps the echo whole
            .env("COLUMNS", ECHO_COLUMNS.to_string())
            .env("LINES", "100")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ListError::fatal(format!("cannot start xrdfs (install xrootd-client): {e}")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        // a pipe read cannot time out: a reader thread per shell lets the worker wait with a deadline
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut shell = Shell { child, stdin, lines, seq: 0, timeout };
        shell.probe()?;
        Ok(shell)
    }

    /// The end markers rely on the shell echoing each command line it reads
    /// (xrdfs built with readline does); check that once, without the server.
    fn probe(&mut self) -> Result<(), ListError> {
        let marker = format!("#dc-start-{}", std::process::id());
        self.stdin
            .write_all(format!("{marker}\n").as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| ListError::retryable(format!("the xrdfs shell is gone: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    let line = trim_line_end(&line);
                    if line.ends_with(marker.as_bytes()) {
                        // and the shell's complaint about the marker command
                        return match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                            Ok(_) => Ok(()),
                            Err(_) => Err(ListError::retryable("the xrdfs shell stopped answering")),
                        };
                    }
                    seen.extend_from_slice(line);
                    seen.push(b' ');
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(ListError::fatal(format!(
                        "this xrdfs does not echo the commands it reads (built without readline?), so its listings cannot be checked for completeness: use --method native or gfal (it said: {:?})",
                        String::from_utf8_lossy(&seen)
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ListError::retryable(format!(
                        "xrdfs exited at start: {}",
                        String::from_utf8_lossy(&seen).trim()
                    )))
                }
            }
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl XrdfsLister {
    /// A lister for the server `server` (`host[:port]`) with one shell per worker.
    pub fn new(server: &str, threads: usize) -> XrdfsLister {
        XrdfsLister::over(&[server.to_string()], threads)
    }

    /// A lister whose shells go to `servers` in turn (servers that each see the whole namespace).
    pub fn over(servers: &[String], threads: usize) -> XrdfsLister {
        XrdfsLister {
            servers: if servers.is_empty() { vec![String::new()] } else { servers.to_vec() },
            shells: (0..threads.max(1)).map(|_| Mutex::new(None)).collect(),
            nonce: format!("{}-{}", std::process::id(), dc_core::now()),
            env: Vec::new(),
        }
    }

    /// The same lister with `env` set for each shell it starts.
    #[must_use]
    pub fn with_env(mut self, env: &[(String, String)]) -> XrdfsLister {
        self.env = env.to_vec();
        self
    }
}

impl DirLister for XrdfsLister {
    fn list_dir(&self, worker: usize, lfn: &[u8], timeout: Duration) -> Result<DirListing, ListError> {
        let shown = String::from_utf8_lossy(lfn).into_owned();
        if lfn.iter().any(|&b| b == b'"' || b == b'\n' || b == b'\r') {
            return Err(ListError::fatal(format!(
                "{shown}: a quote or line break in the name cannot be given to xrdfs"
            )));
        }
        let mut slot = locks::lock(&self.shells[worker % self.shells.len()]);
        if slot.as_ref().is_some_and(|s| s.timeout != timeout) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(Shell::start(&self.servers[worker % self.servers.len()], timeout, &self.env)?);
        }
        let shell = slot.as_mut().expect("shell started");
        shell.seq += 1;
        let marker = format!("#dc-end-{}-{}", self.nonce, shell.seq);
        let mut command = Vec::with_capacity(lfn.len() + marker.len() + 12);
        command.extend_from_slice(b"ls -l \"");
        command.extend_from_slice(lfn);
        command.extend_from_slice(b"\"\n");
        command.extend_from_slice(marker.as_bytes());
        command.push(b'\n');
        if let Err(e) = shell.stdin.write_all(&command).and_then(|()| shell.stdin.flush()) {
            *slot = None;
            return Err(ListError::retryable(format!("{shown}: the xrdfs shell is gone: {e}")));
        }
        // the shell's own request timeout comes first; this deadline only catches a shell that hangs
        let deadline = Instant::now() + timeout + Duration::from_secs(2);
        let mut parser = Parser::new(lfn, &self.servers[worker % self.servers.len()]);
        let mut marker_seen = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match shell.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    *slot = None;
                    return Err(ListError::timed_out(format!(
                        "{shown}: no answer from xrdfs within {} s",
                        timeout.as_secs_f64()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    *slot = None;
                    return Err(ListError::retryable(format!("{shown}: xrdfs exited before the listing ended")));
                }
            };
            let line = trim_line_end(&line);
            if marker_seen {
                // the shell's complaint about the marker command itself ends the exchange
                break;
            }
            if line.starts_with(b"[") && line.ends_with(marker.as_bytes()) {
                marker_seen = true;
                continue;
            }
            parser.line(line);
        }
        parser.finish().map(|entries| DirListing { mtime: None, entries })
    }

    fn reconnect(&self, worker: usize) {
        *locks::lock(&self.shells[worker % self.shells.len()]) = None;
    }

    fn server_names(&self) -> Vec<String> {
        self.servers.clone()
    }

    fn server_of(&self, worker: usize) -> usize {
        worker % self.servers.len()
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\n' | b'\r'] = l {
        l = rest;
    }
    l
}

/// Reads the output of `ls -l DIR` line by line.
struct Parser<'a> {
    dir: &'a [u8],
    /// The server the shell talks to, for the message of a refused credential.
    server: &'a str,
    prefix: Vec<u8>,
    entries: Vec<DirEntry>,
    error: Option<ListError>,
}

impl<'a> Parser<'a> {
    fn new(dir: &'a [u8], server: &'a str) -> Parser<'a> {
        let mut prefix = dir.to_vec();
        if !prefix.ends_with(b"/") {
            prefix.push(b'/');
        }
        Parser { dir, server, prefix, entries: Vec::new(), error: None }
    }

    fn line(&mut self, line: &[u8]) {
        if self.error.is_some() || line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if line.starts_with(b"[ERROR]") || line.starts_with(b"[FATAL]") {
            self.error = Some(error_line(self.dir, self.server, line));
            return;
        }
        // the echo of the command line, after the shell's prompt
        if line.starts_with(b"[") && line.ends_with(b"\"") && find(line, b"> ls -l \"").is_some() {
            return;
        }
        match parse_entry(line, &self.prefix) {
            Some(entry) => self.entries.push(entry),
            None => {
                self.error = Some(ListError::retryable(format!(
                    "{}: unexpected xrdfs output: {:?}",
                    String::from_utf8_lossy(self.dir),
                    String::from_utf8_lossy(line)
                )));
            }
        }
    }

    fn finish(self) -> Result<Vec<DirEntry>, ListError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.entries),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `[ERROR] Server responded with an error: [3011] Unable to locate ...`:
/// refusals (no such directory, not allowed) are final, the rest may pass;
/// an error without the server's code (`[FATAL] Connection error`,
/// `[ERROR] Operation expired`) is no answer from the server, and a time-out
/// when it says so (`Operation expired`, `Socket timeout`);
/// `[FATAL] Auth failed: ...` is a refused credential, which ends the listing.
fn error_line(dir: &[u8], server: &str, line: &[u8]) -> ListError {
    let text = String::from_utf8_lossy(line).trim().to_string();
    if find(line, b"] Auth failed").is_some() {
        return ListError::auth_failed(format!("authentication failed at root://{server}: {text}"));
    }
    let message = format!("{}: {text}", String::from_utf8_lossy(dir));
    let code = find(line, b"error: [").and_then(|i| {
        let digits: Vec<u8> = line[i + 8..].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
        std::str::from_utf8(&digits).ok()?.parse::<u32>().ok()
    });
    match code {
        Some(c) if !xrootd_sys::kxr::is_retryable(c) => ListError::fatal(message),
        Some(_) => ListError::retryable(message),
        None if find(line, b"Operation expired").is_some() || find(line, b"Socket timeout").is_some() => {
            ListError::timed_out(message)
        }
        None => ListError::no_answer(message),
    }
}

/// `drwxr-xr-x owner group 4096 2024-01-31 12:00:00 /dir/name with spaces`
fn parse_entry(line: &[u8], prefix: &[u8]) -> Option<DirEntry> {
    let ([perms, _owner, _group, size, date, time], path) = ls_line::fields(line)?;
    let name = path.strip_prefix(prefix)?;
    ls_line::entry(perms, size, name, ls_line::parse_utc(date, time)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_server::{checks, have, have_xrootd};

    #[test]
    fn parses_entries_with_spaces_and_errors() {
        let mut p = Parser::new(b"/store/a b", "h:1");
        p.line(b"[127.0.0.1:1094] / > ls -l \"/store/a b\"");
        p.line(b"drwxr-xr-x root root 4096 2024-01-31 12:00:01 /store/a b/c");
        p.line(b"-rw-r--r-- root root    3 1970-01-02 00:00:00 /store/a b/ f 1 ");
        let e = p.finish().unwrap();
        assert_eq!(e[0], DirEntry { name: b"c".to_vec(), is_dir: true, size: 0, mtime: 1706702401 });
        assert_eq!(e[1], DirEntry { name: b" f 1 ".to_vec(), is_dir: false, size: 3, mtime: 86400 });

        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"[ERROR] Server responded with an error: [3010] Unable to open directory /x; permission denied");
        assert!(!p.finish().unwrap_err().retryable);
        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"[ERROR] Operation expired");
        let e = p.finish().unwrap_err();
        assert!(e.retryable && e.no_answer && e.timed_out);
        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"[ERROR] Socket timeout");
        assert!(p.finish().unwrap_err().timed_out);
        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"[FATAL] Connection error");
        let e = p.finish().unwrap_err();
        assert!(e.retryable && e.no_answer && e.message.contains("Connection error"), "{e:?}");
        assert!(!e.timed_out);
        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"[ERROR] Server responded with an error: [3024] overloaded");
        let e = p.finish().unwrap_err();
        assert!(e.retryable && !e.no_answer && !e.timed_out);
        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"[FATAL] Auth failed: No protocols left to try");
        let e = p.finish().unwrap_err();
        assert!(e.auth && !e.retryable, "{e:?}");
        assert_eq!(e.message, "authentication failed at root://h:1: [FATAL] Auth failed: No protocols left to try");
        // a line for another directory, or garbage, is never taken as an entry
        let mut p = Parser::new(b"/x", "h:1");
        p.line(b"-rw-r--r-- root root 3 2024-01-31 12:00:01 /y/f");
        assert!(p.finish().is_err());
        let mut p = Parser::new(b"/", "h:1");
        p.line(b"-rw-r--r-- root root 3 2024-01-31 12:00:01 /f");
        assert_eq!(p.finish().unwrap()[0].name, b"f");
    }

    fn ready() -> bool {
        have_xrootd() && have("xrdfs", "xrootd-client")
    }

    fn make(server: &str, threads: usize) -> Box<dyn DirLister> {
        Box::new(XrdfsLister::new(server, threads))
    }

    #[test]
    fn tree_equals_the_local_walk() {
        if ready() {
            checks::same_as_local(&make, 3, true);
        }
    }

    #[test]
    fn directories_with_paths_of_a_real_site_are_listed() {
        // 250 characters: far wider than the 80 columns xrdfs echoed commands on
        if ready() {
            let mut server = crate::test_server::XrootdServer::new();
            let block = format!(
                "{}/120000/{}",
                crate::test_server::CMS_DATASET,
                "0A1B2C3D-4E5F-6789-ABCD-EF0123456789/".repeat(3)
            );
            let dir = server.data.join(&block);
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..5 {
                std::fs::write(dir.join(format!("B2F3C4D5-{f:04}-4A6B-9C7D-8E9F0A1B2C3D.root")), vec![b'x'; f])
                    .unwrap();
            }
            assert!(block.len() + 1 >= 250);
            server.start();
            let remote =
                checks::list(&XrdfsLister::new(&server.host_port(), 2), b"/store", 2, 0, Duration::from_secs(30));
            let local = checks::list(&crate::LocalLister::new(&server.data), b"/store", 2, 0, Duration::from_secs(30));
            assert_eq!(remote.unlisted(), vec![]);
            assert_eq!(remote.file_count(), 5);
            assert_eq!(remote.files_sorted(None), local.files_sorted(None));
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
        if have("xrdfs", "xrootd-client") {
            checks::silent_server_times_out(&make);
        }
    }

    #[test]
    fn server_restart_loses_nothing() {
        if ready() {
            checks::server_restart_loses_nothing(&make, 4);
        }
    }
}
