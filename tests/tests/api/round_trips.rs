//! One network round trip per invocation: counted on the wire by a proxy
//! between the function and PgBouncer.

use std::time::{Duration, Instant};

use integration_tests::proxy::RoundTripProxy;
use integration_tests::{TestDb, body_json, event, pooler_addr, set_body, status, token};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn book_and_cancel_each_take_one_round_trip() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let delay = Duration::from_millis(20);
    let proxy = RoundTripProxy::start(pooler_addr(), delay).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let book_state = db.state_with_url(book::FUNCTION, url.clone()).await;
    let cancel_state = db.state_with_url(cancel::FUNCTION, url).await;

    proxy.reset();
    let started = Instant::now();
    let req = event("book", t.id, None, &token(t.member), |e| {
        set_body(
            e,
            &json!({"slot_id": "rt", "user_name": "Ada", "user_email": "ada@example.com"}),
        )
    });
    let resp = book::handler(&book_state, req).await;
    let book_elapsed = started.elapsed();
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(proxy.round_trips(), 1, "book");
    let id = Uuid::parse_str(body_json(&resp)["id"].as_str().expect("id")).expect("uuid");

    proxy.reset();
    let started = Instant::now();
    let resp = cancel::handler(
        &cancel_state,
        event("cancel", t.id, Some(id), &token(t.member), |_| {}),
    )
    .await;
    let cancel_elapsed = started.elapsed();
    assert_eq!(status(&resp), 200);
    assert_eq!(proxy.round_trips(), 1, "cancel");

    // A failing request (non-member) is one round trip too, and rolls back.
    proxy.reset();
    let resp = book::handler(
        &book_state,
        event("book", t.id, None, &token(Uuid::new_v4()), |_| {}),
    )
    .await;
    assert_eq!(status(&resp), 403);
    assert_eq!(proxy.round_trips(), 1, "refused book");

    eprintln!(
        "round trips: book 1, cancel 1; with {} ms added per round trip: book {:.1} ms, cancel {:.1} ms",
        delay.as_millis(),
        book_elapsed.as_secs_f64() * 1000.0,
        cancel_elapsed.as_secs_f64() * 1000.0
    );
}
