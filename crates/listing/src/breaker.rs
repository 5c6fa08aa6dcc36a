//! The circuit breaker of a listing: which servers are down.
//!
//! A server is down when none of its requests has been answered for the
//! listing's `Timeout` and every one of its connections has failed with no
//! answer (a timeout, a refused or dropped connection) since its last
//! answer. An answer is any reply from the server, a listing or an error it
//! sent (no such directory, permission denied, overloaded). The clock of a
//! server starts with the listing. A server found down stays down for the
//! rest of the listing: its connections are sent nothing more, and the
//! directories it was to list go to the servers still answering or, when
//! none is left, are recorded unlisted at once.

use std::time::{Duration, Instant};

pub(crate) struct Breaker {
    timeout: Duration,
    /// The server of each connection.
    server_of: Vec<usize>,
    /// Whether each connection has failed with no answer since its server's last answer.
    failing: Vec<bool>,
    servers: Vec<Server>,
}

struct Server {
    name: String,
    connections: usize,
    failing: usize,
    last_answer: Instant,
    down: bool,
}

impl Breaker {
    /// A breaker for connections `0..server_of.len()`, connection `c` to
    /// server `server_of[c]` of `names`.
    pub(crate) fn new(timeout: Duration, server_of: Vec<usize>, mut names: Vec<String>) -> Breaker {
        if names.is_empty() {
            names.push("the server".to_string());
        }
        let now = Instant::now();
        let mut servers: Vec<Server> = names
            .into_iter()
            .map(|name| Server { name, connections: 0, failing: 0, last_answer: now, down: false })
            .collect();
        let server_of: Vec<usize> = server_of.into_iter().map(|s| s.min(servers.len().saturating_sub(1))).collect();
        for &s in &server_of {
            servers[s].connections += 1;
        }
        Breaker { timeout, failing: vec![false; server_of.len()], server_of, servers }
    }

    /// The server of connection `conn`.
    pub(crate) fn server_of(&self, conn: usize) -> usize {
        self.server_of[conn % self.server_of.len()]
    }

    /// Whether a server other than `server` is not down (and has connections).
    pub(crate) fn another_live(&self, server: usize) -> bool {
        self.servers.iter().enumerate().any(|(s, state)| s != server && state.connections > 0 && !state.down)
    }

    /// The server answered a request of `conn`.
    pub(crate) fn answered(&mut self, conn: usize) {
        let s = self.server_of(conn);
        self.servers[s].last_answer = Instant::now();
        if self.servers[s].failing > 0 {
            self.servers[s].failing = 0;
            for (c, failing) in self.failing.iter_mut().enumerate() {
                if self.server_of[c] == s {
                    *failing = false;
                }
            }
        }
    }

    /// A request of `conn` failed with no answer from the server.
    pub(crate) fn no_answer(&mut self, conn: usize) {
        let c = conn % self.failing.len();
        if !self.failing[c] {
            self.failing[c] = true;
            self.servers[self.server_of[c]].failing += 1;
        }
    }

    /// Mark the servers that meet the rule down; true when one went down now.
    pub(crate) fn check(&mut self) -> bool {
        let mut changed = false;
        for s in &mut self.servers {
            if !s.down && s.connections > 0 && s.failing == s.connections && s.last_answer.elapsed() >= self.timeout {
                s.down = true;
                changed = true;
            }
        }
        changed
    }

    /// Whether the server of connection `conn` is down.
    pub(crate) fn conn_down(&self, conn: usize) -> bool {
        self.servers[self.server_of(conn)].down
    }

    /// Whether every server that has connections is down.
    pub(crate) fn all_down(&self) -> bool {
        self.servers.iter().filter(|s| s.connections > 0).all(|s| s.down)
    }

    /// Why directories no server is left for are unlisted.
    pub(crate) fn reason(&self) -> String {
        let down: Vec<&str> = self.servers.iter().filter(|s| s.down).map(|s| s.name.as_str()).collect();
        format!("server unreachable: no answer from {} for {} s", down.join(", "), self.timeout.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(timeout_ms: u64, server_of: Vec<usize>, servers: usize) -> Breaker {
        Breaker::new(Duration::from_millis(timeout_ms), server_of, (0..servers).map(|s| format!("s{s}")).collect())
    }

    #[test]
    fn down_only_when_every_connection_failed_and_the_timeout_passed() {
        let mut b = breaker(50, vec![0, 0], 1);
        b.no_answer(0);
        b.no_answer(0);
        std::thread::sleep(Duration::from_millis(60));
        assert!(!b.check(), "one connection of two failing");
        b.no_answer(1);
        assert!(b.check());
        assert!(b.conn_down(0) && b.conn_down(1) && b.all_down());
        assert!(b.reason().starts_with("server unreachable: no answer from s0 for 0.05 s"), "{}", b.reason());
        // down stays down
        b.answered(0);
        assert!(!b.check() && b.all_down());
    }

    #[test]
    fn an_answer_resets_the_clock_and_the_failures() {
        let mut b = breaker(50, vec![0, 0], 1);
        b.no_answer(0);
        b.no_answer(1);
        assert!(!b.check(), "the timeout has not passed");
        std::thread::sleep(Duration::from_millis(30));
        b.answered(1);
        b.no_answer(1);
        std::thread::sleep(Duration::from_millis(30));
        assert!(!b.check(), "connection 0 failed before the last answer");
        b.no_answer(0);
        assert!(!b.check(), "less than the timeout since the last answer");
        std::thread::sleep(Duration::from_millis(30));
        assert!(b.check());
    }

    #[test]
    fn servers_go_down_one_by_one() {
        // connections go to servers in turn
        let mut b = breaker(0, vec![0, 1, 0, 1], 2);
        b.no_answer(0);
        b.no_answer(2);
        b.no_answer(1);
        assert!(b.check());
        assert!(b.conn_down(0) && b.conn_down(2) && !b.conn_down(1) && !b.all_down());
        b.no_answer(3);
        assert!(b.check() && b.all_down());
        assert!(b.reason().contains("s0, s1"), "{}", b.reason());
    }

    #[test]
    fn a_server_without_connections_does_not_count() {
        let mut b = breaker(0, vec![0], 3);
        b.no_answer(0);
        assert!(b.check() && b.all_down());
    }
}
