//! Postgres access: the pool ([`Db`]), how statements are sent ([`query`]), the
//! RLS-scoped user transaction ([`rls`]), migrations and the cutover, and the SQL for
//! each resource in small functions. They return rows (`FavoriteRow`, `EntryRow`, ...),
//! which derive no serde: what the API answers is declared by the handlers
//! (`crate::routes`), which map rows to it, so a column rename never changes the
//! contract by itself.

pub mod curation;
pub mod embed;
pub mod export;
pub mod favorites;
mod health;
pub mod history;
pub mod identify;
pub mod limits;
pub mod machines;
pub mod media;
pub mod metrics;
pub mod migrate;
mod pool;
pub mod quality;
pub mod query;
pub mod rls;
pub mod sync;
pub mod users;
pub mod verify;
mod worker_pools;

pub use health::{connections_suspect, mark_connections_suspect};
pub use pool::{Db, server_workers, within_deadline};
