//! Credentials from Secrets Manager (moto in tests), as in AWS.

use aws_sdk_secretsmanager::Client as SecretsClient;
use integration_tests::{JWT_SECRET, TestDb, event, status, token};
use serde_json::json;
use shared::{AppState, Config};

async fn secrets_client() -> SecretsClient {
    SecretsClient::new(&aws_config::load_from_env().await)
}

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
    let sm = secrets_client().await;
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
