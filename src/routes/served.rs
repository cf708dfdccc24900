//! How the routing table (`routes::configure`) turns handlers into actix resources:
//! where each handler is served comes from its `#[utoipa::path]` (method and path), so
//! a route is written once, and the OpenAPI document describes what is served.

use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{Route, web};

use crate::deadline::request_deadline;
use crate::error::ApiError;

/// What bounds a resource's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The request deadline (`crate::deadline`) binds the whole resource, its 405s
    /// included: its only upstream is Postgres. Applied per resource, after routing, so
    /// a timed-out request can still be answered with its own `HttpRequest`.
    RequestDeadline,
    /// The resource calls storage, Fireworks or Supabase Auth as well, or scans up to 90
    /// days of events under a statement timeout of its own (`db::quality`): those calls
    /// carry their own deadlines. Its routes that only reach Postgres are marked
    /// `(RequestDeadline)` in the table and bound one by one.
    OwnDeadlines,
}

/// Where each documented operation is served, by operation id (which utoipa makes the
/// handler's name).
pub struct Operations(HashMap<String, (String, Method)>);

impl Operations {
    /// Reads `paths` of an OpenAPI document. Panics on an operation id used twice: the
    /// table finds handlers by it (and OpenAPI wants it unique).
    pub fn of(document: &utoipa::openapi::OpenApi) -> Self {
        let mut found = HashMap::new();
        for (path, item) in &document.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, operation) in operations {
                let Some(id) = operation.as_ref().and_then(|o| o.operation_id.clone()) else {
                    continue;
                };
                let twice = found.insert(id.clone(), (path.clone(), method));
                assert!(twice.is_none(), "operation id `{id}` is used twice");
            }
        }
        Operations(found)
    }

    /// Where `handler` (as the table names it, `module::handler`) is served.
    fn of_handler(&self, handler: &str) -> &(String, Method) {
        let name = handler.rsplit("::").next().unwrap_or(handler).trim();
        self.0.get(name).unwrap_or_else(|| {
            panic!(
                "`{handler}` has no documented operation `{name}` (the table finds a handler \
                 by its name, utoipa's default operation id)"
            )
        })
    }
}

/// One handler of the table, routed where its `#[utoipa::path]` says.
pub struct Served {
    path: String,
    method: Method,
    route: Route,
}

impl Served {
    /// `route` (a route to `handler`), for the method and path `handler` is documented at.
    pub fn new(operations: &Operations, handler: &str, route: Route) -> Self {
        let (path, method) = operations.of_handler(handler);
        Served {
            path: path.clone(),
            method: method.clone(),
            route: route.method(method.clone()),
        }
    }

    /// Binds this route by the request deadline (in a resource of
    /// [`Deadline::OwnDeadlines`]).
    pub fn within_request_deadline(self) -> Self {
        Served {
            route: self.route.wrap(from_fn(request_deadline)),
            ..self
        }
    }
}

/// One resource: a path, a route per method (so a wrong method answers 405, not 404).
pub struct Resource {
    pattern: String,
    deadline: Deadline,
    routes: Vec<Served>,
    path_config: Option<web::PathConfig>,
}

impl Resource {
    /// The resource of `routes`, which must all be documented at one path.
    pub fn new(deadline: Deadline, routes: Vec<Served>) -> Self {
        let pattern = routes.first().map(|r| r.path.clone()).unwrap_or_default();
        if let Some(other) = routes.iter().find(|r| r.path != pattern) {
            panic!(
                "one resource of the routing table holds `{pattern}` and `{}`",
                other.path
            );
        }
        Resource {
            pattern,
            deadline,
            routes,
            path_config: None,
        }
    }

    /// For resources whose path holds a `{machine_id}`: an id that cannot be a machine's
    /// ([`MachineId`](crate::domain::machine_id::MachineId)) names nothing, so it is
    /// answered 404 `"{what} not found"`, as an id that names no machine is.
    pub fn machine_path(self, what: &'static str) -> Self {
        Resource {
            path_config: Some(
                web::PathConfig::default()
                    .error_handler(move |_, _| ApiError::not_found(what).into()),
            ),
            ..self
        }
    }

    /// The path's last parameter takes the rest of the path, slashes included (a storage
    /// path: `{user_id}/{file}`); the document names it as a plain `{name}`.
    pub fn rest_of_path(self) -> Self {
        let pattern = match self.pattern.strip_suffix('}') {
            Some(open) => format!("{open}:.*}}"),
            None => panic!("`{}` does not end with a parameter", self.pattern),
        };
        Resource { pattern, ..self }
    }

    /// The path as actix matches it.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The methods it has a route for.
    pub fn methods(&self) -> impl Iterator<Item = &Method> {
        self.routes.iter().map(|r| &r.method)
    }

    pub fn register(self, cfg: &mut web::ServiceConfig) {
        let mut resource = web::resource(self.pattern);
        if let Some(config) = self.path_config {
            resource = resource.app_data(config);
        }
        for served in self.routes {
            resource = resource.route(served.route);
        }
        match self.deadline {
            Deadline::RequestDeadline => {
                cfg.service(resource.wrap(from_fn(request_deadline)));
            }
            Deadline::OwnDeadlines => {
                cfg.service(resource);
            }
        }
    }
}
