//! Why a bounded value was refused, in the shape of a FastAPI issue.

use std::fmt;

/// What a refused value was refused for: a FastAPI issue's `type` (`string_too_long`)
/// and `msg`. It travels through serde as the error's text ([`fmt::Display`]), which
/// [`Refusal::parse`] reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: &'static str,
    pub msg: String,
}

/// Starts the text of a refusal: no message serde or serde_json writes starts so.
const MARK: &str = "refused[";

impl Refusal {
    pub fn new(kind: &'static str, msg: impl Into<String>) -> Self {
        Refusal {
            kind,
            msg: msg.into(),
        }
    }

    /// The `(type, msg)` of a refusal's text, or `None` for any other error's.
    pub fn parse(text: &str) -> Option<(&str, &str)> {
        text.strip_prefix(MARK)?.split_once("] ")
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{MARK}{}] {}", self.kind, self.msg)
    }
}

/// Text longer than `max` characters.
pub(super) fn too_long(text: &str, max: usize) -> Result<(), Refusal> {
    if text.chars().count() > max {
        Err(Refusal::new(
            "string_too_long",
            format!("String should have at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_back_from_its_text() {
        let refusal = Refusal::new("string_too_long", "String should have at most 3 characters");
        assert_eq!(
            Refusal::parse(&refusal.to_string()),
            Some(("string_too_long", "String should have at most 3 characters"))
        );
        assert_eq!(
            Refusal::parse("invalid type: integer `5`, expected a string"),
            None
        );
    }
}
