//! Types parsed once at the boundary and trusted inside.

pub mod curation;
pub mod cursor;
pub mod machine;
pub mod pagination;
