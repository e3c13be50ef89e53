//! One set of routes, three places: the SAM template (what API Gateway
//! serves), the `cargo lambda watch` router in the root Cargo.toml (what the
//! dev command serves) and openapi.yaml (what clients are promised). A route
//! added to one and forgotten in another fails here. Path parameter names are
//! normalised (`{tenantId}` and `{id}` compare equal): API Gateway, the
//! router and OpenAPI only care about the shape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_norway::Value as Yaml;

/// (method, path with every `{param}` written as `{}`)
type Route = (String, String);

fn repo_file(name: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    (path, text)
}

fn normalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn route(method: &str, path: &str) -> Route {
    (method.to_ascii_uppercase(), normalise(path))
}

fn yaml_file(name: &str) -> Yaml {
    let (path, text) = repo_file(name);
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn get<'a>(v: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn str_at<'a>(v: &'a Yaml, key: &str) -> Option<&'a str> {
    get(v, key).and_then(Yaml::as_str)
}

/// The HttpApi events of every function: route → the function's binary.
fn template_routes() -> BTreeMap<Route, String> {
    let template = yaml_file("template.yaml");
    let resources = get(&template, "Resources")
        .and_then(Yaml::as_mapping)
        .expect("template.yaml has Resources");
    let mut routes = BTreeMap::new();
    for (id, resource) in resources {
        if str_at(resource, "Type") != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or("?");
        let binary = get(resource, "Metadata")
            .and_then(|m| get(m, "BuildProperties"))
            .and_then(|b| str_at(b, "Binary"))
            .unwrap_or_else(|| panic!("{id}: Metadata.BuildProperties.Binary missing"))
            .to_owned();
        let events = get(resource, "Properties")
            .and_then(|p| get(p, "Events"))
            .and_then(Yaml::as_mapping);
        for (name, event) in events.into_iter().flatten() {
            if str_at(event, "Type") != Some("HttpApi") {
                continue;
            }
            let props = get(event, "Properties")
                .unwrap_or_else(|| panic!("{id}.{name:?}: HttpApi event without Properties"));
            let method = str_at(props, "Method")
                .unwrap_or_else(|| panic!("{id}.{name:?}: HttpApi event without Method"));
            let path = str_at(props, "Path")
                .unwrap_or_else(|| panic!("{id}.{name:?}: HttpApi event without Path"));
            let previous = routes.insert(route(method, path), binary.clone());
            assert!(
                previous.is_none(),
                "template.yaml: {method} {path} is routed twice"
            );
        }
    }
    routes
}

/// `[workspace.metadata.lambda.watch.router]`: route → function. A value is
/// a list of `{ method, function }`, or a bare function name (any method).
fn router_routes() -> BTreeMap<Route, String> {
    let (path, text) = repo_file("Cargo.toml");
    let manifest: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let router = ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&toml::Value::Table(manifest), |v, key| v.get(key))
        .and_then(toml::Value::as_table)
        .expect("Cargo.toml has [workspace.metadata.lambda.watch.router]")
        .clone();
    let mut routes = BTreeMap::new();
    for (path, target) in &router {
        let entries: Vec<(String, String)> = match target {
            toml::Value::String(function) => vec![("ANY".to_owned(), function.clone())],
            toml::Value::Array(items) => items
                .iter()
                .map(|item| {
                    let field = |k: &str| {
                        item.get(k)
                            .and_then(toml::Value::as_str)
                            .unwrap_or_else(|| panic!("router {path}: entry without `{k}`"))
                            .to_owned()
                    };
                    (field("method"), field("function"))
                })
                .collect(),
            other => panic!("router {path}: unexpected value {other}"),
        };
        for (method, function) in entries {
            let previous = routes.insert(route(&method, path), function);
            assert!(previous.is_none(), "router: {method} {path} listed twice");
        }
    }
    routes
}

fn openapi_routes() -> BTreeSet<Route> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let spec = yaml_file("openapi.yaml");
    assert!(
        str_at(&spec, "openapi").is_some_and(|v| v.starts_with("3.1")),
        "openapi.yaml must be OpenAPI 3.1"
    );
    let paths = get(&spec, "paths")
        .and_then(Yaml::as_mapping)
        .expect("openapi.yaml has paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("path keys are strings");
        for method in METHODS {
            if get(item, method).is_some() {
                assert!(
                    routes.insert(route(method, path)),
                    "openapi.yaml: {method} {path} twice"
                );
            }
        }
    }
    routes
}

fn show(set: &BTreeSet<&Route>) -> String {
    set.iter()
        .map(|(m, p)| format!("  {m} {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_template_the_watch_router_and_the_openapi_spec_serve_the_same_routes() {
    let template = template_routes();
    let router = router_routes();
    let openapi = openapi_routes();
    let sources: [(&str, BTreeSet<&Route>); 3] = [
        ("template.yaml", template.keys().collect()),
        ("Cargo.toml watch router", router.keys().collect()),
        ("openapi.yaml", openapi.iter().collect()),
    ];
    let all: BTreeSet<&Route> = sources.iter().flat_map(|(_, s)| s.clone()).collect();
    let mut problems = Vec::new();
    for (name, set) in &sources {
        let missing: BTreeSet<&Route> = all.difference(set).copied().collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{name} lacks routes the others have:\n{}",
                show(&missing)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!all.is_empty(), "no routes found at all");
}

#[test]
fn the_template_and_the_watch_router_send_each_route_to_the_same_function() {
    let template = template_routes();
    let router = router_routes();
    let disagreements: Vec<String> = template
        .iter()
        .filter_map(|(r, binary)| {
            let function = router.get(r)?;
            (function != binary).then(|| {
                format!(
                    "  {} {}: template -> {binary}, router -> {function}",
                    r.0, r.1
                )
            })
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "route targets differ:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn every_http_event_file_is_a_route_of_the_template() {
    let template = template_routes();
    let dir = integration_tests::events_dir();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read event");
        let event: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        // Only API Gateway events carry a route key; scheduled events do not.
        let Some(key) = event.get("routeKey").and_then(|k| k.as_str()) else {
            continue;
        };
        let (method, route_path) = key.split_once(' ').unwrap_or_else(|| {
            panic!("{}: routeKey {key:?} is not `METHOD /path`", path.display())
        });
        let r = route(method, route_path);
        assert!(
            template.contains_key(&r),
            "{}: routeKey {key:?} is not a route of template.yaml",
            path.display()
        );
        // events/<function>.json must be that function's route.
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if template.values().any(|f| f == stem) {
            assert_eq!(
                template.get(&r).map(String::as_str),
                Some(stem),
                "{}: its route belongs to another function",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked > 0,
        "no API Gateway events found in {}",
        dir.display()
    );
}

#[test]
fn parameter_names_do_not_matter_but_shapes_do() {
    assert_eq!(
        normalise("/tenants/{tenantId}/bookings/{bookingId}/cancel"),
        normalise("/tenants/{t}/bookings/{id}/cancel")
    );
    assert_ne!(
        normalise("/tenants/{tenantId}/bookings"),
        normalise("/tenants/{tenantId}/bookings/{bookingId}")
    );
    assert_eq!(
        route("post", "/a/{x}"),
        ("POST".to_owned(), "/a/{}".to_owned())
    );
}
