use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = shared::AppState::init(checkout::FUNCTION, shared::Config::from_env()?).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(checkout::handler(&state, req).await)
    }))
    .await
}
