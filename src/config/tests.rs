use super::*;
use std::collections::HashMap;
use url::Url;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn a_missing_database_url_names_the_variable() {
    let err = settings(&[]).unwrap_err();
    assert_eq!(err.name, "DATABASE_URL");
    assert!(
        err.to_string()
            .starts_with("configuration error: DATABASE_URL is required")
    );
}

#[test]
fn defaults_follow_the_design() {
    let s = settings(&[("DATABASE_URL", "postgres://u:p@h/db")]).unwrap();
    assert_eq!(s.port, 8080);
    assert_eq!(s.environment, Environment::Development);
    assert_eq!(s.log_format, LogFormat::Pretty);
    assert_eq!(s.database.pool_mode, PoolMode::Session);
    assert_eq!(s.supabase.jwt_audience, "authenticated");
    assert_eq!(
        s.fireworks.base_url.as_str(),
        "https://api.fireworks.ai/inference/v1"
    );
    assert!(!s.auth_configured());
    assert!(s.storage.is_none());
}

#[test]
fn supabase_url_derives_issuer_and_jwks() {
    let s = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("SUPABASE_URL", "https://abc.supabase.co/"),
        ("ENVIRONMENT", "production"),
    ])
    .unwrap();
    assert_eq!(
        s.supabase.jwt_issuer.as_deref(),
        Some("https://abc.supabase.co/auth/v1")
    );
    assert_eq!(
        s.supabase.jwks_url.as_ref().map(Url::as_str),
        Some("https://abc.supabase.co/auth/v1/.well-known/jwks.json")
    );
    assert_eq!(s.log_format, LogFormat::Json);
    assert!(s.auth_configured());
}

#[test]
fn malformed_values_name_their_variable() {
    for (name, value) in [
        ("PORT", "eighty"),
        ("DATABASE_POOL_MODE", "statement"),
        ("LOG_FORMAT", "xml"),
        ("ENVIRONMENT", "moon"),
        ("SUPABASE_URL", "not a url"),
        ("DATABASE_MAX_CONNECTIONS", "0"),
        ("CORS_ORIGINS", "*"),
        ("CORS_ORIGINS", "http://localhost:8081,not an origin"),
    ] {
        let err = settings(&[("DATABASE_URL", "postgres://u:p@h/db"), (name, value)]).unwrap_err();
        assert_eq!(err.name, name, "{err}");
    }
    let err = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
    assert_eq!(err.name, "DATABASE_URL");
}

#[test]
fn cors_origins_are_parsed() {
    let s = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        (
            "CORS_ORIGINS",
            " http://localhost:8081 , exp://localhost:8081/ ,",
        ),
    ])
    .unwrap();
    assert_eq!(
        s.cors_origins,
        ["http://localhost:8081", "exp://localhost:8081"]
    );
}

#[test]
fn unknown_prompt_variants_or_weights_off_100_stop_start_up_naming_the_variable() {
    for spec in ["catalog-v9:100", "catalog-v2:60,cues-v1:30"] {
        let err = settings(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("IDENTIFY_PROMPT_VARIANTS", spec),
        ])
        .unwrap_err();
        assert_eq!(err.name, "IDENTIFY_PROMPT_VARIANTS", "{spec}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
    let ok = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        (
            "IDENTIFY_PROMPT_VARIANTS",
            "catalog-v2:80,describe-v1@accounts/x/models/y:20",
        ),
    ])
    .unwrap();
    assert_eq!(ok.fireworks.variants.len(), 2);
}

#[test]
fn the_local_signing_key_needs_an_opt_in_development_and_no_cloud() {
    let key = [
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("LOCAL_AUTH_KEY_FILE", "/tmp/key"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = key.to_vec();
        pairs.extend_from_slice(extra);
        settings(&pairs)
    };
    // ENVIRONMENT defaults to development (and Terraform's dev sets it): not enough.
    let err = with(&[]).unwrap_err();
    assert_eq!(err.name, "LOCAL_AUTH_KEY_FILE");
    assert!(
        err.problem.contains("LOCAL_AUTH=enabled"),
        "{}",
        err.problem
    );
    let err = with(&[("LOCAL_AUTH", "enabled"), ("ENVIRONMENT", "production")]).unwrap_err();
    assert!(err.problem.contains("ENVIRONMENT=development"));
    let err = with(&[
        ("LOCAL_AUTH", "enabled"),
        ("K_SERVICE", "machinemate-api-dev"),
        ("DATABASE_CA_CERT", CA),
    ])
    .unwrap_err();
    assert_eq!(err.name, "LOCAL_AUTH_KEY_FILE");
    assert!(err.problem.contains("Cloud Run"));
    assert!(with(&[("LOCAL_AUTH", "enabled")]).is_ok());
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("SUPABASE_JWT_SECRET", "s"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "SUPABASE_JWT_ISSUER");
}

#[test]
fn storage_needs_its_keys() {
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "STORAGE_S3_ACCESS_KEY_ID");
}

#[test]
fn debug_output_never_shows_the_database_password() {
    let s = settings(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
    assert!(!format!("{s:?}").contains("hunter2"));
}

const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

#[test]
fn on_cloud_run_the_database_certificate_must_be_checked() {
    let on_cloud_run = |url: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![("DATABASE_URL", url), ("K_SERVICE", "machinemate-api-dev")];
        pairs.extend_from_slice(extra);
        settings(&pairs)
    };
    let supabase = "postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require";
    // Supabase's own connection string encrypts but would take any certificate.
    let err = on_cloud_run(supabase, &[]).unwrap_err();
    assert_eq!(err.name, "DATABASE_URL");
    assert!(err.problem.contains("sslmode=require"), "{}", err.problem);
    assert!(
        !err.to_string().contains(":p@"),
        "the URL's password stays out"
    );
    // Also as a job, and with no sslmode at all (libpq's and sqlx's `prefer`).
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@db.example.com/postgres"),
        ("CLOUD_RUN_JOB", "machinemate-api-dev-migrate"),
    ])
    .unwrap_err();
    assert!(err.problem.contains("sslmode=prefer"), "{}", err.problem);
    // The CA makes it verify-full (or verify-ca, if the URL says so).
    let ok = on_cloud_run(supabase, &[("DATABASE_CA_CERT", CA)]).unwrap();
    assert_eq!(ok.database.ca_cert.as_deref(), Some(CA.trim()));
    assert!(
        on_cloud_run(
            "postgres://u:p@db.example.com/postgres?sslmode=verify-full",
            &[]
        )
        .is_ok()
    );
    // Nothing lies between the service and a database on its own machine.
    let local = on_cloud_run("postgres://u:p@127.0.0.1:5432/postgres", &[]);
    assert!(local.is_ok(), "{:?}", local.err());
    assert!(on_cloud_run("postgres://u:p@localhost/postgres?host=/cloudsql/x", &[]).is_ok());
    // Off Cloud Run nothing is refused (local stacks, tests).
    assert!(settings(&[("DATABASE_URL", supabase)]).is_ok());
}

#[test]
fn a_database_ca_must_be_a_pem_certificate() {
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("DATABASE_CA_CERT", "/etc/ssl/supabase.crt"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "DATABASE_CA_CERT");
    assert!(err.problem.contains("PEM"));
}

#[test]
fn outside_development_serving_needs_the_model_and_storage_or_features_off() {
    let base = [
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("ENVIRONMENT", "production"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = base.to_vec();
        pairs.extend_from_slice(extra);
        settings(&pairs).unwrap().check_serving()
    };
    let storage = [
        ("STORAGE_S3_ENDPOINT", "https://x.supabase.co/storage/v1/s3"),
        ("STORAGE_S3_ACCESS_KEY_ID", "k"),
        ("STORAGE_S3_SECRET_ACCESS_KEY", "s"),
    ];
    let err = with(&[]).unwrap_err();
    assert_eq!(err.to_string().lines().count(), 1);
    assert!(
        err.to_string()
            .contains("FIREWORKS_API_KEY is required with ENVIRONMENT=production")
            && err.problem.contains("STORAGE_S3_ENDPOINT")
            && err.problem.contains("FEATURES_OFF=identification,media"),
        "{err}"
    );
    let err = with(&storage).unwrap_err();
    assert_eq!(err.name, "FIREWORKS_API_KEY");
    assert!(
        err.problem.ends_with("FEATURES_OFF=identification"),
        "{err}"
    );
    let err = with(&[("FIREWORKS_API_KEY", "fw")]).unwrap_err();
    assert_eq!(err.name, "STORAGE_S3_ENDPOINT");
    assert!(
        err.problem.contains("STORAGE_S3_SECRET_ACCESS_KEY"),
        "{err}"
    );
    let mut everything = storage.to_vec();
    everything.push(("FIREWORKS_API_KEY", "fw"));
    assert!(with(&everything).is_ok());
    assert!(with(&[("FEATURES_OFF", "media, identification")]).is_ok());
    assert!(with(&[("FEATURES_OFF", "identification")]).is_err());
    // Development serves with the stand-ins of scripts/dev, or says what is missing.
    let development = settings(&[("DATABASE_URL", "postgres://u:p@h/db")]).unwrap();
    assert!(development.check_serving().is_ok());
    assert_eq!(
        development.identification_mode(),
        IdentificationMode::StandIn
    );
}

#[test]
fn features_off_names_known_features_only() {
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("FEATURES_OFF", "media,billing"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "FEATURES_OFF");
    assert!(err.problem.contains("\"billing\""), "{err}");
    let off = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("FEATURES_OFF", "Identification"),
        ("FIREWORKS_API_KEY", "fw"),
    ])
    .unwrap();
    assert!(off.features_off.identification && !off.features_off.media);
    assert_eq!(off.identification_mode(), IdentificationMode::Off);
}

#[test]
fn anonymous_sign_ins_get_less_than_accounts_and_the_model_budget_covers_both() {
    let s = settings(&[("DATABASE_URL", "postgres://u:p@h/db")]).unwrap();
    assert_eq!(s.fireworks.daily_limit, 50);
    assert_eq!(s.fireworks.anonymous_user_daily_limit, 10);
    assert_eq!(s.fireworks.model_budget.calls, 5_000);
    assert_eq!(s.fireworks.model_budget.tokens, 25_000_000);
    // A deployment that lowers accounts' allowance lowers anonymous sign-ins' with it.
    let s = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("IDENTIFY_DAILY_LIMIT", "3"),
    ])
    .unwrap();
    assert_eq!(s.fireworks.anonymous_user_daily_limit, 3);
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT", "80"),
        ("IDENTIFY_MODEL_DAILY_CALLS", "60"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "IDENTIFY_MODEL_DAILY_CALLS");
}

#[test]
fn migration_limits_default_to_seconds_for_locks_and_minutes_for_statements() {
    let s = settings(&[("DATABASE_URL", "postgres://u:p@h/db")]).unwrap();
    assert_eq!(s.database.migration_limits, MigrationLimits::default());
    assert_eq!(
        s.database.migration_limits.lock_timeout,
        std::time::Duration::from_secs(5)
    );
    let err = settings(&[
        ("DATABASE_URL", "postgres://u:p@h/db"),
        ("MIGRATION_LOCK_TIMEOUT_MS", "0"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "MIGRATION_LOCK_TIMEOUT_MS");
}
