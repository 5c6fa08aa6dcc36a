//! All or nothing: the one place a transaction is opened and ended.

use rusqlite::Connection;

use crate::{Database, Error};

impl Database {
    /// Run `work` in a transaction: committed when it succeeds, rolled back
    /// when it fails (its error is the one returned). Inside a transaction
    /// the caller opened, `work` runs in that one and the caller ends it.
    pub(crate) fn all_or_nothing<T>(&self, work: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let conn = self.conn()?;
        if !conn.is_autocommit() {
            return work(conn);
        }
        self.exec("BEGIN IMMEDIATE")?;
        match work(conn) {
            Ok(value) => {
                self.exec("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // the first error is the one to report; a failed rollback leaves nothing more to undo
                let _ = self.exec("ROLLBACK");
                Err(e)
            }
        }
    }
}
