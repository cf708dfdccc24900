//! `POST /identify`: a photo in, the catalog machine out, through Fireworks AI.

use std::sync::Arc;
use std::time::Instant;

use actix_multipart::Multipart;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::{Timelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::{AuthUser, MaybeAuthUser};
use crate::db;
use crate::db::identify::{NewEvent, QuotaHolder, Trace};
use crate::db::rls::UserTx;
use crate::domain::machine::is_machine_id;
use crate::error::{ApiError, ApiResult, ErrorBody, ResultExt, ValidationIssue};
use crate::extract::ApiJson;
use crate::extract::multipart::{declared_length, read_field};
use crate::state::{AppState, CachedIdentification};
use crate::telemetry::metrics;
use crate::telemetry::request::client_ip;
use crate::telemetry::trace_context::TraceContext;
use crate::vision::fireworks::VisionError;
use crate::vision::image::{self, MAX_IMAGE_BYTES};
use crate::vision::matching::{self, Candidate};
use crate::vision::prompt::PROMPT_VARIANT;

/// What `POST /identify` answers: exactly the four keys the shipped app's strict schema
/// accepts (any other key makes the app discard the answer and show "Unknown machine").
/// Richer clients use `POST /api/v1/identify` ([`Identification`]).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppIdentification {
    /// The catalog machine's name (the app matches it case-insensitively against its
    /// own catalog), or "Unknown".
    #[schema(example = "Seated Leg Press", min_length = 1, max_length = 200)]
    pub machine: String,
    /// 0 to 1; the app accepts answers at or above its threshold (0.7).
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: f32,
    pub trace_id: String,
    /// True when no vision model is configured (local quick start).
    pub mocked: bool,
}

/// What `POST /api/v1/identify` answers: the app's four keys, the machine's id and the
/// closest catalog machines.
#[derive(Serialize, ToSchema)]
pub struct Identification {
    /// The catalog machine's name, or "Unknown".
    #[schema(example = "Seated Leg Press", min_length = 1, max_length = 200)]
    pub machine: String,
    /// 0 to 1; the app accepts answers at or above its threshold (0.7).
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: f32,
    pub trace_id: String,
    /// True when no vision model is configured (local quick start).
    pub mocked: bool,
    /// The catalog id of `machine` (absent for "Unknown").
    #[schema(example = "leg_press")]
    pub machine_id: Option<String>,
    /// The closest catalog machines, best first (at most three).
    pub candidates: Vec<Candidate>,
}

impl From<Identification> for AppIdentification {
    fn from(full: Identification) -> Self {
        AppIdentification {
            machine: full.machine,
            confidence: full.confidence,
            trace_id: full.trace_id,
            mocked: full.mocked,
        }
    }
}

/// The multipart form both identify routes read (it documents the body, which the
/// handler reads as a stream).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PhotoForm {
    /// A JPEG or PNG photo of at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

/// Which of the two answers a route gives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `POST /identify`: the shipped app's four keys.
    App,
    /// `POST /api/v1/identify`: everything.
    Full,
}

fn retry_tomorrow() -> HttpResponse {
    let now = Utc::now();
    let left = 86_400 - i64::from(now.num_seconds_from_midnight());
    let mut response = crate::error::envelope(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        "quota_exceeded",
        crate::error::Detail::Message(
            "Daily identification limit reached; try again tomorrow".into(),
        ),
    );
    response.headers_mut().insert(
        RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(left.max(1)),
    );
    response
}

/// Who pays for this identification: the signed-in user, or the client's (hashed)
/// address when the deployment allows anonymous callers; otherwise a 401.
fn quota_holder(
    state: &AppState,
    req: &HttpRequest,
    user: &MaybeAuthUser,
) -> ApiResult<(QuotaHolder, i32)> {
    let fw = &state.settings.fireworks;
    match &user.0 {
        Some(identity) => Ok((QuotaHolder::User(identity.id), fw.daily_limit)),
        None if fw.anonymous_daily_limit > 0 => {
            let address = address_key(&client_ip(req).unwrap_or_default());
            let digest = Sha256::digest(format!("machinemate-ip:{address}").as_bytes());
            Ok((
                QuotaHolder::Address(format!("{digest:x}")),
                fw.anonymous_daily_limit,
            ))
        }
        None => Err(ApiError::Unauthorized("Not authenticated".into())),
    }
}

/// The part of a client's address that names one subscriber: an IPv4 address, or the /64
/// of an IPv6 one (a subscriber is handed a whole /64, 2^64 addresses to rotate through,
/// so a per-address quota keyed on the full address would be no limit at all).
fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// Identify the gym machine in a photo (multipart field `image`, JPEG or PNG), answering
/// in the shipped app's strict shape: exactly `machine`, `confidence`, `trace_id` and
/// `mocked`. A token is required unless the deployment allows anonymous callers
/// (per-address limit). `POST /api/v1/identify` gives the machine id and candidates too.
#[utoipa::path(post, path = "/identify", tag = "identify",
    security(("bearer_auth" = [])),
    request_body(content = PhotoForm, content_type = "multipart/form-data", description = "field `image`: a JPEG or PNG photo of at most 10 MB"),
    responses(
        (status = 200, body = AppIdentification),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "Not a JPEG or PNG (WebP and HEIC are named)"),
        (status = 422, body = ErrorBody, description = "No image, an unreadable one, or one over 32 megapixels"),
        (status = 429, body = ErrorBody, description = "Daily limit reached; see Retry-After"),
        (status = 503, body = ErrorBody, description = "Inference is unavailable"),
    )
)]
pub async fn identify(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeAuthUser,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    run(state, req, user, form, Shape::App).await
}

/// Identify the gym machine in a photo, with the matched machine's id and the closest
/// catalog machines (for clients other than the shipped app, whose strict schema
/// `POST /identify` keeps to). Same photo rules, quota and errors as `POST /identify`.
#[utoipa::path(post, path = "/api/v1/identify", tag = "identify",
    security(("bearer_auth" = [])),
    request_body(content = PhotoForm, content_type = "multipart/form-data", description = "field `image`: a JPEG or PNG photo of at most 10 MB"),
    responses(
        (status = 200, body = Identification),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "Not a JPEG or PNG (WebP and HEIC are named)"),
        (status = 422, body = ErrorBody, description = "No image, an unreadable one, or one over 32 megapixels"),
        (status = 429, body = ErrorBody, description = "Daily limit reached; see Retry-After"),
        (status = 503, body = ErrorBody, description = "Inference is unavailable"),
    )
)]
pub async fn identify_full(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeAuthUser,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    run(state, req, user, form, Shape::Full).await
}

async fn run(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeAuthUser,
    form: Multipart,
    shape: Shape,
) -> ApiResult<HttpResponse> {
    let started = Instant::now();
    let (holder, limit) = quota_holder(&state, &req, &user)?;
    let trace_id = req
        .extensions()
        .get::<TraceContext>()
        .map(|t| t.trace_id.clone())
        .unwrap_or_else(|| TraceContext::generate().trace_id);
    let mut event = NewEvent {
        trace_id,
        user_id: user.0.as_ref().map(|u| u.id),
        top_candidates: serde_json::json!([]),
        ..Default::default()
    };

    let Some(vision) = &state.vision else {
        // No model configured (local quick start): say so, as the original did.
        let _slot = state.upload_slot().await?;
        let bytes = read_field(form, "image", MAX_IMAGE_BYTES, declared_length(&req)).await?;
        image::sniff(&bytes)?;
        event.image_bytes = bytes.len() as i32;
        event.machine_name = "Unknown".into();
        event.mocked = true;
        event.unmapped = true;
        metrics::identification("mocked");
        return answer(&state, event, started, Vec::new(), shape).await;
    };
    event.model = Some(vision.model.clone());
    event.prompt_variant = Some(PROMPT_VARIANT.into());

    // The allowance first: a caller who has spent it costs no body read and no decode.
    let Some(ticket) = db::identify::take(&state.db, &holder, limit).await? else {
        metrics::quota_refusal(match holder {
            QuotaHolder::User(_) => "user",
            QuotaHolder::Address(_) => "address",
        });
        return Ok(retry_tomorrow());
    };
    let size_hint = declared_length(&req);
    let outcome = identify_photo(
        &state,
        vision,
        (form, size_hint),
        &holder,
        event,
        started,
        shape,
    )
    .await;
    // Given back when the model was never asked: a bad photo, or the model unavailable.
    match outcome {
        Ok(response) => {
            ticket.commit();
            Ok(response)
        }
        Err(e) => {
            ticket.refund().await?;
            Err(e)
        }
    }
}

/// What `run` does once the allowance is taken.
async fn identify_photo(
    state: &AppState,
    vision: &crate::vision::fireworks::Fireworks,
    (form, size_hint): (Multipart, usize),
    holder: &QuotaHolder,
    mut event: NewEvent,
    started: Instant,
    shape: Shape,
) -> ApiResult<HttpResponse> {
    // At most so many photos are held in memory at once (`UPLOADS_IN_MEMORY`).
    let slot = state.upload_slot().await?;
    let bytes = read_field(form, "image", MAX_IMAGE_BYTES, size_hint).await?;
    let format = image::sniff(&bytes)?;
    event.image_bytes = bytes.len() as i32;
    // Keyed by the holder too: a repeat answered from memory is one's own photo, never a
    // sign that someone else sent the same one.
    let digest: [u8; 32] = Sha256::new()
        .chain_update(holder.key().as_bytes())
        .chain_update([0])
        .chain_update(&bytes)
        .finalize()
        .into();

    let hit = state.identify_cache.get(&digest).await;
    metrics::cache_lookup(metrics::Cache::Identify, hit.is_some());
    if let Some(hit) = hit {
        metrics::identification("cached");
        fill(&mut event, &hit);
        event.cached = true;
        let candidates = serde_json::from_value(hit.candidates.clone()).unwrap_or_default();
        return answer(state, event, started, candidates, shape).await;
    }

    let (catalog, prepared) = tokio::join!(
        state.vision_catalog(),
        image::prepare_off_thread(bytes, format)
    );
    drop(slot);
    let prepared = prepared.inspect_err(|_| metrics::identification("rejected"))?;
    let catalog = catalog?;

    let upstream_started = Instant::now();
    let outcome = vision
        .identify(&catalog.prompt, &prepared.bytes, prepared.mime)
        .await;
    let upstream = upstream_started.elapsed();
    match outcome {
        Ok(model) => {
            let matched = matching::match_answer(&model.machine, &catalog.entries);
            let cached = CachedIdentification {
                machine_id: matched.best.as_ref().map(|b| b.machine_id.clone()),
                machine: matched
                    .best
                    .as_ref()
                    .map_or("Unknown".into(), |b| b.machine.clone()),
                confidence: matching::confidence(model.confidence, matched.best.as_ref()),
                raw_text: Some(model.raw_text),
                raw_machine: Some(model.machine),
                match_score: matched.candidates.first().map(|c| c.score),
                candidates: serde_json::to_value(&matched.candidates).unwrap_or_default(),
            };
            state
                .identify_cache
                .insert(digest, Arc::new(cached.clone()))
                .await;
            fill(&mut event, &cached);
            metrics::identification(if event.unmapped { "unknown" } else { "matched" });
            answered_after(
                answer(state, event, started, matched.candidates, shape).await,
                started,
                upstream,
            )
        }
        Err(VisionError::BadAnswer(why)) => {
            // The model answered, but not usefully: "Unknown", and the reason recorded.
            event.machine_name = "Unknown".into();
            event.unmapped = true;
            event.error = Some(why);
            metrics::identification("unknown");
            answered_after(
                answer(state, event, started, Vec::new(), shape).await,
                started,
                upstream,
            )
        }
        Err(VisionError::Unavailable(why)) => {
            metrics::identification("unavailable");
            event.machine_name = "Unknown".into();
            event.unmapped = true;
            event.error = Some(why.clone());
            event.latency_ms = started.elapsed().as_millis() as i32;
            db::identify::record(&state.db, &event).await?;
            Err(ApiError::Unavailable(why))
        }
    }
}

/// `Server-Timing` on an answer that went upstream: the time spent waiting for
/// Fireworks and the whole handler's, so the proxy's own share (total minus upstream)
/// can be read by a client, a browser's developer tools or `bench/`.
fn answered_after(
    response: ApiResult<HttpResponse>,
    started: Instant,
    upstream: std::time::Duration,
) -> ApiResult<HttpResponse> {
    let mut response = response?;
    let value = format!(
        "upstream;dur={:.3}, total;dur={:.3}",
        upstream.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("server-timing"),
            value,
        );
    }
    Ok(response)
}

fn fill(event: &mut NewEvent, found: &CachedIdentification) {
    event.machine_id = found.machine_id.clone();
    event.machine_name = found.machine.clone();
    event.confidence = found.confidence;
    event.raw_text = found.raw_text.clone();
    event.raw_machine = found.raw_machine.clone();
    event.match_score = found.match_score;
    event.unmapped = found.machine_id.is_none();
    event.top_candidates = found.candidates.clone();
}

async fn answer(
    state: &AppState,
    mut event: NewEvent,
    started: Instant,
    candidates: Vec<Candidate>,
    shape: Shape,
) -> ApiResult<HttpResponse> {
    event.latency_ms = started.elapsed().as_millis() as i32;
    let trace_id = db::identify::record(&state.db, &event).await?;
    tracing::info!(
        trace_id = %trace_id,
        machine = %event.machine_name,
        confidence = event.confidence,
        cached = event.cached,
        mocked = event.mocked,
        latency_ms = event.latency_ms,
        "identified"
    );
    let full = Identification {
        machine: event.machine_name,
        confidence: event.confidence,
        trace_id,
        mocked: event.mocked,
        machine_id: event.machine_id,
        candidates,
    };
    Ok(match shape {
        Shape::App => HttpResponse::Ok().json(AppIdentification::from(full)),
        Shape::Full => HttpResponse::Ok().json(full),
    })
}

/// One identification's record, for its owner or an admin.
#[utoipa::path(get, path = "/traces/{trace_id}", tag = "identify",
    security(("bearer_auth" = [])),
    params(("trace_id" = String, Path)),
    responses((status = 200, body = Trace), (status = 404, body = ErrorBody))
)]
pub async fn get_trace(
    state: web::Data<AppState>,
    user: AuthUser,
    trace_id: web::Path<String>,
) -> ApiResult<web::Json<Trace>> {
    let trace = db::identify::trace(&state.db, &trace_id).await?;
    match trace {
        Some(t) if t.user_id == Some(user.id) || user.role.is_admin() => Ok(web::Json(t)),
        _ => Err(ApiError::NotFound("Trace not found".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            address_key("2001:db8:1:2::1")
        );
        assert_eq!(address_key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(address_key("203.0.113.9"), "203.0.113.9");
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The machine the photo really showed.
    #[schema(example = "hack_squat_machine", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: String,
    /// At most 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Say which machine an identification should have named.
#[utoipa::path(post, path = "/api/v1/identifications/{trace_id}/correction", tag = "identify",
    security(("bearer_auth" = [])),
    params(("trace_id" = String, Path)),
    request_body = Correction,
    responses((status = 201, description = "Recorded"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn correct(
    state: web::Data<AppState>,
    user: AuthUser,
    trace_id: web::Path<String>,
    body: ApiJson<Correction>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into(), "note".into()],
            "string_too_long",
            "String should have at most 1000 characters",
        )]));
    }
    let owned = db::identify::trace(&state.db, &trace_id)
        .await?
        .is_some_and(|t| t.user_id == Some(user.id));
    if !owned {
        return Err(ApiError::NotFound("Trace not found".into()));
    }
    if !is_machine_id(&body.machine_id) {
        return Err(ApiError::not_found("Machine"));
    }
    UserTx::run(&state.db, &user.claims_json, async |tx| {
        db::identify::correct(tx, &trace_id, &body.machine_id, body.note.as_deref())
            .await
            .on_constraint("identification_corrections_machine_id_fkey", || {
                ApiError::not_found("Machine")
            })
    })
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "trace_id": trace_id.as_str(),
        "machine_id": body.machine_id,
        "note": body.note,
    })))
}
