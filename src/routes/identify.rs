//! `POST /identify` and `POST /api/v1/identify`: the HTTP side of identification (who
//! asks, reading the photo from the form, the two answer shapes); `crate::identification`
//! does the work.

use actix_multipart::Multipart;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::MaybeAuthUser;
use crate::domain::identify::QuotaHolder;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::multipart::{declared_length, read_photo};
use crate::identification::budget::seconds_until_next_utc_day;
use crate::identification::{Caller, Identified, Outcome, Photo, Stores};
use crate::state::AppState;
use crate::telemetry::request::ClientAddress;
use crate::telemetry::trace_context::TraceContext;
use crate::vision::image::MAX_IMAGE_BYTES;
use crate::vision::matching::Candidate;

/// What `POST /identify` answers: exactly the four keys the shipped app's strict schema
/// accepts (any other key makes the app discard the answer and show "Unknown machine").
/// Richer clients use `POST /api/v1/identify` ([`Identification`]).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

/// The daily allowance is spent: 429 until the next UTC day.
fn retry_tomorrow() -> ApiError {
    ApiError::RateLimited {
        code: "quota_exceeded",
        detail: "Daily identification limit reached; try again tomorrow".into(),
        retry_after_secs: seconds_until_next_utc_day(),
    }
}

/// Who pays for this identification, what kind of caller that is, and their daily
/// allowance: a signed-up user; a Supabase anonymous sign-in (any install can get one,
/// so a stricter allowance); or the client's (hashed) address when the deployment allows
/// callers without a token. Otherwise a 401.
fn quota_holder(
    state: &AppState,
    address: &ClientAddress,
    user: &MaybeAuthUser,
) -> ApiResult<(QuotaHolder, &'static str, i32)> {
    let fw = &state.settings.fireworks;
    match &user.0 {
        Some(identity) if identity.claims.is_anonymous => Ok((
            QuotaHolder::User(identity.id),
            "anonymous_user",
            fw.anonymous_user_daily_limit,
        )),
        Some(identity) => Ok((QuotaHolder::User(identity.id), "user", fw.daily_limit)),
        None if fw.anonymous_daily_limit > 0 => {
            let address = address_key(address.0.as_deref().unwrap_or_default());
            let digest = Sha256::digest(format!("machinemate-ip:{address}").as_bytes());
            Ok((
                QuotaHolder::Address(format!("{digest:x}")),
                "address",
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
        (status = 503, body = ErrorBody, description = "Inference is unavailable, or today's model budget is spent (`model_budget_spent`; see Retry-After)"),
    )
)]
pub async fn identify(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeAuthUser,
    address: ClientAddress,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    run(&state, req, user, address, form, Shape::App).await
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
        (status = 503, body = ErrorBody, description = "Inference is unavailable, or today's model budget is spent (`model_budget_spent`; see Retry-After)"),
    )
)]
pub async fn identify_full(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeAuthUser,
    address: ClientAddress,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    run(&state, req, user, address, form, Shape::Full).await
}

async fn run(
    state: &AppState,
    req: HttpRequest,
    user: MaybeAuthUser,
    address: ClientAddress,
    form: Multipart,
    shape: Shape,
) -> ApiResult<HttpResponse> {
    let started = std::time::Instant::now();
    let (holder, holder_kind, limit) = quota_holder(state, &address, &user)?;
    let caller = Caller {
        holder,
        holder_kind,
        limit,
        user_id: user.0.as_ref().map(|u| u.id),
        trace_id: req
            .extensions()
            .get::<TraceContext>()
            .map(|t| t.trace_id.clone())
            .unwrap_or_else(|| TraceContext::generate().trace_id),
    };
    // Read only when identification awaits it (once the allowance is taken); a large
    // photo holds one of `UPLOADS_IN_MEMORY` turns, keyed by who pays, until it is scaled.
    let holder_key = caller.holder.key();
    let photo = async {
        let held = read_photo(
            form,
            "image",
            MAX_IMAGE_BYTES,
            declared_length(&req),
            &state.uploads,
            &holder_key,
        )
        .await?;
        Ok(Photo {
            bytes: held.bytes,
            hold: held.turn,
        })
    };
    let stores = Stores {
        db: &state.db,
        catalog: &state.catalog,
    };
    let identified = match state.identification.identify(stores, caller, photo).await? {
        Outcome::Identified(identified) => identified,
        Outcome::AllowanceSpent => return Err(retry_tomorrow()),
    };
    let upstream = identified.upstream;
    let full = full_answer(identified);
    let response = match shape {
        Shape::App => HttpResponse::Ok().json(AppIdentification::from(full)),
        Shape::Full => HttpResponse::Ok().json(full),
    };
    Ok(match upstream {
        Some(upstream) => answered_after(response, started, upstream),
        None => response,
    })
}

fn full_answer(identified: Identified) -> Identification {
    let answer = identified.answer;
    Identification {
        machine: answer.machine.clone(),
        confidence: answer.confidence,
        trace_id: identified.trace_id,
        mocked: identified.mocked,
        machine_id: answer.machine_id.clone(),
        candidates: answer.candidates.clone(),
    }
}

/// `Server-Timing` on an answer that went upstream: the time spent waiting for
/// Fireworks and the whole handler's, so the proxy's own share (total minus upstream)
/// can be read by a client, a browser's developer tools or `bench/`.
fn answered_after(
    mut response: HttpResponse,
    started: std::time::Instant,
    upstream: std::time::Duration,
) -> HttpResponse {
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
    response
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
