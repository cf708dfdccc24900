//! The FastAPI backend's data and objects as text, to compare a database before its
//! cutover with the archive after it, and with `public` after a rollback, byte for byte.

use std::collections::BTreeMap;

use sqlx::PgPool;

/// The FastAPI backend's tables and the key of a row in each.
pub const TABLES: [(&str, &str); 7] = [
    ("users", "id::text"),
    ("machines", "id"),
    ("favorites", "user_id::text || '/' || machine_id"),
    ("history", "id::text"),
    ("media_assets", "id::text"),
    ("identification_events", "id::text"),
    ("identification_corrections", "id::text"),
];

/// `(table, key)` -> the row as Postgres writes it (every column, every digit, every
/// microsecond), for the FastAPI backend's tables in `schema`.
pub type Rows = BTreeMap<(String, String), String>;

pub async fn rows_in(pool: &PgPool, schema: &str) -> Rows {
    let mut rows = Rows::new();
    for (table, key) in TABLES {
        let found: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            r#"select {key}, t::text from "{schema}"."{table}" t"#
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        for (k, row) in found {
            rows.insert((table.to_owned(), k), row);
        }
    }
    rows
}

/// Asserts that `after` holds exactly `before`, naming each row that differs.
pub fn assert_same_rows(after: &Rows, before: &Rows, what: &str) {
    let keys: std::collections::BTreeSet<_> = after.keys().chain(before.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| after.get(*k) != before.get(*k))
        .map(|k| {
            format!(
                "{k:?}:\n  was  {:?}\n  now  {:?}",
                before.get(k),
                after.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {} rows differ\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// The rows of `table` in `rows`.
pub fn of<'r>(rows: &'r Rows, table: &str) -> Vec<(&'r str, &'r str)> {
    rows.iter()
        .filter(|((t, _), _)| t == table)
        .map(|((_, k), row)| (k.as_str(), row.as_str()))
        .collect()
}

/// Everything of the FastAPI backend's besides its rows, as text: its tables' columns,
/// constraints and indexes, the policies on them and on storage, triggers (auth.users'
/// sign-up trigger included), functions with their source, views, what the API roles and
/// PUBLIC may do with each (as sets), the default privileges of `public`, the buckets'
/// settings.
pub async fn objects(pool: &PgPool) -> BTreeMap<String, String> {
    const API_ROLES: &str =
        "(a.grantee = 0 or a.grantee::regrole::text in ('anon', 'authenticated', 'service_role'))";
    let queries = [
        (
            "columns",
            "select table_name || '.' || column_name || ' ' || data_type || ' ' \
                    || coalesce(column_default, '') || ' ' || is_nullable \
             from information_schema.columns where table_schema = 'public'"
                .to_owned(),
        ),
        (
            "constraints",
            "select conrelid::regclass::text || ':' || conname || ' ' || pg_get_constraintdef(oid) \
             from pg_constraint where connamespace = 'public'::regnamespace"
                .to_owned(),
        ),
        (
            "indexes",
            "select indexdef from pg_indexes where schemaname = 'public'".to_owned(),
        ),
        (
            "policies",
            "select schemaname || '.' || tablename || ':' || policyname || ' ' || permissive || ' ' || cmd \
                    || ' ' || roles::text || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '') \
             from pg_policies where schemaname in ('public', 'storage')"
                .to_owned(),
        ),
        (
            "triggers",
            "select tgrelid::regclass::text || ':' || pg_get_triggerdef(t.oid) || ' ' || tgenabled::text \
             from pg_trigger t join pg_class c on c.oid = t.tgrelid \
             where not tgisinternal and c.relnamespace in \
               ('public'::regnamespace, 'auth'::regnamespace, 'storage'::regnamespace)"
                .to_owned(),
        ),
        (
            "functions",
            "select oid::regprocedure::text || ' ' || prosecdef || ' ' || md5(prosrc) || ' ' \
                    || coalesce(proconfig::text, '') \
             from pg_proc where pronamespace = 'public'::regnamespace"
                .to_owned(),
        ),
        (
            "views",
            "select viewname || ' ' || md5(definition) from pg_views where schemaname = 'public'"
                .to_owned(),
        ),
        (
            "grants",
            format!(
                "select c.relname || ' ' || a.privilege_type || ' ' || a.grantee::regrole::text || ' ' || a.is_grantable \
                 from pg_class c cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a \
                 where c.relnamespace = 'public'::regnamespace and {API_ROLES} \
                 union all \
                 select p.oid::regprocedure::text || ' ' || a.privilege_type || ' ' || a.grantee::regrole::text \
                        || ' ' || a.is_grantable \
                 from pg_proc p cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a \
                 where p.pronamespace = 'public'::regnamespace and {API_ROLES}"
            ),
        ),
        (
            "default privileges",
            format!(
                "select d.defaclobjtype::text || ' ' || a.privilege_type || ' ' || a.grantee::regrole::text \
                 from pg_default_acl d cross join lateral aclexplode(d.defaclacl) a \
                 where d.defaclnamespace = 'public'::regnamespace and {API_ROLES}"
            ),
        ),
        (
            "buckets",
            "select id || ' ' || public || ' ' || coalesce(file_size_limit::text, '') || ' ' \
                    || coalesce(allowed_mime_types::text, '') from storage.buckets"
                .to_owned(),
        ),
    ];
    let mut print = BTreeMap::new();
    for (what, sql) in queries {
        let lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select x from ({sql}) t (x) order by x"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        print.insert(what.to_owned(), lines.join("\n"));
    }
    print
}
