//! The local stack's own Supabase Auth (what `scripts/dev` runs): tokens from
//! `machinemate-api dev-token`, signed with the development key whose JWKS the service
//! serves, and sign-ins the service deletes as Supabase's admin API would.

use base64::Engine;
use serde_json::Value;

use crate::binary::command;
use crate::helpers::{ME, TestApp, account_deleted, database_url, error_answer, free_port};

/// The local stack's settings for a service on `port` with the key at `key`.
fn local_auth(port: u16, key: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("SUPABASE_URL", format!("http://127.0.0.1:{port}")),
        ("LOCAL_AUTH_KEY_FILE", key.display().to_string()),
        ("LOCAL_AUTH", "enabled".into()),
    ]
}

struct LocalStack {
    app: TestApp,
    env: Vec<(&'static str, String)>,
    key_dir: std::path::PathBuf,
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.key_dir);
    }
}

impl LocalStack {
    /// The app as scripts/dev runs it: its own Supabase Auth, on a port known in advance.
    async fn start() -> LocalStack {
        let port = free_port();
        let key_dir = std::env::temp_dir().join(format!("mm-auth-{}", uuid::Uuid::new_v4()));
        let env = local_auth(port, &key_dir.join("dev-es256.pk8"));
        let mut builder = TestApp::builder().env(("PORT", &port.to_string()));
        for (name, value) in &env {
            builder = builder.env((name, value));
        }
        let app = builder.spawn().await;
        LocalStack { app, env, key_dir }
    }

    /// `machinemate-api dev-token ARGS` as scripts/dev-token runs it.
    fn dev_token(&self, args: &[&str]) -> std::process::Output {
        command()
            .arg("dev-token")
            .args(args)
            .env("DATABASE_URL", database_url(&self.app.database_name))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    fn token(&self, args: &[&str]) -> String {
        let output = self.dev_token(args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn dev_token_signs_for_exactly_the_lifetime_asked_or_refuses_it_clearly() {
    let local = LocalStack::start().await;
    let token = local.token(&["--ttl-secs", "1"]);
    let claims = claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1
    );
    // Accepted by the service (within the clock skew it allows).
    assert_eq!(local.app.get_as(ME, &token).await.status(), 200);

    for refused in ["0", "86401"] {
        let output = local.dev_token(&["--ttl-secs", refused]);
        assert_eq!(output.status.code(), Some(2), "{refused}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("invalid value '{refused}' for '--ttl-secs")),
            "{stderr}"
        );
        assert!(stderr.contains("1..=86400"), "{stderr}");
    }
}

#[tokio::test]
async fn locally_deleting_the_account_deletes_the_sign_in_and_nothing_recreates_the_profile() {
    let local = LocalStack::start().await;
    let token = local.token(&[]);
    let user = claims(&token)["sub"].as_str().unwrap().to_owned();
    assert_eq!(local.app.get_as(ME, &token).await.status(), 200);

    let (deleted, auth_user_deleted) = account_deleted(local.app.delete_me(&token).await).await;
    assert_eq!((deleted, auth_user_deleted), (1, true));
    let sign_ins: i64 = sqlx::query_scalar("select count(*) from auth.users where id = $1::uuid")
        .bind(&user)
        .fetch_one(&local.app.db)
        .await
        .unwrap();
    assert_eq!(
        sign_ins, 0,
        "the local sign-in is gone, as Supabase's would be"
    );

    // The token has not expired, yet the profile stays gone however often the app calls.
    for _ in 0..2 {
        let refused = error_answer(local.app.get_as(ME, &token).await).await;
        assert!(matches!(refused.status, 401 | 404), "{}", refused.body);
    }
    let profiles: i64 = sqlx::query_scalar("select count(*) from public.users where id = $1::uuid")
        .bind(&user)
        .fetch_one(&local.app.db)
        .await
        .unwrap();
    assert_eq!(profiles, 0);
}
