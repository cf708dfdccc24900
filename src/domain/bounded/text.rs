//! Bounded text: notes, a photo's URI, a history entry's source, a display name, an
//! avatar URL.

use std::ops::Deref;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::refusal::{Refusal, too_long};
use super::schema::{Null, typed};
use crate::domain::{MAX_URL_CHARS, is_web_url};

/// Implements what every bounded text shares: reading it as `&str`, and giving it back.
macro_rules! text {
    ($name:ident) => {
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(text: $name) -> String {
                text.0
            }
        }
    };
}

/// What a user writes about something: a favorite's notes, a correction's note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Notes(String);
text!(Notes);

impl Notes {
    pub const MAX_CHARS: usize = 1000;

    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("At most {} characters.", Self::MAX_CHARS)
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::String, null).max_length(Some(Self::MAX_CHARS))
    }
}

impl TryFrom<String> for Notes {
    type Error = Refusal;

    fn try_from(text: String) -> Result<Self, Refusal> {
        too_long(&text, Self::MAX_CHARS).map(|()| Notes(text))
    }
}

/// Where the photo of a history entry is (on the device, or a URL): any text of at
/// most [`MAX_URL_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhotoUri(String);
text!(PhotoUri);

impl PhotoUri {
    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("At most {MAX_URL_CHARS} characters.")
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::String, null).max_length(Some(MAX_URL_CHARS))
    }
}

impl TryFrom<String> for PhotoUri {
    type Error = Refusal;

    fn try_from(text: String) -> Result<Self, Refusal> {
        too_long(&text, MAX_URL_CHARS).map(|()| PhotoUri(text))
    }
}

/// Where a history entry came from (`camera`, `offline`; `backend_api` by default): not
/// blank once trimmed. Kept as sent (a retried request is compared as sent), stored
/// trimmed ([`Source::trimmed`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Source(String);
text!(Source);

impl Source {
    pub const MIN_CHARS: usize = 1;
    pub const MAX_CHARS: usize = 50;

    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!(
            "{} to {} characters, not blank",
            Self::MIN_CHARS,
            Self::MAX_CHARS
        )
    }

    pub fn schema() -> ObjectBuilder {
        typed(Type::String, Null::Refused)
            .min_length(Some(Self::MIN_CHARS))
            .max_length(Some(Self::MAX_CHARS))
    }

    pub fn trimmed(&self) -> &str {
        self.0.trim()
    }
}

impl Default for Source {
    fn default() -> Self {
        Source("backend_api".into())
    }
}

impl TryFrom<String> for Source {
    type Error = Refusal;

    fn try_from(text: String) -> Result<Self, Refusal> {
        let chars = text.trim().chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            Ok(Source(text))
        } else {
            Err(Refusal::new(
                "string_too_long",
                format!(
                    "String should have {} to {} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ))
        }
    }
}

/// A user's name as shown in the app: trimmed, without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);
text!(DisplayName);

impl DisplayName {
    pub const MIN_CHARS: usize = 1;
    pub const MAX_CHARS: usize = 100;

    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("{} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS)
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::String, null).max_length(Some(Self::MAX_CHARS))
    }
}

impl TryFrom<String> for DisplayName {
    type Error = Refusal;

    fn try_from(text: String) -> Result<Self, Refusal> {
        let name = text.trim();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&name.chars().count())
            && !name.chars().any(char::is_control)
        {
            Ok(DisplayName(name.to_owned()))
        } else {
            Err(Refusal::new(
                "string_type",
                format!(
                    "Display name must be {}, without control characters",
                    Self::limit()
                ),
            ))
        }
    }
}

/// An http(s) URL of at most [`MAX_URL_CHARS`] characters ([`is_web_url`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AvatarUrl(String);
text!(AvatarUrl);

impl AvatarUrl {
    /// The limit in words, for the OpenAPI description.
    pub fn limit() -> String {
        format!("An http(s) URL of at most {MAX_URL_CHARS} characters")
    }

    pub fn schema(null: Null) -> ObjectBuilder {
        typed(Type::String, null).max_length(Some(MAX_URL_CHARS))
    }
}

impl TryFrom<String> for AvatarUrl {
    type Error = Refusal;

    fn try_from(url: String) -> Result<Self, Refusal> {
        if is_web_url(&url) {
            Ok(AvatarUrl(url))
        } else {
            Err(Refusal::new(
                "url_parsing",
                "Input should be a valid http(s) URL",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        serde_json::from_str::<T>(json).unwrap_err().to_string()
    }

    #[test]
    fn text_is_checked_when_deserialized() {
        let notes: Notes = serde_json::from_str(&format!("\"{}\"", "n".repeat(1000))).unwrap();
        assert_eq!(notes.chars().count(), Notes::MAX_CHARS);
        let refusal = refused::<Notes>(&format!("\"{}\"", "é".repeat(1001)));
        assert!(
            refusal.starts_with("refused[string_too_long] "),
            "{refusal}"
        );
        assert!(refused::<Source>("\"  \"").contains("1 to 50"));
        assert!(refused::<DisplayName>("\"a\\u0007b\"").contains("string_type"));
        assert!(refused::<AvatarUrl>("\"javascript:alert(1)\"").contains("url_parsing"));
    }

    #[test]
    fn a_source_is_kept_as_sent_and_stored_trimmed_and_a_display_name_is_trimmed() {
        let source: Source = serde_json::from_str("\" camera \"").unwrap();
        assert_eq!(&*source, " camera ");
        assert_eq!(source.trimmed(), "camera");
        let name: DisplayName = serde_json::from_str("\" Ada \"").unwrap();
        assert_eq!(&*name, "Ada");
    }
}
