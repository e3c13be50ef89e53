//! The handler-facing path of every HTTP function: a valid token, the
//! route's sample event, and the fuzzed bytes as the body. The database is
//! unreachable (port 1), so a body that passes validation ends in 503;
//! anything else must be a 4xx problem+json. Never a 500, never a panic.
//! Input: first byte picks the route and the content type, the rest is the body.
#![no_main]

use std::sync::OnceLock;

use lambda_http::{Body, Request, Response};
use libfuzzer_sys::fuzz_target;
use shared::{AppState, Config};

const SECRET: &str = "fuzz-secret-fuzz-secret-fuzz-secret-0123";
const TENANT: &str = "11111111-1111-4111-8111-111111111111";
const USER: &str = "22222222-2222-4222-8222-222222222222";

const EVENTS: [(&str, &str); 7] = [
    ("book", include_str!("../../events/book.json")),
    ("cancel", include_str!("../../events/cancel.json")),
    ("score", include_str!("../../events/score.json")),
    (
        "record-metric",
        include_str!("../../events/record-metric.json"),
    ),
    (
        "upsert-product",
        include_str!("../../events/upsert-product.json"),
    ),
    ("checkout", include_str!("../../events/checkout.json")),
    ("log-phi", include_str!("../../events/log-phi.json")),
];

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    None,
];

struct Env {
    rt: tokio::runtime::Runtime,
    states: Vec<AppState>,
    events: Vec<String>,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let now = shared::auth::now_secs();
        let claims = serde_json::json!({
            "sub": USER, "aud": "authenticated", "role": "authenticated",
            "iat": now, "exp": now + 365 * 24 * 3600,
        });
        let token = shared::auth::mint_hs256(SECRET, &claims).expect("token");
        let states = EVENTS
            .iter()
            .map(|(name, _)| {
                let config = Config::from_lookup(|k| match k {
                    "DATABASE_URL" => Some("postgres://fuzz@127.0.0.1:1/fuzz".to_owned()),
                    "JWT_SECRET" => Some(SECRET.to_owned()),
                    "DB_CONNECT_TIMEOUT_MS" => Some("200".to_owned()),
                    _ => None,
                })
                .expect("config");
                let name: &'static str = name;
                rt.block_on(AppState::init(name, config)).expect("state")
            })
            .collect();
        let events = EVENTS
            .iter()
            .map(|(_, e)| {
                e.replace("REPLACE_WITH_MEMBER_TOKEN", &token)
                    .replace("11111111-1111-4111-8111-111111111111", TENANT)
            })
            .collect();
        Env { rt, states, events }
    })
}

async fn call(route: usize, state: &AppState, req: Request) -> Response<Body> {
    match route {
        0 => book::handler(state, req).await,
        1 => cancel::handler(state, req).await,
        2 => score::handler(state, req).await,
        3 => record_metric::handler(state, req).await,
        4 => upsert_product::handler(state, req).await,
        5 => checkout::handler(state, req).await,
        _ => log_phi::handler(state, req).await,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let env = env();
    let route = usize::from(pick) % EVENTS.len();
    let content_type = CONTENT_TYPES[usize::from(pick / 8) % CONTENT_TYPES.len()];
    let req = lambda_http::request::from_str(&env.events[route]).expect("event");
    let (mut parts, _) = req.into_parts();
    parts.headers.remove("content-type");
    parts.headers.remove("content-length");
    if let Some(ct) = content_type {
        parts
            .headers
            .insert("content-type", ct.parse().expect("header"));
    }
    let req = Request::from_parts(parts, Body::Binary(body.to_vec()));
    let resp = env.rt.block_on(call(route, &env.states[route], req));
    let status = resp.status().as_u16();
    assert!(status != 500 && status < 600, "route {route}: {status}");
    if status >= 400 {
        assert_eq!(
            resp.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/problem+json"[..]),
            "route {route}: {status} without problem+json"
        );
    }
});
