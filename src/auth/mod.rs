//! Supabase authentication: JWKS-verified access tokens, the caller's identity and role,
//! request extractors, the local development signing key, and the admin API (account
//! deletion).

pub mod admin;
pub mod dev;
pub mod extract;
pub mod identity;
pub mod jwks;
pub mod verify;

pub use extract::{AdminUser, AuthUser, MaybeAuthUser};
pub use identity::{Claims, Identity, Role};
pub use verify::{AuthError, Verifier};
