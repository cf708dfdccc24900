//! HTTP routes, one module per resource, and the routing table ([`configure`]).
//!
//! A route is declared once: its handler's `#[utoipa::path]` says its method and path.
//! The table lists the handlers, one resource per line, and what bounds each one's time
//! ([`Deadline`]); actix's routing ([`resources`]) and the OpenAPI document's paths
//! ([`Documented`]) both come from it.

pub mod curation;
pub mod fallback;
pub mod favorites;
pub mod head;
pub mod health;
pub mod history;
pub mod identify;
pub mod machines;
pub mod media;
pub mod metrics;
mod served;
pub mod shared;
pub mod sync;
pub mod traces;
pub mod users;

use std::sync::LazyLock;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, http::header, web};

use crate::deadline::request_deadline;
pub use served::{Deadline, Resource};
use served::{Operations, Served};

/// The routing table. Each line is one resource: what bounds its time ([`Deadline`]),
/// then its handlers, each served at the method and path its `#[utoipa::path]` gives
/// (one path per line); a handler marked `(RequestDeadline)` in an `OwnDeadlines`
/// resource only reaches Postgres. Then what the resource needs besides
/// ([`Resource::machine_path`], [`Resource::rest_of_path`]). Lines are in the order
/// actix tries them: a literal path before a parameter in its place
/// (`/api/v1/history/batch` before `/api/v1/history/{history_id}`).
macro_rules! routing_table {
    (@route [$($handler:ident)::+]) => {
        Served::new(&OPERATIONS, stringify!($($handler)::+), web::route().to($($handler)::+))
    };
    (@route [$($handler:ident)::+] RequestDeadline) => {
        routing_table!(@route [$($handler)::+]).within_request_deadline()
    };
    ($(
        $deadline:ident [$( $($handler:ident)::+ $(($route_deadline:ident))? ),+ $(,)?]
        $(.$option:ident($($argument:expr),*))*;
    )*) => {
        /// The `#[utoipa::path]` of every handler in the routing table.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($($($handler)::+),+),*))]
        pub struct Documented;

        /// Where each handler of the table is documented (and so served).
        static OPERATIONS: LazyLock<Operations> =
            LazyLock::new(|| Operations::of(&<Documented as utoipa::OpenApi>::openapi()));

        /// The routing table's resources, in the order actix tries them.
        pub fn resources() -> Vec<Resource> {
            vec![$(
                Resource::new(
                    Deadline::$deadline,
                    vec![$(routing_table!(@route [$($handler)::+] $($route_deadline)?)),+],
                )
                $(.$option($($argument),*))*
            ),*]
        }
    };
}

routing_table! {
    // Literal paths, the busiest first: actix tries each resource in turn, and a literal
    // one is a string comparison, where a path with a parameter runs a regular
    // expression (about 3% of a favorites list's CPU went to the six tried before it).
    RequestDeadline [health::health];
    RequestDeadline [health::ready];
    RequestDeadline [health::live];
    RequestDeadline [machines::list_machines, curation::create_machine];
    RequestDeadline [
        favorites::list_favorites,
        favorites::add_favorite,
        favorites::clear_favorites,
    ];
    RequestDeadline [history::list_history, history::write::add_history, history::clear_history];
    RequestDeadline [sync::sync];
    RequestDeadline [history::write::add_history_batch];
    OwnDeadlines [identify::identify];
    OwnDeadlines [identify::identify_full];
    OwnDeadlines [
        users::get_me (RequestDeadline),
        users::update_me (RequestDeadline),
        users::delete_me,
    ];
    RequestDeadline [users::export_me];
    RequestDeadline [machines::list_categories];
    RequestDeadline [machines::list_difficulties];
    RequestDeadline [media::read::list_media];
    RequestDeadline [media::presigned::upload_url];
    OwnDeadlines [media::direct::upload_file];
    RequestDeadline [metrics::prometheus];
    RequestDeadline [metrics::stats];
    RequestDeadline [metrics::categories];
    OwnDeadlines [metrics::identification];
    // Paths with parameters.
    RequestDeadline [machines::get_machine, curation::update_machine, curation::retire_machine]
        .machine_path("Machine");
    RequestDeadline [curation::machine_audit].machine_path("Machine");
    RequestDeadline [media::read::machine_media].machine_path("Machine");
    OwnDeadlines [media::direct::delete_file].rest_of_path();
    OwnDeadlines [media::presigned::complete_upload];
    RequestDeadline [media::read::media_url];
    RequestDeadline [
        favorites::get_favorite,
        favorites::update_favorite,
        favorites::delete_favorite,
    ]
        .machine_path("Favorite");
    RequestDeadline [history::get_history, history::delete_history];
    RequestDeadline [traces::get_trace];
    RequestDeadline [traces::correct];
}

/// Registers the routing table, and `/docs` (the explorer's address without its
/// trailing slash, which is not an operation of the API).
pub fn configure(cfg: &mut web::ServiceConfig) {
    for resource in resources() {
        resource.register(cfg);
    }
    cfg.service(
        web::resource("/docs")
            .wrap(from_fn(request_deadline))
            .get(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/docs/"))
                    .finish()
            }),
    );
}
