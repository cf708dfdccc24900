//! Supabase authentication: JWKS-verified access tokens, the caller's identity and role,
//! request extractors, the local development signing key, and the admin API (account
//! deletion).

pub mod admin;
mod authenticator;
pub mod dev;
pub mod extract;
pub mod identity;
pub mod jwks;
pub mod verify;

pub use authenticator::Authenticator;
pub use extract::{AdminUser, AnyAccount, AuthUser, MaybeAuthUser};
pub use identity::{Claims, Identity, Role};
pub use verify::{AuthError, Verifier};
