//! Safe retries: a POST sent with `Idempotency-Key` is done once; a repeat (same key,
//! same request) gets the first response back, marked `Idempotent-Replayed: true`, and
//! creates nothing. The same key with a different request is a 422. Records live in
//! Postgres (`idempotency_keys`, owner-only under RLS) for 24 hours, so this holds
//! across instances and restarts; `machinemate-api maintain` removes expired ones.
//!
//! What a record costs is bounded: it keeps what the answer names (ids: at most 8 KiB,
//! [`Replayable::kept`]), not the answer, and a replay reads those rows back as they are
//! now. A user holds at most [`MAX_KEYS_PER_USER`] live keys.

use crate::db::query::Statements;
use std::future::{Ready, ready};

use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

use crate::auth::Identity;
use crate::db::Db;
use crate::db::embed::MachineIndex;
use crate::db::rls::UserTx;
use crate::error::{ApiError, ApiResult, ValidationIssue};

pub const HEADER: &str = "idempotency-key";
const CONSTRAINT: &str = "idempotency_keys_pkey";
/// Live keys (younger than 24 hours) one user may hold: far more than an app retrying
/// its own writes needs, and at most 16 MiB of records.
pub const MAX_KEYS_PER_USER: i64 = 2000;

/// An answer a key can give again. The record keeps only what names it, a few bytes
/// whatever the answer's size; a replay reads it back in the caller's transaction.
pub trait Replayable: Serialize + Sized {
    /// What the record keeps: the ids the answer is read back from (at most 8 KiB).
    fn kept(&self) -> Value;

    /// The answer again from what was kept, as it is now; `None` when what it named has
    /// been deleted since.
    fn replay(
        tx: &mut UserTx,
        machines: &MachineIndex,
        kept: Value,
    ) -> impl Future<Output = Result<Option<Self>, sqlx::Error>>;
}

/// The request a key guards: the key, the HTTP request, and its body.
pub struct Guarded<'a, B> {
    pub key: &'a IdempotencyKey,
    pub http: &'a HttpRequest,
    pub body: &'a B,
}

/// The request's `Idempotency-Key`, if it sent one (1-255 visible ASCII characters).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(HEADER) else {
            return ready(Ok(IdempotencyKey(None)));
        };
        let bytes = value.as_bytes();
        let valid =
            (1..=255).contains(&bytes.len()) && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
        ready(if valid {
            Ok(IdempotencyKey(Some(
                String::from_utf8_lossy(bytes).into_owned(),
            )))
        } else {
            Err(ApiError::Validation(vec![ValidationIssue::new(
                vec!["header".into(), "idempotency-key".into()],
                "string_pattern_mismatch",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )]))
        })
    }
}

/// How the OpenAPI document states the header, once, for every route that takes it
/// (`params(IdempotencyKey)`).
impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes a retry return the first response: 1 to 255 visible ASCII characters",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .pattern(Some("^[!-~]{1,255}$")),
                ))
                .build(),
        ]
    }
}

struct Stored {
    request_hash: String,
    status_code: i16,
    kept: Option<Value>,
    /// The whole answer, in records written before `kept` existed.
    response_body: Option<Value>,
}

fn fingerprint(method: &Method, path: &str, request: &impl Serialize) -> ApiResult<String> {
    let body = serde_json::to_vec(request).map_err(anyhow::Error::from)?;
    let mut hasher = Sha256::new();
    hasher.update(method.as_str());
    hasher.update(b" ");
    hasher.update(path);
    hasher.update(b"\n");
    hasher.update(&body);
    Ok(format!("{:x}", hasher.finalize()))
}

async fn lookup(tx: &mut UserTx, key: &str) -> Result<Option<Stored>, sqlx::Error> {
    // An expired record is forgotten first, so its key can be used again.
    tx.query(
        "delete from public.idempotency_keys where user_id = (select auth.uid()) \
         and key = $1 and created_at < now() - interval '24 hours'",
    )
    .bind(key)
    .execute(tx.conn())
    .await?;
    let row: Option<(String, i16, Option<Value>, Option<Value>)> = tx
        .query_as(
            "select request_hash, status_code, kept, response_body from public.idempotency_keys \
         where user_id = (select auth.uid()) and key = $1",
        )
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
    Ok(
        row.map(|(request_hash, status_code, kept, response_body)| Stored {
            request_hash,
            status_code,
            kept,
            response_body,
        }),
    )
}

/// Seconds until one of the user's live keys expires, when they hold as many as they
/// may; `None` when they may take another.
async fn keys_spent(tx: &mut UserTx) -> Result<Option<u64>, sqlx::Error> {
    let oldest: Option<f64> = tx
        .query_scalar(
            "select extract(epoch from min(created_at) + interval '24 hours' - now())::float8 \
             from (select created_at from public.idempotency_keys \
                   where user_id = (select auth.uid()) and created_at >= now() - interval '24 hours' \
                   order by created_at limit $1) live \
             having count(*) >= $1",
        )
        .bind(MAX_KEYS_PER_USER)
        .fetch_optional(tx.conn())
        .await?;
    Ok(oldest.map(|secs| secs.ceil().max(1.0) as u64))
}

async fn replay<T: Replayable>(
    tx: &mut UserTx,
    machines: &MachineIndex,
    stored: Stored,
    request_hash: &str,
) -> ApiResult<HttpResponse> {
    if stored.request_hash != request_hash {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec!["header".into(), "idempotency-key".into()],
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request",
        )]));
    }
    let status = StatusCode::from_u16(stored.status_code as u16).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header(("Idempotent-Replayed", "true"));
    Ok(match (stored.kept, stored.response_body) {
        (Some(kept), _) => {
            let again = T::replay(tx, machines, kept).await?.ok_or_else(|| {
                ApiError::Conflict(
                    "This Idempotency-Key's request was done, and what it created has since been deleted"
                        .into(),
                )
            })?;
            response.json(again)
        }
        (None, Some(body)) => response.json(body),
        (None, None) => response.finish(),
    })
}

/// Runs `work` in the caller's RLS transaction and answers `status` with its result,
/// once per `Idempotency-Key` when one was sent.
pub async fn respond<T: Replayable, B: Serialize>(
    db: &Db,
    user: &Identity,
    request: Guarded<'_, B>,
    status: StatusCode,
    machines: &MachineIndex,
    work: impl AsyncFnOnce(&mut UserTx) -> ApiResult<T>,
) -> ApiResult<HttpResponse> {
    let mut tx = UserTx::begin(db, &user.claims_json).await?;
    let Some(key) = request.key.0.as_deref() else {
        let value = work(&mut tx).await?;
        tx.commit().await?;
        return Ok(HttpResponse::build(status).json(value));
    };
    let req = request.http;
    let request_hash = fingerprint(req.method(), req.path(), request.body)?;
    if let Some(stored) = lookup(&mut tx, key).await? {
        return replay::<T>(&mut tx, machines, stored, &request_hash).await;
    }
    if let Some(retry_after_secs) = keys_spent(&mut tx).await? {
        return Err(ApiError::RateLimited {
            code: "rate_limited",
            detail: format!(
                "At most {MAX_KEYS_PER_USER} Idempotency-Keys in 24 hours: send this without one, or try again in {retry_after_secs} s"
            ),
            retry_after_secs,
        });
    }

    let outcome = async {
        let value = work(&mut tx).await?;
        tx.query(
            "insert into public.idempotency_keys \
               (user_id, key, method, path, request_hash, status_code, kept) \
             values ((select auth.uid()), $1, $2, $3, $4, $5, $6)",
        )
        .bind(key)
        .bind(req.method().as_str())
        .bind(req.path())
        .bind(&request_hash)
        .bind(status.as_u16() as i16)
        .bind(value.kept())
        .execute(tx.conn())
        .await?;
        Ok::<_, ApiError>(value)
    }
    .await;

    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(HttpResponse::build(status).json(value))
        }
        Err(err) => {
            // A concurrent request with the same key may have won the race (its insert
            // committed first): answer with its response rather than our error.
            drop(tx);
            let mut tx = UserTx::begin(db, &user.claims_json).await?;
            match lookup(&mut tx, key).await? {
                Some(stored) => replay::<T>(&mut tx, machines, stored, &request_hash).await,
                None => Err(match err {
                    ApiError::Database(e) if e.constraint() == Some(CONSTRAINT) => {
                        ApiError::Conflict(
                            "A request with this Idempotency-Key is in progress".into(),
                        )
                    }
                    other => other,
                }),
            }
        }
    }
}
