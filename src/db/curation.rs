//! Catalog writes by admins, each in one transaction with its audit record. Runs as the
//! service's own role: only it may write the catalog (RLS lets everyone else read).

use super::query::Statements;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::Db;
use crate::domain::curation::MachineRecord;
use crate::domain::machine_id::MachineId;

/// Who made a change, for the audit record.
pub struct Actor {
    pub id: Uuid,
    pub role: &'static str,
}

/// One audited change (`crate::routes::curation::AuditEntry` answers it): `action` is
/// create, update, retire or restore.
#[derive(Debug, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub machine_id: MachineId,
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub changed_at: DateTime<Utc>,
}

/// The machine as admins edit it, locked for the rest of the transaction.
pub async fn lock(
    conn: &mut PgConnection,
    db: &Db,
    id: &str,
) -> Result<Option<MachineRecord>, sqlx::Error> {
    db.query_as(
        "select id, name, category, difficulty, equipment_type, primary_muscles, \
         secondary_muscles, setup_steps, how_to_steps, common_mistakes, safety_tips, beginner_tips, \
         tags, synonyms, visual_cues, thumbnail_url, image_url, video_url, muscle_diagram_url, \
         metadata, is_active from public.machines where id = $1 for update",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Inserts or overwrites the machine. Violates `machines_pkey` / `machines_name_key` on
/// create when the id or name is taken, and `machines_name_key` on a rename to a taken name.
pub async fn write(
    conn: &mut PgConnection,
    db: &Db,
    m: &MachineRecord,
    create: bool,
) -> Result<(), sqlx::Error> {
    let sql = if create {
        "insert into public.machines (id, name, category, difficulty, equipment_type, primary_muscles, \
           secondary_muscles, setup_steps, how_to_steps, common_mistakes, safety_tips, beginner_tips, \
           tags, synonyms, visual_cues, thumbnail_url, image_url, video_url, muscle_diagram_url, \
           metadata, is_active) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    } else {
        "update public.machines set name = $2, category = $3, difficulty = $4, equipment_type = $5, \
           primary_muscles = $6, secondary_muscles = $7, setup_steps = $8, how_to_steps = $9, \
           common_mistakes = $10, safety_tips = $11, beginner_tips = $12, tags = $13, synonyms = $14, \
           visual_cues = $15, thumbnail_url = $16, image_url = $17, video_url = $18, \
           muscle_diagram_url = $19, metadata = $20, is_active = $21 \
         where id = $1"
    };
    db.query(sql)
        .bind(&m.id)
        .bind(&m.name)
        .bind(&m.category)
        .bind(&m.difficulty)
        .bind(&m.equipment_type)
        .bind(&m.primary_muscles)
        .bind(&m.secondary_muscles)
        .bind(&m.setup_steps)
        .bind(&m.how_to_steps)
        .bind(&m.common_mistakes)
        .bind(&m.safety_tips)
        .bind(&m.beginner_tips)
        .bind(&m.tags)
        .bind(&m.synonyms)
        .bind(&m.visual_cues)
        .bind(&m.thumbnail_url)
        .bind(&m.image_url)
        .bind(&m.video_url)
        .bind(&m.muscle_diagram_url)
        .bind(&m.metadata)
        .bind(m.is_active)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn audit(
    conn: &mut PgConnection,
    db: &Db,
    actor: &Actor,
    action: &str,
    before: Option<&MachineRecord>,
    after: &MachineRecord,
) -> Result<(), sqlx::Error> {
    let to_json = |m: &MachineRecord| serde_json::to_value(m).unwrap_or(Value::Null);
    db.query(
        "insert into public.machine_audit (machine_id, action, actor_id, actor_role, before, after) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&after.id)
    .bind(action)
    .bind(actor.id)
    .bind(actor.role)
    .bind(before.map(to_json))
    .bind(to_json(after))
    .execute(conn)
    .await?;
    Ok(())
}

/// The machine's changes, newest first.
pub async fn history(db: &Db, machine_id: &str) -> Result<Vec<AuditRow>, sqlx::Error> {
    db.with_conn(async |c| db.query_as(
        "select id, machine_id, action, actor_id, actor_role, before, after, changed_at \
         from public.machine_audit where machine_id = $1 order by changed_at desc, id desc limit 200",
    )
    .bind(machine_id)
    .fetch_all(c).await).await
}
