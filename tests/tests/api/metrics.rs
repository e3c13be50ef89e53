//! record-metric: `POST /tenants/{tenantId}/metrics`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use integration_tests::proxy::RoundTripProxy;
use integration_tests::{
    Tenant, TestDb, assert_problem, body_json, error_fields, event, pooler_base, set_body, status,
    token, token_with,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// PgBouncer's address, for a round-trip counting proxy in front of it.
pub(crate) fn pooler_addr() -> SocketAddr {
    let cfg: tokio_postgres::Config = pooler_base().parse().expect("TEST_POOLER_URL");
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(6432);
    format!("{host}:{port}").parse().expect("pooler address")
}

async fn record(
    state: &shared::AppState,
    tenant: Uuid,
    token: &str,
    body: &Value,
) -> lambda_http::Response<lambda_http::Body> {
    record_metric::handler(
        state,
        event("record-metric", tenant, None, token, |e| set_body(e, body)),
    )
    .await
}

/// Sends `raw` as the body text, for numbers serde_json::Value cannot hold.
async fn record_raw(
    state: &shared::AppState,
    tenant: Uuid,
    token: &str,
    raw: &str,
) -> lambda_http::Response<lambda_http::Body> {
    record_metric::handler(
        state,
        event("record-metric", tenant, None, token, |e| {
            e["body"] = Value::String(raw.to_owned())
        }),
    )
    .await
}

async fn stored_count(db: &TestDb, tenant: Uuid) -> i64 {
    db.admin()
        .await
        .query_one(
            "SELECT count(*) FROM analytics_metrics WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .expect("count")
        .get(0)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

#[tokio::test]
async fn the_sample_event_records_its_batch_normalised() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(record_metric::FUNCTION).await;
    let before = OffsetDateTime::now_utc();
    let resp = record_metric::handler(
        &state,
        event("record-metric", t.id, None, &token(t.member), |_| {}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(body_json(&resp), json!({"recorded": 2}));
    let rows = db
        .admin()
        .await
        .query(
            "SELECT name, value::text, tags, created_at FROM analytics_metrics WHERE tenant_id = $1 ORDER BY name",
            &[&t.id],
        )
        .await
        .expect("rows");
    let got: Vec<(String, String, Value)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        [
            (
                "api.latency_ms".to_owned(),
                "123.45".to_owned(),
                json!({"route": "/bookings", "env": "prod"})
            ),
            // "Bookings.Created" in the file: names are lower-cased.
            ("bookings.created".to_owned(), "1".to_owned(), json!({})),
        ]
    );
    for r in &rows {
        let at: OffsetDateTime = r.get(3);
        assert!(
            at >= before - time::Duration::seconds(5) && at <= OffsetDateTime::now_utc(),
            "a missing timestamp means now: {at}"
        );
    }
}

#[tokio::test]
async fn a_single_metric_is_trimmed_lower_cased_and_stored_exactly() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(record_metric::FUNCTION).await;
    let at = (OffsetDateTime::now_utc() - time::Duration::hours(1))
        .replace_nanosecond(123_456_000)
        .expect("ns");
    // 23 significant digits: an f64 would round this.
    let raw = format!(
        r#"{{"name": "  CPU.Load/Host-1 ", "value": 0.12345678901234567890123, "tags": {{"host": "a"}}, "timestamp": "{}"}}"#,
        rfc3339(at)
    );
    let resp = record_raw(&state, t.id, &token(t.member), &raw).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp), json!({"recorded": 1}));
    let row = db
        .admin()
        .await
        .query_one(
            "SELECT name, value::text, tags, created_at FROM analytics_metrics WHERE tenant_id = $1",
            &[&t.id],
        )
        .await
        .expect("row");
    assert_eq!(row.get::<_, String>(0), "cpu.load/host-1");
    assert_eq!(row.get::<_, String>(1), "0.12345678901234567890123");
    assert_eq!(row.get::<_, Value>(2), json!({"host": "a"}));
    assert_eq!(row.get::<_, OffsetDateTime>(3), at);

    // Exponent notation is exact too, and the scale is kept.
    let resp = record_raw(
        &state,
        t.id,
        &token(t.member),
        r#"{"name": "big", "value": -1.50e3}"#,
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    let v: String = db
        .admin()
        .await
        .query_one(
            "SELECT value::text FROM analytics_metrics WHERE tenant_id = $1 AND name = 'big'",
            &[&t.id],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(v, "-1500");
}

#[tokio::test]
async fn a_bad_entry_rejects_the_whole_batch_and_names_it() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(record_metric::FUNCTION).await;
    let mut metrics: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("m{i}"), "value": i}))
        .collect();
    metrics[3]["name"] = json!("-starts-with-a-dash");
    let resp = record(
        &state,
        t.id,
        &token(t.member),
        &json!({ "metrics": metrics }),
    )
    .await;
    let problem = assert_problem(&resp, 400, "invalid-request");
    assert_eq!(error_fields(&problem), ["metrics[3].name"]);

    // Several bad entries: every one is named, none is stored.
    let resp = record_raw(
        &state,
        t.id,
        &token(t.member),
        r#"{"metrics": [
            {"name": "ok", "value": 1},
            {"name": "ok", "value": 1e400},
            {"name": "ok", "value": "12"},
            {"name": "ok", "value": 1, "tags": {"k": 5}},
            {"name": "", "value": 1, "tags": {"": "x"}},
            {"name": "ok", "value": 1, "colour": "red"}
        ]}"#,
    )
    .await;
    let problem = assert_problem(&resp, 400, "invalid-request");
    // The unknown field and the tag type fail in parsing, which stops at the first.
    assert_eq!(error_fields(&problem), ["metrics[3].tags.k"]);
    let resp = record_raw(
        &state,
        t.id,
        &token(t.member),
        r#"{"metrics": [
            {"name": "ok", "value": 1},
            {"name": "ok", "value": 1e400},
            {"name": "ok", "value": "12"},
            {"name": "", "value": 1, "tags": {"": "x"}},
            {"name": "ok", "value": null}
        ]}"#,
    )
    .await;
    let problem = assert_problem(&resp, 400, "invalid-request");
    assert_eq!(
        error_fields(&problem),
        [
            "metrics[1].value",
            "metrics[2].value",
            "metrics[3].name",
            "metrics[3].tags",
            "metrics[4].value"
        ]
    );
    // Not JSON at all (NaN is no JSON number): a 400 too, never a 5xx.
    let resp = record_raw(
        &state,
        t.id,
        &token(t.member),
        r#"{"name": "a", "value": NaN}"#,
    )
    .await;
    assert_eq!(
        error_fields(&assert_problem(&resp, 400, "invalid-request")),
        ["body"]
    );
    for (body, field) in [
        (json!({"metrics": []}), "metrics"),
        (
            json!({"metrics": (0..1001).map(|i| json!({"name": "n", "value": i})).collect::<Vec<_>>()}),
            "metrics",
        ),
        (json!({"value": 1}), "name"),
        (json!({"name": "a"}), "value"),
        (json!({"name": "a", "value": 1, "unit": "ms"}), "unit"),
    ] {
        let resp = record(&state, t.id, &token(t.member), &body).await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), [field], "{problem}");
    }
    assert_eq!(
        stored_count(&db, t.id).await,
        0,
        "nothing written on failure"
    );
}

#[tokio::test]
async fn timestamps_must_lie_between_365_days_ago_and_1_day_ahead() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(record_metric::FUNCTION).await;
    let now = OffsetDateTime::now_utc();
    let at = |d: time::Duration| json!({"name": "t", "value": 1, "timestamp": rfc3339(now + d)});
    let resp = record(
        &state,
        t.id,
        &token(t.member),
        &json!({"metrics": [
            at(time::Duration::days(-364)),
            at(time::Duration::days(-366)),
            at(time::Duration::hours(23)),
            at(time::Duration::hours(25)),
            {"name": "t", "value": 1, "timestamp": "2026-13-01T00:00:00Z"},
            {"name": "t", "value": 1, "timestamp": "2026-12-01 10:00"}
        ]}),
    )
    .await;
    let problem = assert_problem(&resp, 400, "invalid-request");
    assert_eq!(
        error_fields(&problem),
        [
            "metrics[1].timestamp",
            "metrics[3].timestamp",
            "metrics[4].timestamp",
            "metrics[5].timestamp"
        ]
    );
    assert_eq!(stored_count(&db, t.id).await, 0);
    let resp = record(
        &state,
        t.id,
        &token(t.member),
        &json!({"metrics": [at(time::Duration::days(-364)), at(time::Duration::hours(23))]}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(stored_count(&db, t.id).await, 2);
}

#[tokio::test]
async fn a_service_token_may_record_for_any_existing_tenant() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(record_metric::FUNCTION).await;
    // Supabase's service key has no `sub`.
    let service = token_with(json!({"role": "service_role"}));
    let resp = record(
        &state,
        t.id,
        &service,
        &json!({"name": "jobs.run", "value": 1}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(stored_count(&db, t.id).await, 1);
    // A tenant that does not exist is a 404, not a constraint error.
    let resp = record(
        &state,
        Uuid::new_v4(),
        &service,
        &json!({"name": "jobs.run", "value": 1}),
    )
    .await;
    assert_problem(&resp, 404, "not-found");
}

#[tokio::test]
async fn only_members_may_record_into_a_tenant() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let other: Tenant = db.tenant().await;
    let state = db.state(record_metric::FUNCTION).await;
    let body = json!({"name": "x", "value": 1});
    // Admins are members too.
    let resp = record(&state, t.id, &token(t.admin), &body).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    for tok in [token(Uuid::new_v4()), token(other.member)] {
        let resp = record(&state, t.id, &tok, &body).await;
        assert_problem(&resp, 403, "forbidden");
    }
    let resp = record_metric::handler(
        &state,
        event("record-metric", t.id, None, "not-a-token", |_| {}),
    )
    .await;
    assert_problem(&resp, 401, "unauthorized");
    assert_eq!(stored_count(&db, t.id).await, 1);
    assert_eq!(stored_count(&db, other.id).await, 0);
}

#[tokio::test]
async fn a_batch_of_1000_is_one_statement_in_one_round_trip() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let delay = Duration::from_millis(20);
    let proxy = RoundTripProxy::start(pooler_addr(), delay).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let state = db.state_with_url(record_metric::FUNCTION, url).await;
    let metrics: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"name": format!("load.m{}", i % 10), "value": i, "tags": {"i": i.to_string(), "env": "test"}})
        })
        .collect();
    let body = json!({ "metrics": metrics });
    let req = event("record-metric", t.id, None, &token(t.member), |e| {
        set_body(e, &body)
    });

    proxy.reset();
    let started = Instant::now();
    let resp = record_metric::handler(&state, req).await;
    let elapsed = started.elapsed();
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp), json!({"recorded": 1000}));
    assert_eq!(proxy.round_trips(), 1, "record-metric (batch of 1000)");

    // One transaction (one xmin) and one command within it (one cmin): a
    // statement per metric would give 1,000 command ids.
    let row = db
        .admin()
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT xmin::text), count(DISTINCT cmin::text) FROM analytics_metrics WHERE tenant_id = $1",
            &[&t.id],
        )
        .await
        .expect("stats");
    let (n, xmins, cmins): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((n, xmins, cmins), (1000, 1, 1));

    // A single metric, and a refused request, are one round trip too.
    proxy.reset();
    let resp = record(
        &state,
        t.id,
        &token(t.member),
        &json!({"name": "one", "value": 1}),
    )
    .await;
    assert_eq!(status(&resp), 201);
    assert_eq!(proxy.round_trips(), 1, "record-metric (one metric)");
    proxy.reset();
    let resp = record(
        &state,
        t.id,
        &token(Uuid::new_v4()),
        &json!({"name": "one", "value": 1}),
    )
    .await;
    assert_eq!(status(&resp), 403);
    assert_eq!(proxy.round_trips(), 1, "refused record-metric");

    // The same batch without the added delay, for the insert time itself.
    let direct = db.state(record_metric::FUNCTION).await;
    let req = event("record-metric", t.id, None, &token(t.member), |e| {
        set_body(e, &body)
    });
    let started = Instant::now();
    let resp = record_metric::handler(&direct, req).await;
    let direct_elapsed = started.elapsed();
    assert_eq!(status(&resp), 201);
    eprintln!(
        "record-metric: 1 round trip per invocation; batch of 1,000 metrics: {:.1} ms through PgBouncer, {:.1} ms with {} ms added per round trip",
        direct_elapsed.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64() * 1000.0,
        delay.as_millis()
    );
}
