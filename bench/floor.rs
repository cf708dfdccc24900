//! The floor `bench/run` sets every user-data scenario against: an actix-web server with
//! the service's own defaults (one worker per core, HTTP/1.1 keep-alive) that asks
//! Postgres one prepared query per request — the machine ids of one user's favorites —
//! through a pool of the service's default size (10), and answers them as JSON. No auth,
//! no row-level security, no transaction: one round trip to Postgres and nothing else.
//! A read of the caller's own rows must make that round trip, so a user-data scenario's
//! requests/s divided by the floor's says how much work it does beyond it.
//!
//! Its pool is configured as the service's is where that matters: no ping before a
//! connection is handed out (sqlx's default pings on every acquire, a second round trip
//! the service does not make: with it the floor answered about a quarter fewer
//! requests). `FLOOR_POOLS=per-worker` gives each worker a pool of its own, opened on
//! the worker's runtime (half the size each, with two workers), so a query's socket
//! wakes the thread that waits for it: the design docs/performance.md measures as the
//! next step, not what `bench/run` uses.
//!
//! `FLOOR_QUERY=scoped` asks instead what the service's favorites read asks, the same way:
//! `machinemate_read_favorites(claims)` (migration 20261208000000: the deleted-account
//! check, the role `machinemate_request`, the claims, and the read under row level
//! security), prepared once per connection, with claims `{"sub": user, "role":
//! "authenticated"}`. Still no auth, no middleware, no machines embedded in the answer:
//! what the row-level-security read costs beyond the floor on its own, and so how close
//! to the floor any service that keeps it can come (docs/performance.md).
//!
//! ```text
//! cargo build --release --example floor
//! [FLOOR_POOLS=per-worker] target/release/examples/floor PORT DATABASE_URL
//! curl 'http://127.0.0.1:PORT/?user=00000000-0000-4000-8000-000000000001'
//! ```

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// The service's default `DATABASE_MAX_CONNECTIONS`.
const POOL_SIZE: u32 = 10;

#[derive(Deserialize)]
struct Caller {
    user: Uuid,
}

/// Which query the floor asks (`FLOOR_QUERY`).
#[derive(Clone, Copy)]
enum Query {
    /// The favorites' ids, as the database's owner: no row level security.
    Plain,
    /// The service's own scoped read, under row level security.
    Scoped,
}

// The floor is not the service: it measures sqlx's own prepared query, not the
// service's statement builders (db::query::Statements).
#[allow(clippy::disallowed_methods)]
async fn favorite_ids(
    pool: web::Data<PgPool>,
    query: web::Data<Query>,
    caller: web::Query<Caller>,
) -> HttpResponse {
    // sqlx prepares the statement once per connection and reuses it.
    let ids: Result<Vec<(String,)>, _> = match query.get_ref() {
        Query::Plain => {
            sqlx::query_as("select machine_id from public.favorites where user_id = $1")
                .bind(caller.user)
                .fetch_all(pool.get_ref())
                .await
        }
        Query::Scoped => {
            let claims = serde_json::json!({"sub": caller.user, "role": "authenticated"});
            sqlx::query_as("select machine_id from public.machinemate_read_favorites($1)")
                .bind(claims.to_string())
                .fetch_all(pool.get_ref())
                .await
        }
    };
    match ids {
        Ok(rows) => HttpResponse::Ok().json(rows.into_iter().map(|(id,)| id).collect::<Vec<_>>()),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, database_url] = args.as_slice() else {
        eprintln!("usage: floor PORT DATABASE_URL");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("floor: PORT must be a port number, not {port:?}");
        return ExitCode::from(2);
    };
    let options = || PgPoolOptions::new().test_before_acquire(false);
    let pool = match options()
        .max_connections(POOL_SIZE)
        .connect(database_url)
        .await
    {
        Ok(pool) => web::Data::new(pool),
        Err(e) => {
            eprintln!("floor: connecting to the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let per_worker = std::env::var("FLOOR_POOLS").is_ok_and(|v| v == "per-worker");
    let query = match std::env::var("FLOOR_QUERY").as_deref() {
        Ok("scoped") => Query::Scoped,
        Ok("plain") | Err(_) => Query::Plain,
        Ok(other) => {
            eprintln!("floor: FLOOR_QUERY must be plain or scoped, not {other:?}");
            return ExitCode::from(2);
        }
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let url = database_url.clone();
    let server = HttpServer::new(move || {
        // Lazy: its connections are opened on first use, on this worker's runtime.
        let pool = if per_worker {
            options()
                .max_connections((POOL_SIZE / workers).max(1))
                .connect_lazy(&url)
                .map(web::Data::new)
                .unwrap_or_else(|e| panic!("floor: the database URL: {e}"))
        } else {
            pool.clone()
        };
        App::new()
            .app_data(pool)
            .app_data(web::Data::new(query))
            .default_service(web::to(favorite_ids))
    })
    .bind(("127.0.0.1", port));
    match server {
        Ok(server) => match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("floor: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("floor: binding 127.0.0.1:{port}: {e}");
            ExitCode::FAILURE
        }
    }
}
