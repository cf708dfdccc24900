//! The migrated schema: the catalog on the app's ids, nothing of the old schema left
//! working, nothing lost, and the commands that migrate and check.

use serde_json::{Value, json};

use super::migrated::migrated;
use super::{ALICE, BOB, CAROL, fastapi_database, fingerprint, rows, run, run_ok, verified};

#[tokio::test]
async fn the_catalog_lands_on_the_apps_39_ids_with_retired_machines_readable() {
    let m = migrated().await;
    let ids: Vec<String> = sqlx::query_scalar("select id from machines order by id")
        .fetch_all(&m.pool)
        .await
        .unwrap();
    let old: Vec<String> = sqlx::query_scalar("select id from fastapi_legacy.machines")
        .fetch_all(&m.pool)
        .await
        .unwrap();
    assert_eq!(old.len(), 39);
    assert!(
        old.iter().all(|id| ids.contains(id)),
        "every old id is kept"
    );
    let names: i64 = sqlx::query_scalar("select count(distinct lower(name)) from machines")
        .fetch_one(&m.pool)
        .await
        .unwrap();
    assert_eq!(names as usize, ids.len(), "no machine twice");
    // The seed's guidance replaced the bundle's on the same ids.
    let seeded: Vec<String> = sqlx::query_scalar(
        "select id from machines where id = any($1) and cardinality(visual_cues) > 0",
    )
    .bind(&old)
    .fetch_all(&m.pool)
    .await
    .unwrap();
    assert_eq!(seeded.len(), 39);
    // Retired by the gym before the cutover: out of the list, readable by id and in history.
    let retired = m
        .app
        .get_json("/api/v1/machines/torso_rotation_machine", 200)
        .await;
    assert_eq!(
        (
            retired["is_active"].as_bool(),
            retired["difficulty"].as_str()
        ),
        (Some(false), Some("Beginner"))
    );
    let list = m.app.get_json("/api/v1/machines?page_size=100", 200).await;
    assert!(
        list["machines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != "torso_rotation_machine")
    );
    let carol = m.get("/api/v1/history", CAROL).await;
    assert!(
        carol["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["machine"]["id"] == "torso_rotation_machine")
    );
}

#[tokio::test]
async fn nothing_of_the_old_schema_keeps_working_around_the_new_one_and_nothing_is_lost() {
    let m = migrated().await;
    // The old functions, view and policies are out of `public`.
    let leftovers = rows(
        &m.pool,
        "select proname::text as name from pg_proc where pronamespace = 'public'::regnamespace \
           and proname in ('handle_updated_at', 'cleanup_old_history') \
         union all select relname::text from pg_class where relnamespace = 'public'::regnamespace \
           and relname = 'prompt_variant_analytics' \
         union all select policyname::text from pg_policies \
           where schemaname in ('public', 'storage') and policyname in \
           ('identification_events_insert', 'identification_corrections_insert', 'favorites_owner', \
            'Users can read uploads', 'users_insert_own')",
    )
    .await;
    assert_eq!(leftovers, Vec::<Value>::new());
    // As PostgREST would: a signed-in user can no longer forge another's identification
    // (the old policy let anyone insert), nor read the archive.
    let mut tx = m.pool.begin().await.unwrap();
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(json!({"sub": BOB, "role": "authenticated"}).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await
        .unwrap();
    let forged = sqlx::query(
        "insert into public.identification_events (trace_id, user_id, machine_name, confidence) \
         values ('forged', $1, 'Treadmill', 1)",
    )
    .bind(ALICE.parse::<uuid::Uuid>().unwrap())
    .execute(&mut *tx)
    .await;
    assert!(forged.is_err(), "the old 'anyone inserts' policy is gone");
    drop(tx);
    let mut tx = m.pool.begin().await.unwrap();
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await
        .unwrap();
    let archive = sqlx::query("select * from fastapi_legacy.users")
        .execute(&mut *tx)
        .await;
    assert!(
        archive.is_err(),
        "the archive is not the API roles' to read"
    );
    drop(tx);

    // The sign-up trigger is this service's: a phone sign-up gets a profile now.
    sqlx::query("insert into auth.users (id, phone) values ('0f000000-0000-4000-8000-000000000006', '+15550199')")
        .execute(&m.pool)
        .await
        .unwrap();
    let profile: Option<Option<String>> = sqlx::query_scalar(
        "select email from users where id = '0f000000-0000-4000-8000-000000000006'",
    )
    .fetch_optional(&m.pool)
    .await
    .unwrap();
    assert_eq!(profile, Some(None));

    // Nothing is dropped: every old row, with the columns the new schema does not
    // carry (a favorite's metadata, history's meta, media sizes), is in the archive.
    let metadata = rows(
        &m.pool,
        "select f.metadata, h.meta, a.width from fastapi_legacy.favorites f, fastapi_legacy.history h, \
         fastapi_legacy.media_assets a where f.machine_id = 'lat_pulldown' \
         and h.id = '4a000000-0000-4000-8000-000000000001' and a.storage_path like '%.jpg' and a.user_id is not null",
    )
    .await;
    assert_eq!(
        metadata,
        vec![
            json!({"metadata": {"pinned": true, "color": "blue"}, "meta": {"trace_id": "f3b1c2d4e5f60718293a4b5c6d7e8f90"}, "width": 3024})
        ]
    );
}

#[tokio::test]
async fn a_second_migrate_changes_nothing() {
    let (name, pool) = fastapi_database().await;
    run_ok("migrate", &name);
    let first = fingerprint(&pool).await;
    run_ok("migrate", &name);
    assert_eq!(fingerprint(&pool).await, first);
}

#[tokio::test]
async fn migrate_check_says_what_it_would_do_and_changes_nothing() {
    let (name, pool) = fastapi_database().await;
    let before = fingerprint(&pool).await;
    let output = run("migrate --check", &name);
    assert!(output.status.success());
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(
            "the FastAPI backend's schema (users 4, machines 39, favorites 6, history 9, \
             media_assets 3, identification_events 3, identification_corrections 3)"
        ),
        "{said}"
    );
    assert_eq!(fingerprint(&pool).await, before);
    run_ok("migrate", &name);
    let said = String::from_utf8_lossy(&run("migrate --check", &name).stdout).into_owned();
    assert!(
        said.contains("this service's schema: 0 migrations pending"),
        "{said}"
    );
}

#[tokio::test]
async fn deleting_an_account_after_the_cutover_deletes_its_archived_rows_too() {
    let m = migrated().await;
    let response = m.app.delete_me(&m.token(BOB)).await;
    assert_eq!(response.status(), 200);
    let left = rows(
        &m.pool,
        &format!(
            "select (select count(*) from fastapi_legacy.users where id = '{BOB}') as users, \
                    (select count(*) from fastapi_legacy.favorites where user_id = '{BOB}') as favorites, \
                    (select count(*) from fastapi_legacy.history where user_id = '{BOB}') as history, \
                    (select count(*) from fastapi_legacy.users) as others"
        ),
    )
    .await;
    assert_eq!(
        left,
        vec![json!({"users": 0, "favorites": 0, "history": 0, "others": 3})]
    );
}

#[tokio::test]
async fn the_runbooks_verification_accounts_for_every_row() {
    let (name, pool) = fastapi_database().await;
    run_ok("migrate", &name);
    let counts = verified(&pool).await;
    let expected = [
        ("favorites", [6, 6, 0, 0]),
        ("history", [9, 9, 0, 0]),
        ("identification_corrections", [3, 2, 1, 1]),
        ("identification_events", [3, 3, 0, 0]),
        ("machines", [39, 39, 0, 0]),
        ("media_assets", [3, 3, 0, 0]),
        ("users", [4, 4, 0, 0]),
    ]
    .map(|(t, n)| (t.to_owned(), n));
    assert_eq!(
        counts, expected,
        "only the anonymous correction stays behind, on purpose"
    );
}

#[tokio::test]
async fn a_cut_over_database_has_exactly_the_schema_of_a_new_project() {
    // The copy sets foreign keys and indexes aside and makes them again: from the same
    // definitions, so the migrations stay the one description of the schema.
    let fresh = sqlx::PgPool::connect(&crate::helpers::database_url(
        &crate::helpers::fresh_database().await,
    ))
    .await
    .unwrap();
    let new_project = super::snapshot::objects(&fresh).await;
    for fixture in [super::Fixture::FreshInstall, super::Fixture::Live] {
        let (name, pool) = fixture.database().await;
        run_ok("migrate", &name);
        assert_eq!(
            super::snapshot::objects(&pool).await,
            new_project,
            "{fixture:?}"
        );
    }
}
