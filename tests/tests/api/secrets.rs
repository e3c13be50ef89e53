//! Credentials from Secrets Manager (moto in tests), as in AWS.

use aws_sdk_secretsmanager::Client as SecretsClient;
use integration_tests::{JWT_SECRET, TestDb, event, status, token};
use serde_json::json;
use shared::{AppState, Config};

async fn put_secret(client: &SecretsClient, name: &str, value: &str) -> String {
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_secret in moto (is AWS_ENDPOINT_URL set?): {e:?}"));
    out.arn().expect("arn").to_owned()
}

#[tokio::test]
async fn database_and_jwt_credentials_are_read_from_secrets_manager() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let sm = shared::secrets::client_from_env();
    // An RDS-style secret naming Postgres directly; DB_POOLER_HOST/PORT send us through PgBouncer.
    let pooler: tokio_postgres::Config = db.pooler_url().parse().expect("pooler url");
    let pooler_port = pooler.get_ports().first().copied().unwrap_or(6432);
    let db_arn = put_secret(
        &sm,
        &format!("{}/db", db.name),
        &json!({"username": "postgres", "password": "unused-with-trust-auth", "host": "db.invalid", "port": 5432, "dbname": db.name, "engine": "postgres"}).to_string(),
    )
    .await;
    let jwt_arn = put_secret(
        &sm,
        &format!("{}/jwt", db.name),
        &json!({"jwt_secret": JWT_SECRET}).to_string(),
    )
    .await;
    let config = Config::from_lookup(|name| match name {
        "DB_SECRET_ARN" => Some(db_arn.clone()),
        "DB_POOLER_HOST" => Some("127.0.0.1".into()),
        "DB_POOLER_PORT" => Some(pooler_port.to_string()),
        "JWT_SECRET_ARN" => Some(jwt_arn.clone()),
        _ => None,
    })
    .expect("config");
    let state = AppState::init(book::FUNCTION, config)
        .await
        .expect("state from secrets");
    let resp = book::handler(&state, event("book", t.id, None, &token(t.member), |_| {})).await;
    assert_eq!(status(&resp), 201);
}

/// Rotation: the credentials the warm function holds stop working; the
/// secret already holds new ones. The next invocation fails to log in with
/// the cached credentials, re-reads the secret once, and succeeds — no restart.
#[tokio::test]
async fn a_rotated_database_secret_is_picked_up_by_the_warm_function() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let admin = db.admin().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (old_user, new_user) = (format!("app_old_{suffix}"), format!("app_new_{suffix}"));
    for user in [&old_user, &new_user] {
        admin
            .batch_execute(&format!(
                "CREATE ROLE {user} LOGIN; GRANT authenticated, service_role TO {user}"
            ))
            .await
            .expect("role");
    }
    let direct: tokio_postgres::Config = db.direct_url().parse().expect("direct url");
    let port = direct.get_ports().first().copied().unwrap_or(5432);
    let sm = shared::secrets::client_from_env();
    let secret = |user: &str| {
        json!({"username": user, "password": "unused-with-trust-auth", "host": "127.0.0.1", "port": port, "dbname": db.name})
            .to_string()
    };
    let arn = put_secret(&sm, &format!("{}/rotating", db.name), &secret(&old_user)).await;
    let config = Config::from_lookup(|name| match name {
        "DB_SECRET_ARN" => Some(arn.clone()),
        "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
        _ => None,
    })
    .expect("config");
    let state = AppState::init(book::FUNCTION, config).await.expect("state");
    let slot = |s: &str| {
        let body = json!({"slot_id": s, "user_name": "Ada", "user_email": "ada@example.com"});
        event("book", t.id, None, &token(t.member), move |e| {
            integration_tests::set_body(e, &body)
        })
    };
    assert_eq!(status(&book::handler(&state, slot("before")).await), 201);

    // Rotate: new credentials in the secret, the old ones revoked and their session ended.
    sm.put_secret_value()
        .secret_id(&arn)
        .secret_string(secret(&new_user))
        .send()
        .await
        .expect("put_secret_value");
    admin
        .batch_execute(&format!(
            "ALTER ROLE {old_user} NOLOGIN;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{old_user}'"
        ))
        .await
        .expect("revoke old credentials");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let resp = book::handler(&state, slot("after")).await;
    assert_eq!(
        status(&resp),
        201,
        "{}",
        integration_tests::body_json(&resp)
    );
    let user: String = admin
        .query_one(
            "SELECT usename::text FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'book'",
            &[],
        )
        .await
        .expect("the function's session")
        .get(0);
    assert_eq!(user, new_user);
    drop(state);
    let _ = admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ('{old_user}', '{new_user}')"
        ))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let _ = admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {old_user}; DROP ROLE IF EXISTS {new_user}"
        ))
        .await;
}
