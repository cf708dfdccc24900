//! Test harness. A test starts the app it needs with `TestApp::builder()` (in this
//! process, or the real binary with `spawn_process`), on a fresh database cloned from a
//! migrated, seeded template, with the stand-ins it asks for (`crate::stand_ins`); signs
//! users in with `app.sign_in()`; talks to the service with the typed requests of
//! `requests.rs`; and checks error answers with `assert_error`.
//!
//! - `builder.rs`: `TestApp::builder()`; `app.rs`: what a started `TestApp` offers.
//! - `requests.rs`: typed requests (`app.add_favorite(&token, "leg_press")`, ...).
//! - `envelope.rs`: the error envelope, a DELETE's count, metrics.
//! - `database.rs`: databases and settings; `db_proxy.rs`: Postgres outages on demand.

mod app;
mod builder;
mod database;
mod db_proxy;
mod envelope;
mod requests;

pub use app::{TestApp, watching_most};
pub use builder::TestAppBuilder;
pub use database::{database_url, empty_database, free_port, fresh_database, postgres_addr};
pub use db_proxy::DbProxy;
pub use envelope::{
    ErrorAnswer, account_deleted, assert_error, deleted_count, error_answer, metric_value,
};
pub use requests::{FAVORITES, HISTORY, ME, answer, photo_form};
