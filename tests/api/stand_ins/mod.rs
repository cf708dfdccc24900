//! Stand-ins for the services the app calls, each a real server on a free local port:
//! Supabase Auth (`auth`), an S3-compatible store (`storage`), Fireworks AI (`fireworks`)
//! and Sentry (`sentry`). `TestApp::builder()` starts the first three and points the app
//! at them.
//!
//! To write another: keep what it should answer (and what it was asked) in a struct
//! shared with its handlers, start it with `StandIn::http` (an actix-web app: routes and
//! `app_data`) or `StandIn::tcp` (anything else, one connection at a time), and give it
//! an `env()` naming the settings that point the app at it.

pub mod auth;
pub mod fireworks;
pub mod sentry;
pub mod storage;

use std::future::Future;
use std::net::SocketAddr;

use actix_web::{App, HttpServer, web};
use tokio::net::{TcpListener, TcpStream};

/// A stand-in server listening on `127.0.0.1` at a port of its own; it serves until the
/// test's runtime ends.
pub struct StandIn {
    pub addr: SocketAddr,
}

impl StandIn {
    /// Serves an actix-web app on `workers` threads; `routes` adds the routes and the
    /// shared state (`cfg.app_data(...)`) to each worker's app.
    pub fn http(
        workers: usize,
        routes: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    ) -> StandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HttpServer::new(move || App::new().configure(routes.clone()))
            .workers(workers)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        tokio::spawn(server);
        StandIn { addr }
    }

    /// Hands every accepted connection to `serve`, each on a task of its own: for
    /// stand-ins that speak through another server library or misbehave below HTTP.
    pub async fn tcp<F, Fut>(serve: F) -> StandIn
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket));
            }
        });
        StandIn { addr }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
