use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dc_core::{DirState, Tree};
use std::collections::HashMap;
use std::sync::atomic::AtomicU32;

/// A lister over an in-memory map, failing where told to.
struct MapLister {
    dirs: HashMap<Vec<u8>, Vec<DirEntry>>,
    fail_always: Vec<Vec<u8>>,
    fail_once: Mutex<Vec<Vec<u8>>>,
    /// Directories whose listing the server refuses for the credentials.
    refused: Vec<Vec<u8>>,
    calls: AtomicU32,
    /// Set when a listing fails in a way that may pass (a cancel arriving during a failure).
    cancel_on_failure: Option<Arc<AtomicBool>>,
}

fn file(name: &str, size: u64) -> DirEntry {
    DirEntry { name: name.into(), is_dir: false, size, mtime: 10 }
}

fn dir(name: &str) -> DirEntry {
    DirEntry { name: name.into(), is_dir: true, size: 0, mtime: 10 }
}

impl DirLister for MapLister {
    fn list_dir(&self, _w: usize, lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.refused.iter().any(|f| f == lfn) {
            return Err(ListError::auth_failed("authentication failed at root://door: [FATAL] Auth failed"));
        }
        if self.fail_always.iter().any(|f| f == lfn) {
            return Err(ListError::retryable("Operation expired"));
        }
        {
            let mut once = self.fail_once.lock().unwrap();
            if let Some(p) = once.iter().position(|f| f == lfn) {
                once.remove(p);
                if let Some(cancel) = &self.cancel_on_failure {
                    // let the coordinator catch up and wait for this answer first
                    std::thread::sleep(Duration::from_millis(50));
                    cancel.store(true, Ordering::Relaxed);
                }
                return Err(ListError::retryable("socket error"));
            }
        }
        match self.dirs.get(lfn) {
            Some(e) => Ok(DirListing { mtime: Some(5), entries: e.clone() }),
            None => Err(ListError::fatal("No such file or directory")),
        }
    }
}

fn site() -> MapLister {
    let mut dirs = HashMap::new();
    dirs.insert(b"/store".to_vec(), vec![dir("mc"), dir("data"), dir("bad"), file("top", 1)]);
    let mc: Vec<DirEntry> = (0..50).map(|i| dir(&format!("d{i}"))).collect();
    dirs.insert(b"/store/mc".to_vec(), mc);
    for i in 0..50 {
        let files = (0..20).map(|j| file(&format!("f{j}.root"), (i * 100 + j) as u64)).collect();
        dirs.insert(format!("/store/mc/d{i}").into_bytes(), files);
    }
    dirs.insert(b"/store/data".to_vec(), vec![file("x", 7), dir("empty")]);
    dirs.insert(b"/store/data/empty".to_vec(), vec![]);
    dirs.insert(b"/store/bad".to_vec(), vec![file("never", 1)]);
    MapLister {
        dirs,
        fail_always: vec![b"/store/bad".to_vec()],
        fail_once: Mutex::new(vec![b"/store/mc/d7".to_vec(), b"/store/mc/d9".to_vec()]),
        refused: Vec::new(),
        calls: AtomicU32::new(0),
        cancel_on_failure: None,
    }
}

fn opts(threads: usize) -> EngineOptions {
    EngineOptions { threads, retries: 2, ..EngineOptions::default() }
}

#[test]
fn same_tree_for_any_number_of_workers() {
    let mut hashes = Vec::new();
    for threads in [1, 3, 16] {
        let t = run(&site(), Tree::new(0), &[b"/store"], &opts(threads), &mut |_| {}).unwrap();
        assert_eq!(t.file_count(), 50 * 20 + 2);
        assert!(t.pending().is_empty());
        hashes.push(t.hash());
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn failures_retry_then_unlisted() {
    let lister = site();
    let t = run(&lister, Tree::new(0), &[b"/store"], &opts(4), &mut |_| {}).unwrap();
    assert_bad_unlisted_and_flaky_listed(&t);
}

/// What the site's failures leave: /store/bad unlisted after its three
/// attempts, the two directories that failed once listed on their retry.
fn assert_bad_unlisted_and_flaky_listed(t: &Tree) {
    let unlisted = t.unlisted();
    assert_eq!(unlisted.len(), 1);
    assert_eq!(unlisted[0].path, b"/store/bad");
    assert!(unlisted[0].reason.contains("after 3 attempts"), "{}", unlisted[0].reason);
    assert_eq!(t.files_in(t.find_dir(b"/store/mc/d7").unwrap()).len(), 20);
    assert_eq!(t.files_in(t.find_dir(b"/store/mc/d9").unwrap()).len(), 20);
}

#[test]
fn progress_ends_with_totals() {
    let mut last = Progress::default();
    run(&site(), Tree::new(0), &[b"/store"], &opts(2), &mut |p| last = p.clone()).unwrap();
    assert!(last.done);
    assert_eq!(last.files, 1002);
    assert_eq!(last.unlisted, 1);
    assert_eq!(last.dirs_done, 1 + 3 + 50 + 1);
}

#[test]
fn cancelled_listing_resumes_to_the_same_tree() {
    struct Stopper<'a> {
        inner: MapLister,
        cancel: &'a AtomicBool,
    }
    impl DirLister for Stopper<'_> {
        fn list_dir(&self, w: usize, lfn: &[u8], t: Duration) -> Result<DirListing, ListError> {
            if self.inner.calls.load(Ordering::Relaxed) >= 20 {
                self.cancel.store(true, Ordering::Relaxed);
            }
            self.inner.list_dir(w, lfn, t)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.tree");
    let clean = run(&site(), Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();
    let o = EngineOptions { checkpoint: Some(ck.clone()), ..opts(2) };
    let stopper = Stopper { inner: site(), cancel: &o.cancel };
    let err = run(&stopper, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err().expect("cancelled");
    assert!(matches!(err, EngineError::Cancelled(Some(_))));
    let partial = dc_core::load_tree(&ck).unwrap();
    assert!(!partial.pending().is_empty());
    assert!(partial.file_count() < clean.file_count());
    let resumed = run(&site(), partial, &[b"/store"], &opts(2), &mut |_| {}).unwrap();
    assert_eq!(resumed.hash(), clean.hash());
    assert_eq!(resumed.files_sorted(None), clean.files_sorted(None));
}

/// The map lister behind an asynchronous face: each answer comes from a
/// thread of its own after a pseudo-random pause, so answers overtake
/// each other; it records the most requests ever in flight on a connection.
struct AsyncMap {
    inner: Arc<MapLister>,
    conns: usize,
    depth: usize,
    in_flight: Arc<Vec<AtomicU32>>,
    most: Arc<AtomicU32>,
    reconnects: AtomicU32,
    cancel_after: Option<(u32, Arc<AtomicBool>)>,
}

impl AsyncMap {
    fn new(conns: usize, depth: usize) -> AsyncMap {
        AsyncMap {
            inner: Arc::new(site()),
            conns,
            depth,
            in_flight: Arc::new((0..conns).map(|_| AtomicU32::new(0)).collect()),
            most: Arc::new(AtomicU32::new(0)),
            reconnects: AtomicU32::new(0),
            cancel_after: None,
        }
    }
}

impl DirLister for AsyncMap {
    fn list_dir(&self, _w: usize, _lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
        panic!("the engine must use the asynchronous face")
    }

    fn as_async(&self) -> Option<&dyn AsyncDirLister> {
        Some(self)
    }
}

impl AsyncDirLister for AsyncMap {
    fn connections(&self) -> usize {
        self.conns
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn start(&self, conn: usize, lfn: &[u8], t: Duration, done: ListingDone) {
        let now = self.in_flight[conn].fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        if let Some((after, cancel)) = &self.cancel_after {
            if self.inner.calls.load(Ordering::Relaxed) >= *after {
                cancel.store(true, Ordering::Relaxed);
            }
        }
        let (inner, in_flight, lfn) = (self.inner.clone(), self.in_flight.clone(), lfn.to_vec());
        let pause = (lfn.iter().map(|&b| u64::from(b)).sum::<u64>() * 7919) % 1500;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(pause));
            let result = inner.list_dir(conn, &lfn, t);
            in_flight[conn].fetch_sub(1, Ordering::SeqCst);
            done(result);
        });
    }

    fn reconnect(&self, _conn: usize) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn asynchronous_listers_give_the_same_tree_within_their_depth() {
    let want = run(&site(), Tree::new(0), &[b"/store"], &opts(1), &mut |_| {}).unwrap();
    for (conns, depth) in [(1, 1), (1, 8), (3, 4), (16, 2)] {
        let lister = AsyncMap::new(conns, depth);
        let mut last = Progress::default();
        let t = run(&lister, Tree::new(0), &[b"/store"], &opts(conns), &mut |p| last = p.clone()).unwrap();
        assert_eq!(t.hash(), want.hash(), "{conns} connections, depth {depth}");
        assert_eq!(t.files_sorted(None), want.files_sorted(None));
        assert!(t.pending().is_empty());
        assert!(lister.most.load(Ordering::SeqCst) as usize <= depth, "more than {depth} in flight");
        assert!(last.done);
        assert_eq!((last.files, last.unlisted, last.dirs_done), (1002, 1, 1 + 3 + 50 + 1));
    }
}

#[test]
fn asynchronous_failures_retry_on_a_new_connection_then_unlisted() {
    let lister = AsyncMap::new(2, 4);
    let t = run(&lister, Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();
    assert_bad_unlisted_and_flaky_listed(&t);
    // four failed attempts (two of /store/bad, one each of d7 and d9), at most one reconnect each
    let reconnects = lister.reconnects.load(Ordering::Relaxed);
    assert!((1..=4).contains(&reconnects), "{reconnects} reconnects");
}

#[test]
fn refused_credentials_end_the_listing_at_once() {
    // in the middle of the tree: directories listed before it do not make the listing a success
    let refused = || MapLister { refused: vec![b"/store/mc/d3".to_vec()], ..site() };
    let expect_auth = |r: Result<Tree, EngineError>| match r {
        Err(EngineError::Auth(m)) => assert!(m.starts_with("authentication failed at root://door"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(t) => panic!("listed {} files, {} unlisted", t.file_count(), t.unlisted().len()),
    };
    for threads in [1, 4] {
        let lister = refused();
        expect_auth(run(&lister, Tree::new(0), &[b"/store"], &opts(threads), &mut |_| {}));
    }
    let lister = AsyncMap { inner: Arc::new(refused()), ..AsyncMap::new(2, 4) };
    expect_auth(run(&lister, Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}));
}

#[test]
fn a_cancelled_asynchronous_listing_resumes_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.tree");
    let clean = run(&site(), Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();
    let o = EngineOptions { checkpoint: Some(ck.clone()), checkpoint_note: b"of /store".to_vec(), ..opts(2) };
    let lister = AsyncMap { cancel_after: Some((20, o.cancel.clone())), ..AsyncMap::new(2, 4) };
    let err = run(&lister, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err().expect("cancelled");
    assert!(matches!(err, EngineError::Cancelled(Some(_))));
    let (partial, note) = dc_core::treefile::load_tree_noted(&ck).unwrap();
    assert_eq!(note, b"of /store");
    assert!(!partial.pending().is_empty());
    let resumed = run(&AsyncMap::new(3, 2), partial, &[b"/store"], &opts(3), &mut |_| {}).unwrap();
    assert_eq!(resumed.hash(), clean.hash());
    assert_eq!(resumed.files_sorted(None), clean.files_sorted(None));
}

#[test]
fn a_failure_while_cancelling_leaves_its_directory_pending() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.tree");
    // one request at a time: the coordinator sleeps until the failed answer wakes it
    for asynchronous in [false, true] {
        let o = EngineOptions { checkpoint: Some(ck.clone()), ..opts(1) };
        let inner = MapLister { cancel_on_failure: Some(o.cancel.clone()), ..site() };
        let err = if asynchronous {
            let lister = AsyncMap { inner: Arc::new(inner), ..AsyncMap::new(1, 1) };
            run(&lister, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err()
        } else {
            run(&inner, Tree::new(0), &[b"/store"], &o, &mut |_| {}).err()
        };
        assert!(matches!(err, Some(EngineError::Cancelled(Some(_)))), "{err:?}");
        let partial = dc_core::load_tree(&ck).unwrap();
        // the directory whose failure met the cancel (d7 or d9) is to be listed again on resume
        for name in [&b"/store/mc/d7"[..], b"/store/mc/d9"] {
            let d = partial.find_dir(name).expect("known directory");
            assert_ne!(partial.state(d), DirState::Unlisted, "asynchronous: {asynchronous}");
        }
        assert!(partial.unlisted().iter().all(|u| u.path != b"/store/mc/d7" && u.path != b"/store/mc/d9"));
    }
}

/// A site of `servers` doors that each see the whole namespace (the
/// connection or worker `c` goes to door `c % servers`), one of which, or
/// all, stop answering after `dies_after` listings: their attempts then
/// fail with no answer after a short pause, as a refused connection does.
struct Doors {
    dirs: HashMap<Vec<u8>, Vec<DirEntry>>,
    servers: usize,
    /// The door that dies; `None`: all of them.
    dead_door: Option<usize>,
    dies_after: u32,
    conns: usize,
    asynchronous: bool,
    calls: AtomicU32,
    /// Attempts on a dead door.
    calls_dead: AtomicU32,
}

impl Doors {
    fn new(servers: usize, dead_door: Option<usize>, dies_after: u32, conns: usize, asynchronous: bool) -> Arc<Doors> {
        let mut dirs = HashMap::new();
        dirs.insert(b"/store".to_vec(), vec![dir("mc")]);
        dirs.insert(b"/store/mc".to_vec(), (0..100).map(|i| dir(&format!("d{i}"))).collect());
        for i in 0..100 {
            dirs.insert(format!("/store/mc/d{i}").into_bytes(), (0..4).map(|j| dir(&format!("s{j}"))).collect());
            for j in 0..4 {
                let files = (0..3).map(|k| file(&format!("f{k}.root"), (i * 100 + j * 10 + k) as u64)).collect();
                dirs.insert(format!("/store/mc/d{i}/s{j}").into_bytes(), files);
            }
        }
        Arc::new(Doors {
            dirs,
            servers,
            dead_door,
            dies_after,
            conns,
            asynchronous,
            calls: AtomicU32::new(0),
            calls_dead: AtomicU32::new(0),
        })
    }

    fn list(&self, conn: usize, lfn: &[u8]) -> Result<DirListing, ListError> {
        let calls = self.calls.fetch_add(1, Ordering::SeqCst);
        let door = conn % self.servers;
        if calls >= self.dies_after && self.dead_door.is_none_or(|d| d == door) {
            self.calls_dead.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            return Err(ListError::no_answer(format!("door {door}: Connection refused")));
        }
        std::thread::sleep(Duration::from_micros(200));
        Ok(DirListing { mtime: Some(5), entries: self.dirs[lfn].clone() })
    }
}

/// The engine's view of a shared `Doors`.
struct DoorsLister(Arc<Doors>);

impl DirLister for DoorsLister {
    fn list_dir(&self, w: usize, lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
        self.0.list(w, lfn)
    }

    fn server_names(&self) -> Vec<String> {
        (0..self.0.servers).map(|d| format!("door{d}:1094")).collect()
    }

    fn server_of(&self, conn: usize) -> usize {
        conn % self.0.servers
    }

    fn as_async(&self) -> Option<&dyn AsyncDirLister> {
        self.0.asynchronous.then_some(self as &dyn AsyncDirLister)
    }
}

impl AsyncDirLister for DoorsLister {
    fn connections(&self) -> usize {
        self.0.conns
    }

    fn depth(&self) -> usize {
        2
    }

    fn start(&self, conn: usize, lfn: &[u8], _t: Duration, done: ListingDone) {
        let (doors, lfn) = (self.0.clone(), lfn.to_vec());
        std::thread::spawn(move || done(doors.list(conn, &lfn)));
    }

    fn reconnect(&self, _conn: usize) {}
}

fn list_doors(doors: &Arc<Doors>, retries: u32, timeout: Duration) -> Tree {
    let o = EngineOptions { threads: doors.conns, retries, timeout, ..EngineOptions::default() };
    run(&DoorsLister(doors.clone()), Tree::new(0), &[b"/store"], &o, &mut |_| {}).unwrap()
}

/// Every file of `clean` is in `tree` or below one of its unlisted directories, and `tree` invents none.
fn nothing_lost(tree: &Tree, clean: &Tree) {
    let unlisted: Vec<Vec<u8>> = tree.unlisted().into_iter().map(|u| u.path).collect();
    let got: std::collections::HashSet<_> = tree.files_sorted(None).into_iter().collect();
    let want: std::collections::HashSet<_> = clean.files_sorted(None).into_iter().collect();
    assert!(got.is_subset(&want));
    for f in &want {
        let covered = got.contains(f) || unlisted.iter().any(|u| f.0.starts_with(u) && f.0.get(u.len()) == Some(&b'/'));
        assert!(covered, "{} lost", String::from_utf8_lossy(&f.0));
    }
}

#[test]
fn a_dead_server_ends_the_listing_after_the_timeout() {
    for asynchronous in [false, true] {
        let clean = list_doors(&Doors::new(1, None, u32::MAX, 4, asynchronous), 1, Duration::from_secs(1));
        assert_eq!(clean.file_count(), 100 * 4 * 3);
        // dies with some 240 directories known and not listed (52 of /store/mc/dN, 192 below the others)
        let doors = Doors::new(1, None, 50, 4, asynchronous);
        let t0 = Instant::now();
        let tree = list_doors(&doors, 1, Duration::from_millis(100));
        let took = t0.elapsed();
        let unlisted = tree.unlisted();
        assert!(unlisted.len() > 200, "asynchronous: {asynchronous}: {} unlisted", unlisted.len());
        let reasons: Vec<&str> = unlisted.iter().map(|u| u.reason.as_str()).collect();
        let unreachable = reasons.iter().filter(|r| r.starts_with("server unreachable")).count();
        // the rest failed their two attempts before the server was found down
        assert!(
            reasons.iter().all(|r| r.starts_with("server unreachable: no answer from door0:1094 for 0.1 s")
                || r.ends_with("Connection refused (after 2 attempts)")),
            "{reasons:?}"
        );
        assert!(unreachable > 150, "asynchronous: {asynchronous}: {unreachable} unreachable");
        eprintln!(
            "asynchronous: {asynchronous}: {unreachable} of {} unlisted as unreachable, {took:?}",
            unlisted.len()
        );
        // without the breaker, every directory would be tried twice: some 500 attempts of 10 ms
        let dead = doors.calls_dead.load(Ordering::SeqCst);
        eprintln!("{dead} attempts on the dead server");
        assert!(dead < 150, "asynchronous: {asynchronous}: {dead} attempts on the dead server");
        assert!(took < Duration::from_secs(2), "asynchronous: {asynchronous}: {took:?}");
        nothing_lost(&tree, &clean);
        assert!(tree.pending().is_empty());
    }
}

#[test]
fn directories_of_a_dead_door_go_to_the_doors_still_answering() {
    for asynchronous in [false, true] {
        let clean = list_doors(&Doors::new(2, None, u32::MAX, 4, asynchronous), 3, Duration::ZERO);
        // door 1 dies early; its connections fail at once, so it is down as soon as both have failed
        let doors = Doors::new(2, Some(1), 30, 4, asynchronous);
        let tree = list_doors(&doors, 3, Duration::ZERO);
        assert_eq!(tree.unlisted(), vec![], "asynchronous: {asynchronous}");
        assert_eq!(tree.hash(), clean.hash());
        assert_eq!(tree.files_sorted(None), clean.files_sorted(None));
        let dead = doors.calls_dead.load(Ordering::SeqCst);
        assert!(dead < 20, "asynchronous: {asynchronous}: {dead} attempts on the dead door");
    }
}

#[test]
fn an_attempt_that_got_no_answer_is_retried_on_another_door() {
    // the breaker never trips within the listing (Timeout 60 s): every directory door 1 fails
    // is retried on door 0, so one retry is enough for all of them
    for asynchronous in [false, true] {
        let clean = list_doors(&Doors::new(2, None, u32::MAX, 4, asynchronous), 1, Duration::from_secs(60));
        let doors = Doors::new(2, Some(1), 30, 4, asynchronous);
        let tree = list_doors(&doors, 1, Duration::from_secs(60));
        assert_eq!(tree.unlisted(), vec![], "asynchronous: {asynchronous}");
        assert_eq!(tree.files_sorted(None), clean.files_sorted(None));
        assert!(doors.calls_dead.load(Ordering::SeqCst) > 0);
    }
}

#[test]
fn a_server_that_answers_errors_is_not_down() {
    // /store/bad fails with a retryable error the server sent, on every connection: never down
    for asynchronous in [false, true] {
        let o = EngineOptions { threads: 3, retries: 2, timeout: Duration::ZERO, ..EngineOptions::default() };
        let t = if asynchronous {
            run(&AsyncMap::new(3, 2), Tree::new(0), &[b"/store"], &o, &mut |_| {}).unwrap()
        } else {
            run(&site(), Tree::new(0), &[b"/store"], &o, &mut |_| {}).unwrap()
        };
        assert_bad_unlisted_and_flaky_listed(&t);
        assert_eq!(t.file_count(), 50 * 20 + 2);
    }
}

#[test]
fn unlisted_directories_keep_whether_they_timed_out() {
    /// `/store` holds `slow`, which times out, and `refused`, which is refused.
    struct TwoFailures;
    impl DirLister for TwoFailures {
        fn list_dir(&self, _w: usize, lfn: &[u8], _t: Duration) -> Result<DirListing, ListError> {
            match lfn {
                b"/store" => Ok(DirListing { mtime: None, entries: vec![dir("slow"), dir("refused"), file("f", 1)] }),
                b"/store/slow" => Err(ListError::timed_out("/store/slow: Operation expired")),
                _ => Err(ListError::fatal("permission denied")),
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("t.tree");
    let t = run(&TwoFailures, Tree::new(0), &[b"/store"], &opts(2), &mut |_| {}).unwrap();
    let flags = |t: &Tree| t.unlisted().into_iter().map(|u| (u.path, u.timed_out)).collect::<Vec<_>>();
    let want = vec![(b"/store/refused".to_vec(), false), (b"/store/slow".to_vec(), true)];
    assert_eq!(flags(&t), want);
    dc_core::save_tree(&t, &ck).unwrap();
    assert_eq!(flags(&dc_core::load_tree(&ck).unwrap()), want);
}
