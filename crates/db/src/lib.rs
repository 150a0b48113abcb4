//! Persistence for ferrostack: one module per resource, SQLite (embedded default) and
//! PostgreSQL behind one `Db` handle. SQL is written once in the dialect both engines accept
//! (`$N` placeholders, BIGINT/TEXT columns, `RETURNING`), and migrations exist per engine with
//! identical numbering.

pub mod account;
pub mod alert;
mod col;
pub mod config;
pub mod domain;
pub mod event;
pub mod followup;
pub mod group;
pub mod held;
pub mod host;
pub mod job;
pub mod mshost;
pub mod netoffering;
pub mod network;
pub mod offering;
pub mod physnet;
pub mod presence;
pub mod role;
pub mod session;
pub mod snapshot;
pub mod sql;
pub mod sshkey;
pub mod storage;
pub mod tag;
pub mod template;
pub mod template_extract;
pub mod user;
pub mod userdata;
pub mod vm;
pub mod vm_extras;
pub mod volume;
pub mod zone;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ferrostack_types::Error;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Transaction};

pub use col::{enum_col, opt_enum_col};
pub use sql::Sql;

pub type Conn = AnyConnection;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::invalid(format!(
                "unsupported database URL '{}': use sqlite:///path/to/file.db or postgres://user@host/db",
                redact_url(url)
            )))
        }
    }
}

/// Hide a password in a database URL before it is logged or shown.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:****{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// How many connections the handle opens.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    /// SQLite: read-only connections beside the one writer.
    pub sqlite_readers: u32,
    /// PostgreSQL: the pool (reads and writes); size it above the job workers so requests
    /// never queue behind jobs.
    pub postgres: u32,
}

impl Default for PoolSize {
    fn default() -> Self {
        PoolSize {
            sqlite_readers: 8,
            postgres: 32,
        }
    }
}

/// The database handle and its access discipline.
///
/// SQLite gets the shape it is good at: **one writer** connection, through which every write
/// transaction passes in turn (a queue in the process instead of busy-waiting on the file
/// lock), and a pool of **read-only readers** that WAL lets run beside it. PostgreSQL has one
/// pool for both. Code asks for what it does: [`Db::read`] / [`Db::conn`] to read,
/// [`Db::write`] for one autocommit write, [`Db::begin`] for a write transaction. A
/// connection that comes back inside a transaction (a failed COMMIT whose ROLLBACK failed too,
/// as when the disk was full) or that fails its ping is closed, never handed out again.
///
/// Each connection handed out is tracked ([`held`]): acquiring another while holding one is a
/// bug the tests catch.
#[derive(Clone, Debug)]
pub struct Db {
    writer: AnyPool,
    readers: AnyPool,
    backend: Backend,
}

/// A pooled connection (read-only on SQLite) that counts as held until dropped.
#[derive(Debug)]
pub struct DbConn {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    _held: held::Held,
}

impl std::ops::Deref for DbConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for DbConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// Acquire from `pool` for the caller at `at`, checked and tracked (see [`held`]).
fn tracked<'p>(
    pool: &'p AnyPool,
    at: &'static std::panic::Location<'static>,
) -> impl std::future::Future<Output = Result<DbConn, Error>> + Send + 'p {
    held::check_acquire(at);
    async move {
        let conn = pool.acquire().await.map_err(db_err)?;
        Ok(DbConn {
            conn,
            _held: held::Held::take(at),
        })
    }
}

/// A write transaction that counts as held until committed, rolled back or dropped.
#[derive(Debug)]
pub struct Tx {
    tx: Transaction<'static, sqlx::Any>,
    _held: held::Held,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                              PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";

/// Give a connection back only if it is outside any transaction: a COMMIT that failed (disk
/// full) and a ROLLBACK that failed after it leave the connection inside a transaction for
/// good, and every later BEGIN on it would fail. A transaction dropped without commit (an
/// error path) still counts as open here — its rollback is only queued — so that connection
/// is closed too and a fresh one opened: rare, and cheaper than a round trip on every release.
/// (PostgreSQL connections are also pinged before they are handed out; see `Db::open_with`.)
fn healthy_on_release(
    conn: &mut AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        use sqlx::Connection;
        if conn.is_in_transaction() {
            tracing::debug!("closing a database connection returned inside a transaction");
            return Ok(false);
        }
        Ok(true)
    })
}

impl Db {
    /// Connect (creating an SQLite file if needed) and apply all migrations.
    pub async fn open(url: &str) -> Result<Db, Error> {
        Db::open_with(url, PoolSize::default()).await
    }

    pub async fn open_with(url: &str, size: PoolSize) -> Result<Db, Error> {
        sqlx::any::install_default_drivers();
        let backend: Backend = url.parse()?;
        let url = match backend {
            Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|e| {
                            Error::invalid(format!("cannot create the database directory {}: {e}", dir.display()))
                        })?;
                    }
                }
                format!("sqlite://{path}?mode=rwc")
            }
            Backend::Postgres => url.to_string(),
        };
        let unavailable = |e: sqlx::Error| {
            Error::ServiceUnavailable(format!(
                "cannot open the database {}: {e}; check the URL and that the server is running",
                redact_url(&url)
            ))
        };
        let base = || {
            AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(30))
                .after_release(healthy_on_release)
                // A PostgreSQL connection is pinged before it is handed out (the server may
                // have closed it); an SQLite connection is a file handle on a thread of ours,
                // and what breaks it (a transaction left open on a full disk) is caught when
                // it is given back, so the ping would only cost a round trip per statement.
                .test_before_acquire(backend == Backend::Postgres)
        };
        let db = match backend {
            Backend::Sqlite => {
                let writer = base()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(unavailable)?;
                let db = Db {
                    readers: writer.clone(),
                    writer,
                    backend,
                };
                // Migrate before the readers open: they see the final schema.
                db.migrate().await?;
                let readers = base()
                    .max_connections(size.sqlite_readers.max(1))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute(SQLITE_PRAGMAS).await?;
                            conn.execute("PRAGMA query_only=ON;").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(unavailable)?;
                return Ok(Db { readers, ..db });
            }
            Backend::Postgres => {
                let pool = base()
                    .max_connections(size.postgres.max(2))
                    .connect(&url)
                    .await
                    .map_err(unavailable)?;
                Db {
                    readers: pool.clone(),
                    writer: pool,
                    backend,
                }
            }
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| Error::ServiceUnavailable(format!("database migration failed: {e}")))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool to run one read statement on (it borrows a reader for the statement only).
    #[track_caller]
    pub fn read(&self) -> &AnyPool {
        held::check_acquire(std::panic::Location::caller());
        &self.readers
    }

    /// The pool to run one autocommit write statement on (SQLite: the writer, for the
    /// statement only). Several writes that belong together go in one [`Db::begin`].
    #[track_caller]
    pub fn write(&self) -> &AnyPool {
        held::check_acquire(std::panic::Location::caller());
        &self.writer
    }

    /// A connection for several reads in a row (read-only on SQLite). Drop it before any
    /// other database call, agent call or wait.
    #[track_caller]
    pub fn conn(&self) -> impl std::future::Future<Output = Result<DbConn, Error>> + Send + '_ {
        tracked(&self.readers, std::panic::Location::caller())
    }

    /// The writer for a few autocommit writes in a row (each its own statement). Hold it for
    /// those statements only: every other writer waits behind it.
    #[track_caller]
    pub fn write_conn(&self) -> impl std::future::Future<Output = Result<DbConn, Error>> + Send + '_ {
        tracked(&self.writer, std::panic::Location::caller())
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`) on
    /// the one writer; keep it short: no agent call, no wait, no other acquisition inside.
    #[track_caller]
    pub fn begin(&self) -> impl std::future::Future<Output = Result<Tx, Error>> + Send + '_ {
        let at = std::panic::Location::caller();
        held::check_acquire(at);
        async move {
            let tx = match self.backend {
                Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
                Backend::Postgres => self.writer.begin().await,
            }
            .map_err(db_err)?;
            Ok(Tx {
                tx,
                _held: held::Held::take(at),
            })
        }
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }
}

/// Translate a database failure into the one error type. Unexpected by definition: the
/// caller handles the expected cases (unique violations) before reaching this.
pub fn db_err(e: sqlx::Error) -> Error {
    if matches!(e, sqlx::Error::PoolTimedOut) {
        Error::ServiceUnavailable("the database is busy; retry the request".into())
    } else if is_concurrency_abort(&e) {
        Error::Conflict(
            "the database aborted this change because of a concurrent one (deadlock or serialization failure); retry"
                .into(),
        )
    } else if is_storage_full(&e) {
        Error::ResourceUnavailable(
            "the database cannot write: its disk is full; free space on the database's filesystem \
             (ferrostack recovers by itself once there is room) and retry"
                .into(),
        )
    } else {
        Error::internal(format!("database: {e}"))
    }
}

/// True when PostgreSQL aborted the transaction to resolve a conflict with another
/// (`40P01` deadlock detected, `40001` serialization failure): retryable, not a bug.
pub fn is_concurrency_abort(e: &sqlx::Error) -> bool {
    if let sqlx::Error::Database(d) = e {
        return matches!(d.code().as_deref(), Some("40P01" | "40001"));
    }
    false
}

/// True when the database refused a write for lack of space (SQLite `SQLITE_FULL`,
/// PostgreSQL class 53 "insufficient resources": disk full, out of memory, too many
/// connections) — an operator's problem with a clear fix, not a bug.
pub fn is_storage_full(e: &sqlx::Error) -> bool {
    if let sqlx::Error::Database(d) = e {
        let code = d.code().unwrap_or_default();
        return code == "13" || code.starts_with("53") || d.message().contains("database or disk is full");
    }
    if let sqlx::Error::Io(io) = e {
        return io.raw_os_error() == Some(28);
    }
    false
}

/// True when the failure is a unique-constraint violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    if let sqlx::Error::Database(d) = e {
        let code = d.code().unwrap_or_default();
        code == "23505" || code == "2067" || code == "1555" || d.message().contains("UNIQUE")
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_match_between_engines() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut names: Vec<_> = std::fs::read_dir(dir.join("sqlite"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for name in names {
            let s = std::fs::read_to_string(dir.join("sqlite").join(&name)).unwrap();
            let p = std::fs::read_to_string(dir.join("postgres").join(&name))
                .unwrap_or_else(|_| panic!("postgres migration {name:?} missing"));
            let norm = |t: &str| {
                t.replace(
                    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                    "INTEGER PRIMARY KEY",
                )
                .replace("../postgres/", "../ENGINE/")
                .replace("../sqlite/", "../ENGINE/")
            };
            assert_eq!(
                norm(&s),
                norm(&p),
                "migration {name:?} differs beyond the id column type"
            );
        }
    }

    #[test]
    fn urls_are_recognised_and_redacted() {
        assert_eq!("sqlite:///x.db".parse::<Backend>().unwrap(), Backend::Sqlite);
        assert_eq!("postgres://u@h/d".parse::<Backend>().unwrap(), Backend::Postgres);
        assert!("mysql://x".parse::<Backend>().is_err());
        assert_eq!(redact_url("postgres://u:secret@h/d"), "postgres://u:****@h/d");
    }
}
