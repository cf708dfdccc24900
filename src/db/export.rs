//! Everything held about a user, as one JSON document written while it is read: page by
//! page (keyset order), each page one scoped read ([`UserTx::read`]) on a connection held
//! only for that read, and the next page asked for only when the client has taken the
//! last one. Memory and connections stay bounded however much the user holds (read as
//! one query, 100,000 history entries of 2 KB held ten connections for 17 s and the whole
//! document in memory, ten times over: `tests/api/pinning.rs` has the reproduction).

use std::borrow::Cow;

use actix_web::web::Bytes;
use futures_util::Stream;
use sqlx::FromRow;

use super::Db;
use super::rls::{Literal, ReadQuery, UserTx};
use crate::error::ApiError;

/// Rows per page: about 1 MB of JSON at the largest rows the schema allows.
const PAGE: i64 = 500;

/// One list of the document.
struct Section {
    /// The list's name in the document.
    name: &'static str,
    /// One page of the caller's rows as JSON (`doc`) with their keys (`k1`, `k2`),
    /// newest first along the table's `(owner, k1 desc)` index: `$3` rows after the
    /// keys `$1`, `$2` of the page before (both `NULL` for the first page, which
    /// Postgres folds away). `k1 <= $1 and (k1 < $1 or k2 > $2)`: the first condition
    /// lets the index scan start at the page, where a row comparison alone would scan
    /// from the top every time. The rows are turned into JSON only once the page is
    /// chosen.
    page: &'static str,
}

const SECTIONS: [Section; 5] = [
    Section {
        name: "favorites",
        page: "select to_jsonb(t)::text as doc, t.created_at::text as k1, t.machine_id::text as k2 \
               from (select * from public.favorites t \
                     where t.user_id = (select auth.uid()) \
                       and ($1::timestamptz is null \
                            or (t.created_at <= $1::timestamptz \
                                and (t.created_at < $1::timestamptz or t.machine_id > $2::text))) \
                     order by t.created_at desc, t.machine_id limit $3) t \
               order by t.created_at desc, t.machine_id",
    },
    Section {
        name: "history",
        page: "select to_jsonb(t)::text as doc, t.taken_at::text as k1, t.id::text as k2 \
               from (select * from public.history t \
                     where t.user_id = (select auth.uid()) \
                       and ($1::timestamptz is null \
                            or (t.taken_at <= $1::timestamptz \
                                and (t.taken_at < $1::timestamptz or t.id > $2::uuid))) \
                     order by t.taken_at desc, t.id limit $3) t \
               order by t.taken_at desc, t.id",
    },
    Section {
        name: "identifications",
        page: "select to_jsonb(t)::text as doc, t.created_at::text as k1, t.id::text as k2 \
               from (select * from public.identification_events t \
                     where t.user_id = (select auth.uid()) \
                       and ($1::timestamptz is null \
                            or (t.created_at <= $1::timestamptz \
                                and (t.created_at < $1::timestamptz or t.id > $2::uuid))) \
                     order by t.created_at desc, t.id limit $3) t \
               order by t.created_at desc, t.id",
    },
    Section {
        name: "identification_corrections",
        page: "select to_jsonb(t)::text as doc, t.created_at::text as k1, t.id::text as k2 \
               from (select * from public.identification_corrections t \
                     where t.user_id = (select auth.uid()) \
                       and ($1::timestamptz is null \
                            or (t.created_at <= $1::timestamptz \
                                and (t.created_at < $1::timestamptz or t.id > $2::uuid))) \
                     order by t.created_at desc, t.id limit $3) t \
               order by t.created_at desc, t.id",
    },
    Section {
        name: "media_assets",
        page: "select to_jsonb(t)::text as doc, t.created_at::text as k1, t.id::text as k2 \
               from (select * from public.media_assets t \
                     where t.owner_id = (select auth.uid()) \
                       and ($1::timestamptz is null \
                            or (t.created_at <= $1::timestamptz \
                                and (t.created_at < $1::timestamptz or t.id > $2::uuid))) \
                     order by t.created_at desc, t.id limit $3) t \
               order by t.created_at desc, t.id",
    },
];

/// The caller's profile as JSON, or `NULL`.
const USER: &str = "select (select to_jsonb(u)::text from public.users u \
                    where u.id = (select auth.uid())) as user";

/// A row's JSON with its times in UTC written with a `Z`, as in every other answer
/// (Postgres writes `+00:00`). Only `"…_at": "…+00:00"` pairs change: a quote inside a
/// string value is escaped, so no user text is touched.
fn times_with_z(json: &str) -> Cow<'_, str> {
    const OFFSET: &str = "+00:00\"";
    let bytes = json.as_bytes();
    let mut out = String::new();
    let (mut copied, mut at) = (0, 0);
    while let Some(found) = json[at..].find('"') {
        let quote = at + found;
        // `"name_at": "` with a name of [a-z0-9_], then the value up to its next quote.
        let name_end = quote
            + 1
            + bytes[quote + 1..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
                .count();
        let value = name_end + 4;
        let closes = (json[quote + 1..name_end].ends_with("_at")
            && json[name_end..].starts_with("\": \""))
        .then(|| json[value..].find('"').map(|end| value + end))
        .flatten()
        .filter(|&close| close >= value + 6 && bytes[close - 6..].starts_with(OFFSET.as_bytes()));
        match closes {
            Some(close) => {
                out.push_str(&json[copied..close - 6]);
                out.push_str("Z\"");
                copied = close + 1;
                at = close + 1;
            }
            None => at = quote + 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(json);
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

#[derive(FromRow)]
struct Row {
    doc: String,
    k1: String,
    k2: String,
}

#[derive(FromRow)]
struct Head {
    user: Option<String>,
}

enum Step {
    Head,
    Page {
        section: usize,
        after: Option<(String, String)>,
    },
    Done,
}

/// The document as a stream of chunks: `{"exported_at", "user", "favorites": [...],
/// "history": [...], "identifications": [...], "identification_corrections": [...],
/// "media_assets": [...]}`, each list newest first, one element per line. A failure part-way ends the
/// stream with the error (the client sees a cut body, never a wrong one).
pub fn stream(
    db: Db,
    claims: std::sync::Arc<str>,
) -> impl Stream<Item = Result<Bytes, ApiError>> + 'static {
    futures_util::stream::unfold((db, claims, Step::Head), |(db, claims, step)| async move {
        let (chunk, next) = match step {
            Step::Done => return None,
            Step::Head => match head(&db, &claims).await {
                Ok(chunk) => (
                    Ok(chunk),
                    Step::Page {
                        section: 0,
                        after: None,
                    },
                ),
                Err(e) => (Err(e.into()), Step::Done),
            },
            Step::Page { section, after } if section == SECTIONS.len() => {
                let _ = after;
                (Ok(Bytes::from_static(b"}\n")), Step::Done)
            }
            Step::Page { section, after } => match page(&db, &claims, section, after).await {
                Ok((chunk, next)) => (Ok(chunk), next),
                Err(e) => {
                    tracing::error!(error = %e, "export stopped part-way");
                    (Err(e.into()), Step::Done)
                }
            },
        };
        Some((chunk, (db, claims, next)))
    })
}

async fn head(db: &Db, claims: &str) -> Result<Bytes, sqlx::Error> {
    let rows: Vec<Head> = UserTx::read(db, claims, ReadQuery::new(USER)).await?;
    let user = rows.into_iter().next().and_then(|h| h.user);
    let at = serde_json::to_string(&chrono::Utc::now()).unwrap_or_else(|_| "null".into());
    Ok(Bytes::from(format!(
        "{{\"exported_at\":{at},\n\"user\":{}",
        user.as_deref().map_or(Cow::Borrowed("null"), times_with_z)
    )))
}

async fn page(
    db: &Db,
    claims: &str,
    section: usize,
    after: Option<(String, String)>,
) -> Result<(Bytes, Step), sqlx::Error> {
    let s = &SECTIONS[section];
    let (k1, k2) = match &after {
        Some((k1, k2)) => (Some(k1.as_str()), Some(k2.as_str())),
        None => (None, None),
    };
    let query = ReadQuery::with(
        s.page,
        &[Literal::Text(k1), Literal::Text(k2), Literal::Int(PAGE)],
    );
    let rows: Vec<Row> = UserTx::read(db, claims, query).await?;
    let mut out = String::new();
    if after.is_none() {
        out.push_str(&format!(",\n\"{}\":[", s.name));
    }
    for (i, row) in rows.iter().enumerate() {
        if i > 0 || after.is_some() {
            out.push(',');
        }
        out.push('\n');
        out.push_str(&times_with_z(&row.doc));
    }
    let next = match rows.last() {
        Some(last) if rows.len() as i64 == PAGE => Step::Page {
            section,
            after: Some((last.k1.clone(), last.k2.clone())),
        },
        _ => {
            out.push_str("\n]");
            Step::Page {
                section: section + 1,
                after: None,
            }
        }
    };
    Ok((Bytes::from(out), next))
}

#[cfg(test)]
mod tests {
    use super::times_with_z;

    #[test]
    fn times_in_utc_are_written_with_a_z() {
        assert_eq!(
            times_with_z(
                r#"{"id": 1, "created_at": "2026-12-06T16:20:00.123456+00:00", "updated_at": "2026-12-06T16:20:00+00:00"}"#
            ),
            r#"{"id": 1, "created_at": "2026-12-06T16:20:00.123456Z", "updated_at": "2026-12-06T16:20:00Z"}"#
        );
        assert_eq!(times_with_z(r#"{"_at": "+00:00"}"#), r#"{"_at": "Z"}"#);
        assert_eq!(times_with_z(r#"{"a_at": "é+00:00"}"#), r#"{"a_at": "éZ"}"#);
    }

    #[test]
    fn nothing_else_is_touched() {
        for json in [
            r#"{"notes": "sent at 10:00+00:00"}"#,
            r#"{"notes": "\"x_at\": \"y+00:00\""}"#,
            r#"{"Created_at": "2026-12-06T16:20:00+00:00"}"#,
            r#"{"taken_at": "2026-12-06T16:20:00+01:00"}"#,
            r#"{"taken_at": null, "note_at": 5}"#,
            r#"{"é_at": "x+00:00"}"#,
            "",
            "\"",
            r#"{"a_at": "éééx"}"#,
        ] {
            assert_eq!(times_with_z(json), json);
        }
    }
}
