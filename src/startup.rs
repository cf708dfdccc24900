//! The application: builds shared state once, binds its own listener (port 0 in tests),
//! and serves until stopped. SIGTERM stops accepting, lets in-flight requests finish
//! for `SHUTDOWN_TIMEOUT_SECS` (8 s; Cloud Run kills at 10 s), then exits.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, http, web};
use anyhow::Context;

use crate::auth::dev::DevKey;
use crate::auth::{Authenticator, Verifier};
use crate::config::Settings;
use crate::db::Db;
use crate::deadline::RequestDeadline;
use crate::extract::json::DEFAULT_JSON_LIMIT;
use crate::extract::{JsonLimit, WriteTurns};
use crate::routes::{self, fallback};
use crate::security::security_headers;
use crate::state::AppState;
use crate::telemetry::request::{X_REQUEST_ID, X_TRACE_ID, trace_requests};
use crate::{error, openapi};

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::serving(&settings.database, settings.request_deadline)
            .context("DATABASE_URL is not a valid Postgres URL")?;
        Self::build_with_db(settings, db)
    }

    /// Builds around an existing pool (tests share one per database).
    pub fn build_with_db(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.host, settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let shutdown_timeout = settings.shutdown_timeout.as_secs();
        let cors_origins = settings.cors_origins.clone();
        let sentry_on = settings.sentry_dsn.is_some();
        // One pooled HTTP client for every upstream call over HTTP: Supabase Auth's JWKS
        // and admin API, and Fireworks (storage has the S3 SDK's own).
        let http = reqwest::Client::builder()
            .user_agent(concat!("machinemate-api/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .context("building the HTTP client")?;
        let local_jwks = settings
            .supabase
            .local_auth_key_file
            .as_deref()
            .map(|path| {
                DevKey::load_or_create(path).map(|key| web::Data::new(LocalJwks(key.jwks())))
            })
            .transpose()
            .context("LOCAL_AUTH_KEY_FILE")?;
        let auth = Verifier::from_settings(&settings.supabase, http.clone()).map(Arc::new);
        if auth.is_none() {
            tracing::warn!(
                "no SUPABASE_URL, JWKS URL or JWT secret: authenticated routes answer 503"
            );
        }
        let deadline = web::Data::new(RequestDeadline(settings.request_deadline));
        let authenticator = web::Data::new(Authenticator::new(auth, db.clone()));
        let write_turns = web::Data::new(WriteTurns::default());
        let state = web::Data::new(AppState::new(settings, db, http));
        let openapi_json = openapi::render_document().context("rendering the OpenAPI document")?;

        let server =
            HttpServer::new(move || {
                // Called on each worker's thread: its reads may use connections of its own.
                state.db.serve_from_this_thread();
                App::new()
                    .app_data(state.clone())
                    .app_data(deadline.clone())
                    .app_data(authenticator.clone())
                    .app_data(write_turns.clone())
                    .app_data(JsonLimit(DEFAULT_JSON_LIMIT))
                    .app_data(web::PathConfig::default().error_handler(|err, _| {
                        error::ApiError::BadRequest(err.to_string()).into()
                    }))
                    .app_data(web::QueryConfig::default().error_handler(|err, _| {
                        error::ApiError::BadRequest(err.to_string()).into()
                    }))
                    .configure(routes::configure)
                    .configure(|cfg| {
                        if let Some(jwks) = &local_jwks {
                            cfg.service(
                                web::resource("/auth/v1/.well-known/jwks.json")
                                    .app_data(jwks.clone())
                                    .get(serve_local_jwks),
                            );
                        }
                    })
                    .configure(openapi::configure(openapi_json.clone()))
                    .default_service(web::to(fallback::not_found))
                    .wrap(from_fn(routes::head::head_as_get))
                    .wrap(cors(&cors_origins))
                    .wrap(fallback::json_error_bodies())
                    .wrap(from_fn(security_headers))
                    .wrap(from_fn(error::log_failures))
                    .wrap(from_fn(trace_requests))
                    // Outermost: each request's Sentry hub (its details ride along on any
                    // event). Failures are reported where they are logged, once, so the
                    // middleware does not report 5xx answers a second time.
                    // Without a DSN nothing is ever sent, and the middleware (a hub, the
                    // request's details and its route matched again: about 6% of a
                    // favorites list's CPU) is left out.
                    .wrap(Condition::new(
                        sentry_on,
                        sentry::integrations::actix::Sentry::builder()
                            .capture_server_errors(false)
                            .finish(),
                    ))
            })
            .workers(crate::db::server_workers())
            .listen(listener)?
            .shutdown_timeout(shutdown_timeout)
            .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The development key's public half (development only; see `auth::dev`).
struct LocalJwks(serde_json::Value);

async fn serve_local_jwks(jwks: web::Data<LocalJwks>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(&jwks.0)
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            http::Method::GET,
            http::Method::POST,
            http::Method::PATCH,
            http::Method::PUT,
            http::Method::DELETE,
        ])
        .allowed_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            http::header::IF_NONE_MATCH,
            http::header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([X_TRACE_ID, X_REQUEST_ID, http::header::ETAG])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
