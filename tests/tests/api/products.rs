//! upsert-product: admin-only catalog writes, currency and precision rules.

use integration_tests::{
    TestDb, assert_problem, body_json, error_fields, event, set_body, sorted_keys, status, token,
    token_with,
};
use serde_json::{Value, json};
use uuid::Uuid;

fn put(tenant: Uuid, user_token: &str, sku: &str, body: Option<Value>) -> lambda_http::Request {
    let sku = sku.to_owned();
    event("upsert-product", tenant, None, user_token, move |e| {
        e["pathParameters"]["sku"] = Value::String(sku.clone());
        let path = format!("/tenants/{tenant}/products/{sku}");
        e["rawPath"] = Value::String(path.clone());
        e["requestContext"]["http"]["path"] = Value::String(path);
        if let Some(b) = body {
            set_body(e, &b);
        }
    })
}

fn product(price: &str, currency: &str) -> Value {
    json!({"name": "Widget", "unit_price": price, "currency": currency, "active": true})
}

async fn product_count(db: &TestDb) -> i64 {
    db.admin()
        .await
        .query_one("SELECT count(*) FROM products", &[])
        .await
        .expect("count")
        .get(0)
}

#[tokio::test]
async fn the_sample_event_creates_then_updates_the_product() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(upsert_product::FUNCTION).await;
    let admin = token(t.admin);

    // The file's own body and path, untouched.
    let first =
        upsert_product::handler(&state, event("upsert-product", t.id, None, &admin, |_| {})).await;
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    assert_eq!(first.headers()["content-type"], "application/json");
    let created = body_json(&first);
    let keys = sorted_keys(&created);
    assert_eq!(
        keys,
        [
            "active",
            "created_at",
            "currency",
            "id",
            "name",
            "sku",
            "tenant_id",
            "unit_price",
            "updated_at"
        ]
    );
    assert_eq!(created["tenant_id"], t.id.to_string());
    assert_eq!(created["sku"], "VIT-D3-1000");
    assert_eq!(created["name"], "Vitamin D3 1000 IU, 90 capsules");
    assert_eq!(created["unit_price"], "12.50", "a string, never a number");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["active"], true);

    // PUT again with a new price: 200, the same product, updated.
    let second = upsert_product::handler(
        &state,
        put(
            t.id,
            &admin,
            "VIT-D3-1000",
            Some(json!({"name": "Vitamin D3", "unit_price": "13", "currency": "USD", "active": false})),
        ),
    )
    .await;
    assert_eq!(status(&second), 200, "{}", body_json(&second));
    let updated = body_json(&second);
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_eq!(updated["unit_price"], "13.00");
    assert_eq!(updated["name"], "Vitamin D3");
    assert_eq!(updated["active"], false);
    let stored: String = db
        .admin()
        .await
        .query_one(
            "SELECT unit_price::text FROM products WHERE tenant_id = $1 AND sku = 'VIT-D3-1000'",
            &[&t.id],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(stored, "13.0000");
    assert_eq!(product_count(&db).await, 1);
}

#[tokio::test]
async fn only_a_tenant_admin_may_write_the_catalog() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(upsert_product::FUNCTION).await;
    let resp = upsert_product::handler(
        &state,
        put(
            t.id,
            &token(t.admin),
            "EXISTING",
            Some(product("5.00", "USD")),
        ),
    )
    .await;
    assert_eq!(status(&resp), 201);

    // A member: neither a new sku (RLS insert check) nor an existing one
    // (the ON CONFLICT update's USING clause raises instead of skipping).
    for sku in ["NEW-ONE", "EXISTING"] {
        let resp = upsert_product::handler(
            &state,
            put(t.id, &token(t.member), sku, Some(product("0.01", "USD"))),
        )
        .await;
        assert_problem(&resp, 403, "forbidden");
    }
    // A stranger.
    let resp = upsert_product::handler(
        &state,
        put(
            t.id,
            &token(Uuid::new_v4()),
            "NEW-ONE",
            Some(product("1", "USD")),
        ),
    )
    .await;
    assert_problem(&resp, 403, "forbidden");
    // An admin of another tenant.
    let other = db.tenant().await;
    let resp = upsert_product::handler(
        &state,
        put(
            t.id,
            &token(other.admin),
            "EXISTING",
            Some(product("1", "USD")),
        ),
    )
    .await;
    assert_problem(&resp, 403, "forbidden");

    let row = db
        .admin()
        .await
        .query_one("SELECT count(*), min(unit_price::text) FROM products", &[])
        .await
        .expect("row");
    assert_eq!(
        row.get::<_, i64>(0),
        1,
        "nothing written by the refused calls"
    );
    assert_eq!(row.get::<_, String>(1), "5.0000", "price untouched");

    // The backend's service role may maintain any tenant's catalog.
    let service = token_with(json!({"role": "service_role"}));
    let resp = upsert_product::handler(
        &state,
        put(t.id, &service, "EXISTING", Some(product("6", "USD"))),
    )
    .await;
    assert_eq!(status(&resp), 200, "{}", body_json(&resp));
}

#[tokio::test]
async fn currency_and_precision_follow_iso_4217() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(upsert_product::FUNCTION).await;
    let admin = token(t.admin);

    for (price, currency, shown) in [
        ("12.5", "USD", "12.50"),
        ("1200", "JPY", "1200"),
        ("1.005", "BHD", "1.005"),
        ("0.01", "EUR", "0.01"),
        ("99999999999.99", "USD", "99999999999.99"),
    ] {
        let sku = format!("OK-{currency}-{}", price.len());
        let resp = upsert_product::handler(
            &state,
            put(t.id, &admin, &sku, Some(product(price, currency))),
        )
        .await;
        assert_eq!(
            status(&resp),
            201,
            "{price} {currency}: {}",
            body_json(&resp)
        );
        assert_eq!(body_json(&resp)["unit_price"], shown, "{price} {currency}");
    }
    let accepted = product_count(&db).await;

    let cases: Vec<(Value, &str)> = vec![
        (product("12.345", "USD"), "unit_price"),
        (product("1200.5", "JPY"), "unit_price"),
        (product("1.0005", "BHD"), "unit_price"),
        (product("0", "USD"), "unit_price"),
        (product("0.00", "USD"), "unit_price"),
        (product("-1", "USD"), "unit_price"),
        (product("1e2", "USD"), "unit_price"),
        (product(" 1", "USD"), "unit_price"),
        (product("100000000000", "USD"), "unit_price"),
        (product("1", "usd"), "currency"),
        (product("1", "ABC"), "currency"),
        (product("1", "XAU"), "currency"),
        (product("1", "US"), "currency"),
        (
            json!({"name": "W", "unit_price": 12.5, "currency": "USD"}),
            "unit_price",
        ),
        (
            json!({"name": "", "unit_price": "1", "currency": "USD"}),
            "name",
        ),
        (
            json!({"name": "x".repeat(201), "unit_price": "1", "currency": "USD"}),
            "name",
        ),
        (json!({"unit_price": "1", "currency": "USD"}), "name"),
        (
            json!({"name": "W", "unit_price": "1", "currency": "USD", "price": "1"}),
            "price",
        ),
        (
            json!({"name": "W", "unit_price": "1", "currency": "USD", "active": "yes"}),
            "active",
        ),
    ];
    for (body, field) in cases {
        let resp =
            upsert_product::handler(&state, put(t.id, &admin, "BAD", Some(body.clone()))).await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), [field], "{body}");
    }
    // A sku outside the catalog rule, named as the path field.
    let resp =
        upsert_product::handler(&state, put(t.id, &admin, "a*b", Some(product("1", "USD")))).await;
    let problem = assert_problem(&resp, 400, "invalid-request");
    assert_eq!(error_fields(&problem), ["sku"]);
    assert_eq!(
        product_count(&db).await,
        accepted,
        "nothing written on failure"
    );
}

#[tokio::test]
async fn the_route_accepts_put_only() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(upsert_product::FUNCTION).await;
    let req = event("upsert-product", t.id, None, &token(t.admin), |e| {
        e["requestContext"]["http"]["method"] = json!("POST");
    });
    let resp = upsert_product::handler(&state, req).await;
    assert_problem(&resp, 405, "method-not-allowed");
    assert_eq!(resp.headers()["allow"], "PUT");
}
