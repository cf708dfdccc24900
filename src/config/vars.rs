//! Reading variables: unset when empty, parsed, range-checked, named in every error.

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use url::Url;

use super::problem::ConfigError;

/// Reads variables through `lookup`, treating empty values as unset.
pub(super) struct Vars<F: Fn(&str) -> Option<String>>(pub(super) F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    pub(super) fn get(&self, name: &'static str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn required(&self, name: &'static str, hint: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError {
            name,
            problem: format!("is required ({hint})"),
        })
    }

    pub(super) fn parsed<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError {
                name,
                problem: format!("is invalid: {e}"),
            }),
        }
    }

    /// `parsed`, and then within `range` (inclusive), or one line saying so.
    pub(super) fn ranged<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display,
        T::Err: fmt::Display,
    {
        let value = self.parsed(name, default)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError {
                name,
                problem: format!("must be between {} and {}", range.start(), range.end()),
            })
        }
    }

    pub(super) fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        self.get(name)
            .map(|raw| {
                let url = Url::parse(&raw).map_err(|e| ConfigError {
                    name,
                    problem: format!("is not a valid URL: {e}"),
                })?;
                if url.scheme() != "http" && url.scheme() != "https" {
                    return Err(ConfigError {
                        name,
                        problem: "must be an http(s) URL".into(),
                    });
                }
                Ok(url)
            })
            .transpose()
    }

    pub(super) fn secret(&self, name: &'static str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }
}

/// `scheme://host[:port]` origins; `*` is refused, since the API takes bearer tokens.
pub(super) fn cors_origins(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            // A wildcard is refused outright: `*` would hand bearer-token answers to any
            // site, and CORS has no `*.example.com` (it would silently match nothing).
            let valid = !origin.contains('*')
                && Url::parse(origin).is_ok_and(|u| {
                    u.host_str().is_some()
                        && u.path().trim_end_matches('/').is_empty()
                        && u.query().is_none()
                });
            if valid {
                Ok(origin.trim_end_matches('/').to_owned())
            } else {
                Err(ConfigError {
                    name: "CORS_ORIGINS",
                    problem: format!(
                        "has an invalid origin {origin:?} (expected scheme://host[:port])"
                    ),
                })
            }
        })
        .collect()
}
