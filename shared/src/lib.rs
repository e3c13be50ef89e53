//! What more than one function needs, written once: configuration, secrets,
//! the pooler-safe database connection and the tenant transaction, JWT
//! verification, HTTP parsing and problem+json errors, and structured logs.
//!
//! A function's `main.rs` builds an [`AppState`] once at init and hands each
//! request to its `lib.rs` handler, which uses [`Invocation`] for everything
//! cross-cutting and keeps only its own domain logic.

pub mod auth;
pub mod bookings;
pub mod commerce;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod secrets;
pub mod telemetry;

pub use auth::{Caller, CallerRole};
pub use config::Config;
pub use error::{ApiError, FieldError};
pub use http::Invocation;

use std::sync::Arc;

/// Everything built at init and reused by warm invocations.
pub struct AppState {
    pub function: &'static str,
    pub config: Arc<Config>,
    pub auth: auth::Authenticator,
    pub db: db::Db,
}

impl AppState {
    /// Reads the configuration, fetches the secrets it names and opens the
    /// database connection. A failure here is a broken deployment: the
    /// caller logs it and exits rather than serving requests.
    pub async fn init(function: &'static str, config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let secrets = secrets::Secrets::new_if_needed(&config).await;
        let db = db::Db::new(function, &config, secrets.clone());
        // The JWT secret and the database (its secret, then the connection)
        // are independent: fetch them at the same time to shorten cold starts.
        // Connecting at init spares the first request; a failure here is not
        // fatal (the database may be restarting): the first request retries
        // and answers 503 if it still cannot connect.
        let (jwt_secret, warm) = tokio::join!(config.jwt.resolve(secrets.as_ref()), db.warm_up());
        let jwt_secret = jwt_secret?;
        if let Err(e) = warm {
            tracing::warn!(function, error = %e, "database not reachable at init; will retry per request");
        }
        let auth = auth::Authenticator::new(
            &jwt_secret,
            &config.jwt_audience,
            config.jwt_issuer.as_deref(),
        )?;
        Ok(Self {
            function,
            config,
            auth,
            db,
        })
    }

    /// Starts the bookkeeping of one request (see [`Invocation`]).
    pub fn begin<'a>(&'a self, req: &lambda_http::Request) -> Invocation<'a> {
        Invocation::new(self, req)
    }
}
