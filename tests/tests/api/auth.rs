use integration_tests::{JWT_SECRET, TestDb, assert_problem, event, token, token_with};
use serde_json::json;
use uuid::Uuid;

/// Every way a token can be wrong is the same 401, with `WWW-Authenticate`.
#[tokio::test]
async fn bad_tokens_are_401_with_www_authenticate() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    let now = shared::auth::now_secs();
    let valid = token(t.member);
    let payload = valid.split('.').nth(1).expect("payload").to_owned();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("malformed", Some("not-a-jwt".into())),
        (
            "bad signature",
            Some(
                shared::auth::mint_hs256(
                    "some-other-secret-some-other-secret",
                    &json!({"sub": t.member.to_string(), "aud": "authenticated", "exp": now + 600}),
                )
                .expect("mint"),
            ),
        ),
        (
            "expired",
            Some(token_with(
                json!({"sub": t.member.to_string(), "exp": now - 3600}),
            )),
        ),
        (
            "wrong aud",
            Some(token_with(
                json!({"sub": t.member.to_string(), "aud": "someone-else"}),
            )),
        ),
        (
            "alg none",
            Some(format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")),
        ),
        ("non-UUID sub", Some(token_with(json!({"sub": "user-42"})))),
        (
            "anon role",
            Some(token_with(
                json!({"sub": t.member.to_string(), "role": "anon"}),
            )),
        ),
    ];
    for (name, tok) in cases {
        let req = event("book", t.id, None, tok.as_deref().unwrap_or(""), |e| {
            if tok.is_none() {
                e["headers"]
                    .as_object_mut()
                    .expect("headers")
                    .remove("authorization");
            }
        });
        let resp = book::handler(&state, req).await;
        assert_problem(&resp, 401, "unauthorized");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{name}");
    }
    let client = db.admin().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM bookings", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "no rejected request wrote anything");
    assert!(!JWT_SECRET.is_empty());
}

#[tokio::test]
async fn a_valid_token_of_a_non_member_is_403_on_book_and_cancel() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let stranger = token(Uuid::new_v4());
    let book_state = db.state(book::FUNCTION).await;
    let resp = book::handler(&book_state, event("book", t.id, None, &stranger, |_| {})).await;
    assert_problem(&resp, 403, "forbidden");
    let cancel_state = db.state(cancel::FUNCTION).await;
    let resp = cancel::handler(
        &cancel_state,
        event("cancel", t.id, Some(Uuid::new_v4()), &stranger, |_| {}),
    )
    .await;
    assert_problem(&resp, 403, "forbidden");
}

#[tokio::test]
async fn a_member_of_another_tenant_is_403() {
    let db = TestDb::new().await;
    let (a, b) = (db.tenant().await, db.tenant().await);
    let state = db.state(book::FUNCTION).await;
    let resp = book::handler(&state, event("book", a.id, None, &token(b.member), |_| {})).await;
    assert_problem(&resp, 403, "forbidden");
}
