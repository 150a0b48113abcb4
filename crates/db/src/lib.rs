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
pub mod host;
pub mod job;
pub mod mshost;
pub mod netoffering;
pub mod network;
pub mod offering;
pub mod physnet;
pub mod role;
pub mod session;
pub mod sql;
pub mod sshkey;
pub mod storage;
pub mod template;
pub mod user;
pub mod userdata;
pub mod vm;
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
pub type Tx = Transaction<'static, sqlx::Any>;

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

/// The database handle: a connection pool and the engine behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connect (creating an SQLite file if needed) and apply all migrations.
    pub async fn open(url: &str) -> Result<Db, Error> {
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
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30));
        let options = match backend {
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                         PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options,
        };
        let pool = options.connect(&url).await.map_err(|e| {
            Error::ServiceUnavailable(format!(
                "cannot open the database {}: {e}; check the URL and that the server is running",
                redact_url(&url)
            ))
        })?;
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| Error::ServiceUnavailable(format!("database migration failed: {e}")))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pooled connection for reads or single statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, Error> {
        self.pool.acquire().await.map_err(db_err)
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`)
    /// so that concurrent writers wait on the busy timeout instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx, Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(db_err)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Translate a database failure into the one error type. Unexpected by definition: the
/// caller handles the expected cases (unique violations) before reaching this.
pub fn db_err(e: sqlx::Error) -> Error {
    if matches!(e, sqlx::Error::PoolTimedOut) {
        Error::ServiceUnavailable("the database is busy; retry the request".into())
    } else {
        Error::internal(format!("database: {e}"))
    }
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
