//! What every handler shares: built once at start-up, cloned cheaply per worker.

use crate::config::Settings;
use crate::db::Db;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
}
