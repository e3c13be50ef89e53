//! score: `POST /tenants/{tenantId}/conversations/{sessionId}/scores`.

use std::time::{Duration, Instant};

use integration_tests::proxy::RoundTripProxy;
use integration_tests::{
    TestDb, assert_problem, body_json, error_fields, event, set_body, sorted_keys, status, token,
    token_with,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::metrics::pooler_addr;

const SAMPLE_SESSION: &str = "sess-20261201-0001";

async fn score_body(
    state: &shared::AppState,
    tenant: Uuid,
    token: &str,
    body: &Value,
) -> lambda_http::Response<lambda_http::Body> {
    score::handler(
        state,
        event("score", tenant, None, token, |e| set_body(e, body)),
    )
    .await
}

/// The sample event with `{sessionId}` replaced, in the path parameters and the paths.
fn with_session(e: &mut Value, session: &str) {
    e["pathParameters"]["sessionId"] = json!(session);
    for pointer in ["/rawPath", "/requestContext/http/path"] {
        if let Some(v) = e.pointer_mut(pointer) {
            let path = v
                .as_str()
                .unwrap_or_default()
                .replace(SAMPLE_SESSION, &session.replace(' ', "%20"));
            *v = json!(path);
        }
    }
}

async fn stored_count(db: &TestDb) -> i64 {
    db.admin()
        .await
        .query_one("SELECT count(*) FROM conversation_scores", &[])
        .await
        .expect("count")
        .get(0)
}

fn conversation() -> Value {
    json!([
        {"role": "user", "content": "When is my appointment?"},
        {"role": "tool", "content": "lookup", "error": false},
        {"role": "assistant", "content": "Tuesday at 9:00."}
    ])
}

#[tokio::test]
async fn the_sample_event_is_scored_stored_and_returned_in_the_exact_shape() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(score::FUNCTION).await;
    let resp = score::handler(&state, event("score", t.id, None, &token(t.member), |_| {})).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(resp.headers()["content-type"], "application/json");
    let b = body_json(&resp);
    let keys = sorted_keys(&b);
    assert_eq!(
        keys,
        [
            "created_at",
            "feedback",
            "id",
            "metadata",
            "score",
            "session_id",
            "tenant_id",
            "updated_at",
            "user_id"
        ]
    );
    assert_eq!(b["tenant_id"], t.id.to_string());
    assert_eq!(b["session_id"], SAMPLE_SESSION);
    assert_eq!(b["user_id"], t.member.to_string());
    assert_eq!(b["feedback"], "Quick, but the first lookup failed.");
    // 6 messages, 1 error: reliability ⌊40·5/6⌋ = 33; rating 4: 30; answered: 20.
    assert_eq!(b["score"], 83);
    assert_eq!(
        b["metadata"],
        json!({
            "formula": "score-v1",
            "message_count": 6,
            "error_count": 1,
            "rating": 4,
            "answered": true,
            "components": {"rating": 30, "reliability": 33, "answered": 20}
        })
    );
    for ts in ["created_at", "updated_at"] {
        let text = b[ts].as_str().expect("timestamp");
        assert!(text.ends_with('Z'), "{ts} in UTC: {text}");
        OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339");
    }
    // What was stored is what was returned.
    let id = Uuid::parse_str(b["id"].as_str().expect("id")).expect("uuid");
    let row = db
        .admin()
        .await
        .query_one(
            "SELECT tenant_id, session_id, user_id, score, feedback, metadata FROM conversation_scores WHERE id = $1",
            &[&id],
        )
        .await
        .expect("stored row");
    assert_eq!(row.get::<_, Uuid>(0), t.id);
    assert_eq!(row.get::<_, String>(1), SAMPLE_SESSION);
    assert_eq!(row.get::<_, Uuid>(2), t.member);
    assert_eq!(row.get::<_, i32>(3), 83);
    assert_eq!(
        row.get::<_, Option<String>>(4).as_deref(),
        Some("Quick, but the first lookup failed.")
    );
    assert_eq!(row.get::<_, Value>(5), b["metadata"]);
}

#[tokio::test]
async fn each_invalid_field_is_named_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(score::FUNCTION).await;
    let msgs = |v: Value| json!({ "messages": v });
    let big = "x".repeat(32 * 1024 + 1);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (msgs(json!([])), vec!["messages"]),
        (
            msgs(Value::Array(
                (0..1001)
                    .map(|_| json!({"role": "user", "content": "hi"}))
                    .collect(),
            )),
            vec!["messages"],
        ),
        (
            msgs(json!([{"role": "user", "content": big}])),
            vec!["messages[0].content"],
        ),
        (
            msgs(json!([{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}])),
            vec!["messages[1].role"],
        ),
        (
            msgs(json!([{"role": "user", "content": "a", "error": "yes"}])),
            vec!["messages[0].error"],
        ),
        (msgs(json!([{"role": "user"}])), vec!["messages[0].content"]),
        (
            msgs(json!([{"role": "user", "content": "a", "tokens": 3}])),
            vec!["messages[0].tokens"],
        ),
        (json!({"rating": 5}), vec!["messages"]),
        (
            json!({"messages": conversation(), "rating": 0}),
            vec!["rating"],
        ),
        (
            json!({"messages": conversation(), "rating": 6}),
            vec!["rating"],
        ),
        (
            json!({"messages": conversation(), "rating": 3.5}),
            vec!["rating"],
        ),
        (
            json!({"messages": conversation(), "rating": "5"}),
            vec!["rating"],
        ),
        (
            json!({"messages": conversation(), "feedback": "f".repeat(4001)}),
            vec!["feedback"],
        ),
        (
            json!({"messages": conversation(), "feedback": "ok\u{0000}"}),
            vec!["feedback"],
        ),
        (
            json!({"messages": conversation(), "score": 100}),
            vec!["score"],
        ),
        // Validation collects every failing field at once.
        (
            json!({"messages": [{"role": "user", "content": big}], "rating": 9, "feedback": "f".repeat(4001)}),
            vec!["messages[0].content", "rating", "feedback"],
        ),
    ];
    for (body, fields) in cases {
        let resp = score_body(&state, t.id, &token(t.member), &body).await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), fields, "{problem}");
    }
    for session in ["s".repeat(201), " ".to_owned()] {
        let resp = score::handler(
            &state,
            event("score", t.id, None, &token(t.member), |e| {
                with_session(e, &session)
            }),
        )
        .await;
        let problem = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&problem), ["sessionId"]);
    }
    assert_eq!(stored_count(&db).await, 0, "nothing written on failure");

    // The limits themselves are allowed: 32 KiB of content, 4,000 characters
    // of feedback (multi-byte ones count as one), a 200-character session id.
    let resp = score::handler(
        &state,
        event("score", t.id, None, &token(t.member), |e| {
            with_session(e, &"s".repeat(200));
            set_body(
                e,
                &json!({"messages": [{"role": "user", "content": "x".repeat(32 * 1024)}], "rating": 1, "feedback": "é".repeat(4000)}),
            );
        }),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    // Blank feedback is stored as none.
    let resp = score_body(
        &state,
        t.id,
        &token(t.member),
        &json!({"messages": conversation(), "feedback": "  \n "}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp)["feedback"], Value::Null);
    assert_eq!(body_json(&resp)["metadata"]["rating"], Value::Null);
}

#[tokio::test]
async fn a_body_over_1_mib_is_413() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(score::FUNCTION).await;
    let messages: Vec<Value> = (0..40)
        .map(|_| json!({"role": "user", "content": "x".repeat(30 * 1024)}))
        .collect();
    let resp = score_body(
        &state,
        t.id,
        &token(t.member),
        &json!({ "messages": messages }),
    )
    .await;
    assert_problem(&resp, 413, "payload-too-large");
    assert_eq!(stored_count(&db).await, 0);
}

#[tokio::test]
async fn non_members_are_forbidden_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let other = db.tenant().await;
    let state = db.state(score::FUNCTION).await;
    for tok in [token(Uuid::new_v4()), token(other.admin)] {
        let resp = score::handler(&state, event("score", t.id, None, &tok, |_| {})).await;
        assert_problem(&resp, 403, "forbidden");
    }
    // A service token has no user to score for.
    let service = token_with(json!({"role": "service_role"}));
    let resp = score::handler(&state, event("score", t.id, None, &service, |_| {})).await;
    assert_problem(&resp, 403, "forbidden");
    let resp = score::handler(&state, event("score", t.id, None, "garbage", |_| {})).await;
    assert_problem(&resp, 401, "unauthorized");
    assert_eq!(stored_count(&db).await, 0);
    // The other member of the same tenant may, and the row is theirs.
    let resp = score::handler(
        &state,
        event("score", t.id, None, &token(t.other_member), |_| {}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp)["user_id"], t.other_member.to_string());
}

/// The formula's promises, end to end through the handler and the database.
#[tokio::test]
async fn stored_scores_keep_the_formulas_promises() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(score::FUNCTION).await;
    let mut scores = Vec::new();
    for body in [
        json!({"messages": conversation(), "rating": 2}),
        json!({"messages": conversation(), "rating": 5}),
        json!({"messages": conversation(), "rating": 5}),
        // The same with an error message added: never higher.
        json!({"messages": [
            {"role": "user", "content": "When is my appointment?"},
            {"role": "tool", "content": "lookup", "error": false},
            {"role": "tool", "content": "timeout", "error": true},
            {"role": "assistant", "content": "Tuesday at 9:00."}
        ], "rating": 5}),
    ] {
        let resp = score_body(&state, t.id, &token(t.member), &body).await;
        assert_eq!(status(&resp), 201, "{}", body_json(&resp));
        let b = body_json(&resp);
        let c = &b["metadata"]["components"];
        let sum = ["rating", "reliability", "answered"]
            .iter()
            .map(|k| c[k].as_i64().expect("component"))
            .sum::<i64>();
        assert_eq!(b["score"].as_i64(), Some(sum), "components add up: {b}");
        scores.push(b["score"].as_i64().expect("score"));
    }
    assert!((0..=100).contains(&scores[0]));
    assert!(scores[0] <= scores[1], "higher rating: {scores:?}");
    assert_eq!(scores[1], scores[2], "same input, same score");
    assert_eq!(scores[1], 100);
    assert!(
        scores[3] < scores[2],
        "an added error lowers it: {scores:?}"
    );
}

#[tokio::test]
async fn score_takes_one_round_trip() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let delay = Duration::from_millis(20);
    let proxy = RoundTripProxy::start(pooler_addr(), delay).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let state = db.state_with_url(score::FUNCTION, url).await;

    proxy.reset();
    let started = Instant::now();
    let resp = score::handler(&state, event("score", t.id, None, &token(t.member), |_| {})).await;
    let elapsed = started.elapsed();
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(proxy.round_trips(), 1, "score");

    proxy.reset();
    let resp = score::handler(
        &state,
        event("score", t.id, None, &token(Uuid::new_v4()), |_| {}),
    )
    .await;
    assert_eq!(status(&resp), 403);
    assert_eq!(proxy.round_trips(), 1, "refused score");
    eprintln!(
        "score: 1 round trip per invocation; {:.1} ms with {} ms added per round trip",
        elapsed.as_secs_f64() * 1000.0,
        delay.as_millis()
    );
}
