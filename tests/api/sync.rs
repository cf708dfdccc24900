//! Offline sync between two devices of one user.

use base64::Engine;
use machinemate_api::routes::history::HistoryEntry;
use machinemate_api::routes::sync::SyncResponse;
use serde_json::json;

use crate::helpers::{TestApp, answer, assert_error, deleted_count};

/// The machine ids of the favorites a sync carries.
fn favorite_ids(sync: &SyncResponse) -> Vec<String> {
    sync.favorites
        .upserted
        .iter()
        .map(|f| f.machine_id.to_string())
        .collect()
}

/// The ids of the history entries a sync carries.
fn history_ids(sync: &SyncResponse) -> Vec<String> {
    sync.history.upserted.iter().map(|h| h.id.clone()).collect()
}

#[tokio::test]
async fn changes_and_deletions_on_one_device_reach_the_other_exactly_once() {
    let app = TestApp::builder().auth().spawn().await;
    let user = app.sign_up().await;
    // Two devices: two sessions of the same user.
    let phone = app.token_for(user);
    let tablet = app.token_with(user, json!({"session_id": uuid::Uuid::new_v4()}));

    let first = app.sync(&tablet, None).await;
    assert!(
        first.machines.upserted.len() >= 40,
        "a first sync carries the catalog"
    );
    assert!(favorite_ids(&first).is_empty());
    let cursor = first.cursor.clone();

    assert_eq!(app.add_favorite(&phone, "leg_press").await.status(), 201);
    assert_eq!(app.add_favorite(&phone, "treadmill").await.status(), 201);
    let entry: HistoryEntry = answer(
        app.add_history(&phone, json!({"machine_id": "hack_squat_machine"}))
            .await,
        201,
    )
    .await;
    let entry_id = entry.id.to_string();

    let second = app.sync(&tablet, Some(&cursor)).await;
    assert_eq!(favorite_ids(&second), ["leg_press", "treadmill"]);
    assert_eq!(history_ids(&second), [entry_id.as_str()]);
    assert!(
        second.machines.upserted.is_empty(),
        "the catalog did not change"
    );
    assert!(!second.has_more);
    let cursor = second.cursor.clone();

    // Nothing new: nothing again (exactly once).
    let quiet = app.sync(&tablet, Some(&cursor)).await;
    assert!(favorite_ids(&quiet).is_empty() && history_ids(&quiet).is_empty());
    assert_eq!(quiet.cursor, cursor);

    // A change, a deletion of each kind, and a re-added favorite.
    let updated = app
        .update_favorite(&phone, "treadmill", json!({"notes": "incline 3"}))
        .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(
        deleted_count(app.delete_favorite(&phone, "leg_press").await).await,
        1
    );
    assert_eq!(
        deleted_count(app.delete_history_entry(&phone, &entry_id).await).await,
        1
    );
    let third = app.sync(&tablet, Some(&cursor)).await;
    assert_eq!(favorite_ids(&third), ["treadmill"]);
    assert_eq!(
        third.favorites.upserted[0].notes.as_deref(),
        Some("incline 3")
    );
    assert_eq!(third.favorites.deleted, ["leg_press"]);
    assert_eq!(third.history.deleted, [entry_id.as_str()]);
    let cursor = third.cursor.clone();

    assert_eq!(app.add_favorite(&phone, "leg_press").await.status(), 201);
    let fourth = app.sync(&tablet, Some(&cursor)).await;
    assert_eq!(favorite_ids(&fourth), ["leg_press"]);
    assert!(fourth.favorites.deleted.is_empty());

    // A full sync (no cursor) shows the current state: no stale deletions of live rows.
    let full = app.sync(&phone, None).await;
    let mut favorites = favorite_ids(&full);
    favorites.sort();
    assert_eq!(favorites, ["leg_press", "treadmill"]);
    assert!(!full.favorites.deleted.contains(&"leg_press".to_owned()));
}

/// A catalog change made elsewhere (another instance, or SQL) reaches sync within the
/// freshness bound (`CATALOG_MAX_STALENESS_MS`, 1 s), as every catalog answer does, and
/// is never skipped: a sync that comes before this instance knows of the change leaves
/// the catalog half of the cursor where it was, so the next one brings the change.
#[tokio::test]
async fn catalog_changes_appear_in_a_sync_within_the_freshness_bound() {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    let mut cursor = app.sync(&token, None).await.cursor;
    sqlx::query("update machines set is_active = false where id = 'smith_machine_squat'")
        .execute(&app.db)
        .await
        .unwrap();
    let changed = std::time::Instant::now();
    let (machines, cursor) = loop {
        let next = app.sync(&token, Some(&cursor)).await;
        let machines = next.machines.upserted;
        // Each answer's cursor is the one to go on from.
        let next_cursor = next.cursor.clone();
        if !machines.is_empty() {
            break (machines, next_cursor);
        }
        assert!(
            changed.elapsed() < std::time::Duration::from_millis(1500),
            "the change did not arrive within the freshness bound"
        );
        cursor = next_cursor;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0].id, "smith_machine_squat");
    assert!(!machines[0].is_active);
    // And only once.
    let again = app.sync(&token, Some(&cursor)).await;
    assert!(again.machines.upserted.is_empty());
}

#[tokio::test]
async fn a_forged_or_foreign_cursor_is_a_422() {
    let app = TestApp::builder().auth().spawn().await;
    let (alice, ta) = app.sign_up_and_in().await;
    let tb = app.sign_in().await;
    let cursor = app.sync(&ta, None).await.cursor;

    // Rewrite the payload to "everything since 0", keeping the signature.
    let (_, tag) = cursor.split_once('.').unwrap();
    let payload = json!({"v": 1, "s": alice, "u": 0, "c": 0}).to_string();
    let forged = format!(
        "{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload),
        tag
    );
    for bad in [forged.as_str(), "garbage", "a.b"] {
        let response = app.get_as(&format!("/api/v1/sync?since={bad}"), &ta).await;
        let detail = assert_error(response, 422, "validation_error").await.detail;
        assert_eq!(detail[0]["loc"], json!(["query", "since"]));
    }
    // Alice's cursor is not Bob's.
    let response = app
        .get_as(&format!("/api/v1/sync?since={cursor}"), &tb)
        .await;
    assert_error(response, 422, "validation_error").await;
}

#[tokio::test]
async fn a_users_sync_never_carries_another_users_rows() {
    let app = TestApp::builder().auth().spawn().await;
    let (alice, bob) = (app.sign_in().await, app.sign_in().await);
    assert_eq!(app.add_favorite(&alice, "leg_press").await.status(), 201);
    let bobs = app.sync(&bob, None).await;
    assert!(favorite_ids(&bobs).is_empty());
}

#[tokio::test]
async fn tombstones_no_cursor_needs_are_purged_and_older_cursors_sync_from_the_start() {
    let app = TestApp::builder()
        .auth()
        .env(("HISTORY_DEDUP_WINDOW_SECS", "0"))
        .spawn()
        .await;
    let (user, token) = app.sign_up_and_in().await;
    let kept: HistoryEntry = answer(
        app.add_history(&token, json!({"machine_id": "treadmill"}))
            .await,
        201,
    )
    .await;
    let old_cursor = app.sync(&token, None).await.cursor;
    // 100 add/delete cycles leave 100 tombstones.
    for _ in 0..100 {
        let entry: HistoryEntry = answer(
            app.add_history(&token, json!({"machine_id": "leg_press"}))
                .await,
            201,
        )
        .await;
        let id = entry.id.to_string();
        assert_eq!(
            deleted_count(app.delete_history_entry(&token, &id).await).await,
            1
        );
    }
    let tombstones = async || -> i64 {
        sqlx::query_scalar("select count(*) from sync_tombstones where user_id = $1")
            .bind(user)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(tombstones().await, 100);
    // A device that synced after the deletions needs none of them.
    let recent_cursor = app.sync(&token, Some(&old_cursor)).await.cursor;
    sqlx::query("update sync_tombstones set deleted_at = now() - interval '31 days'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.maintain(&[]).await["sync_tombstones"], 100);
    assert_eq!(tombstones().await, 0);

    // The device whose cursor is older than the purge may have missed deletions: it gets
    // everything from the start, flagged so it drops what it held.
    let reset = app.sync(&token, Some(&old_cursor)).await;
    assert!(reset.reset);
    assert_eq!(history_ids(&reset), [kept.id.to_string()]);
    assert!(reset.history.deleted.is_empty());
    // The device that synced after the deletions goes on from its cursor.
    let incremental = app.sync(&token, Some(&recent_cursor)).await;
    assert!(!incremental.reset);
    assert!(history_ids(&incremental).is_empty());
    // And from the reset answer's cursor, on as usual (also page after page of one).
    let next = app.sync(&token, Some(&reset.cursor)).await;
    assert!(!next.reset);
    assert!(history_ids(&next).is_empty());
}
