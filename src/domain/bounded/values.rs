//! Bounded values that are not text: a confidence, when a photo was taken, a user's
//! preferences, a batch.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr};

use super::refusal::Refusal;
use super::schema::{Null, typed};

/// How sure an identification was: [`Confidence::MIN`] to [`Confidence::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    pub const MIN: f64 = 0.0;
    pub const MAX: f64 = 1.0;

    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("{} to {}.", Self::MIN, Self::MAX)
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::Number, null)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
            .minimum(Some(Self::MIN))
            .maximum(Some(Self::MAX))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Confidence {
    type Error = Refusal;

    fn try_from(c: f64) -> Result<Self, Refusal> {
        if c < Self::MIN {
            Err(Refusal::new(
                "greater_than_equal",
                format!("Input should be greater than or equal to {}", Self::MIN),
            ))
        } else if c > Self::MAX {
            Err(Refusal::new(
                "less_than_equal",
                format!("Input should be less than or equal to {}", Self::MAX),
            ))
        } else {
            Ok(Confidence(c))
        }
    }
}

impl From<Confidence> for f64 {
    fn from(c: Confidence) -> f64 {
        c.0
    }
}

/// When a photo was taken: an RFC 3339 date-time with a time zone, after 2000 and not
/// more than [`TakenAt::MAX_AHEAD_DAYS`] ahead (device clocks drift).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenAt(DateTime<Utc>);

impl TakenAt {
    pub const MAX_AHEAD_DAYS: i64 = 1;
    /// 2000-01-01T00:00:00Z.
    const EARLIEST_UNIX: i64 = 946_684_800;

    /// How far ahead a time may be, in words.
    pub fn ahead() -> String {
        match Self::MAX_AHEAD_DAYS {
            1 => "a day".into(),
            days => format!("{days} days"),
        }
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::String, null).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    }

    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

impl Serialize for TakenAt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Refused with a message that says what is expected (chrono's own is "input contains
/// invalid characters").
impl<'de> Deserialize<'de> for TakenAt {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(de)?;
        let t = raw
            .parse::<DateTime<FixedOffset>>()
            .map_err(|_| {
                serde::de::Error::custom(
                    "Input should be an RFC 3339 date-time with a time zone, such as \
                     2026-01-02T03:04:05Z",
                )
            })?
            .with_timezone(&Utc);
        if t > Utc::now() + Duration::days(Self::MAX_AHEAD_DAYS)
            || t.timestamp() < Self::EARLIEST_UNIX
        {
            return Err(serde::de::Error::custom(Refusal::new(
                "datetime_range",
                "taken_at must be after 2000 and not in the future",
            )));
        }
        Ok(TakenAt(t))
    }
}

/// The app's settings for a user: a JSON object of at most [`Preferences::MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct Preferences(Value);

impl Preferences {
    pub const MAX_BYTES: usize = 16 * 1024;

    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("A JSON object of at most {} KiB", Self::MAX_BYTES / 1024)
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::Object, null)
    }

    /// No preferences: `{}`.
    pub fn empty() -> Self {
        Preferences(Value::Object(Default::default()))
    }
}

impl TryFrom<Value> for Preferences {
    type Error = Refusal;

    fn try_from(value: Value) -> Result<Self, Refusal> {
        if !value.is_object() {
            Err(Refusal::new(
                "dict_type",
                "Input should be a valid dictionary",
            ))
        } else if value.to_string().len() > Self::MAX_BYTES {
            Err(Refusal::new(
                "too_long",
                format!("Preferences must be at most {} KiB", Self::MAX_BYTES / 1024),
            ))
        } else {
            Ok(Preferences(value))
        }
    }
}

impl From<Preferences> for Value {
    fn from(p: Preferences) -> Value {
        p.0
    }
}

/// Items sent together (history entries made offline): [`Batch::MIN_ITEMS`] to
/// [`Batch::MAX_ITEMS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Batch<T>(Vec<T>);

impl<T> Batch<T> {
    pub const MIN_ITEMS: usize = 1;
    pub const MAX_ITEMS: usize = 100;

    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("{} to {}", Self::MIN_ITEMS, Self::MAX_ITEMS)
    }

    pub fn schema() -> ArrayBuilder
    where
        T: ToSchema,
    {
        ArrayBuilder::new()
            .items(RefOr::Ref(Ref::from_schema_name(T::name())))
            .min_items(Some(Self::MIN_ITEMS))
            .max_items(Some(Self::MAX_ITEMS))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Batch<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(de)?;
        if (Self::MIN_ITEMS..=Self::MAX_ITEMS).contains(&items.len()) {
            Ok(Batch(items))
        } else {
            Err(serde::de::Error::custom(Refusal::new(
                "too_long",
                format!("A batch holds {} entries", Self::limit()),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_times_and_objects_are_checked_when_deserialized() {
        assert_eq!(serde_json::from_str::<Confidence>("1").unwrap().get(), 1.0);
        let above = serde_json::from_str::<Confidence>("1.5").unwrap_err();
        assert!(
            above
                .to_string()
                .contains("less_than_equal] Input should be less than or equal to 1")
        );
        let below = serde_json::from_str::<Confidence>("-0.1").unwrap_err();
        assert!(
            below
                .to_string()
                .contains("greater_than_equal] Input should be greater than or equal to 0")
        );
        assert!(serde_json::from_str::<TakenAt>("\"2026-01-02T03:04:05Z\"").is_ok());
        let ahead = serde_json::from_str::<TakenAt>("\"2999-01-01T00:00:00Z\"").unwrap_err();
        assert!(ahead.to_string().contains("datetime_range"), "{ahead}");
        let words = serde_json::from_str::<TakenAt>("\"yesterday\"").unwrap_err();
        assert!(
            words.to_string().starts_with("Input should be an RFC 3339"),
            "{words}"
        );
        let list = serde_json::from_str::<Preferences>("[1, 2]").unwrap_err();
        assert!(list.to_string().contains("dict_type"), "{list}");
        let empty = serde_json::from_str::<Batch<u8>>("[]").unwrap_err();
        assert!(
            empty.to_string().contains("A batch holds 1 to 100 entries"),
            "{empty}"
        );
    }
}
