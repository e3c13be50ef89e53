//! The isolation matrix: every HTTP route × every kind of caller, with the
//! exact status written out per cell, then a look in the database that
//! nothing crossed from one tenant to the other.

use std::collections::BTreeMap;

use integration_tests::{
    Tenant, TestDb, assert_problem, body_json, connect, status, token, token_with,
};
use serde_json::json;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::route_kit::{ROUTES, Route, States, Target, json_request, seed_catalog};

/// Who calls. Tokens are for tenant A's users unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    Malformed,
    BadSignature,
    Expired,
    WrongAud,
    AlgNone,
    /// A valid token of a user who belongs to tenant B only.
    NonMember,
    /// A member acting on their own things.
    Member,
    /// A member cancelling another member's booking.
    MemberOnOthersBooking,
    /// A member on the admin-only route.
    MemberOnAdminRoute,
    Admin,
    /// `role: service_role`, no `sub` (like Supabase's service key).
    ServiceRole,
}

const WHO: [Who; 12] = [
    Who::NoToken,
    Who::Malformed,
    Who::BadSignature,
    Who::Expired,
    Who::WrongAud,
    Who::AlgNone,
    Who::NonMember,
    Who::Member,
    Who::MemberOnOthersBooking,
    Who::MemberOnAdminRoute,
    Who::Admin,
    Who::ServiceRole,
];

/// Not applicable: the cell is not sent.
const NA: u16 = 0;

/// The expected status of every cell, in the order of [`WHO`].
/// A service token has no user, so it cannot book, score or buy (403);
/// it may cancel, record metrics, maintain the catalog and scan for PHI.
/// Cancelling a booking one may not touch is 404, like an unknown one.
#[rustfmt::skip]
const EXPECTED: [(Route, [u16; 12]); 7] = [
    //                      none  malf  sig   exp   aud   alg0  nonmb member others adm-rt admin service
    (Route::Book,          [401,  401,  401,  401,  401,  401,  403,  201,   NA,    NA,    201,  403]),
    (Route::Cancel,        [401,  401,  401,  401,  401,  401,  403,  200,   404,   NA,    200,  200]),
    (Route::Score,         [401,  401,  401,  401,  401,  401,  403,  201,   NA,    NA,    201,  403]),
    (Route::RecordMetric,  [401,  401,  401,  401,  401,  401,  403,  201,   NA,    NA,    201,  201]),
    (Route::UpsertProduct, [401,  401,  401,  401,  401,  401,  403,  NA,    NA,    403,   201,  201]),
    (Route::Checkout,      [401,  401,  401,  401,  401,  401,  403,  201,   NA,    NA,    201,  403]),
    (Route::LogPhi,        [401,  401,  401,  401,  401,  401,  403,  200,   NA,    NA,    200,  200]),
];

/// The token a caller sends (`None`: no Authorization header).
fn token_for(who: Who, a: &Tenant, b: &Tenant) -> Option<String> {
    let now = shared::auth::now_secs();
    let member = a.member.to_string();
    Some(match who {
        Who::NoToken => return None,
        Who::Malformed => "not-a-jwt".to_owned(),
        Who::BadSignature => shared::auth::mint_hs256(
            "another-secret-another-secret-another",
            &json!({"sub": member, "aud": "authenticated", "role": "authenticated", "exp": now + 600}),
        )
        .expect("mint"),
        Who::Expired => token_with(json!({"sub": member, "iat": now - 7200, "exp": now - 3600})),
        Who::WrongAud => token_with(json!({"sub": member, "aud": "another-app"})),
        Who::AlgNone => {
            let valid = token(a.member);
            let payload = valid.split('.').nth(1).expect("payload");
            // {"alg":"none","typ":"JWT"}
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")
        }
        Who::NonMember => token(b.member),
        Who::Member | Who::MemberOnOthersBooking | Who::MemberOnAdminRoute => token(a.member),
        Who::Admin => token(a.admin),
        Who::ServiceRole => token_with(json!({"role": "service_role"})),
    })
}

/// A booking straight into the table (fixture).
async fn fixture_booking(admin: &Client, tenant: Uuid, user: Uuid, slot: &str) -> Uuid {
    admin
        .query_one(
            "INSERT INTO bookings (tenant_id, slot_id, user_id, user_name, user_email, status) \
             VALUES ($1, $2, $3, 'Ada Patient', 'ada@example.com', 'confirmed') RETURNING id",
            &[&tenant, &slot, &user],
        )
        .await
        .expect("booking")
        .get(0)
}

/// Every table with a `tenant_id` column (partitions excluded).
async fn tenant_tables(admin: &Client) -> Vec<(String, bool)> {
    admin
        .query(
            "SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute u WHERE u.attrelid = c.oid \
                    AND u.attname = 'user_id' AND NOT u.attisdropped) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
             ORDER BY 1",
            &[],
        )
        .await
        .expect("tables")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Count and digest of every row (all columns) `tenant` owns, per table.
async fn fingerprint(admin: &Client, tenant: Uuid) -> BTreeMap<String, (i64, String)> {
    let mut out = BTreeMap::new();
    for (table, _) in tenant_tables(admin).await {
        let row = admin
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') \
                     FROM public.{table} t WHERE tenant_id = $1"
                ),
                &[&tenant],
            )
            .await
            .expect("fingerprint");
        out.insert(table, (row.get(0), row.get(1)));
    }
    let tenant_row: String = admin
        .query_one(
            "SELECT t::text FROM public.tenants t WHERE id = $1",
            &[&tenant],
        )
        .await
        .expect("tenant row")
        .get(0);
    out.insert("tenants".into(), (1, tenant_row));
    out
}

async fn count(admin: &Client, sql: &str, tenant: Uuid) -> i64 {
    admin
        .query_one(sql, &[&tenant])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_exactly_and_nothing_crosses_tenants() {
    let db = TestDb::new().await;
    let (a, b) = (db.tenant().await, db.tenant().await);
    let admin = connect(&db.direct_url()).await;
    seed_catalog(&db, a.id).await;
    seed_catalog(&db, b.id).await;
    let states = States::new(&db).await;

    // Tenant B gets one row of every kind, written through the handlers.
    let b_admin = token(b.admin);
    let b_member = token(b.member);
    for route in ROUTES {
        let (tok, target) = match route {
            Route::Cancel => {
                let booking = fixture_booking(&admin, b.id, b.member, "b-cancelled").await;
                (
                    &b_member,
                    Target {
                        booking: Some(booking),
                        ..Target::default()
                    },
                )
            }
            Route::UpsertProduct => (
                &b_admin,
                Target {
                    sku: Some("B-ONLY".into()),
                    ..Target::default()
                },
            ),
            Route::Checkout => (
                &b_member,
                Target {
                    key: Some("b-order".into()),
                    ..Target::default()
                },
            ),
            _ => (&b_member, Target::default()),
        };
        let body = route.valid_body(0);
        let resp = states
            .call(
                route,
                json_request(route, b.id, Some(tok), &target, body.as_ref()),
            )
            .await;
        assert!(
            (200..300).contains(&status(&resp)),
            "seeding tenant B via {}: {}",
            route.name(),
            body_json(&resp)
        );
    }
    let b_before = fingerprint(&admin, b.id).await;

    // Fixture bookings for the cancel row: the member's own, and one of the
    // other member per remaining cell.
    let mut cancel_targets = BTreeMap::new();
    for (i, who) in WHO.iter().enumerate() {
        let owner = if *who == Who::Member {
            a.member
        } else {
            a.other_member
        };
        let id = fixture_booking(&admin, a.id, owner, &format!("cancel-cell-{i}")).await;
        cancel_targets.insert(i, id);
    }

    let mut sent = 0;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut written: BTreeMap<&str, i64> = BTreeMap::new();
    let mut cancelled = Vec::new();
    for (route, row) in EXPECTED {
        for (i, (who, expected)) in WHO.iter().zip(row).enumerate() {
            if expected == NA {
                continue;
            }
            let tok = token_for(*who, &a, &b);
            let target = match route {
                Route::Cancel => Target {
                    booking: cancel_targets.get(&i).copied(),
                    ..Target::default()
                },
                Route::UpsertProduct => Target {
                    sku: Some(format!("CELL-{i}")),
                    ..Target::default()
                },
                Route::Checkout => Target {
                    key: Some(format!("cell-{i}")),
                    ..Target::default()
                },
                _ => Target::default(),
            };
            let body = route.valid_body(i);
            let resp = states
                .call(
                    route,
                    json_request(route, a.id, tok.as_deref(), &target, body.as_ref()),
                )
                .await;
            sent += 1;
            let got = status(&resp);
            *by_status.entry(got).or_default() += 1;
            if got != expected {
                mismatches.push(format!(
                    "{} × {who:?}: expected {expected}, got {got}: {}",
                    route.name(),
                    body_json(&resp)
                ));
                continue;
            }
            match got {
                200 | 201 => {
                    let v = body_json(&resp);
                    if let Some(t) = v.get("tenant_id") {
                        assert_eq!(t, &json!(a.id.to_string()), "{route:?} × {who:?}: {v}");
                    }
                    let caller = match who {
                        Who::Admin => Some(a.admin),
                        Who::Member => Some(a.member),
                        _ => None,
                    };
                    if let (Some(u), Some(caller), false) =
                        (v.get("user_id"), caller, route == Route::Cancel)
                    {
                        assert_eq!(u, &json!(caller.to_string()), "{route:?} × {who:?}: {v}");
                    }
                    match route {
                        Route::Book => *written.entry("bookings").or_default() += 1,
                        Route::Score => *written.entry("conversation_scores").or_default() += 1,
                        Route::Checkout => *written.entry("orders").or_default() += 1,
                        Route::UpsertProduct => *written.entry("products").or_default() += 1,
                        Route::RecordMetric => {
                            *written.entry("analytics_metrics").or_default() +=
                                v["recorded"].as_i64().expect("recorded");
                        }
                        Route::LogPhi => {
                            *written.entry("phi_detection_events").or_default() +=
                                i64::try_from(v["findings"].as_array().expect("findings").len())
                                    .expect("len");
                        }
                        Route::Cancel => {
                            assert_eq!(v["status"], "cancelled");
                            cancelled.push(cancel_targets[&i]);
                        }
                    }
                }
                401 => {
                    assert_problem(&resp, 401, "unauthorized");
                    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
                }
                403 => {
                    assert_problem(&resp, 403, "forbidden");
                }
                404 => {
                    assert_problem(&resp, 404, "not-found");
                }
                other => panic!("no such cell status {other}"),
            }
        }
    }
    eprintln!(
        "isolation matrix: {sent} requests, statuses {by_status:?}, {} mismatches",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "cells that differ:\n{}",
        mismatches.join("\n")
    );

    // Nothing crossed: B is exactly as it was, byte for byte.
    assert_eq!(
        fingerprint(&admin, b.id).await,
        b_before,
        "tenant B's rows changed"
    );
    // Only the two tenants own rows, and A holds exactly what its 2xx answers wrote.
    let tables = tenant_tables(&admin).await;
    let mut verified = 0;
    for (table, has_user) in &tables {
        let strays = count(
            &admin,
            &format!(
                "SELECT count(*) FROM public.{table} WHERE tenant_id <> $1 AND tenant_id <> '{}'",
                b.id
            ),
            a.id,
        )
        .await;
        assert_eq!(strays, 0, "{table}: rows of neither tenant");
        if *has_user {
            // B's member got 403 everywhere in A: none of A's rows is theirs,
            // and A's users own nothing in B.
            let theirs = count(
                &admin,
                &format!(
                    "SELECT count(*) FROM public.{table} WHERE tenant_id = $1 AND user_id IN ('{}', '{}')",
                    b.member, b.admin
                ),
                a.id,
            )
            .await;
            assert_eq!(theirs, 0, "{table}: tenant B's users own rows in A");
            let ours_in_b = count(
                &admin,
                &format!(
                    "SELECT count(*) FROM public.{table} WHERE tenant_id = $1 AND user_id IN ('{}', '{}', '{}')",
                    a.member, a.admin, a.other_member
                ),
                b.id,
            )
            .await;
            assert_eq!(ours_in_b, 0, "{table}: tenant A's users own rows in B");
        }
        let fixtures = match table.as_str() {
            "bookings" => i64::try_from(WHO.len()).expect("len"),
            "products" => 1,
            _ => 0,
        };
        let in_a = count(
            &admin,
            &format!("SELECT count(*) FROM public.{table} WHERE tenant_id = $1"),
            a.id,
        )
        .await;
        let expected = fixtures + written.get(table.as_str()).copied().unwrap_or(0);
        if table != "tenant_users" {
            assert_eq!(in_a, expected, "{table}: rows in tenant A");
        }
        verified += in_a;
    }
    // Exactly the bookings whose cell answered 200 are cancelled.
    let mut now_cancelled: Vec<Uuid> = admin
        .query(
            "SELECT id FROM bookings WHERE tenant_id = $1 AND status = 'cancelled'",
            &[&a.id],
        )
        .await
        .expect("cancelled")
        .iter()
        .map(|r| r.get(0))
        .collect();
    now_cancelled.sort_unstable();
    cancelled.sort_unstable();
    assert_eq!(now_cancelled, cancelled, "cancelled bookings");
    eprintln!(
        "isolation matrix: rows verified in tenant A {verified}, tenant B unchanged over {} tables",
        b_before.len()
    );
}
