//! What a caller brings to an identification: who they are, and the photo.

use actix_web::web::Bytes;
use uuid::Uuid;

use crate::domain::identify::QuotaHolder;

/// Who asks: whose allowance it spends (and how much it holds), their user id when
/// signed in, and the trace id the answer will carry.
#[derive(Clone)]
pub struct Caller {
    pub holder: QuotaHolder,
    /// What kind of caller `holder` is, for logs and metrics: `user`, `anonymous_user`
    /// (a Supabase anonymous sign-in) or `address` (no token at all).
    pub holder_kind: &'static str,
    pub limit: i32,
    pub user_id: Option<Uuid>,
    pub trace_id: String,
}

/// The photo in memory, and `hold`: what keeps its place among the photos held in memory
/// at once (`UPLOADS_IN_MEMORY`), let go once the photo is scaled for the model.
pub struct Photo<Hold> {
    pub bytes: Bytes,
    pub hold: Hold,
}
