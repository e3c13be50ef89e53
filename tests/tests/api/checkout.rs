//! checkout: catalog prices only, exact money, idempotency under retries,
//! races and expiry, one round trip per request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;
use integration_tests::proxy::RoundTripProxy;
use integration_tests::{
    TestDb, assert_problem, body_json, error_fields, event, pooler_base, set_body, sorted_keys,
    status, token, token_with,
};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::AppState;
use tokio_postgres::Client;
use uuid::Uuid;

/// Adds a product straight into the catalog (the fixture, not the test subject).
async fn add_product(
    admin: &Client,
    tenant: Uuid,
    sku: &str,
    price: &str,
    currency: &str,
    active: bool,
) {
    admin
        .execute(
            "INSERT INTO products (tenant_id, sku, name, unit_price, currency, active)
             VALUES ($1, $2, $3, $4::text::numeric, $5, $6)",
            &[
                &tenant,
                &sku,
                &format!("Product {sku}"),
                &price,
                &currency,
                &active,
            ],
        )
        .await
        .expect("product");
}

/// `events/checkout.json` with `body` and the `Idempotency-Key` header set
/// to `key` (removed when `None`).
fn order_req(tenant: Uuid, user_token: &str, key: Option<&str>, body: &Value) -> Request {
    let key = key.map(str::to_owned);
    event("checkout", tenant, None, user_token, |e| {
        set_body(e, body);
        let headers = e["headers"].as_object_mut().expect("headers");
        headers.remove("content-length");
        match key {
            Some(k) => headers.insert("idempotency-key".into(), Value::String(k)),
            None => headers.remove("idempotency-key"),
        };
    })
}

async fn place(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    key: &str,
    body: &Value,
) -> Response<Body> {
    checkout::handler(state, order_req(tenant, &token(user), Some(key), body)).await
}

fn replayed(resp: &Response<Body>) -> bool {
    resp.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

async fn order_count(db: &TestDb) -> i64 {
    db.admin()
        .await
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .expect("count")
        .get(0)
}

fn items(skus: &[(&str, u32)]) -> Value {
    json!({"items": skus.iter().map(|(s, q)| json!({"sku": s, "quantity": q})).collect::<Vec<_>>()})
}

fn pooler_addr() -> SocketAddr {
    let cfg: tokio_postgres::Config = pooler_base().parse().expect("TEST_POOLER_URL");
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(6432);
    format!("{host}:{port}").parse().expect("pooler address")
}

#[tokio::test]
async fn the_sample_events_create_a_product_and_an_order_priced_from_it() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let catalog = db.state(upsert_product::FUNCTION).await;
    let state = db.state(checkout::FUNCTION).await;
    let resp = upsert_product::handler(
        &catalog,
        event("upsert-product", t.id, None, &token(t.admin), |_| {}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));

    // The file's own body and Idempotency-Key, untouched.
    let resp = checkout::handler(
        &state,
        event("checkout", t.id, None, &token(t.member), |_| {}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(!replayed(&resp));
    let o = body_json(&resp);
    let keys = sorted_keys(&o);
    assert_eq!(
        keys,
        [
            "created_at",
            "currency",
            "customer_email",
            "id",
            "items",
            "order_id",
            "payment_method",
            "shipping_address",
            "status",
            "tenant_id",
            "total",
            "transaction_id",
            "updated_at",
            "user_id"
        ]
    );
    assert_eq!(o["tenant_id"], t.id.to_string());
    assert_eq!(o["user_id"], t.member.to_string());
    assert_eq!(
        o["items"],
        json!([{"sku": "VIT-D3-1000", "name": "Vitamin D3 1000 IU, 90 capsules",
                "unit_price": "12.50", "quantity": 2, "line_total": "25.00"}])
    );
    assert_eq!(o["total"], "25.00");
    assert_eq!(o["currency"], "USD");
    assert_eq!(o["status"], "pending");
    assert_eq!(o["customer_email"], "ada@example.com");
    assert_eq!(o["payment_method"], "card");
    assert_eq!(o["transaction_id"], Value::Null);
    assert_eq!(o["shipping_address"]["city"], "Springfield");
    let order_id = o["order_id"].as_str().expect("order_id");
    assert!(
        order_id.len() == 36
            && order_id.starts_with("ord_")
            && order_id[4..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{order_id}"
    );

    let row = db
        .admin()
        .await
        .query_one(
            "SELECT total::text, idempotency_key, request_hash,
                    extract(epoch FROM idempotency_expires_at - created_at)::int8
             FROM orders",
            &[],
        )
        .await
        .expect("order row");
    assert_eq!(row.get::<_, String>(0), "25.00");
    assert_eq!(
        row.get::<_, String>(1),
        "9b2f6c0e-5a4d-4c1e-8f3a-2d7b1e6a9c40"
    );
    assert_eq!(row.get::<_, String>(2).len(), 64, "SHA-256 hex");
    assert_eq!(row.get::<_, i64>(3), 24 * 3600, "kept 24 hours");
}

#[tokio::test]
async fn money_is_exact_and_status_follows_the_transaction_id() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    // 0.1 + 0.2 and 19.99 x 3 are where floats go wrong.
    add_product(&admin, t.id, "DIME", "0.10", "USD", true).await;
    add_product(&admin, t.id, "TWENTY", "0.20", "USD", true).await;
    add_product(&admin, t.id, "BOOK", "19.99", "USD", true).await;
    add_product(&admin, t.id, "SUSHI", "1500", "JPY", true).await;
    let state = db.state(checkout::FUNCTION).await;

    let resp = place(
        &state,
        t.id,
        t.member,
        "exact-1",
        &items(&[("DIME", 3), ("TWENTY", 1), ("BOOK", 3)]),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    let o = body_json(&resp);
    let line_totals: Vec<&str> = o["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["line_total"].as_str().expect("string"))
        .collect();
    assert_eq!(line_totals, ["0.30", "0.20", "59.97"]);
    assert_eq!(o["total"], "60.47");

    let mut body = items(&[("BOOK", 1)]);
    body["transaction_id"] = json!("txn_123");
    let resp = place(&state, t.id, t.member, "exact-2", &body).await;
    assert_eq!(status(&resp), 201);
    assert_eq!(body_json(&resp)["status"], "completed");
    assert_eq!(body_json(&resp)["transaction_id"], "txn_123");

    // A currency without decimals is written without them.
    let mut body = items(&[("SUSHI", 3)]);
    body["currency"] = json!("JPY");
    let resp = place(&state, t.id, t.member, "exact-3", &body).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    let o = body_json(&resp);
    assert_eq!(o["items"][0]["unit_price"], "1500");
    assert_eq!(o["total"], "4500");
    assert_eq!(o["currency"], "JPY");
}

#[tokio::test]
async fn a_client_cannot_send_a_price() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "10.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    for (body, field) in [
        (
            json!({"items": [{"sku": "A", "quantity": 1, "unit_price": "0.01"}]}),
            "items[0].unit_price",
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1, "price": "0.01"}]}),
            "items[0].price",
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1, "line_total": "0.01"}]}),
            "items[0].line_total",
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "total": "0.01"}),
            "total",
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "status": "completed"}),
            "status",
        ),
    ] {
        let resp = place(&state, t.id, t.member, "tamper", &body).await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), [field], "{body}");
    }
    assert_eq!(order_count(&db).await, 0);
    // The same key still works for an honest request: failures are not stored.
    let resp = place(&state, t.id, t.member, "tamper", &items(&[("A", 1)])).await;
    assert_eq!(status(&resp), 201);
    assert_eq!(body_json(&resp)["total"], "10.00");
}

#[tokio::test]
async fn the_body_shape_is_validated_field_by_field() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"sku": format!("S{i}"), "quantity": 1}))
        .collect();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["items"]),
        (json!({"items": []}), vec!["items"]),
        (json!({"items": many}), vec!["items"]),
        (json!({"items": {"sku": "A"}}), vec!["items"]),
        (json!({"items": [{"sku": "A"}]}), vec!["items[0].quantity"]),
        (json!({"items": [{"quantity": 1}]}), vec!["items[0].sku"]),
        (
            json!({"items": [{"sku": "A", "quantity": 0}]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1001}]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": -1}]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1.5}]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": "2"}]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}, {"sku": "a b", "quantity": 1}]}),
            vec!["items[1].sku"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 600}, {"sku": "A", "quantity": 401}]}),
            vec!["items[1].quantity"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "currency": "usd"}),
            vec!["currency"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "currency": "XYZ"}),
            vec!["currency"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "customer_email": "not-an-email"}),
            vec!["customer_email"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "payment_method": "x".repeat(65)}),
            vec!["payment_method"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}], "shipping_address": "1 Main St"}),
            vec!["shipping_address"],
        ),
        (
            json!({"items": [{"sku": "A", "quantity": 1}],
                   "shipping_address": {"line1": "x".repeat(5000)}}),
            vec!["shipping_address"],
        ),
        (
            json!({"items": [{"sku": "", "quantity": 0}], "currency": "usd",
                   "customer_email": "@"}),
            vec![
                "items[0].sku",
                "items[0].quantity",
                "currency",
                "customer_email",
            ],
        ),
    ];
    for (body, fields) in cases {
        let resp = place(&state, t.id, t.member, "shape", &body).await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    // Malformed JSON and a non-JSON content type.
    let req = event("checkout", t.id, None, &token(t.member), |e| {
        e["body"] = json!("{\"items\": [");
    });
    assert_problem(
        &checkout::handler(&state, req).await,
        400,
        "invalid-request",
    );
    let req = event("checkout", t.id, None, &token(t.member), |e| {
        e["headers"]["content-type"] = json!("text/plain");
    });
    assert_problem(
        &checkout::handler(&state, req).await,
        415,
        "unsupported-media-type",
    );
    assert_eq!(order_count(&db).await, 0, "nothing written on failure");
}

#[tokio::test]
async fn the_idempotency_key_header_is_required_and_bounded() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let body = items(&[("A", 1)]);
    let long = "k".repeat(256);
    for key in [None, Some(""), Some(long.as_str()), Some("clé")] {
        let resp = checkout::handler(&state, order_req(t.id, &token(t.member), key, &body)).await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), ["Idempotency-Key"], "{key:?}");
    }
    assert_eq!(order_count(&db).await, 0);
    let longest = "k".repeat(255);
    let resp = place(&state, t.id, t.member, &longest, &body).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    let resp = place(&state, t.id, t.member, "a key with spaces ~!", &body).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
}

#[tokio::test]
async fn unknown_and_inactive_products_are_refused_by_sku() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let other = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "ON-SALE", "5.00", "USD", true).await;
    add_product(&admin, t.id, "RETIRED", "5.00", "USD", false).await;
    add_product(&admin, other.id, "ELSEWHERE", "5.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let resp = place(
        &state,
        t.id,
        t.member,
        "unknown",
        &items(&[
            ("ON-SALE", 1),
            ("RETIRED", 1),
            ("NO-SUCH", 2),
            ("ELSEWHERE", 1),
        ]),
    )
    .await;
    let problem = assert_problem(&resp, 422, "unknown-product");
    assert_eq!(
        error_fields(&problem),
        ["items[1].sku", "items[2].sku", "items[3].sku"]
    );
    let detail = problem["detail"].as_str().expect("detail");
    for sku in ["RETIRED", "NO-SUCH", "ELSEWHERE"] {
        assert!(detail.contains(sku), "{detail}");
    }
    assert!(!detail.contains("ON-SALE"), "{detail}");
    assert_eq!(order_count(&db).await, 0);
}

#[tokio::test]
async fn every_product_must_be_in_the_order_currency() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "DOLLARS", "5.00", "USD", true).await;
    add_product(&admin, t.id, "EUROS", "4.00", "EUR", true).await;
    let state = db.state(checkout::FUNCTION).await;

    // Default currency USD.
    let resp = place(
        &state,
        t.id,
        t.member,
        "cur-1",
        &items(&[("DOLLARS", 1), ("EUROS", 1)]),
    )
    .await;
    let problem = assert_problem(&resp, 422, "currency-mismatch");
    assert_eq!(error_fields(&problem), ["items[1].sku"]);
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("EUROS")
    );

    let mut body = items(&[("DOLLARS", 1)]);
    body["currency"] = json!("EUR");
    let resp = place(&state, t.id, t.member, "cur-2", &body).await;
    let problem = assert_problem(&resp, 422, "currency-mismatch");
    assert_eq!(error_fields(&problem), ["items[0].sku"]);
    assert_eq!(order_count(&db).await, 0);

    let mut body = items(&[("EUROS", 2)]);
    body["currency"] = json!("EUR");
    let resp = place(&state, t.id, t.member, "cur-3", &body).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp)["total"], "8.00");
    assert_eq!(body_json(&resp)["currency"], "EUR");
}

#[tokio::test]
async fn a_total_beyond_numeric_10_2_is_refused_not_rounded() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "YACHT", "99999999.99", "USD", true).await;
    add_product(&admin, t.id, "PENNY", "0.01", "USD", true).await;
    add_product(&admin, t.id, "DINAR", "1.005", "BHD", true).await;
    let state = db.state(checkout::FUNCTION).await;

    // Exactly the largest total an order holds.
    let resp = place(&state, t.id, t.member, "max", &items(&[("YACHT", 1)])).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp)["total"], "99999999.99");
    // One cent more.
    let resp = place(
        &state,
        t.id,
        t.member,
        "over-1",
        &items(&[("YACHT", 1), ("PENNY", 1)]),
    )
    .await;
    assert_problem(&resp, 422, "total-out-of-range");
    // Far more: 1000 x 99,999,999.99.
    let resp = place(&state, t.id, t.member, "over-2", &items(&[("YACHT", 1000)])).await;
    assert_problem(&resp, 422, "total-out-of-range");
    // Three decimals cannot be stored in NUMERIC(10,2) without rounding.
    let mut body = items(&[("DINAR", 1)]);
    body["currency"] = json!("BHD");
    let resp = place(&state, t.id, t.member, "over-3", &body).await;
    assert_problem(&resp, 422, "total-out-of-range");
    let mut body = items(&[("DINAR", 2)]);
    body["currency"] = json!("BHD");
    let resp = place(&state, t.id, t.member, "over-4", &body).await;
    assert_eq!(status(&resp), 201, "2.010 is exactly 2.01");
    assert_eq!(body_json(&resp)["total"], "2.010");
    assert_eq!(order_count(&db).await, 2);
}

#[tokio::test]
async fn the_same_sku_twice_is_merged() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "A", "2.50", "USD", true).await;
    add_product(&admin, t.id, "B", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let resp = place(
        &state,
        t.id,
        t.member,
        "merge",
        &items(&[("A", 2), ("B", 1), ("A", 3)]),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    let o = body_json(&resp);
    assert_eq!(
        o["items"],
        json!([
            {"sku": "A", "name": "Product A", "unit_price": "2.50", "quantity": 5, "line_total": "12.50"},
            {"sku": "B", "name": "Product B", "unit_price": "1.00", "quantity": 1, "line_total": "1.00"}
        ])
    );
    assert_eq!(o["total"], "13.50");
}

#[tokio::test]
async fn a_retry_replays_the_first_response() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "A", "3.00", "USD", true).await;
    add_product(&admin, t.id, "B", "4.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let body = json!({
        "items": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}],
        "customer_email": "ada@example.com",
        "shipping_address": {"city": "Springfield", "zip": "12345"}
    });
    let first = place(&state, t.id, t.member, "retry-me", &body).await;
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    assert!(!replayed(&first));

    let second = place(&state, t.id, t.member, "retry-me", &body).await;
    assert_eq!(status(&second), 201);
    assert!(replayed(&second));
    assert_eq!(second.headers()["content-type"], "application/json");
    assert_eq!(body_json(&second), body_json(&first));

    // The same request written differently (items reordered and split, keys
    // reordered) is the same request.
    let same = json!({
        "shipping_address": {"zip": "12345", "city": "Springfield"},
        "customer_email": "ada@example.com",
        "currency": "USD",
        "items": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 1}]
    });
    let third = place(&state, t.id, t.member, "retry-me", &same).await;
    assert_eq!(status(&third), 201);
    assert!(replayed(&third));
    assert_eq!(body_json(&third), body_json(&first));

    // A replay answers from the order, not today's catalog.
    admin
        .execute("UPDATE products SET unit_price = 99, active = false", &[])
        .await
        .expect("reprice");
    let fourth = place(&state, t.id, t.member, "retry-me", &body).await;
    assert_eq!(status(&fourth), 201);
    assert!(replayed(&fourth));
    assert_eq!(body_json(&fourth), body_json(&first));
    assert_eq!(order_count(&db).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "3.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let first = place(&state, t.id, t.member, "once", &items(&[("A", 1)])).await;
    assert_eq!(status(&first), 201);
    for other in [
        items(&[("A", 2)]),
        json!({"items": [{"sku": "A", "quantity": 1}], "customer_email": "bob@example.com"}),
        json!({"items": [{"sku": "A", "quantity": 1}], "transaction_id": "txn"}),
    ] {
        let resp = place(&state, t.id, t.member, "once", &other).await;
        let problem = assert_problem(&resp, 422, "idempotency-key-reused");
        assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
        assert!(!replayed(&resp));
    }
    assert_eq!(order_count(&db).await, 1);
}

#[tokio::test]
async fn twenty_concurrent_identical_requests_create_one_order_in_one_round_trip_each() {
    const N: usize = 20;
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "9.99", "USD", true).await;
    // Twenty execution environments, each with its own connection, all
    // through one proxy that counts round trips and adds 5 ms each way in.
    let proxy = RoundTripProxy::start(pooler_addr(), Duration::from_millis(5)).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let states = join_all((0..N).map(|_| db.state_with_url(checkout::FUNCTION, url.clone()))).await;
    let body = items(&[("A", 3)]);
    // A starting gate, so that the twenty really overlap: a lock that makes
    // each statement wait at parse time, before it takes its snapshot, then
    // opens for all at once.
    let gate = db.admin().await;
    gate.batch_execute("BEGIN; LOCK TABLE orders IN SHARE MODE")
        .await
        .expect("gate");
    proxy.reset();
    let open_gate = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        gate.batch_execute("COMMIT").await.expect("open gate");
        Instant::now()
    };
    let (responses, opened) = tokio::join!(
        join_all(
            states
                .iter()
                .map(|s| place(s, t.id, t.member, "same-click", &body)),
        ),
        open_gate
    );
    let elapsed = opened.elapsed();
    let round_trips = proxy.round_trips();
    // Each reply that came through ON CONFLICT DO UPDATE (rather than finding
    // the order already committed) wrote a no-op row version; in a fresh
    // table they sit on one page, so the line pointer counts them.
    let via_conflict: i32 = db
        .admin()
        .await
        .query_one("SELECT (ctid::text::point)[1]::int - 1 FROM orders", &[])
        .await
        .expect("ctid")
        .get(0);

    let mut statuses = BTreeMap::new();
    for r in &responses {
        *statuses.entry(status(r)).or_insert(0) += 1;
    }
    let fresh = responses.iter().filter(|r| !replayed(r)).count();
    let bodies: Vec<Value> = responses.iter().map(body_json).collect();
    let orders = order_count(&db).await;
    eprintln!(
        "checkout, {N} concurrent identical requests: statuses {statuses:?}, \
         {fresh} created + {} replayed ({via_conflict} of them through the insert conflict), \
         {orders} order(s) in the database, \
         {round_trips} round trips ({:.2} per request), {:.0} ms from the gate opening",
        N - fresh,
        round_trips as f64 / N as f64,
        elapsed.as_secs_f64() * 1000.0
    );
    assert_eq!(statuses.get(&201), Some(&N), "{statuses:?}");
    assert_eq!(fresh, 1, "exactly one response created the order");
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "every response carries the same order"
    );
    assert_eq!(orders, 1);
    assert_eq!(bodies[0]["total"], "29.97");
    assert_eq!(round_trips, N, "one round trip per checkout");
}

/// The race DO NOTHING would lose: a twin request whose order is inserted
/// but not yet committed when this one takes its snapshot. This one waits
/// on the twin's index entry, then must answer with the twin's order (a
/// replay), still in one round trip.
#[tokio::test]
async fn a_request_racing_an_uncommitted_twin_answers_with_the_twins_order() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "A", "2.00", "USD", true).await;
    // Test-only: hold every inserting transaction open for 600 ms after its insert.
    admin
        .batch_execute(
            "CREATE FUNCTION public.test_linger() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(0.6); RETURN NULL; END $$;
             CREATE TRIGGER test_linger AFTER INSERT ON orders
               FOR EACH ROW EXECUTE FUNCTION public.test_linger();",
        )
        .await
        .expect("trigger");
    let proxy = RoundTripProxy::start(pooler_addr(), Duration::ZERO).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let first_state = db.state(checkout::FUNCTION).await;
    let twin_state = db.state_with_url(checkout::FUNCTION, url).await;
    let body = items(&[("A", 2)]);
    proxy.reset();
    let (first, twin) = tokio::join!(place(&first_state, t.id, t.member, "race", &body), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        place(&twin_state, t.id, t.member, "race", &body).await
    });
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    assert!(!replayed(&first));
    assert_eq!(status(&twin), 201, "{}", body_json(&twin));
    assert!(replayed(&twin), "the twin did not create the order");
    assert_eq!(body_json(&twin), body_json(&first));
    assert_eq!(proxy.round_trips(), 1, "the twin took one round trip");
    let via_conflict: i32 = admin
        .query_one("SELECT (ctid::text::point)[1]::int - 1 FROM orders", &[])
        .await
        .expect("ctid")
        .get(0);
    assert_eq!(via_conflict, 1, "the twin went through the insert conflict");
    assert_eq!(order_count(&db).await, 1);

    // A twin with a different body racing the same way is refused.
    let (first, other) = tokio::join!(
        place(&first_state, t.id, t.member, "race-2", &body),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            place(&twin_state, t.id, t.member, "race-2", &items(&[("A", 3)])).await
        }
    );
    assert_eq!(status(&first), 201);
    assert_problem(&other, 422, "idempotency-key-reused");
    assert_eq!(order_count(&db).await, 2);
}

#[tokio::test]
async fn each_kind_of_checkout_is_one_round_trip() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "1.00", "USD", true).await;
    let delay = Duration::from_millis(20);
    let proxy = RoundTripProxy::start(pooler_addr(), delay).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let state = db.state_with_url(checkout::FUNCTION, url).await;
    let mut figures = Vec::new();
    for (what, key, body, expected) in [
        ("created", "rt", items(&[("A", 1)]), 201),
        ("replayed", "rt", items(&[("A", 1)]), 201),
        ("key reused", "rt", items(&[("A", 2)]), 422),
        ("unknown product", "rt-2", items(&[("NOPE", 1)]), 422),
    ] {
        proxy.reset();
        let started = Instant::now();
        let resp = place(&state, t.id, t.member, key, &body).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(status(&resp), expected, "{what}: {}", body_json(&resp));
        assert_eq!(proxy.round_trips(), 1, "{what}");
        figures.push(format!("{what} 1 ({ms:.1} ms)"));
    }
    eprintln!(
        "checkout round trips with {} ms added per round trip: {}",
        delay.as_millis(),
        figures.join(", ")
    );
}

#[tokio::test]
async fn two_users_with_the_same_key_get_two_orders() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let a = place(&state, t.id, t.member, "shared-key", &items(&[("A", 1)])).await;
    let b = place(
        &state,
        t.id,
        t.other_member,
        "shared-key",
        &items(&[("A", 2)]),
    )
    .await;
    assert_eq!((status(&a), status(&b)), (201, 201));
    assert!(!replayed(&a) && !replayed(&b));
    let (a, b) = (body_json(&a), body_json(&b));
    assert_ne!(a["order_id"], b["order_id"]);
    assert_eq!(a["user_id"], t.member.to_string());
    assert_eq!(b["user_id"], t.other_member.to_string());
    // The same user and key in another tenant is another scope too.
    let other = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, other.id, "A", "1.00", "USD", true).await;
    admin
        .execute(
            "INSERT INTO tenant_users (tenant_id, user_id, role) VALUES ($1, $2, 'member')",
            &[&other.id, &t.member],
        )
        .await
        .expect("membership");
    let c = place(
        &state,
        other.id,
        t.member,
        "shared-key",
        &items(&[("A", 1)]),
    )
    .await;
    assert_eq!(status(&c), 201);
    assert!(!replayed(&c));
    assert_eq!(order_count(&db).await, 3);
}

#[tokio::test]
async fn an_expired_key_may_be_used_afresh_and_only_that_key_is_cleared_inline() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "A", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let first = place(&state, t.id, t.member, "daily", &items(&[("A", 1)])).await;
    assert_eq!(status(&first), 201);
    let old = place(&state, t.id, t.member, "other-old", &items(&[("A", 1)])).await;
    assert_eq!(status(&old), 201);
    // A day passes for both keys.
    admin
        .execute(
            "UPDATE orders SET idempotency_expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .expect("expire");

    // Same key, another body: no 422, a new order.
    let second = place(&state, t.id, t.member, "daily", &items(&[("A", 5)])).await;
    assert_eq!(status(&second), 201, "{}", body_json(&second));
    assert!(!replayed(&second));
    assert_ne!(
        body_json(&second)["order_id"],
        body_json(&first)["order_id"]
    );
    assert_eq!(body_json(&second)["total"], "5.00");
    // And that new key replays as usual.
    let again = place(&state, t.id, t.member, "daily", &items(&[("A", 5)])).await;
    assert!(replayed(&again));
    assert_eq!(body_json(&again), body_json(&second));

    // That checkout cleared the reused key only; the caller's other expired
    // key waits for the daily purge. The orders stay.
    let keys = order_keys(&admin).await;
    assert_eq!(keys.len(), 3);
    let second_id = body_json(&second)["order_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let old_id = body_json(&old)["order_id"].as_str().expect("id").to_owned();
    for (order_id, key) in &keys {
        let expected = if *order_id == second_id {
            Some("daily")
        } else if *order_id == old_id {
            Some("other-old")
        } else {
            None
        };
        assert_eq!(key.as_deref(), expected, "key of order {order_id}");
    }
    let purged: i32 = admin
        .query_one("SELECT app.purge_expired_idempotency_keys()", &[])
        .await
        .expect("purge")
        .get(0);
    assert_eq!(purged, 1, "the purge clears the remaining expired key");
    let keys = order_keys(&admin).await;
    assert_eq!(keys[&old_id], None);
    assert_eq!(keys[&second_id].as_deref(), Some("daily"));
}

/// Every order's `order_id` and idempotency key (NULL when cleared; the
/// table's constraint keeps hash and expiry NULL with it).
async fn order_keys(admin: &tokio_postgres::Client) -> BTreeMap<String, Option<String>> {
    let rows = admin
        .query("SELECT order_id, idempotency_key FROM orders", &[])
        .await
        .expect("orders");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

#[tokio::test]
async fn the_cleanup_function_clears_expired_keys_for_everyone() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    add_product(&admin, t.id, "A", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    for (user, key) in [
        (t.member, "m-1"),
        (t.member, "m-2"),
        (t.other_member, "o-1"),
        (t.other_member, "live"),
    ] {
        let resp = place(&state, t.id, user, key, &items(&[("A", 1)])).await;
        assert_eq!(status(&resp), 201);
    }
    admin
        .execute(
            "UPDATE orders SET idempotency_expires_at = now() - interval '1 hour'
             WHERE idempotency_key <> 'live'",
            &[],
        )
        .await
        .expect("expire");
    // The schedule runs as service_role, which the function is granted to.
    admin
        .batch_execute("SET ROLE service_role")
        .await
        .expect("role");
    let cleared: i32 = admin
        .query_one("SELECT app.purge_expired_idempotency_keys(2)", &[])
        .await
        .expect("purge")
        .get(0);
    assert_eq!(cleared, 2, "batched");
    let cleared: i32 = admin
        .query_one("SELECT app.purge_expired_idempotency_keys()", &[])
        .await
        .expect("purge")
        .get(0);
    assert_eq!(cleared, 1);
    admin.batch_execute("RESET ROLE").await.expect("reset");
    let keys: Vec<String> = admin
        .query(
            "SELECT idempotency_key FROM orders WHERE idempotency_key IS NOT NULL",
            &[],
        )
        .await
        .expect("keys")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys, ["live"]);
    assert_eq!(order_count(&db).await, 4, "orders are kept");
    // An ordinary user may not run it.
    admin
        .batch_execute("SET ROLE authenticated")
        .await
        .expect("role");
    let refused = admin
        .query_one("SELECT app.purge_expired_idempotency_keys()", &[])
        .await
        .expect_err("authenticated may not purge");
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

#[tokio::test]
async fn outsiders_cannot_order_and_only_post_is_accepted() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    add_product(&db.admin().await, t.id, "A", "1.00", "USD", true).await;
    let state = db.state(checkout::FUNCTION).await;
    let body = items(&[("A", 1)]);
    let resp = place(&state, t.id, Uuid::new_v4(), "k", &body).await;
    assert_problem(&resp, 403, "forbidden");
    // A service token without a user cannot buy for nobody.
    let service = token_with(json!({"role": "service_role"}));
    let resp = checkout::handler(&state, order_req(t.id, &service, Some("k"), &body)).await;
    assert_problem(&resp, 403, "forbidden");
    let resp = checkout::handler(&state, order_req(t.id, "not-a-token", Some("k"), &body)).await;
    assert_problem(&resp, 401, "unauthorized");
    let req = event("checkout", t.id, None, &token(t.member), |e| {
        e["requestContext"]["http"]["method"] = json!("GET");
    });
    let resp = checkout::handler(&state, req).await;
    assert_problem(&resp, 405, "method-not-allowed");
    assert_eq!(resp.headers()["allow"], "POST");
    assert_eq!(order_count(&db).await, 0);
}
