use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    phi::warm_up();
    let state = shared::AppState::init(log_phi::FUNCTION, shared::Config::from_env()?).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(log_phi::handler(&state, req).await)
    }))
    .await
}
