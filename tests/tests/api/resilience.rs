//! The connection outlives failures: a database that cannot be reached is a
//! 503 with `Retry-After` (never a 500 or an `Err`), and a connection closed
//! between invocations is reopened by the next one.

use std::time::Duration;

use integration_tests::proxy::RoundTripProxy;
use integration_tests::{TestDb, assert_problem, body_json, event, pooler_addr, status, token};

#[tokio::test]
async fn an_unreachable_database_is_503_with_retry_after() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    // Nothing listens on port 1; init logs a warning and carries on.
    let state = db
        .state_with_url(
            book::FUNCTION,
            format!("postgres://postgres@127.0.0.1:1/{}", db.name),
        )
        .await;
    let resp = book::handler(&state, event("book", t.id, None, &token(t.member), |_| {})).await;
    assert_problem(&resp, 503, "unavailable");
    assert_eq!(resp.headers()["retry-after"], "1");
    let text = body_json(&resp).to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("postgres://"),
        "internals leaked: {text}"
    );
}

#[tokio::test]
async fn a_connection_terminated_between_invocations_is_reopened() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    // Directly to Postgres, so that terminating the backend closes *our* socket
    // (behind PgBouncer the client side would survive).
    let state = db.state_with_url(book::FUNCTION, db.direct_url()).await;
    let first = book::handler(&state, event("book", t.id, None, &token(t.member), |_| {})).await;
    assert_eq!(status(&first), 201);
    let admin = db.admin().await;
    let killed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            &[&book::FUNCTION],
        )
        .await
        .expect("terminate");
    assert_eq!(killed, 1, "exactly the function's connection");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let req = event("book", t.id, None, &token(t.member), |e| {
        integration_tests::set_body(
            e,
            &serde_json::json!({"slot_id": "after-kill", "user_name": "Ada", "user_email": "ada@example.com"}),
        )
    });
    let second = book::handler(&state, req).await;
    assert_eq!(status(&second), 201, "{}", body_json(&second));
}

#[tokio::test]
async fn a_statement_over_the_timeout_is_503_and_the_connection_stays_usable() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db
        .state_with_env(
            book::FUNCTION,
            db.pooler_url(),
            &[("STATEMENT_TIMEOUT_MS", "300")],
        )
        .await;
    // Another session holds the table, so the INSERT waits until statement_timeout cancels it.
    let blocker = db.admin().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let resp = book::handler(&state, event("book", t.id, None, &token(t.member), |_| {})).await;
    assert_problem(&resp, 503, "unavailable");
    assert_eq!(resp.headers()["retry-after"], "1");
    blocker.batch_execute("ROLLBACK").await.expect("unlock");
    let resp = book::handler(&state, event("book", t.id, None, &token(t.member), |_| {})).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
}

#[tokio::test]
async fn a_silent_database_is_503_and_the_next_request_reconnects() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let proxy = RoundTripProxy::start(pooler_addr(), Duration::ZERO).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let state = db
        .state_with_env(book::FUNCTION, url, &[("STATEMENT_TIMEOUT_MS", "300")])
        .await;
    let slot = |s: &str| {
        let body =
            serde_json::json!({"slot_id": s, "user_name": "Ada", "user_email": "ada@example.com"});
        event("book", t.id, None, &token(t.member), move |e| {
            integration_tests::set_body(e, &body)
        })
    };
    assert_eq!(status(&book::handler(&state, slot("before")).await), 201);
    proxy.hold(true);
    let resp = book::handler(&state, slot("during")).await;
    assert_problem(&resp, 503, "unavailable");
    proxy.hold(false);
    let resp = book::handler(&state, slot("after")).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
}
