//! Query strings read the way FastAPI reads them: repeated keys make lists, and each
//! bad value becomes a 422 issue located at `["query", name]`.
//!
//! `web::Query` (serde_urlencoded) can neither repeat keys nor say which field failed,
//! so typed query structs are built from [`QueryParams`] instead.

use crate::domain::pagination::PageRequest;
use crate::error::{ApiError, ValidationIssue, nul_issue};

/// The raw pairs of a query string, and the issues found while reading them.
pub struct QueryParams {
    pairs: Vec<(String, String)>,
    issues: Vec<ValidationIssue>,
}

impl QueryParams {
    pub fn parse(query_string: &str) -> Self {
        QueryParams {
            pairs: url::form_urlencoded::parse(query_string.as_bytes())
                .into_owned()
                .collect(),
            issues: Vec::new(),
        }
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer within `min..=max`, or `default` when absent.
    pub fn int(&mut self, name: &str, default: i64, min: i64, max: i64) -> i64 {
        let Some(raw) = self.first(name) else {
            return default;
        };
        match raw.trim().parse::<i64>() {
            Err(_) => {
                self.issues.push(ValidationIssue::query(
                    name,
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                ));
                default
            }
            Ok(v) if v < min => {
                self.issues.push(ValidationIssue::query(
                    name,
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {min}"),
                ));
                default
            }
            Ok(v) if v > max => {
                self.issues.push(ValidationIssue::query(
                    name,
                    "less_than_equal",
                    format!("Input should be less than or equal to {max}"),
                ));
                default
            }
            Ok(v) => v,
        }
    }

    /// An RFC 3339 date-time (`2026-12-01T00:00:00Z`), as pydantic's `datetime`.
    pub fn datetime(&mut self, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let raw = self.first(name)?.trim().to_owned();
        match chrono::DateTime::parse_from_rfc3339(&raw) {
            Ok(at) => Some(at.with_timezone(&chrono::Utc)),
            Err(_) => {
                self.issues.push(ValidationIssue::query(
                    name,
                    "datetime_parsing",
                    "Input should be a valid datetime (RFC 3339, e.g. 2026-12-01T00:00:00Z)",
                ));
                None
            }
        }
    }

    /// `page` and `page_size` as the contract defines them.
    pub fn page(&mut self) -> PageRequest {
        let page = self.int("page", 1, 1, PageRequest::MAX_PAGE);
        let page_size = self.int(
            "page_size",
            PageRequest::DEFAULT_PAGE_SIZE.into(),
            1,
            PageRequest::MAX_PAGE_SIZE.into(),
        );
        PageRequest::new(page, page_size)
    }

    /// Records an issue about parameter `name` found after reading it.
    pub fn issue(&mut self, name: &str, kind: &str, msg: impl Into<String>) {
        self.issues.push(ValidationIssue::query(name, kind, msg));
    }

    /// A boolean as pydantic accepts it (`true/false`, `1/0`, `yes/no`, `on/off`).
    pub fn boolean(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.first(name) else {
            return default;
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => true,
            "false" | "0" | "no" | "off" | "f" | "n" => false,
            _ => {
                self.issues.push(ValidationIssue::query(
                    name,
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                ));
                default
            }
        }
    }

    /// Trimmed text of at most `max_chars`; empty counts as absent.
    pub fn text(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let raw = self.first(name)?.trim();
        if raw.is_empty() {
            return None;
        }
        if raw.chars().count() > max_chars {
            self.issues.push(ValidationIssue::query(
                name,
                "string_too_long",
                format!("String should have at most {max_chars} characters"),
            ));
            return None;
        }
        if raw.contains('\0') {
            self.issues
                .push(nul_issue(vec!["query".into(), name.into()]));
            return None;
        }
        Some(raw.to_owned())
    }

    /// Every non-empty value of a repeated key, each at most `max_chars`, at most `max_items`.
    pub fn list(&mut self, name: &str, max_items: usize, max_chars: usize) -> Vec<String> {
        let values: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        if values.len() > max_items {
            self.issues.push(ValidationIssue::query(
                name,
                "too_long",
                format!("List should have at most {max_items} items"),
            ));
            return Vec::new();
        }
        if values.iter().any(|v| v.chars().count() > max_chars) {
            self.issues.push(ValidationIssue::query(
                name,
                "string_too_long",
                format!("String should have at most {max_chars} characters"),
            ));
            return Vec::new();
        }
        if values.iter().any(|v| v.contains('\0')) {
            self.issues
                .push(nul_issue(vec!["query".into(), name.into()]));
            return Vec::new();
        }
        values
    }

    /// One of `allowed` (matched case-insensitively, answered in its canonical form).
    pub fn choice(&mut self, name: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let raw = self.first(name)?.trim();
        if raw.is_empty() {
            return None;
        }
        let found = allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(raw))
            .copied();
        if found.is_none() {
            let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            self.issues.push(ValidationIssue::query(
                name,
                "enum",
                format!("Input should be {}", quoted.join(", ")),
            ));
        }
        found
    }

    /// Ends reading: the value, or a 422 listing every issue found.
    pub fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.issues.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::Validation(self.issues))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_bounded_and_located() {
        let mut q = QueryParams::parse("page=0&page_size=101&x=abc");
        assert_eq!(q.int("page", 1, 1, 10), 1);
        assert_eq!(q.int("page_size", 20, 1, 100), 20);
        assert_eq!(q.int("x", 5, 0, 9), 5);
        assert_eq!(q.int("absent", 7, 0, 9), 7);
        let Err(ApiError::Validation(issues)) = q.finish(()) else {
            panic!("expected issues")
        };
        let kinds: Vec<_> = issues.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["greater_than_equal", "less_than_equal", "int_parsing"]
        );
        assert_eq!(issues[1].loc, vec!["query".into(), "page_size".into()]);
    }

    #[test]
    fn repeated_keys_make_lists_and_text_is_decoded() {
        let mut q = QueryParams::parse("tags=legs&tags=push&tags=&search=leg%20press+x");
        assert_eq!(q.list("tags", 10, 50), ["legs", "push"]);
        assert_eq!(q.text("search", 100).as_deref(), Some("leg press x"));
        assert!(q.finish(()).is_ok());
    }

    #[test]
    fn booleans_and_choices_follow_pydantic() {
        let mut q = QueryParams::parse("a=TRUE&b=0&c=maybe&d=Beginner&e=expert");
        assert!(q.boolean("a", false));
        assert!(!q.boolean("b", true));
        assert!(q.boolean("c", true));
        assert_eq!(q.choice("d", &["beginner", "advanced"]), Some("beginner"));
        assert_eq!(q.choice("e", &["beginner", "advanced"]), None);
        let Err(ApiError::Validation(issues)) = q.finish(()) else {
            panic!("expected issues")
        };
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[1].msg, "Input should be 'beginner', 'advanced'");
    }

    #[test]
    fn nul_characters_are_refused() {
        let mut q = QueryParams::parse("search=a%00b&tags=x&tags=%00");
        assert_eq!(q.text("search", 100), None);
        assert!(q.list("tags", 10, 10).is_empty());
        let Err(ApiError::Validation(issues)) = q.finish(()) else {
            panic!("expected issues")
        };
        assert_eq!(issues.len(), 2);
        assert!(issues.iter().all(|i| i.kind == "string_nul"));
    }

    #[test]
    fn malformed_percent_encoding_never_fails() {
        let mut q = QueryParams::parse("search=%ZZ%&tags=%ff");
        assert_eq!(q.text("search", 100).as_deref(), Some("%ZZ%"));
        assert_eq!(q.list("tags", 10, 10).len(), 1);
    }

    #[test]
    fn offsets_follow_pages() {
        let mut q = QueryParams::parse("page=3&page_size=25");
        let p = q.page();
        assert_eq!((p.limit(), p.offset()), (25, 50));
        let mut q = QueryParams::parse("");
        let p = q.page();
        assert_eq!((p.page(), p.page_size(), p.offset()), (1, 20, 0));
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        for qs in [
            "page=0",
            "page_size=0",
            "page_size=101",
            "page=100001",
            "page=-1",
            "page=x",
        ] {
            let mut q = QueryParams::parse(qs);
            q.page();
            assert!(q.finish(()).is_err(), "{qs}");
        }
    }
}
