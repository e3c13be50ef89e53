//! What the isolation matrix, the hostile-input tests and the race and fault
//! tests share: the seven HTTP routes, a request for any of them built from
//! its sample event, and one warm state per function.

use integration_tests::{TestDb, event, set_body};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::AppState;
use uuid::Uuid;

/// The HTTP routes (create-partitions is no HTTP route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Book,
    Cancel,
    Score,
    RecordMetric,
    UpsertProduct,
    Checkout,
    LogPhi,
}

pub const ROUTES: [Route; 7] = [
    Route::Book,
    Route::Cancel,
    Route::Score,
    Route::RecordMetric,
    Route::UpsertProduct,
    Route::Checkout,
    Route::LogPhi,
];

impl Route {
    /// The file in `events/` and the function's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Book => book::FUNCTION,
            Self::Cancel => cancel::FUNCTION,
            Self::Score => score::FUNCTION,
            Self::RecordMetric => record_metric::FUNCTION,
            Self::UpsertProduct => upsert_product::FUNCTION,
            Self::Checkout => checkout::FUNCTION,
            Self::LogPhi => log_phi::FUNCTION,
        }
    }

    /// A valid body for this route; `n` makes it unique where uniqueness
    /// matters (slots). Cancel takes no body.
    pub fn valid_body(self, n: usize) -> Option<Value> {
        Some(match self {
            Self::Book => json!({
                "slot_id": format!("slot-{n}"),
                "user_name": "Ada Patient",
                "user_email": "ada@example.com",
            }),
            Self::Cancel => return None,
            Self::Score => json!({
                "messages": [
                    {"role": "user", "content": "Can I see Dr. Lee on Tuesday?"},
                    {"role": "assistant", "content": "Yes, 9:00 is free."}
                ],
                "rating": 4,
                "feedback": "quick and clear",
            }),
            Self::RecordMetric => {
                json!({"name": "api.latency_ms", "value": 12.5, "tags": {"env": "test"}})
            }
            Self::UpsertProduct => json!({
                "name": "Vitamin D3",
                "unit_price": "12.50",
                "currency": "USD",
                "active": true,
            }),
            Self::Checkout => json!({"items": [{"sku": KIT_SKU, "quantity": 1}]}),
            Self::LogPhi => {
                json!({"text": "Call the clinic, SSN 123-45-6789.", "session_id": "s-1"})
            }
        })
    }
}

/// The sku every checkout buys; [`seed_catalog`] puts it in a tenant's catalog.
pub const KIT_SKU: &str = "KIT-1";

/// Adds [`KIT_SKU`] at 5.00 USD to `tenant`'s catalog (fixture, straight into the table).
pub async fn seed_catalog(db: &TestDb, tenant: Uuid) {
    db.admin()
        .await
        .execute(
            "INSERT INTO products (tenant_id, sku, name, unit_price, currency, active) \
             VALUES ($1, $2, 'Test kit', 5.00, 'USD', true)",
            &[&tenant, &KIT_SKU],
        )
        .await
        .expect("product");
}

/// What varies between requests to a route besides the body.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The booking to cancel (cancel only).
    pub booking: Option<Uuid>,
    /// The product's sku in the path (upsert-product only).
    pub sku: Option<String>,
    /// The Idempotency-Key header (checkout only; `None` keeps the event's).
    pub key: Option<String>,
}

/// A request to `route` for `tenant`: the sample event with `token`
/// (`None`: no Authorization header) and `body` (raw text; `None` keeps the
/// event's own body), then `edit`.
pub fn request(
    route: Route,
    tenant: Uuid,
    token: Option<&str>,
    target: &Target,
    body: Option<&str>,
    edit: impl FnOnce(&mut Value),
) -> Request {
    event(
        route.name(),
        tenant,
        target.booking,
        token.unwrap_or(""),
        |e| {
            let headers = e["headers"].as_object_mut().expect("headers");
            headers.remove("content-length");
            if token.is_none() {
                headers.remove("authorization");
            }
            if let Some(key) = &target.key {
                headers.insert("idempotency-key".into(), Value::String(key.clone()));
            }
            if let Some(sku) = &target.sku {
                e["pathParameters"]["sku"] = json!(sku);
                let path = format!("/tenants/{tenant}/products/{sku}");
                e["rawPath"] = json!(path);
                e["requestContext"]["http"]["path"] = json!(path);
            }
            if let Some(body) = body {
                e["body"] = Value::String(body.to_owned());
                if route == Route::Cancel {
                    // The sample event has no body and so no content type.
                    e["headers"]["content-type"] = json!("application/json");
                }
            }
            edit(e);
        },
    )
}

/// A request with a JSON body.
pub fn json_request(
    route: Route,
    tenant: Uuid,
    token: Option<&str>,
    target: &Target,
    body: Option<&Value>,
) -> Request {
    request(route, tenant, token, target, None, |e| {
        if let Some(b) = body {
            set_body(e, b);
        }
    })
}

/// One warm state per function, as seven Lambda execution environments.
pub struct States {
    pub book: AppState,
    pub cancel: AppState,
    pub score: AppState,
    pub record_metric: AppState,
    pub upsert_product: AppState,
    pub checkout: AppState,
    pub log_phi: AppState,
}

impl States {
    pub async fn new(db: &TestDb) -> Self {
        Self {
            book: db.state(book::FUNCTION).await,
            cancel: db.state(cancel::FUNCTION).await,
            score: db.state(score::FUNCTION).await,
            record_metric: db.state(record_metric::FUNCTION).await,
            upsert_product: db.state(upsert_product::FUNCTION).await,
            checkout: db.state(checkout::FUNCTION).await,
            log_phi: db.state(log_phi::FUNCTION).await,
        }
    }

    pub async fn call(&self, route: Route, req: Request) -> Response<Body> {
        call(route, self.get(route), req).await
    }

    pub fn get(&self, route: Route) -> &AppState {
        match route {
            Route::Book => &self.book,
            Route::Cancel => &self.cancel,
            Route::Score => &self.score,
            Route::RecordMetric => &self.record_metric,
            Route::UpsertProduct => &self.upsert_product,
            Route::Checkout => &self.checkout,
            Route::LogPhi => &self.log_phi,
        }
    }
}

/// Runs `route`'s handler on `state`.
pub async fn call(route: Route, state: &AppState, req: Request) -> Response<Body> {
    match route {
        Route::Book => book::handler(state, req).await,
        Route::Cancel => cancel::handler(state, req).await,
        Route::Score => score::handler(state, req).await,
        Route::RecordMetric => record_metric::handler(state, req).await,
        Route::UpsertProduct => upsert_product::handler(state, req).await,
        Route::Checkout => checkout::handler(state, req).await,
        Route::LogPhi => log_phi::handler(state, req).await,
    }
}

/// The response body as text (for messages and for leak checks).
pub fn body_text(resp: &Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// Whether `resp` is a well-formed problem+json answer of its own status.
pub fn is_problem(resp: &Response<Body>) -> bool {
    let ct_ok = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v == "application/problem+json");
    let Ok(body) = serde_json::from_str::<Value>(&body_text(resp)) else {
        return false;
    };
    ct_ok
        && body["status"] == resp.status().as_u16()
        && body["type"].as_str().is_some_and(|s| !s.is_empty())
        && body["title"].as_str().is_some()
        && body["request_id"].as_str().is_some_and(|s| !s.is_empty())
}
