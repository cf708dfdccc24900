use crate::helpers::TestApp;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");

/// A change to the API contract shows up as a diff of tests/snapshots/openapi.json.
/// After an intended change: `UPDATE_SNAPSHOTS=1 scripts/test openapi` and commit it.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::builder().spawn().await;
    let served: serde_json::Value = app.get_json("/openapi.json", 200).await;
    let rendered = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(SNAPSHOT)
        .expect("tests/snapshots/openapi.json exists (UPDATE_SNAPSHOTS=1 creates it)");
    assert!(
        expected == rendered,
        "the OpenAPI document changed; review the diff and run UPDATE_SNAPSHOTS=1 scripts/test openapi"
    );
}

#[tokio::test]
async fn the_document_describes_every_contract_route() {
    let app = TestApp::builder().spawn().await;
    let doc = app.get_json("/openapi.json", 200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/health",
        "/health/ready",
        "/health/live",
        "/api/v1/machines",
        "/api/v1/machines/{machine_id}",
        "/api/v1/machines/categories/list",
        "/api/v1/machines/difficulties/list",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
}

/// What the routing table serves and what the document says are the same: every
/// documented operation is routed to the resource of its documented path (not shadowed
/// by another, not the fallback's 404) and has a route for its method there, and every
/// method the document leaves out of a served path answers 405. Handlers answer without
/// the app's state here (a 500 or so): only where a request is routed counts.
#[actix_web::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    use actix_web::dev::Service;
    use actix_web::http::{Method, header::HeaderValue};
    use actix_web::test::{TestRequest, call_service, init_service};
    use machinemate_api::routes;

    let document = machinemate_api::openapi::document();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in &document.paths.paths {
        for (method, operation) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            if operation.is_some() {
                documented.insert((path.clone(), method.to_string()));
            }
        }
    }
    // `{name:regex}` as the document writes it: `{name}`.
    let parameter_regex = regex_lite::Regex::new(r"\{(\w+):[^}]*\}").unwrap();
    let as_documented = |pattern: &str| parameter_regex.replace_all(pattern, "{$1}").into_owned();
    let served: std::collections::BTreeSet<(String, String)> = routes::resources()
        .iter()
        .flat_map(|r| {
            let path = as_documented(r.pattern());
            r.methods().map(move |m| (path.clone(), m.to_string()))
        })
        .collect();
    assert_eq!(
        served, documented,
        "the routing table serves what is documented"
    );
    assert!(documented.len() > 40, "{} operations", documented.len());

    let app = init_service(actix_web::App::new().configure(routes::configure).wrap_fn(
        |req, service| {
            let answer = service.call(req);
            async move {
                let mut answer = answer.await?;
                let matched = answer.request().match_pattern().unwrap_or_default();
                answer.headers_mut().insert(
                    "x-matched".parse().unwrap(),
                    HeaderValue::from_str(&matched).unwrap(),
                );
                Ok(answer)
            }
        },
    ))
    .await;
    let paths: std::collections::BTreeSet<&String> = documented.iter().map(|(p, _)| p).collect();
    for path in paths {
        // A value for each parameter; a storage path has a slash in it.
        let uri = path
            .replace("{machine_id}", "leg_press")
            .replace(
                "{file_path}",
                "0b3e3cbb-6f1a-4a55-8f4b-3a1c2a8d9e10/photo.png",
            )
            .replace("{history_id}", "0b3e3cbb-6f1a-4a55-8f4b-3a1c2a8d9e10")
            .replace("{asset_id}", "0b3e3cbb-6f1a-4a55-8f4b-3a1c2a8d9e10")
            .replace("{trace_id}", "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(
            !uri.contains('{'),
            "no example value for a parameter of {path}"
        );
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let request = TestRequest::default()
                .method(method.clone())
                .uri(&uri)
                .to_request();
            let answer = call_service(&app, request).await;
            let matched = answer.headers().get("x-matched").unwrap().to_str().unwrap();
            assert_eq!(
                as_documented(matched),
                *path,
                "{method} {uri} is routed elsewhere"
            );
            if documented.contains(&(path.clone(), method.to_string())) {
                assert_ne!(
                    answer.status(),
                    405,
                    "{method} {path} is documented, not served"
                );
            } else {
                assert_eq!(
                    answer.status(),
                    405,
                    "{method} {path} is served, not documented"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_docs_explorer_is_served_from_the_binary() {
    let app = TestApp::builder().spawn().await;
    let redirect = app.get("/docs").await;
    assert!(
        redirect.status().is_redirection() || redirect.status() == 200,
        "{}",
        redirect.status()
    );
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let config = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(config.status(), 200);
    assert!(config.text().await.unwrap().contains("/openapi.json"));
    let css = app.get("/docs/swagger-ui.css").await;
    assert_eq!(css.status(), 200);
}

/// Every machine id a request body carries is documented with the pattern the service
/// checks, so generated clients and fuzzers send what the service accepts.
#[tokio::test]
async fn machine_ids_are_documented_as_the_service_checks_them() {
    use machinemate_api::domain::machine_id::{MACHINE_ID_PATTERN, is_machine_id};

    let app = TestApp::builder().spawn().await;
    let doc = app.get_json("/openapi.json", 200).await;
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("NewFavorite", "machine_id"),
        ("HistoryCreate", "machine_id"),
        ("Correction", "machine_id"),
        ("MachineFields", "id"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["pattern"], MACHINE_ID_PATTERN,
            "{schema}.{field}"
        );
    }
    let pattern = regex_lite::Regex::new(MACHINE_ID_PATTERN).unwrap();
    let mut candidates: Vec<String> = [
        "",
        "a",
        "ab",
        "leg_press",
        "_leg",
        "Leg",
        "leg-press",
        "leg press",
        "9x",
        "x9_",
        "é_x",
        "a\n",
        "ab\u{0}",
        "ab\n",
    ]
    .map(String::from)
    .into();
    candidates.push("a".repeat(63));
    candidates.push("a".repeat(64));
    // Every string of up to two characters over a small alphabet with edge cases.
    let alphabet = ['a', 'z', '0', '9', '_', '-', 'A', ' ', 'é', '\n'];
    for x in alphabet {
        for y in alphabet {
            candidates.push(format!("{x}{y}"));
            candidates.push(format!("{x}{y}{x}"));
        }
    }
    for id in candidates {
        assert_eq!(
            pattern.is_match(&id),
            is_machine_id(&id),
            "{id:?}: the documented pattern and the service disagree"
        );
    }
}

/// Every text of the document, with where it is.
fn texts<'a>(value: &'a serde_json::Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        serde_json::Value::String(text) => out.push((at, text)),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                texts(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                texts(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_explorer_says_what_search_matches_lists_the_categories_and_how_to_get_a_token() {
    let app = TestApp::builder().spawn().await;
    let doc = app.get_json("/openapi.json", 200).await;
    let parameters = doc["paths"]["/api/v1/machines"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let search = parameter("search")["description"].as_str().unwrap();
    for what in ["name", "other names", "muscles", "tags", "typos"] {
        assert!(search.contains(what), "{search}");
    }
    let categories = &parameter("category")["schema"]["enum"];
    let catalog = app.get_json("/api/v1/machines/categories/list", 200).await;
    for category in catalog.as_array().unwrap() {
        assert!(
            categories.as_array().unwrap().contains(category),
            "{category} in {categories}"
        );
    }
    assert_eq!(categories.as_array().unwrap().len(), 9);
    let authorize = doc["components"]["securitySchemes"]["bearer_auth"]["description"]
        .as_str()
        .unwrap();
    assert!(authorize.contains("scripts/dev-token"), "{authorize}");

    // Nothing a reader of the API needs to skip: module paths, the old backend's cutover.
    let mut all = Vec::new();
    texts(&doc, String::new(), &mut all);
    for (at, text) in all {
        for internal in ["db::", "crate::", "FastAPI", "cutover", "src/"] {
            assert!(!text.contains(internal), "{at}: {text}");
        }
    }
}

#[tokio::test]
async fn a_route_where_signing_in_is_optional_documents_the_401_a_bad_token_gets() {
    let app = TestApp::builder().auth().spawn().await;
    let path = "/api/v1/machines/leg_press/media";
    let refused = app.get_as(path, "not-a-token").await;
    assert_eq!(refused.status(), 401);
    let doc = app.get_json("/openapi.json", 200).await;
    let operation = &doc["paths"]["/api/v1/machines/{machine_id}/media"]["get"];
    assert!(operation["responses"].get("401").is_some(), "{operation}");
    let security = operation["security"].as_array().expect("security listed");
    assert!(
        security.contains(&serde_json::json!({})),
        "anonymous too: {security:?}"
    );
}
