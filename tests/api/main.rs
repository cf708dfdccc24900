//! Black-box HTTP tests against the app on a random port, each on a fresh database.

mod auth;
mod auth_server;
mod catalog;
mod errors;
mod favorites;
mod fireworks_server;
mod health;
mod helpers;
mod history;
mod identify;
mod machines;
mod media;
mod migrations;
mod observability;
mod openapi;
mod pooler;
mod rls;
mod shutdown;
mod storage_server;
mod sync;
mod users;
