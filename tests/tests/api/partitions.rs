//! create-partitions: the scheduled job keeping monthly analytics_metrics partitions.

use std::time::Duration;

use create_partitions::{
    PartitionError, Report, Retention, RetentionMode, Settings, ensure_partitions,
};
use integration_tests::{TestDb, event_text};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339")
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter()
        .map(|m| {
            if *m == "default" {
                "analytics_metrics_default".to_owned()
            } else {
                format!("analytics_metrics_{m}")
            }
        })
        .collect()
}

/// `analytics_metrics_YYYY_MM` for `months` consecutive months from (year, month).
fn month_names(year: i32, month: u8, months: u8) -> Vec<String> {
    (0..months)
        .map(|i| {
            let m = u32::from(month) - 1 + u32::from(i);
            format!(
                "analytics_metrics_{:04}_{:02}",
                year + (m / 12) as i32,
                m % 12 + 1
            )
        })
        .collect()
}

/// The partitions of analytics_metrics and their bounds, by name.
async fn partitions(db: &TestDb) -> Vec<(String, String)> {
    db.admin()
        .await
        .query(
            "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'public.analytics_metrics'::regclass ORDER BY 1",
            &[],
        )
        .await
        .expect("catalog")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn bound_of(db: &TestDb, name: &str) -> Option<String> {
    partitions(db)
        .await
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| b)
}

/// Monthly partitions still attached whose month is before `cutoff` (YYYY_MM).
async fn old_months(db: &TestDb, cutoff: &str) -> Vec<String> {
    let cutoff = format!("analytics_metrics_{cutoff}");
    partitions(db)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n != "analytics_metrics_default" && *n < cutoff)
        .collect()
}

#[tokio::test]
async fn the_scheduled_event_ensures_this_month_and_three_ahead_then_reports_them_existing() {
    let db = TestDb::new().await;
    let state = db.state(create_partitions::FUNCTION).await;
    let scheduled: Value = serde_json::from_str(&event_text("create-partitions")).expect("JSON");
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
    let now = OffsetDateTime::now_utc();
    let first = create_partitions::handler(&state.db, &Settings::default(), scheduled.clone())
        .await
        .expect("first run");
    let mut expected = vec!["analytics_metrics_default".to_owned()];
    expected.extend(month_names(now.year(), u8::from(now.month()), 4));
    // The template was migrated some time ago, so some may exist already:
    // together they are exactly the expected set, without overlap.
    let mut all = [first.created.clone(), first.existing.clone()].concat();
    all.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(all, want, "{first:?}");
    assert_eq!(first.moved_rows, 0);
    assert_eq!(first.detached, None, "retention is off by default");
    let second = create_partitions::handler(&state.db, &Settings::default(), scheduled)
        .await
        .expect("second run");
    assert!(second.created.is_empty(), "{second:?}");
    assert_eq!(second.existing, expected);
}

#[tokio::test]
async fn a_first_run_creates_and_a_second_reports_existing() {
    let db = TestDb::new().await;
    let state = db.state(create_partitions::FUNCTION).await;
    let now = Some(at("2031-03-10T08:00:00Z"));
    let first = ensure_partitions(&state.db, 3, None, now)
        .await
        .expect("first run");
    assert_eq!(
        first,
        Report {
            created: names(&["2031_03", "2031_04", "2031_05", "2031_06"]),
            existing: names(&["default"]),
            moved_rows: 0,
            detached: None,
            dropped: None,
            purged_idempotency_keys: 0,
        }
    );
    assert_eq!(
        bound_of(&db, "analytics_metrics_2031_04").await.as_deref(),
        Some("FOR VALUES FROM ('2031-04-01 00:00:00+00') TO ('2031-05-01 00:00:00+00')")
    );
    let second = ensure_partitions(&state.db, 3, None, now)
        .await
        .expect("second run");
    assert!(second.created.is_empty());
    assert_eq!(
        second.existing,
        names(&["default", "2031_03", "2031_04", "2031_05", "2031_06"])
    );
    // months_ahead 0: the current month only.
    let only = ensure_partitions(&state.db, 0, None, Some(at("2031-07-01T00:00:00Z")))
        .await
        .expect("month 0");
    assert_eq!(only.created, names(&["2031_07"]));
}

#[tokio::test]
async fn december_rolls_over_into_january_and_months_are_taken_in_utc() {
    let db = TestDb::new().await;
    let state = db.state(create_partitions::FUNCTION).await;
    let r = ensure_partitions(&state.db, 2, None, Some(at("2030-12-15T12:00:00Z")))
        .await
        .expect("run");
    assert_eq!(r.created, names(&["2030_12", "2031_01", "2031_02"]));
    assert_eq!(
        bound_of(&db, "analytics_metrics_2030_12").await.as_deref(),
        Some("FOR VALUES FROM ('2030-12-01 00:00:00+00') TO ('2031-01-01 00:00:00+00')")
    );
    assert_eq!(
        bound_of(&db, "analytics_metrics_2031_01").await.as_deref(),
        Some("FOR VALUES FROM ('2031-01-01 00:00:00+00') TO ('2031-02-01 00:00:00+00')")
    );
    // 22:00 on New Year's Eve in New York is already January in UTC.
    let r = ensure_partitions(&state.db, 0, None, Some(at("2032-12-31T22:00:00-05:00")))
        .await
        .expect("run");
    assert_eq!(r.created, names(&["2033_01"]));
}

#[tokio::test]
async fn rows_in_the_default_partition_move_into_their_new_month() {
    let db = TestDb::new().await;
    let tenant = db.tenant().await;
    let admin = db.admin().await;
    let indexes = "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   JOIN pg_index x ON x.indexrelid = c.oid
                   WHERE x.indrelid = 'public.analytics_metrics_default'::regclass";
    let attached_indexes: i64 = admin.query_one(indexes, &[]).await.expect("idx").get(0);
    // No partition exists yet for 2031: these land in the default partition.
    let rows = [
        ("2031-04-01T00:00:00Z", "1.10"),
        ("2031-04-15T10:00:00Z", "2"),
        ("2031-04-30T23:59:59.999999Z", "3"),
        ("2031-05-01T00:00:00Z", "4"),
        ("2040-01-01T00:00:00Z", "5"),
    ];
    for (ts, value) in rows {
        admin
            .execute(
                "INSERT INTO analytics_metrics (tenant_id, name, value, created_at) VALUES ($1, 'm', $2::text::numeric, $3)",
                &[&tenant.id, &value, &at(ts)],
            )
            .await
            .expect("insert");
    }
    let state = db.state(create_partitions::FUNCTION).await;
    let r = ensure_partitions(&state.db, 1, None, Some(at("2031-04-02T00:00:00Z")))
        .await
        .expect("run");
    assert_eq!(r.created, names(&["2031_04", "2031_05"]));
    assert_eq!(r.moved_rows, 4);

    let placed: Vec<(String, String)> = admin
        .query(
            "SELECT tableoid::regclass::text, value::text FROM analytics_metrics WHERE tenant_id = $1 ORDER BY created_at",
            &[&tenant.id],
        )
        .await
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want: Vec<(String, String)> = [
        ("analytics_metrics_2031_04", "1.10"),
        ("analytics_metrics_2031_04", "2"),
        ("analytics_metrics_2031_04", "3"),
        ("analytics_metrics_2031_05", "4"),
        ("analytics_metrics_default", "5"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(placed, want, "moved, exactly, nothing lost or duplicated");

    // The default partition is attached again, with its indexes, and still
    // takes rows for months without a partition.
    assert!(bound_of(&db, "analytics_metrics_default").await.as_deref() == Some("DEFAULT"));
    let after: i64 = admin.query_one(indexes, &[]).await.expect("idx").get(0);
    assert_eq!(after, attached_indexes);
    admin
        .execute(
            "INSERT INTO analytics_metrics (tenant_id, name, value, created_at) VALUES ($1, 'm', 6, '2045-01-01Z')",
            &[&tenant.id],
        )
        .await
        .expect("insert into an uncovered month");
    let again = ensure_partitions(&state.db, 1, None, Some(at("2031-04-02T00:00:00Z")))
        .await
        .expect("rerun");
    assert_eq!(again.moved_rows, 0);
}

#[tokio::test]
async fn two_overlapping_runs_are_serialised_and_both_succeed() {
    let db = TestDb::new().await;
    let a = db.state(create_partitions::FUNCTION).await;
    let b = db.state(create_partitions::FUNCTION).await;
    let now = Some(at("2034-06-20T00:00:00Z"));
    // Hold the runs' lock so both are surely waiting at the same time.
    let holder = db.admin().await;
    holder
        .batch_execute(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('app.ensure_metric_partitions'))",
        )
        .await
        .expect("lock");
    let release = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let created_meanwhile = bound_of(&db, "analytics_metrics_2034_06").await;
        holder.batch_execute("COMMIT").await.expect("unlock");
        created_meanwhile
    };
    let (ra, rb, meanwhile) = tokio::join!(
        ensure_partitions(&a.db, 3, None, now),
        ensure_partitions(&b.db, 3, None, now),
        release
    );
    assert_eq!(meanwhile, None, "both runs waited for the lock");
    let (ra, rb) = (ra.expect("run a"), rb.expect("run b"));
    let expected = names(&["2034_06", "2034_07", "2034_08", "2034_09"]);
    let (winner, loser) = if ra.created.is_empty() {
        (rb, ra)
    } else {
        (ra, rb)
    };
    assert_eq!(winner.created, expected);
    assert!(loser.created.is_empty(), "{loser:?}");
    assert_eq!(loser.existing, [names(&["default"]), expected].concat());
}

#[tokio::test]
async fn months_ahead_out_of_range_is_an_error_and_changes_nothing() {
    let db = TestDb::new().await;
    let state = db.state(create_partitions::FUNCTION).await;
    let before = partitions(&db).await;
    for input in [
        json!({"months_ahead": 25}),
        json!({"months_ahead": -1}),
        json!({"months_ahead": "3"}),
        json!({"months": 3}),
    ] {
        let r = create_partitions::handler(&state.db, &Settings::default(), input.clone()).await;
        assert!(matches!(r, Err(PartitionError::Input(_))), "{input}: {r:?}");
    }
    assert!(matches!(
        ensure_partitions(&state.db, 25, None, None).await,
        Err(PartitionError::Input(_))
    ));
    // The SQL function refuses too, whoever calls it with service rights.
    let admin = db.admin().await;
    let err = admin
        .batch_execute(
            "BEGIN; SET LOCAL ROLE service_role; SELECT app.ensure_metric_partitions(25); COMMIT",
        )
        .await
        .expect_err("refused");
    assert_eq!(err.code().map(|c| c.code()), Some("22023"));
    admin.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(partitions(&db).await, before);
    // A direct invoke in range works.
    let r = create_partitions::handler(&state.db, &Settings::default(), json!({"months_ahead": 0}))
        .await
        .expect("in range");
    assert_eq!(r.created.len() + r.existing.len(), 2);
}

#[tokio::test]
async fn only_service_role_may_run_the_partition_function() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in ["authenticated", "anon"] {
        let err = admin
            .batch_execute(&format!(
                "BEGIN; SET LOCAL ROLE {role}; SELECT app.ensure_metric_partitions(1, '2036-01-01Z'); COMMIT"
            ))
            .await
            .expect_err("refused");
        assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{role}");
        admin.batch_execute("ROLLBACK").await.expect("rollback");
    }
    assert_eq!(bound_of(&db, "analytics_metrics_2036_01").await, None);
}

#[tokio::test]
async fn retention_retires_old_months_only_when_configured() {
    let db = TestDb::new().await;
    let state = db.state(create_partitions::FUNCTION).await;
    ensure_partitions(&state.db, 5, None, Some(at("2037-01-15T00:00:00Z")))
        .await
        .expect("setup");
    // Keep the current month (2037-06) and the 2 before it.
    let expected = old_months(&db, "2037_04").await;
    assert!(expected.ends_with(&names(&["2037_01", "2037_02", "2037_03"])));
    let detach = Retention {
        months: 2,
        mode: RetentionMode::Detach,
    };
    let r = ensure_partitions(&state.db, 0, Some(detach), Some(at("2037-06-10T00:00:00Z")))
        .await
        .expect("detach");
    assert_eq!(r.detached.as_ref(), Some(&expected));
    assert_eq!(r.dropped, None);
    assert!(old_months(&db, "2037_04").await.is_empty());
    let admin = db.admin().await;
    let kept: Option<String> = admin
        .query_one(
            "SELECT to_regclass('public.analytics_metrics_2037_01')::text",
            &[],
        )
        .await
        .expect("regclass")
        .get(0);
    assert!(kept.is_some(), "detach keeps the table");

    let drop = Retention {
        months: 1,
        mode: RetentionMode::Drop,
    };
    let r = ensure_partitions(&state.db, 0, Some(drop), Some(at("2037-06-10T00:00:00Z")))
        .await
        .expect("drop");
    assert_eq!(r.dropped, Some(names(&["2037_04"])));
    let gone: Option<String> = admin
        .query_one(
            "SELECT to_regclass('public.analytics_metrics_2037_04')::text",
            &[],
        )
        .await
        .expect("regclass")
        .get(0);
    assert_eq!(gone, None, "drop removes the table");
    assert!(bound_of(&db, "analytics_metrics_2037_05").await.is_some());
}

#[tokio::test]
async fn the_daily_run_also_clears_expired_checkout_idempotency_keys() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    for (key, expires) in [
        ("old-key", "now() - interval '1 hour'"),
        ("live-key", "now() + interval '1 hour'"),
    ] {
        admin
            .execute(
                &format!(
                    "INSERT INTO orders (order_id, tenant_id, user_id, items, total, status,
                                         idempotency_key, request_hash, idempotency_expires_at)
                     VALUES ('ord_' || $1, $2, $3, '[]', 1.00, 'pending', $1, 'h', {expires})"
                ),
                &[&key, &t.id, &t.member],
            )
            .await
            .expect("order");
    }
    let state = db.state(create_partitions::FUNCTION).await;
    let report = ensure_partitions(&state.db, 0, None, None)
        .await
        .expect("run");
    assert_eq!(report.purged_idempotency_keys, 1);
    let keys: Vec<Option<String>> = admin
        .query("SELECT idempotency_key FROM orders ORDER BY order_id", &[])
        .await
        .expect("orders")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        keys,
        [Some("live-key".to_owned()), None],
        "only the expired key is cleared; both orders stay"
    );
}
