//! Black-box HTTP tests against the app on a random port, each on a fresh database.

mod auth;
mod auth_server;
mod catalog;
mod errors;
mod favorites;
mod health;
mod helpers;
mod history;
mod machines;
mod migrations;
mod openapi;
mod pooler;
mod rls;
mod shutdown;
mod sync;
mod users;
