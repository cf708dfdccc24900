//! What a cutover did, read inside its transaction: every class of row a fresh install
//! would not hold, with its count and outcome (`supabase/cutover/report.sql`); the
//! runbook's verification (`verify.sql`); the old columns nothing here reads that hold
//! values (kept in the archive). `migrate --check` prints it; `migrate` logs it.

// Runs on the cutover's own connection (see cutover.rs).
#![allow(clippy::disallowed_methods)]

use std::fmt;
use std::time::Duration;

use anyhow::bail;
use sqlx::{PgConnection, Row};

use super::shapes::{FASTAPI_COLUMNS, NOT_CARRIED};

const REPORT_SQL: &str = include_str!("../../../supabase/cutover/report.sql");
const VERIFY_SQL: &str = include_str!("../../../supabase/cutover/verify.sql");

/// One class of rows: `table`, what is unusual about them, how many, what became of them.
pub struct Class {
    pub table: String,
    pub class: String,
    pub rows: i64,
    pub outcome: String,
}

/// One line of `verify.sql`.
pub struct Verified {
    pub table: String,
    pub fastapi_rows: i64,
    pub carried: i64,
    pub missing: i64,
    pub kept_back: i64,
    pub why_missing: String,
}

pub struct Report {
    pub classes: Vec<Class>,
    pub verified: Vec<Verified>,
    /// `table.column` of the archive nothing here reads, and its rows with a value.
    pub unread: Vec<(String, i64)>,
    pub elapsed: Duration,
}

impl Report {
    /// Reads the report inside the cutover's transaction, after the copy. Fails when a
    /// row is neither carried nor kept back on purpose: that would be a row lost.
    pub async fn read(conn: &mut PgConnection) -> anyhow::Result<Report> {
        let classes = sqlx::raw_sql(REPORT_SQL)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Class {
                table: r.get(0),
                class: r.get(1),
                rows: r.get(2),
                outcome: r.get(3),
            })
            .collect();
        let verified: Vec<Verified> = sqlx::raw_sql(VERIFY_SQL)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Verified {
                table: r.get(0),
                fastapi_rows: r.get(1),
                carried: r.get(2),
                missing: r.get(3),
                kept_back: r.get(4),
                why_missing: r.get(5),
            })
            .collect();
        for v in &verified {
            if v.missing != v.kept_back {
                bail!(
                    "{}: {} of the FastAPI backend's rows are neither carried nor kept in the \
                     archive on purpose ({} kept back); nothing was changed",
                    v.table,
                    v.missing,
                    v.kept_back
                );
            }
        }
        Ok(Report {
            classes,
            verified,
            unread: unread_columns(conn).await?,
            elapsed: Duration::ZERO,
        })
    }

    /// The report as log lines: one per class that holds rows.
    pub fn log(&self) {
        for c in self.classes.iter().filter(|c| c.rows > 0) {
            tracing::info!(table = %c.table, class = %c.class, rows = c.rows, outcome = %c.outcome, "cutover rows");
        }
        for v in &self.verified {
            tracing::info!(table = %v.table, fastapi_rows = v.fastapi_rows, rows = v.carried, kept_back = v.kept_back, "cutover copied");
        }
    }
}

/// Columns of the archived tables that the copy does not carry, with how many rows hold
/// something there (not null, not an empty text, array or object, not `false`).
async fn unread_columns(conn: &mut PgConnection) -> anyhow::Result<Vec<(String, i64)>> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns \
         where table_schema = 'fastapi_legacy' and table_name = any($1) \
         order by table_name, ordinal_position",
    )
    .bind(FASTAPI_COLUMNS.iter().map(|(t, _)| *t).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let mut unread = Vec::new();
    for (table, column) in columns {
        let read = FASTAPI_COLUMNS
            .iter()
            .any(|(t, cols)| *t == table && cols.iter().any(|(c, _)| *c == column));
        if read && !NOT_CARRIED.contains(&(table.as_str(), column.as_str())) {
            continue;
        }
        let (t, c) = (table.replace('"', "\"\""), column.replace('"', "\"\""));
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            r#"select count(*) from fastapi_legacy."{t}" where "{c}" is not null
               and "{c}"::text not in ('', '{{}}', '[]', 'false')"#
        )))
        .fetch_one(&mut *conn)
        .await?;
        unread.push((format!("{table}.{column}"), rows));
    }
    Ok(unread)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Rows a fresh install would not hold, and what the cutover does with them:"
        )?;
        for c in &self.classes {
            writeln!(
                f,
                "  {:<27} {:<58} {:>8}  {}",
                c.table, c.class, c.rows, c.outcome
            )?;
        }
        writeln!(
            f,
            "Columns nothing here reads (kept in the archive, fastapi_legacy):"
        )?;
        for (column, rows) in &self.unread {
            writeln!(f, "  {column:<44} {rows:>8} with a value")?;
        }
        writeln!(f, "verify.sql after the cutover:")?;
        writeln!(
            f,
            "  {:<27} {:>12} {:>10} {:>8} {:>9}  why_missing",
            "table_name", "fastapi_rows", "carried", "missing", "kept_back"
        )?;
        for v in &self.verified {
            writeln!(
                f,
                "  {:<27} {:>12} {:>10} {:>8} {:>9}  {}",
                v.table, v.fastapi_rows, v.carried, v.missing, v.kept_back, v.why_missing
            )?;
        }
        write!(
            f,
            "The cutover took {:.2} s in one transaction.",
            self.elapsed.as_secs_f64()
        )
    }
}
