//! The schema a bounded field states in the OpenAPI document: its type's limits, the
//! field's description, and `null` when the field may be null. utoipa takes only
//! literals for `max_length` and its siblings, so fields name one of these through
//! `#[schema(schema_with = ...)]` instead, and the limit stays a constant.

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// Whether a field may hold `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Null {
    Allowed,
    Refused,
}

/// An object schema of type `kind`, or of `kind` and `null`.
pub fn typed(kind: Type, null: Null) -> ObjectBuilder {
    let schema_type = match null {
        Null::Allowed => SchemaType::from_iter([kind, Type::Null]),
        Null::Refused => SchemaType::Type(kind),
    };
    ObjectBuilder::new().schema_type(schema_type)
}
