//! Everything held about a user, as one JSON document written while it is read: page by
//! page (keyset order), each page one scoped read ([`UserTx::read`]) on a connection held
//! only for that read, and the next page asked for only when the client has taken the
//! last one. Memory and connections stay bounded however much the user holds (the
//! security review's 100,000 history entries of 2 KB held ten connections for 17 s and
//! the whole document in memory, ten times over).

use actix_web::web::Bytes;
use futures_util::Stream;
use serde_json::Value;
use sqlx::FromRow;

use super::Db;
use super::rls::{ReadQuery, UserTx};
use crate::error::ApiError;

/// Rows per page: about 1 MB of JSON at the largest rows the schema allows.
const PAGE: i64 = 500;

/// One list of the document, newest first along its table's `(owner, k1 desc)` index:
/// the query of its first page, and how a later page continues after the last keys seen
/// (`k1 <= X and (k1 < X or k2 > Y)`: the first condition lets the index scan start at
/// the page, where a row comparison alone would scan from the top every time).
struct Section {
    name: &'static str,
    first: &'static str,
    /// SQL around the three literals X, X, Y of the continuation.
    after: [&'static str; 4],
    order: &'static str,
    /// After the page size: the rows are turned into JSON only once the page is chosen.
    close: &'static str,
}

/// A row as JSON text, its times in UTC with a `Z` as in every other answer (Postgres
/// writes `+00:00`). Only `"…_at": "…+00:00"` pairs match: a quote inside a string value
/// is escaped, so no user text is touched.
macro_rules! json_with_z {
    ($row:literal) => {
        concat!(
            "regexp_replace(to_jsonb(",
            $row,
            ")::text, '(\"[a-z0-9_]*_at\": \"[^\"]*)\\+00:00\"', '\\1Z\"', 'g')"
        )
    };
}

macro_rules! section {
    ($name:literal, $table:literal, $owner:literal, $k1:literal, $t1:literal, $k2:literal, $t2:literal) => {
        Section {
            name: $name,
            first: concat!(
                "select ",
                json_with_z!("t"),
                " as doc, t.",
                $k1,
                "::text as k1, t.",
                $k2,
                "::text as k2 from (select * from public.",
                $table,
                " t where t.",
                $owner,
                " = (select auth.uid())"
            ),
            after: [
                concat!(" and t.", $k1, " <= "),
                concat!("::", $t1, " and (t.", $k1, " < "),
                concat!("::", $t1, " or t.", $k2, " > "),
                concat!("::", $t2, ")"),
            ],
            order: concat!(" order by t.", $k1, " desc, t.", $k2, " limit "),
            close: concat!(") t order by t.", $k1, " desc, t.", $k2),
        }
    };
}

const SECTIONS: [Section; 5] = [
    section!(
        "favorites",
        "favorites",
        "user_id",
        "created_at",
        "timestamptz",
        "machine_id",
        "text"
    ),
    section!(
        "history",
        "history",
        "user_id",
        "taken_at",
        "timestamptz",
        "id",
        "uuid"
    ),
    section!(
        "identifications",
        "identification_events",
        "user_id",
        "created_at",
        "timestamptz",
        "id",
        "uuid"
    ),
    section!(
        "identification_corrections",
        "identification_corrections",
        "user_id",
        "created_at",
        "timestamptz",
        "id",
        "uuid"
    ),
    section!(
        "media_assets",
        "media_assets",
        "owner_id",
        "created_at",
        "timestamptz",
        "id",
        "uuid"
    ),
];

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
pub fn stream(db: Db, claims: Value) -> impl Stream<Item = Result<Bytes, ApiError>> + 'static {
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

async fn head(db: &Db, claims: &Value) -> Result<Bytes, sqlx::Error> {
    let rows: Vec<Head> = UserTx::read(
        db,
        claims,
        ReadQuery::new(concat!(
            "select (select ",
            json_with_z!("u"),
            " from public.users u where u.id = (select auth.uid())) as user"
        )),
    )
    .await?;
    let user = rows.into_iter().next().and_then(|h| h.user);
    let at = serde_json::to_string(&chrono::Utc::now()).unwrap_or_else(|_| "null".into());
    Ok(Bytes::from(format!(
        "{{\"exported_at\":{at},\n\"user\":{}",
        user.as_deref().unwrap_or("null")
    )))
}

async fn page(
    db: &Db,
    claims: &Value,
    section: usize,
    after: Option<(String, String)>,
) -> Result<(Bytes, Step), sqlx::Error> {
    let s = &SECTIONS[section];
    let mut query = ReadQuery::new(s.first);
    if let Some((k1, k2)) = &after {
        query = query
            .sql(s.after[0])
            .text(Some(k1))
            .sql(s.after[1])
            .text(Some(k1))
            .sql(s.after[2])
            .text(Some(k2))
            .sql(s.after[3]);
    }
    let rows: Vec<Row> =
        UserTx::read(db, claims, query.sql(s.order).int(PAGE).sql(s.close)).await?;
    let mut out = String::new();
    if after.is_none() {
        out.push_str(&format!(",\n\"{}\":[", s.name));
    }
    for (i, row) in rows.iter().enumerate() {
        if i > 0 || after.is_some() {
            out.push(',');
        }
        out.push('\n');
        out.push_str(&row.doc);
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
