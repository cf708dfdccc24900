//! `machinemate-api verify`: whether the database `DATABASE_URL` names is one this build
//! can serve, read only. For a restored backup (docs/operations.md, "Backups") before
//! traffic goes to it, or any database after an incident: the migrations recorded are
//! exactly this build's, the request role exists and the service's user may take it,
//! every table in `public` has Row Level Security, the catalog is loaded; and each
//! table's row count, to hold against the source's.

use std::fmt::Write;

use super::Db;
use super::migrate::migrator;
use super::query::Statements;

/// What `verify` found: one line per check, the row counts, and whether all passed.
pub struct Report {
    pub text: String,
    pub problems: usize,
}

const MIGRATED: &str = "select to_regclass('supabase_migrations.sqlx_migrations') is not null";
const RECORDED: &str =
    "select version, checksum, success from supabase_migrations.sqlx_migrations order by version";
const ROLE: &str = "select exists (select 1 from pg_roles where rolname = 'machinemate_request') \
     and pg_has_role(current_user, 'machinemate_request', 'member')";
const WITHOUT_RLS: &str = "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
     where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity order by 1";
const CATALOG: &str = "select (select count(*) from public.machines where is_active), \
     (select count(*) from public.catalog_state)";
// Exact counts in one statement: query_to_xml runs a count per table, whose name comes
// from the catalog and is quoted with %I.
const ROW_COUNTS: &str = "select c.relname::text, (xpath('/row/n/text()', query_to_xml( \
       format('select count(*) as n from public.%I', c.relname), false, true, '')))[1]::text::bigint \
     from pg_class c join pg_namespace n on n.oid = c.relnamespace \
     where n.nspname = 'public' and c.relkind = 'r' order by 1";

/// Runs every check on `db`.
pub async fn verify(db: &Db) -> Result<Report, sqlx::Error> {
    let mut out = String::new();
    let mut problems = 0;
    let mut check = |ok: bool, line: String| {
        problems += usize::from(!ok);
        let _ = writeln!(out, "{}  {line}", if ok { "ok  " } else { "FAIL" });
    };

    let migrated: bool = db
        .with_conn(async |c| db.query_scalar(MIGRATED).fetch_one(c).await)
        .await?;
    let recorded: Vec<(i64, Vec<u8>, bool)> = if migrated {
        db.with_conn(async |c| db.query_as(RECORDED).fetch_all(c).await)
            .await?
    } else {
        Vec::new()
    };
    let embedded = migrator();
    let mut pending = Vec::new();
    let mut altered = Vec::new();
    for migration in embedded.iter() {
        match recorded.iter().find(|(v, ..)| *v == migration.version) {
            Some((_, checksum, true)) if **checksum == *migration.checksum => {}
            Some(_) => altered.push(migration.version),
            None => pending.push(migration.version),
        }
    }
    let unknown: Vec<i64> = recorded
        .iter()
        .map(|(v, ..)| *v)
        .filter(|v| !embedded.iter().any(|m| m.version == *v))
        .collect();
    check(
        pending.is_empty() && altered.is_empty() && unknown.is_empty(),
        format!(
            "migrations: {} of this build's {} recorded{}{}{}",
            embedded.iter().count() - pending.len(),
            embedded.iter().count(),
            listed("; pending", &pending),
            listed("; failed or changed since applied", &altered),
            listed("; unknown to this build (a newer release's)", &unknown),
        ),
    );

    let role: bool = db
        .with_conn(async |c| db.query_scalar(ROLE).fetch_one(c).await)
        .await
        .unwrap_or(false);
    check(
        role,
        "role machinemate_request exists and the service's user may take it".into(),
    );

    let without_rls: Vec<String> = db
        .with_conn(async |c| db.query_scalar(WITHOUT_RLS).fetch_all(c).await)
        .await?;
    check(
        without_rls.is_empty(),
        format!(
            "row level security on every table in public{}",
            if without_rls.is_empty() {
                String::new()
            } else {
                format!("; missing on {}", without_rls.join(", "))
            }
        ),
    );

    let (machines, versions): (i64, i64) = db
        .with_conn(async |c| db.query_as(CATALOG).fetch_one(c).await)
        .await?;
    check(
        machines > 0 && versions > 0,
        format!("catalog: {machines} active machines, a catalog version recorded"),
    );

    let counts: Vec<(String, i64)> = db
        .with_conn(async |c| db.query_as(ROW_COUNTS).fetch_all(c).await)
        .await?;
    for (table, rows) in counts {
        let _ = writeln!(out, "rows  {table} {rows}");
    }
    Ok(Report {
        text: out,
        problems,
    })
}

fn listed(label: &str, versions: &[i64]) -> String {
    if versions.is_empty() {
        return String::new();
    }
    let names: Vec<String> = versions.iter().map(i64::to_string).collect();
    format!("{label}: {}", names.join(", "))
}
