//! The local S3 store `scripts/dev` runs in place of Supabase Storage (`service.rs`):
//! an example rather than a binary of the service, so it is built with the
//! dev-dependencies the tests already compiled, and never ships in the image.
//!
//!   local_storage --root DIR --listen HOST:PORT
//!
//! It accepts requests signed with `STORAGE_S3_ACCESS_KEY_ID` and
//! `STORAGE_S3_SECRET_ACCESS_KEY`, the variables the service signs with.

mod service;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

#[derive(Parser)]
#[command(about = "The local S3 store of scripts/dev (s3s-fs)")]
struct Args {
    /// Folder holding one folder per bucket.
    #[arg(long)]
    root: PathBuf,
    /// Address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long, env = "STORAGE_S3_ACCESS_KEY_ID")]
    access_key: String,
    #[arg(long, env = "STORAGE_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_key: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let service = service::s3_service(&args.root, &args.access_key, &args.secret_key)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            std::io::Error::new(e.kind(), format!("local_storage: {}: {e}", args.listen))
        })?;
    loop {
        let (socket, _) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            let _ = ConnBuilder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}
