//! Types parsed once at the boundary and trusted inside.

pub mod cursor;
pub mod machine;
pub mod pagination;
