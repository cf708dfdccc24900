//! What a new history entry may hold, checked all at once (every issue reported).

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::history::NewEntry;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, LocItem, ValidationIssue};

/// Most entries one batch may carry.
pub const MAX_BATCH: usize = 100;

fn default_source() -> String {
    "backend_api".into()
}

/// A new history entry.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryCreate {
    /// Optional id chosen by the client (offline entries): sending the same id again
    /// records nothing new.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[schema(value_type = String, example = "leg_press", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: MachineId,
    /// 0 to 1.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// Where the entry came from (default `backend_api`): 1 to 50 characters, not blank.
    #[serde(default = "default_source")]
    #[schema(min_length = 1, max_length = 50)]
    pub source: String,
    /// At most 2048 characters.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub photo_uri: Option<String>,
    /// When the photo was taken, RFC 3339 with a time zone (default: now); not more than
    /// a day ahead.
    #[serde(default, deserialize_with = "rfc3339")]
    pub taken_at: Option<DateTime<Utc>>,
}

/// A date-time as chrono reads one, refused with a message that says what is expected
/// (chrono's own is "input contains invalid characters").
fn rfc3339<'de, D: Deserializer<'de>>(de: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(raw) = Option::<String>::deserialize(de)? else {
        return Ok(None);
    };
    raw.parse::<DateTime<FixedOffset>>()
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            serde::de::Error::custom(
                "Input should be an RFC 3339 date-time with a time zone, such as \
                 2026-01-02T03:04:05Z",
            )
        })
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryBatch {
    /// 1 to 100 entries.
    #[schema(min_items = 1, max_items = 100)]
    pub entries: Vec<HistoryCreate>,
}

impl HistoryCreate {
    pub(super) fn validate(&self, loc: &[LocItem], issues: &mut Vec<ValidationIssue>) -> NewEntry {
        let mut issue = |field: &str, kind: &str, msg: String| {
            let mut at = loc.to_vec();
            at.push(field.into());
            issues.push(ValidationIssue::new(at, kind, msg));
        };
        if let Some(c) = self.confidence {
            if c < 0.0 {
                issue(
                    "confidence",
                    "greater_than_equal",
                    "Input should be greater than or equal to 0".into(),
                );
            } else if c > 1.0 {
                issue(
                    "confidence",
                    "less_than_equal",
                    "Input should be less than or equal to 1".into(),
                );
            }
        }
        let source = self.source.trim();
        if !(1..=50).contains(&source.chars().count()) {
            issue(
                "source",
                "string_too_long",
                "String should have 1 to 50 characters".into(),
            );
        }
        if self
            .photo_uri
            .as_ref()
            .is_some_and(|p| p.chars().count() > 2048)
        {
            issue(
                "photo_uri",
                "string_too_long",
                "String should have at most 2048 characters".into(),
            );
        }
        if let Some(t) = self.taken_at
            && (t > Utc::now() + Duration::days(1) || t.timestamp() < 946_684_800)
        {
            issue(
                "taken_at",
                "datetime_range",
                "taken_at must be after 2000 and not in the future".into(),
            );
        }
        NewEntry {
            id: self.id,
            machine_id: self.machine_id.to_string(),
            confidence: self.confidence.map(|c| c as f32),
            source: source.to_owned(),
            photo_uri: self.photo_uri.clone(),
            taken_at: self.taken_at,
        }
    }
}

pub(super) fn validated(issues: Vec<ValidationIssue>) -> ApiResult<()> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(issues))
    }
}
