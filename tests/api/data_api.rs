//! Supabase's Data API (PostgREST, GraphQL) serves `public` to signed-in users as role
//! `authenticated` and to anyone as `anon`. Nothing this service trusts may be read or
//! written through it (migration 20261204000000): every table, sequence and function is
//! tried here as PostgREST would (`set role` with a user's claims), and a media record
//! that arrived by some other door never makes the service touch another key.

use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, database_url, fresh_database};

/// A transaction as PostgREST opens one for a request: the role and the caller's claims.
async fn as_data_api(pool: &PgPool, role: &str, user: Uuid) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("select set_config('request.jwt.claims', $1, true), set_config('role', $2, true)")
        .bind(json!({"sub": user, "role": role, "aud": "authenticated"}).to_string())
        .bind(role)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// The SQLSTATE of what `sql` answers in its own transaction as `role`.
async fn refused_with(pool: &PgPool, role: &str, user: Uuid, sql: &str) -> Option<String> {
    let mut tx = as_data_api(pool, role, user).await;
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await;
    match result {
        Ok(done) => {
            assert_eq!(done.rows_affected(), 0, "{role}: {sql} changed rows");
            None
        }
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[tokio::test]
async fn the_data_api_roles_can_neither_read_nor_write_anything_in_public() {
    let pool = PgPool::connect(&database_url(&fresh_database().await))
        .await
        .unwrap();
    let user = Uuid::new_v4();
    sqlx::query("insert into auth.users (id, email) values ($1, 'probe@example.com')")
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into favorites (user_id, machine_id) values ($1, 'leg_press')")
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select c.relname::text, (select a.attname::text from pg_attribute a \
                                  where a.attrelid = c.oid and a.attnum > 0 and a.attidentity = '' \
                                    and a.attgenerated = '' order by a.attnum limit 1) \
         from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' \
         order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() >= 14, "{tables:?}");
    for role in ["anon", "authenticated"] {
        for (table, column) in &tables {
            for sql in [
                format!("select * from public.{table} limit 1"),
                format!("insert into public.{table} default values"),
                format!("update public.{table} set {column} = {column}"),
                format!("delete from public.{table}"),
            ] {
                assert_eq!(
                    refused_with(&pool, role, user, &sql).await.as_deref(),
                    Some("42501"),
                    "{role}: {sql} must be refused (insufficient privilege)"
                );
            }
        }
    }
    let callable: Vec<String> = sqlx::query_scalar(
        "select p.oid::regprocedure::text || ' by ' || r from pg_proc p, unnest(array['anon', 'authenticated']) r \
         where p.pronamespace = 'public'::regnamespace and has_function_privilege(r, p.oid, 'execute') \
         union all \
         select c.relname::text || ' by ' || r from pg_class c, unnest(array['anon', 'authenticated']) r \
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'S' \
           and has_sequence_privilege(r, c.oid, 'usage')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        callable,
        Vec::<String>::new(),
        "functions or sequences open to the Data API"
    );
    // The service's own per-request role is one PostgREST cannot switch to.
    let reachable: bool = sqlx::query_scalar(
        "select pg_has_role('authenticator', 'machinemate_request', 'member') \
             or pg_has_role('anon', 'machinemate_request', 'member') \
             or pg_has_role('authenticated', 'machinemate_request', 'member')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!reachable);
    // ... and through it, RLS still scopes every row to the caller.
    let mut tx = as_data_api(&pool, "machinemate_request", user).await;
    let own: i64 = sqlx::query_scalar("select count(*) from favorites")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(own, 1);
    drop(tx);

    // Storage: a signed-in user cannot write or read user uploads with their own token.
    sqlx::query("insert into storage.objects (bucket_id, name) values ('user-uploads', $1)")
        .bind(format!("{user}/kept.jpg"))
        .execute(&pool)
        .await
        .unwrap();
    let upload = format!(
        "insert into storage.objects (bucket_id, name) values ('user-uploads', '{user}/photo.jpg')"
    );
    assert_eq!(
        refused_with(&pool, "authenticated", user, &upload)
            .await
            .as_deref(),
        Some("42501"),
        "row-level security refuses it"
    );
    for sql in [
        format!(
            "update storage.objects set name = '{user}/swapped.jpg' where bucket_id = 'user-uploads'"
        ),
        "delete from storage.objects where bucket_id = 'user-uploads'".to_owned(),
    ] {
        assert_eq!(
            refused_with(&pool, "authenticated", user, &sql).await,
            None,
            "{sql}"
        );
    }
    let mut tx = as_data_api(&pool, "authenticated", user).await;
    let visible: i64 =
        sqlx::query_scalar("select count(*) from storage.objects where bucket_id = 'user-uploads'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(visible, 0);
}

#[tokio::test]
async fn a_media_record_from_another_door_never_makes_the_service_touch_another_key() {
    let app = TestApp::builder().auth().storage().spawn().await;
    let storage = app.storage();
    let victim = app.sign_up().await;
    let (user, token) = app.sign_up_and_in().await;
    // What the review planted: a catalog image, a tutorial, another user's photo.
    let targets = [
        ("machines", "leg_press/hero.jpg".to_owned()),
        ("tutorials", "leg_press/setup.mp4".to_owned()),
        ("user-uploads", format!("{victim}/photo.jpg")),
    ];
    for (bucket, path) in &targets {
        let file = storage.root.join(bucket).join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"\xff\xd8\xff\xe0 precious").unwrap();
    }
    let records = [
        ("machines", "leg_press/hero.jpg".to_owned()),
        ("tutorials", "leg_press/setup.mp4".to_owned()),
        ("user-uploads", format!("{user}/../{victim}/photo.jpg")),
    ];
    for (bucket, path) in &records {
        let id = Uuid::new_v4();
        // As if written through the Data API before the lockdown, or by any other door.
        sqlx::query(
            "insert into media_assets (id, owner_id, bucket, path, asset_type, content_type, size_bytes, status) \
             values ($1, $2, $3, $4, 'user_photo', 'image/jpeg', 999, 'pending')",
        )
        .bind(id)
        .bind(user)
        .bind(bucket)
        .bind(path)
        .execute(&app.db)
        .await
        .unwrap();
        let complete = app.complete_upload(&token, &id.to_string()).await;
        assert_error(complete, 404, "not_found").await;
        let url = app.get_as(&format!("/api/v1/media/{id}/url"), &token).await;
        assert_error(url, 404, "not_found").await;
    }
    for (bucket, path) in &targets {
        assert!(
            storage.object_exists(bucket, path),
            "{bucket}/{path} was touched"
        );
    }
}

#[tokio::test]
async fn a_nul_in_the_users_own_metadata_does_not_break_their_requests() {
    let app = TestApp::builder().auth().spawn().await;
    let user = app.sign_up().await;
    let token = app.token_with(
        user,
        json!({"user_metadata": {"nick\u{0}name": "a\u{0}b", "tags": ["x\u{0}"]}}),
    );
    for path in ["/api/v1/favorites", "/api/v1/history", "/api/v1/users/me"] {
        let response = app.get_as(path, &token).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_function_created_later_is_not_executable_by_the_data_api_roles() {
    let pool = PgPool::connect(&database_url(&fresh_database().await))
        .await
        .unwrap();
    // As the user that migrates (the test's), after every migration, as a later
    // migration or an operator would.
    sqlx::raw_sql(
        "create function public.added_later() returns integer language sql as 'select 1'; \
         create function public.added_later_definer() returns integer language sql \
           security definer as 'select 2'",
    )
    .execute(&pool)
    .await
    .unwrap();
    for role in ["anon", "authenticated"] {
        for function in ["added_later()", "added_later_definer()"] {
            let executable: bool =
                sqlx::query_scalar("select has_function_privilege($1, $2, 'execute')")
                    .bind(role)
                    .bind(format!("public.{function}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert!(!executable, "{role} may execute {function}");
            assert_eq!(
                refused_with(
                    &pool,
                    role,
                    Uuid::new_v4(),
                    &format!("select public.{function}")
                )
                .await
                .as_deref(),
                Some("42501"),
                "{role}: {function}"
            );
        }
    }
}
