//! Settings read once from the environment at start-up and validated there.
//!
//! The variable names are the service's interface (`docs/configuration.md`). A missing or
//! malformed variable stops start-up with one line that names it. Secrets live in
//! [`SecretString`] and are only exposed at the point of use.
//!
//! [`load`] reads the variables section by section into [`Settings`]; [`vars`] holds the
//! readers every variable goes through (unset when empty, parsed, range-checked).

mod budget;
mod database_tls;
mod features;
mod kinds;
mod load;
mod problem;
mod settings;
pub mod variants;
mod vars;

pub use features::IdentificationMode;
pub use kinds::{Environment, FeaturesOff, LogFormat, PoolMode};
pub use problem::ConfigError;
pub use settings::{
    DEFAULT_FIREWORKS_BASE_URL, DEFAULT_FIREWORKS_MODEL, DatabaseSettings, FireworksSettings,
    MaintenanceSettings, MigrationLimits, ModelBudget, Settings, StorageSettings, SupabaseSettings,
};

#[cfg(test)]
mod tests;
