use futures::future::join_all;
use integration_tests::{
    TestDb, assert_problem, body_json, error_fields, event, set_body, sorted_keys, status, token,
    token_with,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

fn booking_body(slot: &str) -> Value {
    json!({"slot_id": slot, "user_name": "Ada Patient", "user_email": "ada@example.com"})
}

async fn book_slot(
    state: &shared::AppState,
    tenant: Uuid,
    user: Uuid,
    slot: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let req = event("book", tenant, None, &token(user), |e| {
        set_body(e, &booking_body(slot))
    });
    book::handler(state, req).await
}

async fn cancel_booking(
    state: &shared::AppState,
    tenant: Uuid,
    user: Uuid,
    booking: Uuid,
) -> lambda_http::Response<lambda_http::Body> {
    cancel::handler(
        state,
        event("cancel", tenant, Some(booking), &token(user), |_| {}),
    )
    .await
}

fn id_of(v: &Value) -> Uuid {
    Uuid::parse_str(v["id"].as_str().expect("id")).expect("uuid")
}

#[tokio::test]
async fn the_sample_event_books_and_returns_the_exact_booking_shape() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    // The file's own body, untouched.
    let resp = book::handler(&state, event("book", t.id, None, &token(t.member), |_| {})).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(resp.headers()["content-type"], "application/json");
    let b = body_json(&resp);
    let keys = sorted_keys(&b);
    assert_eq!(
        keys,
        [
            "created_at",
            "id",
            "slot_id",
            "status",
            "tenant_id",
            "updated_at",
            "user_email",
            "user_id",
            "user_name"
        ]
    );
    assert_eq!(b["tenant_id"], t.id.to_string());
    assert_eq!(b["user_id"], t.member.to_string());
    assert_eq!(b["slot_id"], "2026-12-02T09:00/dr-lee");
    assert_eq!(b["user_name"], "Ada Patient");
    assert_eq!(b["user_email"], "ada@example.com");
    assert_eq!(b["status"], "confirmed");
    for ts in ["created_at", "updated_at"] {
        let s = b[ts].as_str().expect("timestamp");
        assert!(s.ends_with('Z'), "{ts} not UTC: {s}");
        OffsetDateTime::parse(s, &Rfc3339).expect("RFC 3339");
    }
    let stored: i64 = db
        .admin()
        .await
        .query_one(
            "SELECT count(*) FROM bookings WHERE id = $1 AND status = 'confirmed'",
            &[&id_of(&b)],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn the_tenant_is_read_from_the_raw_path_when_path_parameters_are_absent() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    let req = event("book", t.id, None, &token(t.member), |e| {
        e.as_object_mut().expect("event").remove("pathParameters");
        let path = format!("/lambda-url/book/tenants/{}/bookings", t.id);
        e["rawPath"] = json!(path);
        e["requestContext"]["http"]["path"] = json!(path);
    });
    let resp = book::handler(&state, req).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(body_json(&resp)["tenant_id"], t.id.to_string());
}

#[tokio::test]
async fn a_slot_with_an_active_booking_is_409_slot_unavailable() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    assert_eq!(
        status(&book_slot(&state, t.id, t.member, "slot-1").await),
        201
    );
    let resp = book_slot(&state, t.id, t.other_member, "slot-1").await;
    let problem = assert_problem(&resp, 409, "slot-unavailable");
    assert!(
        !problem.to_string().contains("ada@example.com"),
        "no row values in the problem: {problem}"
    );
    // Another tenant's identical slot id is a different slot.
    let other = db.tenant().await;
    assert_eq!(
        status(&book_slot(&state, other.id, other.member, "slot-1").await),
        201
    );
}

#[tokio::test]
async fn fifty_concurrent_bookings_of_one_slot_yield_one_201_and_49_409() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    // Fifty execution environments, each with its own connection through PgBouncer.
    let states = join_all((0..50).map(|_| db.state(book::FUNCTION))).await;
    let responses = join_all(
        states
            .iter()
            .map(|s| book_slot(s, t.id, t.member, "contested")),
    )
    .await;
    let mut counts = std::collections::BTreeMap::new();
    for r in &responses {
        *counts.entry(status(r)).or_insert(0) += 1;
    }
    assert_eq!(counts.get(&201), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&409), Some(&49), "{counts:?}");
    let active: i64 = db
        .admin()
        .await
        .query_one(
            "SELECT count(*) FROM bookings WHERE slot_id = 'contested' AND status <> 'cancelled'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(active, 1);
}

#[tokio::test]
async fn cancel_returns_the_cancelled_booking_and_is_idempotent() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let book_state = db.state(book::FUNCTION).await;
    let cancel_state = db.state(cancel::FUNCTION).await;
    let booked = body_json(&book_slot(&book_state, t.id, t.member, "slot-c").await);
    let id = id_of(&booked);
    let first = cancel_booking(&cancel_state, t.id, t.member, id).await;
    assert_eq!(status(&first), 200, "{}", body_json(&first));
    let first = body_json(&first);
    assert_eq!(first["status"], "cancelled");
    assert_eq!(first["id"], booked["id"]);
    assert_eq!(first["created_at"], booked["created_at"]);
    let second = cancel_booking(&cancel_state, t.id, t.member, id).await;
    assert_eq!(status(&second), 200);
    let second = body_json(&second);
    assert_eq!(second["status"], "cancelled");
    assert_eq!(
        second["updated_at"], first["updated_at"],
        "a repeated cancel changes nothing"
    );
}

#[tokio::test]
async fn a_cancelled_slot_can_be_booked_again() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let book_state = db.state(book::FUNCTION).await;
    let cancel_state = db.state(cancel::FUNCTION).await;
    let first = id_of(&body_json(
        &book_slot(&book_state, t.id, t.member, "slot-r").await,
    ));
    assert_eq!(
        status(&cancel_booking(&cancel_state, t.id, t.member, first).await),
        200
    );
    let again = book_slot(&book_state, t.id, t.other_member, "slot-r").await;
    assert_eq!(status(&again), 201, "{}", body_json(&again));
    assert_eq!(
        status(&book_slot(&book_state, t.id, t.member, "slot-r").await),
        409
    );
}

#[tokio::test]
async fn a_member_cannot_cancel_another_members_booking_but_an_admin_can() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let book_state = db.state(book::FUNCTION).await;
    let cancel_state = db.state(cancel::FUNCTION).await;
    let id = id_of(&body_json(
        &book_slot(&book_state, t.id, t.member, "slot-o").await,
    ));
    let resp = cancel_booking(&cancel_state, t.id, t.other_member, id).await;
    assert_problem(&resp, 404, "not-found");
    let still: String = db
        .admin()
        .await
        .query_one("SELECT status FROM bookings WHERE id = $1", &[&id])
        .await
        .expect("row")
        .get(0);
    assert_eq!(still, "confirmed");
    let resp = cancel_booking(&cancel_state, t.id, t.admin, id).await;
    assert_eq!(status(&resp), 200);
    assert_eq!(body_json(&resp)["status"], "cancelled");
    assert_eq!(
        body_json(&resp)["user_id"],
        t.member.to_string(),
        "the owner stays the owner"
    );
}

#[tokio::test]
async fn an_unknown_booking_or_one_of_another_tenant_is_404() {
    let db = TestDb::new().await;
    let (a, b) = (db.tenant().await, db.tenant().await);
    let book_state = db.state(book::FUNCTION).await;
    let cancel_state = db.state(cancel::FUNCTION).await;
    assert_problem(
        &cancel_booking(&cancel_state, a.id, a.member, Uuid::new_v4()).await,
        404,
        "not-found",
    );
    // B's admin names A's booking under B's tenant: not found, and untouched.
    let id = id_of(&body_json(
        &book_slot(&book_state, a.id, a.member, "slot-x").await,
    ));
    assert_problem(
        &cancel_booking(&cancel_state, b.id, b.admin, id).await,
        404,
        "not-found",
    );
    let resp = cancel::handler(
        &cancel_state,
        event("cancel", a.id, None, &token(a.member), |e| {
            e["pathParameters"]["bookingId"] = json!("not-a-uuid");
        }),
    )
    .await;
    assert_problem(&resp, 404, "not-found");
}

#[tokio::test]
async fn invalid_bodies_are_400_naming_each_field_and_write_nothing() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    let send = |body: Value| {
        let req = event("book", t.id, None, &token(t.member), move |e| {
            set_body(e, &body)
        });
        book::handler(&state, req)
    };
    let p = assert_problem(
        &send(json!({"slot_id": "s", "user_name": "A", "user_email": "a@b.co", "price": 1})).await,
        400,
        "invalid-request",
    );
    assert_eq!(error_fields(&p), ["price"]);
    let p = assert_problem(
        &send(json!({"slot_id": 7, "user_name": "A", "user_email": "a@b.co"})).await,
        400,
        "invalid-request",
    );
    assert_eq!(error_fields(&p), ["slot_id"]);
    let p = assert_problem(
        &send(json!({"user_name": "A", "user_email": "a@b.co"})).await,
        400,
        "invalid-request",
    );
    assert_eq!(error_fields(&p), ["slot_id"]);
    let p = assert_problem(
        &send(json!({"slot_id": " ", "user_name": "A\u{0000}", "user_email": "nope"})).await,
        400,
        "invalid-request",
    );
    assert_eq!(error_fields(&p), ["slot_id", "user_name", "user_email"]);
    let p = assert_problem(
        &send(json!({"slot_id": "s".repeat(201), "user_name": "A", "user_email": "a@b.co"})).await,
        400,
        "invalid-request",
    );
    assert_eq!(error_fields(&p), ["slot_id"]);
    let p = assert_problem(&send(json!([1, 2])).await, 400, "invalid-request");
    assert_eq!(error_fields(&p), ["body"]);

    let malformed = book::handler(
        &state,
        event("book", t.id, None, &token(t.member), |e| {
            e["body"] = json!("{\"slot_id\": ")
        }),
    )
    .await;
    assert_eq!(
        error_fields(&assert_problem(&malformed, 400, "invalid-request")),
        ["body"]
    );
    let empty = book::handler(
        &state,
        event("book", t.id, None, &token(t.member), |e| {
            e["body"] = json!("")
        }),
    )
    .await;
    assert_problem(&empty, 400, "invalid-request");
    let form = book::handler(
        &state,
        event("book", t.id, None, &token(t.member), |e| {
            e["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        }),
    )
    .await;
    assert_problem(&form, 415, "unsupported-media-type");
    let huge = book::handler(&state, event("book", t.id, None, &token(t.member), |e| {
        set_body(e, &json!({"slot_id": "x".repeat(2 * 1024 * 1024), "user_name": "A", "user_email": "a@b.co"}));
    }))
    .await;
    assert_problem(&huge, 413, "payload-too-large");
    let get = book::handler(
        &state,
        event("book", t.id, None, &token(t.member), |e| {
            e["requestContext"]["http"]["method"] = json!("GET")
        }),
    )
    .await;
    assert_problem(&get, 405, "method-not-allowed");

    let n: i64 = db
        .admin()
        .await
        .query_one("SELECT count(*) FROM bookings", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_service_token_without_a_subject_cannot_book() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    let service = token_with(json!({"role": "service_role"}));
    let resp = book::handler(&state, event("book", t.id, None, &service, |_| {})).await;
    assert_problem(&resp, 403, "forbidden");
}

#[tokio::test]
async fn an_unknown_tenant_id_format_is_404() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(book::FUNCTION).await;
    let resp = book::handler(
        &state,
        event("book", t.id, None, &token(t.member), |e| {
            e["pathParameters"]["tenantId"] = json!("clinic-1")
        }),
    )
    .await;
    assert_problem(&resp, 404, "not-found");
}
