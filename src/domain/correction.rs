//! Where in the app a user corrected an identification from.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where in the app a user corrected an identification from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionSource {
    /// The machine picker after an identification.
    #[default]
    Picker,
    /// A favorite.
    Favorites,
    /// The history.
    History,
}

impl CorrectionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionSource::Picker => "picker",
            CorrectionSource::Favorites => "favorites",
            CorrectionSource::History => "history",
        }
    }
}
