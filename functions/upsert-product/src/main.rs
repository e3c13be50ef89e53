use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state =
        shared::AppState::init(upsert_product::FUNCTION, shared::Config::from_env()?).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(upsert_product::handler(&state, req).await)
    }))
    .await
}
