//! Sync cursors: opaque to the app, tamper-checked here. A cursor names the last
//! change the caller has seen (their own change version and the catalog's) and whose
//! it is, signed with HMAC-SHA256 under a key every instance shares.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPosition {
    /// The caller's change version seen.
    #[serde(rename = "u")]
    pub user_version: i64,
    /// The catalog version seen.
    #[serde(rename = "c")]
    pub catalog_version: i64,
    /// The highest change version whose tombstone had been purged when this position was
    /// given: the device's view accounts for deletions up to it (absent in cursors made
    /// before tombstones were purged).
    #[serde(rename = "f", default, skip_serializing_if = "is_zero")]
    pub purged_seen: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(rename = "v")]
    format: u8,
    #[serde(rename = "s")]
    user: Uuid,
    #[serde(flatten)]
    position: SyncPosition,
}

pub struct CursorKey(hmac::Key);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        CursorKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    pub fn encode(&self, user: Uuid, position: SyncPosition) -> String {
        let payload = serde_json::to_vec(&Payload {
            format: 1,
            user,
            position,
        })
        .expect("cursor payload serializes");
        let tag = hmac::sign(&self.0, &payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The position in `cursor`, if it is intact, current and `user`'s.
    pub fn decode(&self, user: Uuid, cursor: &str) -> Option<SyncPosition> {
        let (payload, tag) = cursor.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.0, &payload, &tag).ok()?;
        let payload: Payload = serde_json::from_slice(&payload).ok()?;
        let valid = payload.format == 1
            && payload.user == user
            && payload.position.user_version >= 0
            && payload.position.catalog_version >= 0
            && payload.position.purged_seen >= 0;
        valid.then_some(payload.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let key = CursorKey::new(&[7; 32]);
        let user = Uuid::new_v4();
        let position = SyncPosition {
            user_version: 42,
            catalog_version: 7,
            purged_seen: 3,
        };
        let cursor = key.encode(user, position);
        assert_eq!(key.decode(user, &cursor), Some(position));

        // Another user's cursor, another key, a changed payload, junk.
        assert_eq!(key.decode(Uuid::new_v4(), &cursor), None);
        assert_eq!(CursorKey::new(&[8; 32]).decode(user, &cursor), None);
        let (_, tag) = cursor.split_once('.').unwrap();
        let forged = serde_json::json!({"v": 1, "s": user, "u": 0, "c": 0}).to_string();
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode(forged), tag);
        assert_eq!(key.decode(user, &forged), None);
        for junk in ["", ".", "abc", "a.b", &format!("{cursor}x")] {
            assert_eq!(key.decode(user, junk), None, "{junk}");
        }
    }
}
