//! Rebuilds the crate when a migration is added or removed: `sqlx::migrate!` embeds
//! `supabase/migrations/` but cargo only tracks files the compiler read, not a new file
//! in the folder (sqlx's documented `build.rs`).
fn main() {
    println!("cargo:rerun-if-changed=supabase/migrations");
}
