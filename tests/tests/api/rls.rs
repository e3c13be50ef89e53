//! Row Level Security holds without the application: a client that talks to
//! the database directly as `authenticated`, with another tenant's claims,
//! can neither read nor change tenant A's rows.

use integration_tests::{TestDb, connect};
use tokio_postgres::Client;
use uuid::Uuid;

async fn as_user(client: &Client, user: Uuid) {
    client
        .batch_execute(&format!(
            "BEGIN; SET LOCAL ROLE authenticated;
             SELECT set_config('request.jwt.claims', '{{\"sub\":\"{user}\",\"role\":\"authenticated\"}}', true);"
        ))
        .await
        .expect("become authenticated");
}

#[tokio::test]
async fn another_tenants_user_can_neither_read_nor_write_through_the_database() {
    let db = TestDb::new().await;
    let (a, b) = (db.tenant().await, db.tenant().await);
    let admin = db.admin().await;
    let booking: Uuid = admin
        .query_one(
            "INSERT INTO bookings (tenant_id, slot_id, user_id, user_name, user_email, status)
             VALUES ($1, 's', $2, 'Ada', 'ada@example.com', 'confirmed') RETURNING id",
            &[&a.id, &a.member],
        )
        .await
        .expect("fixture")
        .get(0);
    admin
        .execute(
            "INSERT INTO analytics_metrics (name, value, tenant_id) VALUES ('m', 1, $1)",
            &[&a.id],
        )
        .await
        .expect("metric");

    // Directly on Postgres, bypassing PgBouncer and every function.
    let client = connect(&db.direct_url()).await;

    as_user(&client, b.admin).await;
    for table in [
        "bookings",
        "tenant_users",
        "tenants",
        "analytics_metrics",
        "orders",
        "conversation_scores",
        "phi_detection_events",
        "products",
    ] {
        let column = if table == "tenants" {
            "id"
        } else {
            "tenant_id"
        };
        let n: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE {column} = $1"),
                &[&a.id],
            )
            .await
            .expect("select")
            .get(0);
        assert_eq!(n, 0, "{table}: B's admin sees A's rows");
    }
    let updated = client
        .execute(
            "UPDATE bookings SET status = 'cancelled' WHERE id = $1",
            &[&booking],
        )
        .await
        .expect("update");
    assert_eq!(updated, 0, "B's admin cancelled A's booking");
    client.batch_execute("ROLLBACK").await.expect("rollback");

    as_user(&client, b.member).await;
    let err = client
        .execute(
            "INSERT INTO bookings (tenant_id, slot_id, user_id, user_name, user_email, status)
             VALUES ($1, 'x', $2, 'Eve', 'eve@example.com', 'confirmed')",
            &[&a.id, &b.member],
        )
        .await
        .expect_err("insert into another tenant");
    assert_eq!(err.code().map(|c| c.code()), Some("42501"));
    client.batch_execute("ROLLBACK").await.expect("rollback");

    // Even the owner cannot rewrite a booking's other columns, nor reach a partition directly.
    as_user(&client, a.member).await;
    let err = client
        .execute(
            "UPDATE bookings SET user_name = 'Mallory' WHERE id = $1",
            &[&booking],
        )
        .await
        .expect_err("column not granted");
    assert_eq!(err.code().map(|c| c.code()), Some("42501"));
    client.batch_execute("ROLLBACK").await.expect("rollback");
    as_user(&client, a.admin).await;
    let err = client
        .query("SELECT * FROM analytics_metrics_default", &[])
        .await
        .expect_err("partition reachable");
    assert_eq!(err.code().map(|c| c.code()), Some("42501"));
    client.batch_execute("ROLLBACK").await.expect("rollback");

    let status: String = admin
        .query_one("SELECT status FROM bookings WHERE id = $1", &[&booking])
        .await
        .expect("row")
        .get(0);
    assert_eq!(status, "confirmed");
}

#[tokio::test]
async fn begin_request_refuses_roles_other_than_authenticated_and_service_role() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let client = db.admin().await;
    let claims = serde_json::json!({"sub": t.member.to_string(), "role": "postgres"});
    client.batch_execute("BEGIN").await.expect("begin");
    let err = client
        .query("SELECT app.begin_request($1, $2, 1000)", &[&claims, &t.id])
        .await
        .expect_err("role postgres");
    assert_eq!(err.code().map(|c| c.code()), Some("42501"));
}
