//! Races at scale, each request from its own execution environment (its
//! own AppState, so its own connection to PgBouncer): 500 bookings over 50
//! slots, and 100 identical checkouts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::future::join_all;
use integration_tests::{TestDb, body_json, status, token};
use serde_json::{Value, json};
use shared::AppState;
use tokio_postgres::Client;

use crate::route_kit::{KIT_SKU, Route, Target, is_problem, json_request, seed_catalog};

/// Opens `n` execution environments for `function`, a few at a time so
/// that PgBouncer's logins do not pile up behind one another.
async fn environments(db: &TestDb, function: &'static str, n: usize) -> Vec<AppState> {
    let mut states = Vec::with_capacity(n);
    while states.len() < n {
        let batch = (n - states.len()).min(50);
        states.extend(join_all((0..batch).map(|_| db.state(function))).await);
    }
    states
}

/// Holds `table` so that every request queues up behind it, then lets them
/// all go at once after `after`: the requests really overlap.
async fn gate(admin: &Client, table: &str) {
    admin
        .batch_execute(&format!("BEGIN; LOCK TABLE {table} IN SHARE MODE"))
        .await
        .expect("gate");
}

async fn open_gate(admin: &Client, after: Duration) -> Instant {
    tokio::time::sleep(after).await;
    admin.batch_execute("COMMIT").await.expect("open gate");
    Instant::now()
}

fn tally(statuses: impl IntoIterator<Item = u16>) -> BTreeMap<u16, usize> {
    let mut m = BTreeMap::new();
    for s in statuses {
        *m.entry(s).or_insert(0) += 1;
    }
    m
}

fn class(t: &BTreeMap<u16, usize>, lo: u16) -> usize {
    t.range(lo..lo + 100).map(|(_, n)| n).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_bookings_over_fifty_slots_confirm_exactly_fifty() {
    const REQUESTS: usize = 500;
    const SLOTS: usize = 50;
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let members = [t.member, t.other_member, t.admin];
    let started = Instant::now();
    let states = environments(&db, book::FUNCTION, REQUESTS).await;
    let init = started.elapsed();
    let admin = db.admin().await;
    gate(&admin, "bookings").await;
    let requests = states.iter().enumerate().map(|(i, state)| {
        let user = members[i % members.len()];
        let body = json!({
            "slot_id": format!("2026-12-02T09:00/room-{}", i % SLOTS),
            "user_name": "Ada Patient",
            "user_email": "ada@example.com",
        });
        let req = json_request(
            Route::Book,
            t.id,
            Some(&token(user)),
            &Target::default(),
            Some(&body),
        );
        book::handler(state, req)
    });
    let (responses, opened) = tokio::join!(
        join_all(requests),
        open_gate(&admin, Duration::from_millis(300))
    );
    let elapsed = opened.elapsed();
    let statuses = tally(responses.iter().map(status));
    for r in responses.iter().filter(|r| status(r) != 201) {
        assert!(is_problem(r), "{}", body_json(r));
        if status(r) == 409 {
            assert_eq!(body_json(r)["type"], "slot-unavailable");
        }
    }
    let confirmed: BTreeSet<String> = responses
        .iter()
        .filter(|r| status(r) == 201)
        .map(|r| {
            let b = body_json(r);
            assert_eq!(b["status"], "confirmed");
            b["slot_id"].as_str().expect("slot").to_owned()
        })
        .collect();
    let row = admin
        .query_one(
            "SELECT count(*), count(DISTINCT slot_id), \
                    count(*) FILTER (WHERE status = 'confirmed') \
             FROM bookings WHERE tenant_id = $1",
            &[&t.id],
        )
        .await
        .expect("count");
    let (rows, slots, active): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    eprintln!(
        "race book: {REQUESTS} requests sent over {SLOTS} slots from {REQUESTS} environments \
         (opened in {:.0} ms): 2xx {}, 4xx {}, 5xx {}, statuses {statuses:?}; \
         rows verified {rows} ({slots} distinct slots, {active} confirmed); \
         {:.0} ms from the gate opening",
        init.as_secs_f64() * 1000.0,
        class(&statuses, 200),
        class(&statuses, 400),
        class(&statuses, 500),
        elapsed.as_secs_f64() * 1000.0
    );
    assert_eq!(statuses.get(&201), Some(&SLOTS), "{statuses:?}");
    assert_eq!(
        statuses.get(&409),
        Some(&(REQUESTS - SLOTS)),
        "{statuses:?}"
    );
    assert_eq!(class(&statuses, 500), 0);
    assert_eq!(confirmed.len(), SLOTS, "one confirmed booking per slot");
    assert_eq!((rows, slots, active), (50, 50, 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_identical_checkouts_create_one_order_that_every_response_carries() {
    const REQUESTS: usize = 100;
    let db = TestDb::new().await;
    let t = db.tenant().await;
    seed_catalog(&db, t.id).await;
    let states = environments(&db, checkout::FUNCTION, REQUESTS).await;
    let admin = db.admin().await;
    let body = json!({"items": [{"sku": KIT_SKU, "quantity": 2}], "currency": "USD"});
    let target = Target {
        key: Some("one-click-100".into()),
        ..Target::default()
    };
    let tok = token(t.member);
    gate(&admin, "orders").await;
    let requests = states.iter().map(|state| {
        checkout::handler(
            state,
            json_request(Route::Checkout, t.id, Some(&tok), &target, Some(&body)),
        )
    });
    let (responses, opened) = tokio::join!(
        join_all(requests),
        open_gate(&admin, Duration::from_millis(300))
    );
    let elapsed = opened.elapsed();
    let statuses = tally(responses.iter().map(status));
    let bodies: Vec<Value> = responses.iter().map(body_json).collect();
    let replayed = responses
        .iter()
        .filter(|r| {
            r.headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true")
        })
        .count();
    let order_ids: BTreeSet<&str> = bodies
        .iter()
        .filter_map(|b| b["order_id"].as_str())
        .collect();
    let row = admin
        .query_one(
            "SELECT count(*), min(order_id), min(total::text) FROM orders WHERE tenant_id = $1",
            &[&t.id],
        )
        .await
        .expect("orders");
    let (orders, stored_id, total): (i64, Option<String>, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    eprintln!(
        "race checkout: {REQUESTS} identical requests sent from {REQUESTS} environments: \
         2xx {}, 4xx {}, 5xx {}, statuses {statuses:?}, {replayed} replayed; \
         rows verified {orders} order(s), {} distinct order id(s) in the responses; \
         {:.0} ms from the gate opening",
        class(&statuses, 200),
        class(&statuses, 400),
        class(&statuses, 500),
        order_ids.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    assert_eq!(statuses.get(&201), Some(&REQUESTS), "{statuses:?}");
    assert_eq!(orders, 1, "one order");
    assert_eq!(order_ids.len(), 1, "every response carries the same order");
    assert_eq!(
        order_ids.first().copied(),
        stored_id.as_deref(),
        "and it is the stored one"
    );
    assert_eq!(
        replayed,
        REQUESTS - 1,
        "one created it, the rest replayed it"
    );
    assert!(bodies.iter().all(|b| *b == bodies[0]), "identical bodies");
    assert_eq!(bodies[0]["total"], "10.00");
    assert_eq!(total.as_deref(), Some("10.00"));
}
