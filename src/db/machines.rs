//! Catalog reads.

use super::query::Statements;
use sqlx::FromRow;

use super::Db;
use crate::domain::machine::{Machine, MachineFilter};

/// The columns of [`Machine`], in one place for every query that returns one.
macro_rules! machine_columns {
    () => {
        "m.id, m.name, m.category, m.difficulty, m.primary_muscles, m.secondary_muscles, \
         m.equipment_type, m.setup_steps, m.how_to_steps, m.common_mistakes, m.safety_tips, \
         m.beginner_tips, m.thumbnail_url, m.image_url, m.video_url, m.muscle_diagram_url, \
         m.tags, m.metadata, m.is_active, m.created_at, m.updated_at"
    };
}
pub(crate) use machine_columns;

/// The filter part shared by the page query and the count query. `$4` is the search
/// text as typed, `$6` the same text escaped for `like`. A machine matches when the text
/// appears in its search document (name, synonyms, muscles, tags, category), when the
/// full-text query matches, or when a word is close enough to catch a typo.
macro_rules! list_where {
    () => {
        " from public.machines m \
          where m.is_active = $1 \
            and ($2::text is null or m.category = $2) \
            and ($3::text is null or m.difficulty = $3) \
            and m.tags @> $5::text[] \
            and ($4::text is null \
                 or m.search_document like '%' || lower($6) || '%' \
                 or m.search_vector @@ websearch_to_tsquery('english', $4) \
                 or extensions.word_similarity(lower($4), m.search_document) >= 0.45)"
    };
}

/// Best matches first: the name itself, then a name starting or containing the text,
/// then full-text rank and word similarity; ties (and no search) by name.
macro_rules! list_order {
    () => {
        " order by case when $4::text is null then 0 else \
             (case when lower(m.name) = lower($4) then 4 \
                   when lower(m.name) like lower($6) || '%' then 3 \
                   when lower(m.name) like '%' || lower($6) || '%' then 2 \
                   else 0 end) \
             + ts_rank(m.search_vector, websearch_to_tsquery('english', $4)) \
             + extensions.word_similarity(lower($4), m.search_document) end desc, m.name"
    };
}

#[derive(FromRow)]
struct MachineWithTotal {
    #[sqlx(flatten)]
    machine: Machine,
    total: i64,
}

/// Escapes `%`, `_` and `\` so user text matches literally inside `ilike`.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of machines (by name, or best match first when searching), and how many
/// match in all.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, filter: &MachineFilter) -> Result<(Vec<Machine>, i64), sqlx::Error> {
    let search = filter.search.as_deref();
    let search_like = search.map(like_literal);
    let rows: Vec<MachineWithTotal> = db
        .with_conn(async |c| {
            db.query_as(concat!(
                "select ",
                machine_columns!(),
                ", count(*) over () as total",
                list_where!(),
                list_order!(),
                " limit $7 offset $8"
            ))
            .bind(filter.is_active)
            .bind(filter.category)
            .bind(filter.difficulty)
            .bind(search)
            .bind(&filter.tags)
            .bind(&search_like)
            .bind(filter.page.limit())
            .bind(filter.page.offset())
            .fetch_all(c)
            .await
        })
        .await?;

    let total = match rows.first() {
        Some(row) => row.total,
        // A page past the end has no rows to carry the total: count separately.
        None if filter.page.offset() > 0 => {
            db.with_conn(async |c| {
                db.query_scalar(concat!("select count(*)", list_where!()))
                    .bind(filter.is_active)
                    .bind(filter.category)
                    .bind(filter.difficulty)
                    .bind(search)
                    .bind(&filter.tags)
                    .bind(&search_like)
                    .fetch_one(c)
                    .await
            })
            .await?
        }
        None => 0,
    };
    Ok((rows.into_iter().map(|r| r.machine).collect(), total))
}

#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: &str) -> Result<Option<Machine>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(concat!(
            "select ",
            machine_columns!(),
            " from public.machines m where m.id = $1"
        ))
        .bind(id)
        .fetch_optional(c)
        .await
    })
    .await
}

/// Distinct categories of active machines, alphabetical.
#[tracing::instrument(skip(db))]
pub async fn categories(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_scalar(
            "select distinct category from public.machines where is_active order by category",
        )
        .fetch_all(c)
        .await
    })
    .await
}

/// Distinct difficulties of active machines, easiest first.
#[tracing::instrument(skip(db))]
pub async fn difficulties(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_scalar(
            "select difficulty from public.machines where is_active group by difficulty \
         order by array_position(array['Beginner', 'Intermediate', 'Advanced'], difficulty)",
        )
        .fetch_all(c)
        .await
    })
    .await
}

/// The catalog's current version (bumped by every machine change).
pub async fn catalog_version(db: &Db) -> Result<i64, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_scalar("select version from public.catalog_state")
            .fetch_one(c)
            .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::like_literal;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_literal(r"50%_a\b"), r"50\%\_a\\b");
    }
}
