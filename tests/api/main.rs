//! Black-box HTTP tests against the app on a random port, each on a fresh database.

// The tests read and arrange the database directly, outside the service's pool.
#![allow(clippy::disallowed_methods)]

mod access;
mod app_compat;
mod auth;
mod binary;
mod catalog;
mod catalog_ids;
mod concurrent_writes;
mod cutover;
mod data_api;
mod database_tls;
mod deleted_accounts;
mod errors;
mod faults;
mod favorites;
mod features_off;
mod health;
mod helpers;
mod history;
mod hostile;
mod idempotency;
mod identify;
mod load;
mod machines;
mod maintain;
mod media;
mod migrations;
mod observability;
mod openapi;
mod operations;
mod photo_bombs;
mod pinning;
mod pooler;
mod quality;
mod raw_http;
mod rls;
mod scale;
mod security;
mod shutdown;
mod stand_ins;
mod sync;
mod trickling;
mod uploads;
mod users;
mod worker_connections;
