//! A small statement builder that numbers placeholders `$1, $2, …`, the form both SQLite and
//! PostgreSQL accept (sqlx's `QueryBuilder<Any>` emits `?`, which PostgreSQL rejects).

use ferrostack_types::Error;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Row;
use sqlx::{Any, AssertSqlSafe};

#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    Str(String),
    OptI64(Option<i64>),
    OptStr(Option<String>),
}

#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
    has_where: bool,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
            has_where: false,
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Append a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let n = self.args.len();
        self.text.push('$');
        self.text.push_str(&n.to_string());
        self
    }

    pub fn bind_i64(&mut self, v: i64) -> &mut Self {
        self.bind(Arg::I64(v))
    }

    pub fn bind_str(&mut self, v: impl Into<String>) -> &mut Self {
        self.bind(Arg::Str(v.into()))
    }

    /// Start (`WHERE`) or continue (`AND`) the condition list, then append `cond`.
    pub fn and(&mut self, cond: &str) -> &mut Self {
        self.text.push_str(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
        self.text.push_str(cond);
        self
    }

    /// `AND <column> IN ($a, $b, …)`; an empty list matches nothing.
    pub fn and_in_i64(&mut self, column: &str, values: &[i64]) -> &mut Self {
        if values.is_empty() {
            return self.and("1 = 0");
        }
        self.and(column);
        self.push(" IN (");
        self.list_i64(values);
        self.push(")")
    }

    /// `AND <column> IN ($a, $b, …)` over strings; an empty list matches nothing.
    pub fn and_in_str(&mut self, column: &str, values: &[String]) -> &mut Self {
        if values.is_empty() {
            return self.and("1 = 0");
        }
        self.and(column);
        self.push(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_str(v.clone());
        }
        self.push(")")
    }

    /// `$a, $b, …` bound to `values` (the caller writes the parentheses).
    pub fn list_i64(&mut self, values: &[i64]) -> &mut Self {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_i64(*v);
        }
        self
    }

    /// Case-insensitive substring match of `keyword` against any of `columns`.
    pub fn and_keyword(&mut self, columns: &[&str], keyword: &str) -> &mut Self {
        let pattern = format!("%{}%", keyword.to_lowercase());
        self.and("(");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push("lower(").push(c).push(") LIKE ");
            self.bind_str(pattern.clone());
        }
        self.push(")")
    }

    /// `LIMIT/OFFSET` for a page.
    pub fn page(&mut self, page: ferrostack_types::Page) -> &mut Self {
        if let Some(limit) = page.limit {
            self.push(" LIMIT ").bind_i64(limit);
            self.push(" OFFSET ").bind_i64(page.offset);
        }
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::Str(v) => q.bind(v.as_str()),
                Arg::OptI64(v) => q.bind(*v),
                Arg::OptStr(v) => q.bind(v.as_deref()),
            };
        }
        q
    }
}

impl Sql {
    /// Run and map every row with `FromRow`.
    pub async fn fetch_all<T>(&self, c: &mut crate::Conn) -> Result<Vec<T>, Error>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        self.query()
            .try_map(|r: AnyRow| T::from_row(&r))
            .fetch_all(&mut *c)
            .await
            .map_err(crate::db_err)
    }
}

/// `UPDATE <table> SET col = value, … WHERE id = <id>` for the columns given a value (`None`
/// leaves a column alone). A unique-index violation becomes a 431 with `duplicate_message`.
pub async fn update_columns(
    c: &mut crate::Conn,
    table: &str,
    id: i64,
    cols: &[(&str, Option<String>)],
    duplicate_message: &str,
) -> Result<(), Error> {
    let mut s = Sql::new(format!("UPDATE {table} SET id = id"));
    for (col, v) in cols {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v.clone());
        }
    }
    s.push(" WHERE id = ").bind_i64(id);
    match s.query().execute(&mut *c).await {
        Ok(_) => Ok(()),
        Err(e) if crate::is_unique_violation(&e) => Err(Error::invalid(duplicate_message)),
        Err(e) => Err(crate::db_err(e)),
    }
}

/// Run an id-page query of the form `SELECT x.id, COUNT(*) OVER () …` and return the total
/// match count and the ids of this page. Lists page on ids first and hydrate after, so the
/// wide joins only ever touch one page of rows.
pub async fn page_ids(c: &mut crate::Conn, s: &Sql) -> Result<(i64, Vec<i64>), Error> {
    let rows: Vec<(i64, i64)> = s
        .query()
        .try_map(|r: AnyRow| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?)))
        .fetch_all(&mut *c)
        .await
        .map_err(crate::db_err)?;
    let total = rows.first().map(|r| r.1).unwrap_or(0);
    Ok((total, rows.into_iter().map(|r| r.0).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn numbers_placeholders() {
        let mut s = Sql::new("SELECT * FROM t");
        s.and("a = ").bind_i64(1);
        s.and_in_i64("b", &[2, 3]);
        s.and_keyword(&["name"], "X");
        assert_eq!(
            s.text(),
            "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) AND (lower(name) LIKE $4)"
        );
    }
}
