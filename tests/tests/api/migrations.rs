use integration_tests::TestDb;

/// The versions of the `.up.sql` files in `migrations/`, in order.
fn all_versions() -> Vec<i64> {
    let mut v: Vec<i64> = std::fs::read_dir(migrate::default_dir())
        .expect("migrations dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".up.sql"))
        .filter_map(|n| n.split('_').next()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

async fn public_objects(db: &TestDb) -> Vec<String> {
    let client = db.admin().await;
    let rows = client
        .query(
            "SELECT kind || ' ' || name FROM (
               SELECT 'table' AS kind, c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'
               UNION ALL SELECT 'index', indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '_sqlx%'
               UNION ALL SELECT 'policy', tablename || '.' || policyname FROM pg_policies WHERE schemaname = 'public'
               UNION ALL SELECT 'function', n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname IN ('app', 'auth')
               UNION ALL SELECT 'rls', relname::text FROM pg_class WHERE relrowsecurity AND relforcerowsecurity
             ) o ORDER BY 1",
            &[],
        )
        .await
        .expect("catalog");
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn migrations_apply_from_empty_and_rerun_as_a_no_op() {
    let db = TestDb::empty().await;
    let dir = migrate::default_dir();
    let applied = migrate::up(&db.direct_url(), &dir)
        .await
        .expect("first run");
    assert_eq!(applied, all_versions());
    let again = migrate::up(&db.direct_url(), &dir)
        .await
        .expect("second run");
    assert!(again.is_empty(), "second run applied {again:?}");
    let status = migrate::status(&db.direct_url(), &dir)
        .await
        .expect("status");
    assert!(status.iter().all(|l| l.ends_with(" applied")), "{status:?}");
    let objects = public_objects(&db).await;
    for expected in [
        "table bookings",
        "table analytics_metrics",
        "table analytics_metrics_default",
        "table orders",
        "table phi_detection_events",
        "table products",
        "table tenant_users",
        "index bookings_active_slot_key",
        "index orders_idempotency_key",
        "function app.begin_request",
        "function auth.uid",
        "rls bookings",
        "rls analytics_metrics",
    ] {
        assert!(objects.iter().any(|o| o == expected), "missing {expected}");
    }
}

#[tokio::test]
async fn every_table_has_rls_enabled_and_forced() {
    let db = TestDb::new().await;
    let client = db.admin().await;
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'
               AND NOT c.relispartition AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
            &[],
        )
        .await
        .expect("catalog");
    let unprotected: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(
        unprotected.is_empty(),
        "tables without forced RLS: {unprotected:?}"
    );
}

#[tokio::test]
async fn down_then_up_restores_the_same_schema() {
    let db = TestDb::empty().await;
    let dir = migrate::default_dir();
    migrate::up(&db.direct_url(), &dir).await.expect("up");
    let before = public_objects(&db).await;
    let reverted = migrate::down(&db.direct_url(), &dir, None)
        .await
        .expect("down");
    let mut newest_first = all_versions();
    newest_first.reverse();
    assert_eq!(reverted, newest_first);
    let empty = public_objects(&db).await;
    assert!(empty.is_empty(), "left behind after down: {empty:?}");
    migrate::up(&db.direct_url(), &dir).await.expect("up again");
    assert_eq!(public_objects(&db).await, before);
}

#[tokio::test]
async fn one_step_down_reverts_only_the_newest_migration() {
    let db = TestDb::empty().await;
    let dir = migrate::default_dir();
    migrate::up(&db.direct_url(), &dir).await.expect("up");
    let reverted = migrate::down(&db.direct_url(), &dir, Some(1))
        .await
        .expect("down one");
    let versions = all_versions();
    assert_eq!(reverted, versions[versions.len() - 1..]);
    let status = migrate::status(&db.direct_url(), &dir)
        .await
        .expect("status");
    let (last, rest) = status.split_last().expect("status lines");
    assert!(
        last.ends_with(" pending") && rest.iter().all(|l| l.ends_with(" applied")),
        "{status:?}"
    );
}

#[tokio::test]
async fn two_concurrent_runs_apply_each_migration_once() {
    let db = TestDb::empty().await;
    let dir = migrate::default_dir();
    let url = db.direct_url();
    let (a, b) = tokio::join!(migrate::up(&url, &dir), migrate::up(&url, &dir));
    let (a, b) = (a.expect("run a"), b.expect("run b"));
    let mut all = [a, b].concat();
    all.sort();
    assert_eq!(
        all,
        all_versions(),
        "each migration applied exactly once across both runs"
    );
}

#[tokio::test]
async fn an_applied_migration_that_was_edited_is_refused() {
    let db = TestDb::empty().await;
    let tmp = std::env::temp_dir().join(format!("migrations-{}", db.name));
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    for entry in std::fs::read_dir(migrate::default_dir()).expect("migrations dir") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, tmp.join(path.file_name().expect("name"))).expect("copy");
    }
    migrate::up(&db.direct_url(), &tmp).await.expect("up");
    let edited = tmp.join("0002_schema.up.sql");
    let mut sql = std::fs::read_to_string(&edited).expect("read");
    sql.push_str("\n-- edited after it was applied\n");
    std::fs::write(&edited, sql).expect("write");
    let result = migrate::up(&db.direct_url(), &tmp).await;
    let _ = std::fs::remove_dir_all(&tmp);
    let err = result.expect_err("an edited migration must be refused");
    assert!(
        format!("{err:#}").contains("previously applied but has been modified"),
        "{err:#}"
    );
}
