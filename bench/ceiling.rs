//! The ceiling `bench/run` sets every scenario against: an actix-web server with the
//! service's own defaults (one worker per core, HTTP/1.1 keep-alive) that answers every
//! request with the bytes of a catalog page held in memory. No route of the service can
//! be cheaper than that on the same machine, so a scenario's requests/s divided by the
//! ceiling's says how much of the HTTP stack's own throughput the scenario keeps, a
//! figure that travels between machines better than raw requests/s.
//!
//! ```text
//! cargo build --release --example ceiling
//! target/release/examples/ceiling PORT BODY_FILE
//! ```

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, file] = args.as_slice() else {
        eprintln!("usage: ceiling PORT BODY_FILE");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("ceiling: PORT must be a port number, not {port:?}");
        return ExitCode::from(2);
    };
    let body = match std::fs::read(file) {
        Ok(bytes) => web::Bytes::from(bytes),
        Err(e) => {
            eprintln!("ceiling: reading {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(body)
            }
        }))
    })
    .bind(("127.0.0.1", port));
    match server {
        Ok(server) => match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ceiling: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("ceiling: binding 127.0.0.1:{port}: {e}");
            ExitCode::FAILURE
        }
    }
}
