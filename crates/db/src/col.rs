//! Checked decoding of closed-enum columns for rows that implement `FromRow` by hand (the
//! derive handles `#[sqlx(try_from = "String")]`, but not optional joined columns). A stored
//! value that is not one of the enum's spellings is a decode error, never a default.

use std::str::FromStr;

use sqlx::any::AnyRow;
use sqlx::Row;

/// A required enum column.
pub fn enum_col<T>(r: &AnyRow, col: &str) -> Result<T, sqlx::Error>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: String = r.try_get(col)?;
    s.parse().map_err(|e: T::Err| sqlx::Error::ColumnDecode {
        index: col.to_string(),
        source: Box::new(e),
    })
}

/// An optional enum column (NULL is `None`; any other unknown value is an error).
pub fn opt_enum_col<T>(r: &AnyRow, col: &str) -> Result<Option<T>, sqlx::Error>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| {
        s.parse().map_err(|e: T::Err| sqlx::Error::ColumnDecode {
            index: col.to_string(),
            source: Box::new(e),
        })
    })
    .transpose()
}
