//! Catalog reads.

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

/// The filter part shared by the page query and the count query.
macro_rules! list_where {
    () => {
        " from public.machines m \
          where m.is_active = $1 \
            and ($2::text is null or m.category = $2) \
            and ($3::text is null or m.difficulty = $3) \
            and ($4::text is null or m.name ilike '%' || $4 || '%') \
            and m.tags @> $5::text[]"
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

/// One page of machines ordered by name, and how many match in all.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, filter: &MachineFilter) -> Result<(Vec<Machine>, i64), sqlx::Error> {
    let search = filter.search.as_deref().map(like_literal);
    let rows: Vec<MachineWithTotal> = sqlx::query_as(concat!(
        "select ",
        machine_columns!(),
        ", count(*) over () as total",
        list_where!(),
        " order by m.name limit $6 offset $7"
    ))
    .bind(filter.is_active)
    .bind(filter.category)
    .bind(filter.difficulty)
    .bind(&search)
    .bind(&filter.tags)
    .bind(filter.page.limit())
    .bind(filter.page.offset())
    .persistent(db.persistent())
    .fetch_all(db.pool())
    .await?;

    let total = match rows.first() {
        Some(row) => row.total,
        // A page past the end has no rows to carry the total: count separately.
        None if filter.page.offset() > 0 => {
            sqlx::query_scalar(concat!("select count(*)", list_where!()))
                .bind(filter.is_active)
                .bind(filter.category)
                .bind(filter.difficulty)
                .bind(&search)
                .bind(&filter.tags)
                .persistent(db.persistent())
                .fetch_one(db.pool())
                .await?
        }
        None => 0,
    };
    Ok((rows.into_iter().map(|r| r.machine).collect(), total))
}

#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: &str) -> Result<Option<Machine>, sqlx::Error> {
    sqlx::query_as(concat!(
        "select ",
        machine_columns!(),
        " from public.machines m where m.id = $1"
    ))
    .bind(id)
    .persistent(db.persistent())
    .fetch_optional(db.pool())
    .await
}

/// Distinct categories of active machines, alphabetical.
#[tracing::instrument(skip(db))]
pub async fn categories(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct category from public.machines where is_active order by category",
    )
    .persistent(db.persistent())
    .fetch_all(db.pool())
    .await
}

/// Distinct difficulties of active machines, easiest first.
#[tracing::instrument(skip(db))]
pub async fn difficulties(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select difficulty from public.machines where is_active group by difficulty \
         order by array_position(array['beginner', 'intermediate', 'advanced'], difficulty)",
    )
    .persistent(db.persistent())
    .fetch_all(db.pool())
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
