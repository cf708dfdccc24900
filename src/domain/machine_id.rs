//! A machine's id (`leg_press`), checked once where it enters: a request body or a
//! path that carries one deserializes into [`MachineId`] or is refused.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// What [`is_machine_id`] accepts, as the OpenAPI document states it. utoipa takes only
/// a literal for `pattern`, so request schemas repeat this string;
/// `tests/api/openapi.rs::machine_ids_are_documented_as_the_service_checks_them` holds
/// them, and this function, to it.
pub const MACHINE_ID_PATTERN: &str = "^[a-z0-9][a-z0-9_]{1,62}$";

/// Whether `id` could be a machine id at all (saves a query for junk paths).
pub fn is_machine_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (2..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// A string that [`is_machine_id`] accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MachineId(String);

/// Why a string is not a [`MachineId`].
#[derive(Debug)]
pub struct NotAMachineId;

impl fmt::Display for NotAMachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "A machine id is 2 to 63 lowercase letters, digits and underscores, \
             starting with a letter or a digit",
        )
    }
}

impl TryFrom<String> for MachineId {
    type Error = NotAMachineId;

    fn try_from(id: String) -> Result<Self, NotAMachineId> {
        if is_machine_id(&id) {
            Ok(MachineId(id))
        } else {
            Err(NotAMachineId)
        }
    }
}

impl From<MachineId> for String {
    fn from(id: MachineId) -> String {
        id.0
    }
}

impl std::error::Error for NotAMachineId {}

/// Read from a `text` column: the catalog's ids are checked by the same pattern
/// (`machines.id`), and every other machine id references one.
impl sqlx::Type<sqlx::Postgres> for MachineId {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for MachineId {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let id = <String as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(MachineId::try_from(id)?)
    }
}

impl Deref for MachineId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_ids_are_slugs() {
        assert!(is_machine_id("leg_press"));
        assert!(!is_machine_id("Leg Press"));
        assert!(!is_machine_id("_x"));
        assert!(!is_machine_id("a"));
        assert!(!is_machine_id("../etc"));
    }

    #[test]
    fn a_machine_id_is_checked_when_deserialized() {
        let id: MachineId = serde_json::from_str("\"leg_press\"").unwrap();
        assert_eq!(&*id, "leg_press");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"leg_press\"");
        let refused = serde_json::from_str::<MachineId>("\"Leg Press\"").unwrap_err();
        assert!(refused.to_string().contains("lowercase"), "{refused}");
    }
}
