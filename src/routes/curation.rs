//! Admin curation of the catalog: create, update, retire; every change audited.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AdminUser, Role};
use crate::db;
use crate::db::curation::{Actor, AuditRow};
use crate::domain::curation::{MachineFields, MachineRecord};
use crate::domain::machine::Machine;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody, ResultExt};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[schema(value_type = String)]
    pub machine_id: MachineId,
    /// create, update, retire or restore.
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub changed_at: DateTime<Utc>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        AuditEntry {
            id: row.id,
            machine_id: row.machine_id,
            action: row.action,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            before: row.before,
            after: row.after,
            changed_at: row.changed_at,
        }
    }
}

fn actor(admin: &AdminUser) -> Actor {
    Actor {
        id: admin.id,
        role: match admin.role {
            Role::ServiceRole => "service_role",
            _ => "admin",
        },
    }
}

/// Writes `record` with its audit entry in one transaction, then answers the machine.
async fn save(
    state: &AppState,
    admin: &AdminUser,
    action: &str,
    before: Option<&MachineRecord>,
    after: &MachineRecord,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
) -> ApiResult<Machine> {
    db::curation::write(&mut tx, &state.db, after, before.is_none())
        .await
        .on_constraint("machines_pkey", || {
            ApiError::Conflict("A machine with this id exists".into())
        })
        .on_constraint("machines_name_key", || {
            ApiError::Conflict("A machine with this name exists".into())
        })?;
    db::curation::audit(&mut tx, &state.db, &actor(admin), action, before, after).await?;
    tx.commit().await?;
    // This instance shows the change at once; others within the staleness bound.
    state.catalog.invalidate();
    tracing::info!(machine_id = %after.id, action, admin = %admin.id, "catalog changed");
    db::machines::get(&state.db, &after.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Machine"))
}

/// Add a machine to the catalog (admin).
#[utoipa::path(post, path = "/api/v1/machines", tag = "curation",
    security(("bearer_auth" = [])),
    request_body = MachineFields,
    responses(
        (status = 201, body = Machine),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The id or name is taken"),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn create_machine(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: ApiJson<MachineFields>,
) -> ApiResult<HttpResponse> {
    let record = body
        .into_inner()
        .apply(None)
        .map_err(ApiError::Validation)?;
    let tx = state.db.begin().await?;
    let machine = save(&state, &admin, "create", None, &record, tx).await?;
    Ok(HttpResponse::Created().json(machine))
}

/// Change a machine (admin). Setting `is_active` to true restores a retired one.
#[utoipa::path(patch, path = "/api/v1/machines/{machine_id}", tag = "curation",
    security(("bearer_auth" = [])),
    params(("machine_id" = String, Path)),
    request_body = MachineFields,
    responses(
        (status = 200, body = Machine),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn update_machine(
    state: web::Data<AppState>,
    admin: AdminUser,
    machine_id: web::Path<MachineId>,
    body: ApiJson<MachineFields>,
) -> ApiResult<web::Json<Machine>> {
    let mut tx = state.db.begin().await?;
    let before = db::curation::lock(&mut tx, &state.db, &machine_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Machine"))?;
    let after = body
        .into_inner()
        .apply(Some(&before))
        .map_err(ApiError::Validation)?;
    let action = match (before.is_active, after.is_active) {
        (true, false) => "retire",
        (false, true) => "restore",
        _ => "update",
    };
    Ok(web::Json(
        save(&state, &admin, action, Some(&before), &after, tx).await?,
    ))
}

/// Retire a machine (admin): it leaves the active catalog but stays readable by id.
#[utoipa::path(delete, path = "/api/v1/machines/{machine_id}", tag = "curation",
    security(("bearer_auth" = [])),
    params(("machine_id" = String, Path)),
    responses((status = 200, body = Machine), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn retire_machine(
    state: web::Data<AppState>,
    admin: AdminUser,
    machine_id: web::Path<MachineId>,
) -> ApiResult<web::Json<Machine>> {
    let mut tx = state.db.begin().await?;
    let before = db::curation::lock(&mut tx, &state.db, &machine_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Machine"))?;
    if !before.is_active {
        drop(tx);
        return db::machines::get(&state.db, &machine_id)
            .await?
            .map(web::Json)
            .ok_or_else(|| ApiError::not_found("Machine"));
    }
    let after = MachineRecord {
        is_active: false,
        ..before.clone()
    };
    Ok(web::Json(
        save(&state, &admin, "retire", Some(&before), &after, tx).await?,
    ))
}

/// Who changed a machine, when, and how (admin), newest first.
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}/audit", tag = "curation",
    security(("bearer_auth" = [])),
    params(("machine_id" = String, Path)),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ErrorBody))
)]
pub async fn machine_audit(
    state: web::Data<AppState>,
    _admin: AdminUser,
    machine_id: web::Path<MachineId>,
) -> ApiResult<web::Json<Vec<AuditEntry>>> {
    let history = db::curation::history(&state.db, &machine_id).await?;
    Ok(web::Json(
        history.into_iter().map(AuditEntry::from).collect(),
    ))
}
