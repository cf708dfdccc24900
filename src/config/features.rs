//! The features that need an outside service, and whether this configuration may serve
//! without one: identification (Fireworks) and media (S3 storage). Outside development a
//! missing one stops `serve`, unless `FEATURES_OFF` turns the feature off on purpose; a
//! feature that is off answers 501 naming it (`ApiError::FeatureOff`).

use super::kinds::Environment;
use super::problem::ConfigError;
use super::settings::Settings;

/// How identification answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentificationMode {
    /// The model on Fireworks (`FIREWORKS_API_KEY`).
    Fireworks,
    /// Development without a key: a catalog machine chosen by the photo, `mocked: true`
    /// (`identification::stand_in`).
    StandIn,
    /// `FEATURES_OFF=identification`: 501.
    Off,
}

impl Settings {
    pub fn identification_mode(&self) -> IdentificationMode {
        if self.features_off.identification {
            IdentificationMode::Off
        } else if self.fireworks.api_key.is_some() {
            IdentificationMode::Fireworks
        } else if self.environment == Environment::Development {
            IdentificationMode::StandIn
        } else {
            // `check_serving` refuses this configuration before anything is served.
            IdentificationMode::Off
        }
    }

    /// Whether this configuration may serve: outside development, identification needs
    /// `FIREWORKS_API_KEY` and media needs storage, unless `FEATURES_OFF` turns them off.
    /// The error is one line naming every variable missing.
    pub fn check_serving(&self) -> Result<(), ConfigError> {
        if self.environment == Environment::Development {
            return Ok(());
        }
        const STORAGE: &str =
            "STORAGE_S3_ENDPOINT, STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY";
        let identification = self.fireworks.api_key.is_none() && !self.features_off.identification;
        let media = self.storage.is_none() && !self.features_off.media;
        let (name, variables, features) = match (identification, media) {
            (false, false) => return Ok(()),
            (true, false) => ("FIREWORKS_API_KEY", "it", "identification"),
            (false, true) => ("STORAGE_S3_ENDPOINT", STORAGE, "media"),
            (true, true) => (
                "FIREWORKS_API_KEY",
                "it and STORAGE_S3_ENDPOINT (with its keys)",
                "identification,media",
            ),
        };
        Err(ConfigError {
            name,
            problem: format!(
                "is required with ENVIRONMENT={}: set {variables}, or turn {features} off on \
                 purpose with FEATURES_OFF={features}",
                self.environment.as_str(),
            ),
        })
    }
}
