//! The embedded `SQLite` store: a connection that runs statements with
//! positional parameters and returns rows as plain values, and two fast paths
//! that move an inventory between `SQLite` and a [`dc_core::Tree`] without a
//! per-file object on the JavaScript side.
//!
//! Nothing here knows of N-API; the binding wraps [`Database`].

use std::path::Path;
use std::time::Duration;

use dc_core::{Loader, Tree, UNKNOWN_SIZE};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

mod transaction;

/// A value going into or coming out of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    /// Text; bytes that are not UTF-8 are kept as they are.
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(t.to_vec()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot open the database: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("{path}: {source} (in `{sql}`)")]
    Statement { path: String, sql: String, source: rusqlite::Error },
    #[error("{path}: row {row} of `{sql}`: {message}")]
    BadRow { path: String, sql: String, row: u64, message: String },
    #[error("the database is closed")]
    Closed,
}

impl Error {
    /// Whether the statement was stopped by an [`Interrupter`].
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Statement { source: rusqlite::Error::SqliteFailure(e, _), .. }
            if e.code == rusqlite::ErrorCode::OperationInterrupted)
    }
}

/// Stops the statement a [`Database`] is running, from any thread (a
/// cancelled inventory listing); a no-op when none runs, or once the
/// database is closed.
pub struct Interrupter(rusqlite::InterruptHandle);

impl Interrupter {
    pub fn interrupt(&self) {
        self.0.interrupt();
    }
}

/// The result of a statement that changes rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunResult {
    pub changes: u64,
    pub last_insert_rowid: i64,
}

/// Column names and rows of a query.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// One `SQLite` database file, opened in WAL mode with a busy timeout so that
/// several processes on one host can share it.
pub struct Database {
    conn: Option<Connection>,
    path: String,
}

impl Database {
    /// Open (creating when absent) the database at `path`; `:memory:` for a
    /// private in-memory one. Waits up to `busy_timeout` for another
    /// process's write lock.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Database, Error> {
        let name = path.display().to_string();
        let open_err = |source| Error::Open { path: name.clone(), source };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(busy_timeout).map_err(open_err)?;
        if name != ":memory:" {
            // WAL: readers (the web page) never block the writer (the check)
            conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        Ok(Database { conn: Some(conn), path: name })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// A handle that stops this connection's running statement from another thread.
    pub fn interrupter(&self) -> Result<Interrupter, Error> {
        Ok(Interrupter(self.conn()?.get_interrupt_handle()))
    }

    fn conn(&self) -> Result<&Connection, Error> {
        self.conn.as_ref().ok_or(Error::Closed)
    }

    fn statement_error(&self, sql: &str, source: rusqlite::Error) -> Error {
        Error::Statement { path: self.path.clone(), sql: sql.to_string(), source }
    }

    /// Run one or more statements without parameters.
    pub fn exec(&self, sql: &str) -> Result<(), Error> {
        self.conn()?.execute_batch(sql).map_err(|e| self.statement_error(sql, e))
    }

    /// Run one statement with positional parameters.
    pub fn run(&self, sql: &str, params: &[Value]) -> Result<RunResult, Error> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.statement_error(sql, e))?;
        let changes = stmt.execute(rusqlite::params_from_iter(params)).map_err(|e| self.statement_error(sql, e))?;
        Ok(RunResult { changes: changes as u64, last_insert_rowid: conn.last_insert_rowid() })
    }

    /// Run one statement once per parameter list, in one transaction (all or nothing).
    pub fn run_many(&self, sql: &str, param_lists: &[Vec<Value>]) -> Result<u64, Error> {
        self.all_or_nothing(|conn| {
            let mut stmt = conn.prepare_cached(sql).map_err(|e| self.statement_error(sql, e))?;
            let mut changes = 0u64;
            for params in param_lists {
                changes +=
                    stmt.execute(rusqlite::params_from_iter(params)).map_err(|e| self.statement_error(sql, e))? as u64;
            }
            Ok(changes)
        })
    }

    /// Rows of a query.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Rows, Error> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.statement_error(sql, e))?;
        let columns: Vec<String> = stmt.column_names().iter().map(std::string::ToString::to_string).collect();
        let width = columns.len();
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(|e| self.statement_error(sql, e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.statement_error(sql, e))? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(Value::from(row.get_ref(i).map_err(|e| self.statement_error(sql, e))?));
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| !c.is_autocommit())
    }

    /// Add the rows of a query giving `(lfn, size, mtime)` to `tree`: `lfn`
    /// text or blob, an absolute file path; `size` bytes (NULL or negative:
    /// unknown); `mtime` unix seconds (NULL: 0, old). Returns the number of
    /// files added. On a bad row nothing is added.
    pub fn fill_tree(&self, sql: &str, params: &[Value], tree: &mut Tree) -> Result<u64, Error> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.statement_error(sql, e))?;
        if stmt.column_count() != 3 {
            return Err(Error::BadRow {
                path: self.path.clone(),
                sql: sql.to_string(),
                row: 0,
                message: format!("the query gives {} columns, not 3 (lfn, size, mtime)", stmt.column_count()),
            });
        }
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(|e| self.statement_error(sql, e))?;
        // an empty tree is filled in place (and emptied again on a bad row); a
        // tree with files gets the rows through a scratch tree, so that a bad
        // row leaves it untouched
        let listed_at = tree.default_listed_at();
        let in_place = tree.file_count() == 0 && tree.dir_count() == 1;
        let mut scratch = if in_place { None } else { Some(Tree::new(listed_at)) };
        let target: &mut Tree = match scratch.as_mut() {
            Some(s) => s,
            None => &mut *tree,
        };
        let mut n = 0u64;
        let result = (|| {
            let bad = |row: u64, message: String| Error::BadRow {
                path: self.path.clone(),
                sql: sql.to_string(),
                row,
                message,
            };
            let mut loader = Loader::new(target);
            while let Some(row) = rows.next().map_err(|e| self.statement_error(sql, e))? {
                n += 1;
                let lfn = match row.get_ref(0).map_err(|e| self.statement_error(sql, e))? {
                    ValueRef::Text(t) | ValueRef::Blob(t) => t,
                    other => return Err(bad(n, format!("the LFN is {:?}, not text", other.data_type()))),
                };
                if lfn.first() != Some(&b'/') || lfn.ends_with(b"/") {
                    return Err(bad(n, format!("`{}` is not an absolute file path", String::from_utf8_lossy(lfn))));
                }
                let size = match row.get_ref(1).map_err(|e| self.statement_error(sql, e))? {
                    ValueRef::Null => UNKNOWN_SIZE,
                    ValueRef::Integer(i) if i < 0 => UNKNOWN_SIZE,
                    ValueRef::Integer(i) => i as u64,
                    ValueRef::Real(f) if f >= 0.0 && f.fract() == 0.0 => f as u64,
                    other => return Err(bad(n, format!("the size is {:?}, not a whole number", other.data_type()))),
                };
                let mtime = match row.get_ref(2).map_err(|e| self.statement_error(sql, e))? {
                    ValueRef::Null => 0,
                    ValueRef::Integer(i) => i,
                    ValueRef::Real(f) if f.is_finite() => f as i64,
                    other => return Err(bad(n, format!("the mtime is {:?}, not a number", other.data_type()))),
                };
                loader.add_parts(lfn, size, mtime);
            }
            Ok(n)
        })();
        match (result, scratch) {
            (Err(e), None) => {
                *tree = Tree::new(listed_at);
                Err(e)
            }
            (Err(e), Some(_)) => Err(e),
            (Ok(n), Some(s)) => {
                if n > 0 {
                    tree.graft(b"/", &s);
                }
                Ok(n)
            }
            (Ok(n), None) => Ok(n),
        }
    }

    /// Run `sql` once per file of `tree`, binding `?1` to the LFN, `?2` to
    /// the size (NULL when unknown), `?3` to the mtime and `?4`... to
    /// `params`, in one transaction (all or nothing). Returns the number of
    /// rows changed.
    pub fn insert_tree(&self, sql: &str, params: &[Value], tree: &Tree) -> Result<u64, Error> {
        self.all_or_nothing(|conn| {
            let mut stmt = conn.prepare_cached(sql).map_err(|e| self.statement_error(sql, e))?;
            for (i, p) in params.iter().enumerate() {
                stmt.raw_bind_parameter(i + 4, p).map_err(|e| self.statement_error(sql, e))?;
            }
            let mut changes = 0u64;
            let mut visit = |lfn: &[u8], i: usize| -> Result<(), Error> {
                let f = tree.file(i);
                let bind = |stmt: &mut rusqlite::CachedStatement<'_>| -> rusqlite::Result<usize> {
                    stmt.raw_bind_parameter(1, ToSqlOutput::Borrowed(ValueRef::Text(lfn)))?;
                    if f.size == UNKNOWN_SIZE {
                        stmt.raw_bind_parameter(2, rusqlite::types::Null)?;
                    } else {
                        stmt.raw_bind_parameter(2, f.size as i64)?;
                    }
                    stmt.raw_bind_parameter(3, f.mtime)?;
                    stmt.raw_execute()
                };
                changes += bind(&mut stmt).map_err(|e| self.statement_error(sql, e))? as u64;
                Ok(())
            };
            tree.walk_sorted(&mut visit)?;
            Ok(changes)
        })
    }

    /// Close the connection; later calls fail with [`Error::Closed`].
    pub fn close(&mut self) -> Result<(), Error> {
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| Error::Open { path: self.path.clone(), source: e })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Database {
        Database::open(Path::new(":memory:"), Duration::from_secs(1)).unwrap()
    }

    fn text(s: &str) -> Value {
        Value::Text(s.as_bytes().to_vec())
    }

    #[test]
    fn statements_and_rows() {
        let db = memory();
        db.exec("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB)").unwrap();
        let r = db.run("INSERT INTO t(b, c, d) VALUES (?, ?, ?)", &[text("x"), Value::Real(1.5), Value::Null]).unwrap();
        assert_eq!(r, RunResult { changes: 1, last_insert_rowid: 1 });
        let rows = db.query("SELECT a, b, c, d FROM t WHERE b = ?", &[text("x")]).unwrap();
        assert_eq!(rows.columns, ["a", "b", "c", "d"]);
        assert_eq!(rows.rows, vec![vec![Value::Integer(1), text("x"), Value::Real(1.5), Value::Null]]);
    }

    #[test]
    fn errors_name_the_statement() {
        let db = memory();
        let e = db.query("SELECT * FROM nowhere", &[]).unwrap_err().to_string();
        assert!(e.contains("nowhere") && e.contains(":memory:"), "{e}");
    }

    #[test]
    fn run_many_is_all_or_nothing() {
        let db = memory();
        db.exec("CREATE TABLE t(a INTEGER UNIQUE)").unwrap();
        let lists = vec![vec![Value::Integer(1)], vec![Value::Integer(2)], vec![Value::Integer(1)]];
        assert!(db.run_many("INSERT INTO t VALUES (?)", &lists).is_err());
        assert_eq!(db.query("SELECT count(*) FROM t", &[]).unwrap().rows[0][0], Value::Integer(0));
        assert!(!db.in_transaction());
    }

    #[test]
    fn inside_the_callers_transaction_the_caller_ends_it() {
        let db = memory();
        db.exec("CREATE TABLE t(a INTEGER UNIQUE)").unwrap();
        db.exec("BEGIN").unwrap();
        assert_eq!(db.run_many("INSERT INTO t VALUES (?)", &[vec![Value::Integer(1)]]).unwrap(), 1);
        let lists = vec![vec![Value::Integer(2)], vec![Value::Integer(1)]];
        assert!(db.run_many("INSERT INTO t VALUES (?)", &lists).is_err());
        // neither committed nor rolled back: the caller's transaction is still open
        assert!(db.in_transaction());
        db.exec("ROLLBACK").unwrap();
        assert_eq!(db.query("SELECT count(*) FROM t", &[]).unwrap().rows[0][0], Value::Integer(0));
    }

    #[test]
    fn tree_round_trip() {
        let db = memory();
        db.exec("CREATE TABLE f(site TEXT, lfn TEXT, size INTEGER, mtime INTEGER)").unwrap();
        let mut tree = Tree::new(100);
        tree.add_file_path(b"/store/mc/a/1.root", 10, 0);
        tree.add_file_path(b"/store/mc/a/2.root", UNKNOWN_SIZE, 50);
        tree.add_file_path(b"/store/data/b/odd \xff name", 7, 0);
        let n = db.insert_tree("INSERT INTO f VALUES (?4, ?1, ?2, ?3)", &[text("T2_X")], &tree).unwrap();
        assert_eq!(n, 3);
        let mut back = Tree::new(100);
        let m = db.fill_tree("SELECT lfn, size, mtime FROM f WHERE site = ?", &[text("T2_X")], &mut back).unwrap();
        assert_eq!(m, 3);
        assert_eq!(back.hash(), tree.hash());
        assert_eq!(back.files_sorted(None), tree.files_sorted(None));
    }

    #[test]
    fn a_bad_row_adds_nothing() {
        let db = memory();
        db.exec("CREATE TABLE f(lfn, size, mtime); INSERT INTO f VALUES ('/a/1', 1, 0), ('relative', 2, 0)").unwrap();
        let mut tree = Tree::new(0);
        let e = db.fill_tree("SELECT lfn, size, mtime FROM f", &[], &mut tree).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("relative"), "{e}");
        assert_eq!(tree.file_count(), 0);
        let e = db.fill_tree("SELECT lfn FROM f", &[], &mut tree).unwrap_err().to_string();
        assert!(e.contains("not 3"), "{e}");
    }

    #[test]
    fn an_interrupted_fill_adds_nothing() {
        let db = memory();
        let stop = db.interrupter().unwrap();
        // rows without end: only the interrupt ends the statement
        let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT '/a/' || i, 1, 0 FROM n";
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            stop.interrupt();
        });
        let mut tree = Tree::new(0);
        let e = db.fill_tree(sql, &[], &mut tree).unwrap_err();
        stopper.join().unwrap();
        assert!(e.is_interrupted(), "{e}");
        assert_eq!(tree.file_count(), 0);
        // the next statement runs as usual
        assert_eq!(db.query("SELECT 1", &[]).unwrap().rows[0][0], Value::Integer(1));
    }

    #[test]
    fn a_failed_insert_rolls_back() {
        let db = memory();
        db.exec("CREATE TABLE f(lfn TEXT UNIQUE, size, mtime)").unwrap();
        db.run("INSERT INTO f VALUES ('/b/2', 1, 0)", &[]).unwrap();
        let mut tree = Tree::new(0);
        tree.add_file_path(b"/a/1", 1, 0);
        tree.add_file_path(b"/b/2", 1, 0);
        assert!(db.insert_tree("INSERT INTO f VALUES (?1, ?2, ?3)", &[], &tree).is_err());
        assert_eq!(db.query("SELECT count(*) FROM f", &[]).unwrap().rows[0][0], Value::Integer(1));
    }

    #[test]
    fn file_database_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let db = Database::open(&path, Duration::from_secs(1)).unwrap();
        let mode = db.query("PRAGMA journal_mode", &[]).unwrap();
        assert_eq!(mode.rows[0][0], text("wal"));
        let mut db = db;
        db.close().unwrap();
        assert!(matches!(db.exec("SELECT 1"), Err(Error::Closed)));
    }
}
