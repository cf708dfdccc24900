//! `machinemate-api [serve|migrate|seed|local-setup]`: see `--help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use machinemate_api::auth::Role;
use machinemate_api::auth::dev::{self, DevUser};
use machinemate_api::config::Settings;
use machinemate_api::db::{Db, migrate};
use machinemate_api::startup::Application;
use machinemate_api::telemetry;

#[derive(Parser)]
#[command(name = "machinemate-api", version, about = "The MachineMate backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP on HOST:PORT (the default).
    Serve,
    /// Apply the embedded supabase/migrations to DATABASE_URL; on the FastAPI backend's
    /// database, cut over (docs/cutover.md).
    Migrate {
        /// Say what it would do, changing nothing: the database's shape and pending
        /// migrations; on the FastAPI backend's database, the cutover itself run in one
        /// transaction and rolled back, with what became of every row.
        #[arg(long)]
        check: bool,
    },
    /// Load (or refresh) the machine catalog from the embedded supabase/seed.sql.
    Seed,
    /// Check, read only, that DATABASE_URL is a database this build can serve (its
    /// migrations exactly, the request role, row level security, the catalog) and print
    /// each table's row count: after restoring a backup, before traffic goes to it.
    Verify,
    /// One bounded pass of housekeeping (docs/operations.md): expired idempotency
    /// records, sync tombstones, uploads never completed or no record names, quota and
    /// rate-limit rows of past windows, identifications past their retention. Safe to run
    /// again, and on several instances at once. Needs a session-mode DATABASE_URL.
    Maintain {
        /// Also drop the FastAPI backend's archive (schema fastapi_legacy) once the
        /// cutover is older than FASTAPI_ARCHIVE_GRACE_DAYS (docs/cutover.md).
        #[arg(long)]
        drop_fastapi_archive: bool,
    },
    /// Run the configured prompt variants (IDENTIFY_PROMPT_VARIANTS) over photos whose
    /// true machine is known, through the same steps as POST /identify, and print each
    /// variant's accuracy, confusions and token cost.
    Eval {
        /// A folder of JPEG/PNG photos named `<machine_id>-<anything>.jpg`.
        #[arg(long)]
        photos: std::path::PathBuf,
        /// A CSV of `file,machine_id` lines giving the true machines instead.
        #[arg(long)]
        labels: Option<std::path::PathBuf>,
        /// Other variants than the configured ones (`catalog-v2,cues-v1@model`; weights
        /// are ignored).
        #[arg(long)]
        variants: Option<String>,
        /// Also write the report as JSON to this file (`-`: to stdout, instead of the table).
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
    /// Prepare a local database: Supabase bootstrap, migrations, catalog.
    /// Refuses to run against a real Supabase project.
    LocalSetup,
    /// Development only: sign a user up in the local auth.users and print an access
    /// token for them, signed with the local development key (LOCAL_AUTH_KEY_FILE).
    DevToken {
        /// The user's id (a new one when omitted).
        #[arg(long)]
        sub: Option<uuid::Uuid>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, value_enum, default_value_t = DevRole::Authenticated)]
        role: DevRole,
        /// An anonymous sign-in (as each app install gets).
        #[arg(long)]
        anonymous: bool,
        /// Lifetime of the token in seconds, 1 to 86400. The service allows
        /// SUPABASE_JWT_LEEWAY_SECS (30) of clock skew past it.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=86_400))]
        ttl_secs: i64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DevRole {
    Authenticated,
    Admin,
    ServiceRole,
}

/// Photos are buffers of up to 10 MB. glibc serves an allocation that large from a
/// mapping of its own, but once one is freed it raises that threshold (up to 32 MB) and
/// serves the next ones from its heaps, which keep the pages after they are freed: a
/// burst of uploads leaves the process 100 MB larger than the photos it holds at once
/// (tests/api/uploads.rs). A fixed 1 MiB threshold hands large buffers back when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_buffers_to_the_system() {
    // SAFETY: mallopt only sets an allocator parameter; it takes the allocator's lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_buffers_to_the_system() {}

#[tokio::main]
async fn main() -> ExitCode {
    return_large_buffers_to_the_system();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let settings = Settings::from_env().and_then(|settings| {
        // Only serving needs the model and storage (the migration job has neither).
        if matches!(command, Command::Serve) {
            settings.check_serving()?;
        }
        Ok(settings)
    });
    let settings = match settings {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(
        settings.log_format,
        &settings.log_filter,
        settings.google_cloud_project.clone(),
    );
    let _sentry = telemetry::sentry::init(&settings);
    match run(command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "machinemate-api failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings.clone()).await?;
            tracing::info!(
                host = %settings.host,
                port = app.port(),
                environment = settings.environment.as_str(),
                "listening"
            );
            app.run_until_stopped().await?;
            tracing::info!("stopped");
        }
        Command::Migrate { check: true } => {
            let db = Db::connect_lazy(&settings.database)?;
            println!(
                "{}",
                migrate::check_within(db.pool(), &settings.database.migration_limits).await?
            );
        }
        Command::Migrate { check: false } => {
            let db = Db::connect_lazy(&settings.database)?;
            migrate::run_migrations_within(db.pool(), &settings.database.migration_limits).await?;
            tracing::info!("migrations applied");
        }
        Command::Verify => {
            let db = Db::connect_lazy(&settings.database)?;
            let report = machinemate_api::db::verify::verify(&db).await?;
            print!("{}", report.text);
            if report.problems > 0 {
                anyhow::bail!("verify: {} problem(s) found", report.problems);
            }
        }
        Command::Seed => {
            let db = Db::connect_lazy(&settings.database)?;
            let count = migrate::seed_catalog(db.pool()).await?;
            tracing::info!(machines = count, "catalog seeded");
        }
        Command::Maintain {
            drop_fastapi_archive,
        } => {
            use machinemate_api::maintain;
            // Each task logs what it removed, and the run its total.
            maintain::run(
                &settings,
                maintain::Options {
                    drop_fastapi_archive,
                },
            )
            .await?;
        }
        Command::Eval {
            photos,
            labels,
            variants,
            json,
        } => {
            use machinemate_api::identification::eval;
            let variants = variants
                .as_deref()
                .map(machinemate_api::config::variants::parse_unweighted)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--variants: {e}"))?;
            let report = eval::run(
                &settings,
                eval::EvalArgs {
                    photos,
                    labels,
                    variants,
                },
            )
            .await?;
            let json_text = serde_json::to_string_pretty(&report)?;
            match json.as_deref() {
                Some(path) if path == std::path::Path::new("-") => println!("{json_text}"),
                Some(path) => {
                    std::fs::write(path, json_text)?;
                    print!("{}", eval::table(&report));
                }
                None => print!("{}", eval::table(&report)),
            }
        }
        Command::LocalSetup => {
            let db = Db::connect_lazy(&settings.database)?;
            migrate::apply_local_bootstrap(db.pool()).await?;
            migrate::run_migrations(db.pool()).await?;
            let count = migrate::seed_catalog(db.pool()).await?;
            tracing::info!(machines = count, "local database ready");
        }
        Command::DevToken {
            sub,
            email,
            role,
            anonymous,
            ttl_secs,
        } => {
            let db = Db::connect_lazy(&settings.database)?;
            let id = sub.unwrap_or_else(uuid::Uuid::new_v4);
            let user = DevUser {
                id,
                email: email.or_else(|| {
                    (!anonymous)
                        .then(|| format!("dev-{}@machinemate.local", &id.simple().to_string()[..8]))
                }),
                role: match role {
                    DevRole::Authenticated => Role::Authenticated,
                    DevRole::Admin => Role::Admin,
                    DevRole::ServiceRole => Role::ServiceRole,
                },
                is_anonymous: anonymous,
            };
            let token = dev::issue_token(&settings, &db, &user, ttl_secs).await?;
            println!("{token}");
        }
    }
    Ok(())
}
