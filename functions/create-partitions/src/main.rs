use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let settings = create_partitions::Settings::from_env()?;
    let db = create_partitions::connect(create_partitions::config_from_env()?).await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (db, settings) = (&db, &settings);
        async move { create_partitions::handler(db, settings, event.payload).await }
    }))
    .await
}
