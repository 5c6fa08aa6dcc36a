//! The embedded `SQLite` database class: statements with positional
//! parameters, rows as columns plus value arrays, and the inventory fast
//! paths between `SQLite` and a tree.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dc_core::locks;
use dc_sqlite::{Database, Interrupter, Value};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{failure, invalid, no_panic, Failure, OrThrow, Outcome};
use crate::tree::Tree;

/// A statement parameter or a column value: a number, a string, bytes
/// (a `Buffer`) or null. A `Buffer` parameter binds as text of exactly
/// those bytes, as LFNs are stored (names need not be UTF-8); a text column
/// whose bytes are not UTF-8 comes back as a `Buffer`.
type SqlValue = Option<Either3<f64, String, Buffer>>;

/// Rows of a query: the column names and one array of values per row.
/// Integers come back as numbers (exact up to 2^53).
#[napi(object)]
pub struct SqliteRows {
    pub columns: Vec<String>,
    #[napi(ts_type = "Array<Array<number | string | Buffer | null>>")]
    pub rows: Vec<Vec<SqlValue>>,
}

#[napi(object)]
pub struct SqliteRunResult {
    pub changes: f64,
    pub last_insert_rowid: f64,
}

fn sql_error(e: dc_sqlite::Error) -> Failure {
    failure("E_SQLITE", e)
}

fn to_value(v: SqlValue) -> Outcome<Value> {
    Ok(match v {
        None => Value::Null,
        Some(Either3::A(n)) if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
            Value::Integer(n as i64)
        }
        Some(Either3::A(n)) if n.is_finite() => Value::Real(n),
        Some(Either3::A(n)) => return Err(invalid(format!("a statement parameter cannot be {n}"))),
        Some(Either3::B(s)) => Value::Text(s.into_bytes()),
        Some(Either3::C(b)) => Value::Text(b.to_vec()),
    })
}

fn to_values(params: Option<Vec<SqlValue>>) -> Outcome<Vec<Value>> {
    params.unwrap_or_default().into_iter().map(to_value).collect()
}

fn from_value(v: Value) -> SqlValue {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(Either3::A(i as f64)),
        Value::Real(f) => Some(Either3::A(f)),
        Value::Text(t) => match String::from_utf8(t) {
            Ok(s) => Some(Either3::B(s)),
            Err(e) => Some(Either3::C(e.into_bytes().into())),
        },
        Value::Blob(b) => Some(Either3::C(b.into())),
    }
}

/// One `SQLite` database file (WAL mode; other processes' write locks are
/// waited for up to `busyTimeoutMs`).
#[napi]
pub struct SqliteDatabase {
    // shared with the async fill, which runs off the JS thread
    inner: Arc<Mutex<Database>>,
    // taken at opening: while a fill runs it holds the connection's lock
    interrupter: Arc<Interrupter>,
}

impl SqliteDatabase {
    fn db(&self) -> MutexGuard<'_, Database> {
        locks::lock(&self.inner)
    }

    fn open(path: String, busy_timeout_ms: Option<f64>) -> Outcome<SqliteDatabase> {
        let timeout = busy_timeout_ms.unwrap_or(30_000.0);
        if !timeout.is_finite() || timeout < 0.0 {
            return Err(invalid(format!("busyTimeoutMs must be a non-negative number, not {timeout}")));
        }
        let db = Database::open(&PathBuf::from(path), Duration::from_millis(timeout as u64)).map_err(sql_error)?;
        let interrupter = Arc::new(db.interrupter().map_err(sql_error)?);
        Ok(SqliteDatabase { inner: Arc::new(Mutex::new(db)), interrupter })
    }

    fn run_now(&self, sql: &str, params: Option<Vec<SqlValue>>) -> Outcome<SqliteRunResult> {
        let r = self.db().run(sql, &to_values(params)?).map_err(sql_error)?;
        Ok(SqliteRunResult { changes: r.changes as f64, last_insert_rowid: r.last_insert_rowid as f64 })
    }

    fn run_many_now(&self, sql: &str, param_lists: Vec<Vec<SqlValue>>) -> Outcome<f64> {
        let lists: Vec<Vec<Value>> = param_lists.into_iter().map(|p| to_values(Some(p))).collect::<Outcome<_>>()?;
        self.db().run_many(sql, &lists).map(|n| n as f64).map_err(sql_error)
    }

    fn query_now(&self, sql: &str, params: Option<Vec<SqlValue>>) -> Outcome<SqliteRows> {
        let rows = self.db().query(sql, &to_values(params)?).map_err(sql_error)?;
        Ok(SqliteRows {
            columns: rows.columns,
            rows: rows.rows.into_iter().map(|r| r.into_iter().map(from_value).collect()).collect(),
        })
    }
}

#[napi]
impl SqliteDatabase {
    /// Open (creating when absent) the database at `path` (`:memory:` for a
    /// private one).
    #[napi(constructor)]
    pub fn new(env: Env, path: String, busy_timeout_ms: Option<f64>) -> Result<SqliteDatabase> {
        SqliteDatabase::open(path, busy_timeout_ms).or_throw(env)
    }

    /// Run statements without parameters (schema, `BEGIN`, `COMMIT`).
    #[napi]
    pub fn exec(&self, env: Env, sql: String) -> Result<()> {
        self.db().exec(&sql).map_err(sql_error).or_throw(env)
    }

    /// Run one statement with positional (`?`) parameters.
    #[napi(ts_args_type = "sql: string, params?: Array<number | string | Buffer | null>")]
    pub fn run(&self, env: Env, sql: String, params: Option<Vec<SqlValue>>) -> Result<SqliteRunResult> {
        self.run_now(&sql, params).or_throw(env)
    }

    /// Run one statement once per parameter list, all in one transaction.
    #[napi(ts_args_type = "sql: string, paramLists: Array<Array<number | string | Buffer | null>>")]
    pub fn run_many(&self, env: Env, sql: String, param_lists: Vec<Vec<SqlValue>>) -> Result<f64> {
        self.run_many_now(&sql, param_lists).or_throw(env)
    }

    /// The rows of a query.
    #[napi(ts_args_type = "sql: string, params?: Array<number | string | Buffer | null>")]
    pub fn query(&self, env: Env, sql: String, params: Option<Vec<SqlValue>>) -> Result<SqliteRows> {
        self.query_now(&sql, params).or_throw(env)
    }
    /// Whether a transaction is open.
    #[napi(getter)]
    pub fn in_transaction(&self) -> bool {
        self.db().in_transaction()
    }

    /// Add the `(lfn, size, mtime)` rows of a query to `tree` (size NULL or
    /// negative: unknown; mtime NULL: 0). A bad row is an error and adds
    /// nothing. Returns the number of files added.
    #[napi(ts_args_type = "tree: Tree, sql: string, params?: Array<number | string | Buffer | null>")]
    pub fn fill_tree(&self, env: Env, tree: &Tree, sql: String, params: Option<Vec<SqlValue>>) -> Result<f64> {
        let params = to_values(params).or_throw(env)?;
        let mut t = locks::write(&tree.inner);
        self.db().fill_tree(&sql, &params, &mut t).map(|n| n as f64).map_err(sql_error).or_throw(env)
    }

    /// `fillTree` off the JS thread. An abort stops the query at once
    /// (`E_CANCELLED`) and adds nothing to the tree; give each call a
    /// signal of its own (napi-rs tells only the first task a signal was
    /// given to of its abort).
    #[napi(
        ts_args_type = "tree: Tree, sql: string, params?: Array<number | string | Buffer | null>, signal?: AbortSignal",
        ts_return_type = "Promise<number>"
    )]
    pub fn fill_tree_async(
        &self,
        env: Env,
        tree: &Tree,
        sql: String,
        params: Option<Vec<SqlValue>>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<FillTask>> {
        let params = to_values(params).or_throw(env)?;
        let task = FillTask { db: self.inner.clone(), tree: tree.inner.clone(), sql, params };
        if let Some(s) = &signal {
            let interrupter = self.interrupter.clone();
            // a running query cannot be dropped by N-API: SQLite stops it at its next step
            s.on_abort(move || interrupter.interrupt());
        }
        Ok(AsyncTask::with_optional_signal(task, signal))
    }

    /// Run `sql` once per file of `tree` in one transaction, with `?1` the
    /// LFN, `?2` the size (null when unknown), `?3` the mtime and `?4`...
    /// `params`. Returns the number of rows changed.
    #[napi(ts_args_type = "tree: Tree, sql: string, params?: Array<number | string | Buffer | null>")]
    pub fn insert_tree(&self, env: Env, tree: &Tree, sql: String, params: Option<Vec<SqlValue>>) -> Result<f64> {
        let params = to_values(params).or_throw(env)?;
        let t = tree.read();
        self.db().insert_tree(&sql, &params, &t).map(|n| n as f64).map_err(sql_error).or_throw(env)
    }

    /// Close the database; later calls fail.
    #[napi]
    pub fn close(&self, env: Env) -> Result<()> {
        self.db().close().map_err(sql_error).or_throw(env)
    }
}

pub struct FillTask {
    db: Arc<Mutex<Database>>,
    tree: Arc<std::sync::RwLock<dc_core::Tree>>,
    sql: String,
    params: Vec<Value>,
}

impl Task for FillTask {
    type Output = Outcome<u64>;
    type JsValue = f64;

    fn compute(&mut self) -> Result<Outcome<u64>> {
        Ok(no_panic("filling a tree from SQLite", || {
            // the tree first, then the database, as `fillTree` and `insertTree` take them
            let mut tree = locks::write(&self.tree);
            let db = locks::lock(&self.db);
            db.fill_tree(&self.sql, &self.params, &mut tree).map_err(|e| {
                if e.is_interrupted() {
                    failure("E_CANCELLED", "the inventory listing was cancelled")
                } else {
                    sql_error(e)
                }
            })
        }))
    }

    fn resolve(&mut self, env: Env, n: Outcome<u64>) -> Result<f64> {
        n.map(|n| n as f64).or_throw(env)
    }
}
