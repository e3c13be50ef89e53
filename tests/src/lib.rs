//! Test harness: a fresh database per test, cloned from a migrated template,
//! reached through PgBouncer in transaction mode exactly as the functions
//! reach it in AWS; real API Gateway events from `events/`; tokens signed
//! with the test secret.
//!
//! Environment (set by `scripts/test.sh`; the defaults match it):
//! `TEST_ADMIN_URL` (direct superuser URL), `TEST_POOLER_URL` (PgBouncer,
//! no database name), `TEST_TEMPLATE_DB` (the migrated template).

pub mod proxy;

use std::net::SocketAddr;
use std::path::PathBuf;

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::{AppState, Config};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

pub const JWT_SECRET: &str = "integration-test-secret-0123456789abcdef";
/// The ids the files in `events/` carry; `event()` replaces them.
pub const EVENT_TENANT: &str = "11111111-1111-4111-8111-111111111111";
pub const EVENT_BOOKING: &str = "00000000-0000-4000-8000-000000000001";
pub const EVENT_TOKEN: &str = "REPLACE_WITH_MEMBER_TOKEN";

/// Values the tests send that must never reach a log line: passwords, patient
/// names and e-mails, PHI. Tests that send other such values add them here.
pub const SENSITIVE_SAMPLES: &[&str] = &[
    "unused-with-trust-auth",
    "Ada Patient",
    "ada@example.com",
    "eve@example.com",
    // Issue 8 (isolation, hostile, races, faults): a PHI value, a forged
    // token's secret and conversation content.
    "123-45-6789",
    "another-secret-another-secret-another",
    "Can I see Dr. Lee on Tuesday?",
];

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

pub fn admin_url() -> String {
    env_or(
        "TEST_ADMIN_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

pub fn pooler_base() -> String {
    env_or("TEST_POOLER_URL", "postgres://postgres@127.0.0.1:6432")
}

/// PgBouncer's socket address, for proxies placed in front of it.
pub fn pooler_addr() -> SocketAddr {
    let cfg: tokio_postgres::Config = pooler_base().parse().expect("TEST_POOLER_URL");
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(6432);
    format!("{host}:{port}").parse().expect("pooler address")
}

fn template() -> String {
    env_or("TEST_TEMPLATE_DB", "lambda_template")
}

/// `url` with its database name replaced.
pub fn with_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot connect to {url}: {e} (run the tests with scripts/test.sh)")
        });
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Sends the functions' logs, as JSON lines like in Lambda, to the file
/// named by `TEST_LOG_FILE` (set by scripts/test.sh), so that a later check
/// can prove no token, secret or PHI value was ever logged. Once per process.
fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let Some(path) = std::env::var_os("TEST_LOG_FILE") else {
            return;
        };
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        else {
            return;
        };
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
}

/// One test's database. Dropped (with FORCE) when the value is dropped.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// A copy of the migrated template.
    pub async fn new() -> Self {
        Self::create(Some(&template())).await
    }

    /// An empty database, for migration tests.
    pub async fn empty() -> Self {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> Self {
        capture_logs();
        let name = format!("t_{}", Uuid::new_v4().simple());
        let admin = connect(&admin_url()).await;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        admin
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        Self { name }
    }

    pub fn direct_url(&self) -> String {
        with_db(&admin_url(), &self.name)
    }

    pub fn pooler_url(&self) -> String {
        with_db(&pooler_base(), &self.name)
    }

    /// A superuser connection straight to this database, for fixtures and
    /// for checking what was stored (it sees every row).
    pub async fn admin(&self) -> Client {
        connect(&self.direct_url()).await
    }

    /// A function's state as Lambda would build it, connected through PgBouncer.
    pub async fn state(&self, function: &'static str) -> AppState {
        self.state_with_url(function, self.pooler_url()).await
    }

    /// A function's state connected to `url` (a proxy in front of PgBouncer, say).
    pub async fn state_with_url(&self, function: &'static str, url: String) -> AppState {
        self.state_with_env(function, url, &[]).await
    }

    /// A function's state connected to `url`, with extra environment
    /// variables (e.g. `STATEMENT_TIMEOUT_MS`).
    pub async fn state_with_env(
        &self,
        function: &'static str,
        url: String,
        extra: &[(&str, &str)],
    ) -> AppState {
        let config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
            _ => extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned()),
        })
        .expect("config");
        AppState::init(function, config).await.expect("state")
    }

    /// A tenant with an admin and two members.
    pub async fn tenant(&self) -> Tenant {
        let t = Tenant {
            id: Uuid::new_v4(),
            admin: Uuid::new_v4(),
            member: Uuid::new_v4(),
            other_member: Uuid::new_v4(),
        };
        let db = self.admin().await;
        db.execute(
            "INSERT INTO tenants (id, name) VALUES ($1, 'Test Clinic')",
            &[&t.id],
        )
        .await
        .expect("tenant");
        for (user, role) in [
            (t.admin, "admin"),
            (t.member, "member"),
            (t.other_member, "member"),
        ] {
            db.execute(
                "INSERT INTO tenant_users (tenant_id, user_id, role) VALUES ($1, $2, $3)",
                &[&t.id, &user, &role],
            )
            .await
            .expect("membership");
        }
        t
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin_url(), NoTls).await.ok()?;
                tokio::spawn(conn);
                client.batch_execute(&sql).await.ok()
            })
        })
        .join();
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub id: Uuid,
    pub admin: Uuid,
    pub member: Uuid,
    pub other_member: Uuid,
}

/// A token for `sub` with role `authenticated`, valid for ten minutes.
pub fn token(sub: Uuid) -> String {
    token_with(json!({"sub": sub.to_string()}))
}

/// A token with the standard claims overridden or extended by `claims`.
pub fn token_with(claims: Value) -> String {
    let now = shared::auth::now_secs();
    let mut all =
        json!({"aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 600});
    if let (Some(all), Value::Object(extra)) = (all.as_object_mut(), claims) {
        all.extend(extra);
    }
    shared::auth::mint_hs256(JWT_SECRET, &all).expect("mint")
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// The text of `events/<name>.json`, read from disk once per process (the
/// bench's throughput loop builds a request per invocation, and a file read
/// each time would be bench overhead counted against the functions).
pub fn event_text(name: &str) -> String {
    static CACHE: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache
        .entry(name.to_owned())
        .or_insert_with(|| {
            let path = events_dir().join(format!("{name}.json"));
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .clone()
}

/// Builds a request from `events/<name>.json`: its tenant, booking id and
/// token placeholders replaced, then `edit` applied to the JSON event.
pub fn event(
    name: &str,
    tenant: Uuid,
    booking: Option<Uuid>,
    token: &str,
    edit: impl FnOnce(&mut Value),
) -> Request {
    let mut text = event_text(name)
        .replace(EVENT_TENANT, &tenant.to_string())
        .replace(EVENT_TOKEN, token);
    if let Some(b) = booking {
        text = text.replace(EVENT_BOOKING, &b.to_string());
    }
    let mut value: Value = serde_json::from_str(&text).expect("event JSON");
    edit(&mut value);
    lambda_http::request::from_str(&value.to_string()).expect("API Gateway event")
}

/// Sets the event's body to `body` (serialized JSON).
pub fn set_body(event: &mut Value, body: &Value) {
    event["body"] = Value::String(body.to_string());
}

pub fn status(resp: &Response<Body>) -> u16 {
    resp.status().as_u16()
}

pub fn body_json(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}")),
        Body::Binary(b) => serde_json::from_slice(b).expect("JSON body"),
        _ => Value::Null,
    }
}

/// Asserts a problem+json response with `status` and `slug`; returns the body.
#[track_caller]
pub fn assert_problem(resp: &Response<Body>, status: u16, slug: &str) -> Value {
    let body = body_json(resp);
    assert_eq!(resp.status().as_u16(), status, "body: {body}");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(body["type"], slug, "body: {body}");
    assert_eq!(body["status"], status);
    assert!(
        body["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "request_id missing: {body}"
    );
    body
}

/// The keys of a JSON object, sorted: for asserting a response's exact shape.
#[track_caller]
pub fn sorted_keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The `field` names of a problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The number of rows of every table in `public` (a partitioned table counts
/// its partitions' rows once, under the parent), read through `db` (an admin
/// connection): compare two snapshots to prove that nothing was written.
pub async fn row_counts(db: &Client) -> std::collections::BTreeMap<String, i64> {
    let tables = db
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
             ORDER BY 1",
            &[],
        )
        .await
        .expect("tables");
    let mut counts = std::collections::BTreeMap::new();
    for t in tables {
        let name: String = t.get(0);
        let n: i64 = db
            .query_one(&format!("SELECT count(*) FROM public.\"{name}\""), &[])
            .await
            .expect("count")
            .get(0);
        counts.insert(name, n);
    }
    counts
}
