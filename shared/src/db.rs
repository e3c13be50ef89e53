//! The database connection and the tenant transaction.
//!
//! Rules this module keeps (DESIGN "Database access rules"):
//! - one connection per execution environment, opened at init, reused warm,
//!   reopened when it is found closed;
//! - only unnamed statements (`query_typed`), so a transaction-mode pooler
//!   (PgBouncer, RDS Proxy, Supavisor) can hand us any server connection;
//! - no session state: role, claims and `statement_timeout` are set
//!   transaction-locally by one SQL function, `app.begin_request`;
//! - `BEGIN`, that call, the statement and `COMMIT` are written back to back
//!   and read back together: one network round trip per request;
//! - TLS with certificate and host-name verification for any host that is
//!   not loopback; plain TCP only on loopback;
//! - on an authentication failure with credentials from Secrets Manager, the
//!   secret is fetched once more (it may have been rotated) and we retry once.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use postgres_native_tls::MakeTlsConnector;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
pub use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, Row};
use uuid::Uuid;

use crate::config::{Config, DatabaseSource};
use crate::error::ApiError;
use crate::secrets::Secrets;

/// A parameter with its declared type: `query_typed` needs no prepare round trip.
pub type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// What went wrong, sorted by what the caller can do about it. Messages of
/// database errors are never kept: they may quote row values (PHI).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Cannot connect, or the connection broke: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(&'static str),
    /// `statement_timeout` fired.
    #[error("statement timed out")]
    Timeout,
    /// The database refused the statement.
    #[error("database error {code}{}", constraint.as_deref().map(|c| format!(" on {c}")).unwrap_or_default())]
    Sql {
        code: String,
        constraint: Option<String>,
    },
    #[error(transparent)]
    Other(anyhow::Error),
}

impl DbError {
    fn from_pg(e: &tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            let class = &code.code()[..2];
            if *code == SqlState::QUERY_CANCELED {
                return Self::Timeout;
            }
            // 08: connection exceptions (PgBouncer reports a lost server this way),
            // 57P01-03: shutdown / cannot connect now, 53: out of resources.
            if class == "08" || class == "53" || code.code().starts_with("57P") {
                return Self::Unavailable("the database connection failed");
            }
            return Self::Sql {
                code: code.code().to_owned(),
                constraint: db.constraint().map(str::to_owned),
            };
        }
        if e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) {
            return Self::Unavailable("the database connection closed");
        }
        // Anything else (a row that does not decode, say) is a bug of ours.
        Self::Other(anyhow::anyhow!("database client error: {e}"))
    }

    /// Whether the connection should be thrown away and reopened next time.
    fn breaks_connection(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Self::Sql { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match &e {
            DbError::Unavailable(why) => ApiError::Unavailable(why),
            DbError::Timeout => ApiError::Unavailable("statement timed out"),
            DbError::Sql { code, .. } => match code.as_str() {
                "42501" => ApiError::Forbidden,
                "23505" => ApiError::Conflict {
                    slug: "conflict",
                    detail: "the resource already exists".into(),
                },
                // Serialization failure and deadlock: safe to retry.
                "40001" | "40P01" => ApiError::Unavailable("transaction conflict"),
                c if c.starts_with("22") => {
                    ApiError::invalid_field("body", "a value is out of range or malformed")
                }
                c if c.starts_with("23") => ApiError::Unprocessable {
                    slug: "constraint-violation",
                    detail: "the request breaks a data rule".into(),
                    errors: Vec::new(),
                },
                _ => ApiError::Internal(anyhow::Error::new(e)),
            },
            DbError::Other(_) => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}

/// The result of one tenant transaction.
pub struct TxOutput {
    /// The caller's role in the tenant: `admin`, `member` or `service_role`.
    pub member_role: String,
    pub rows: Vec<Row>,
    /// Time spent waiting for the database, connecting included.
    pub elapsed: Duration,
}

impl TxOutput {
    /// The one row a statement that always returns a row (INSERT ...
    /// RETURNING, an upsert) produced; none is a bug of ours, so a 500.
    pub fn the_row(&self, statement: &'static str) -> Result<&Row, ApiError> {
        self.rows
            .first()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{statement} returned no row")))
    }
}

#[derive(Deserialize)]
struct RdsSecret {
    username: String,
    password: String,
    host: String,
    port: Option<u16>,
    dbname: Option<String>,
}

struct Conn {
    client: Option<Client>,
    /// Connection settings; re-read from Secrets Manager after an auth failure.
    settings: Option<tokio_postgres::Config>,
}

pub struct Db {
    application_name: &'static str,
    source: DatabaseSource,
    secrets: Option<Secrets>,
    statement_timeout_ms: i32,
    connect_timeout: Duration,
    conn: Mutex<Conn>,
}

impl Db {
    pub fn new(function: &'static str, config: &Config, secrets: Option<Secrets>) -> Self {
        Self {
            application_name: function,
            source: config.database.clone(),
            secrets,
            statement_timeout_ms: i32::try_from(config.statement_timeout.as_millis())
                .unwrap_or(i32::MAX),
            connect_timeout: config.connect_timeout,
            conn: Mutex::new(Conn {
                client: None,
                settings: None,
            }),
        }
    }

    /// How long to wait for a transaction's answers: the statement timeout
    /// plus a margin for the round trip.
    fn answer_timeout(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.statement_timeout_ms).unwrap_or(5000))
            + Duration::from_secs(1)
    }

    /// Opens the connection now rather than on the first request.
    pub async fn warm_up(&self) -> Result<(), DbError> {
        let mut conn = self.conn.lock().await;
        self.client(&mut conn).await.map(|_| ())
    }

    /// Runs `sql` for `caller_claims` inside `tenant` in one round trip:
    /// `BEGIN; SELECT app.begin_request(...); <sql>; COMMIT`.
    ///
    /// A non-member makes `app.begin_request` fail with 42501, the statement
    /// then fails as "transaction aborted", and the `COMMIT` already on the
    /// wire rolls back: nothing is written and the connection is clean.
    pub async fn tenant_tx(
        &self,
        claims: &serde_json::Value,
        tenant: Option<Uuid>,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<TxOutput, DbError> {
        let started = Instant::now();
        // Lambda sends one request at a time per environment; the lock only
        // matters when a test shares one state between tasks, where it keeps
        // two transactions from interleaving on one connection.
        let mut conn = self.conn.lock().await;
        let client = self.client(&mut conn).await?;
        let timeout = self.statement_timeout_ms;
        let auth_params: [Param<'_>; 3] = [
            (claims, Type::JSONB),
            (&tenant, Type::UUID),
            (&timeout, Type::INT4),
        ];
        let pipelined = async {
            tokio::join!(
                client.batch_execute("BEGIN"),
                client.query_typed("SELECT app.begin_request($1, $2, $3)", &auth_params),
                client.query_typed(sql, params),
                client.batch_execute("COMMIT"),
            )
        };
        // `statement_timeout` bounds a slow statement; this bounds a silent
        // database (a pooler waiting for a server that is restarting), so the
        // caller gets a 503 well before the Lambda timeout. The connection's
        // state is then unknown, so it is dropped and reopened next time.
        let Ok((begin, auth, main, commit)) =
            tokio::time::timeout(self.answer_timeout(), pipelined).await
        else {
            conn.client = None;
            tracing::warn!("database did not answer in time; dropping the connection");
            return Err(DbError::Unavailable("the database did not answer in time"));
        };
        // The first failure in wire order is the cause; later ones are its echo.
        let outcome = (|| {
            begin?;
            let auth = auth?;
            let rows = main?;
            commit?;
            Ok::<_, tokio_postgres::Error>((auth, rows))
        })();
        match outcome {
            Ok((auth, rows)) => {
                let member_role = auth
                    .first()
                    .and_then(|r| r.try_get::<_, String>(0).ok())
                    .unwrap_or_default();
                Ok(TxOutput {
                    member_role,
                    rows,
                    elapsed: started.elapsed(),
                })
            }
            Err(e) => {
                let err = DbError::from_pg(&e);
                if err.breaks_connection() {
                    conn.client = None;
                }
                Err(err)
            }
        }
    }

    /// The open client, reconnecting first when there is none or it closed.
    async fn client<'c>(&self, conn: &'c mut Conn) -> Result<&'c Client, DbError> {
        if conn.client.as_ref().is_none_or(Client::is_closed) {
            conn.client = None;
            let client = match self.connect(conn, false).await {
                Err(ConnectError::Pg(e)) if is_auth_failure(&e) && self.secrets.is_some() => {
                    tracing::info!("database authentication failed; re-reading the secret once");
                    self.connect(conn, true).await
                }
                other => other,
            }
            .map_err(|e| {
                let err = match e {
                    ConnectError::Pg(e) => match DbError::from_pg(&e) {
                        DbError::Other(_) | DbError::Sql { .. } => DbError::Unavailable("cannot connect to the database"),
                        other => other,
                    },
                    // A secret we cannot read or parse: a deployment fault, logged in full.
                    ConnectError::Setup(e) => {
                        tracing::error!(error = %format!("{e:#}"), "cannot build the database connection");
                        DbError::Unavailable("cannot connect to the database")
                    }
                };
                tracing::warn!(kind = %err, "database connect failed");
                err
            })?;
            conn.client = Some(client);
        }
        conn.client
            .as_ref()
            .ok_or(DbError::Unavailable("no connection"))
    }

    async fn connect(&self, conn: &mut Conn, refresh: bool) -> Result<Client, ConnectError> {
        let settings = match conn.settings.as_ref() {
            Some(s) if !refresh => s,
            _ => conn
                .settings
                .insert(self.settings().await.map_err(ConnectError::Setup)?),
        };
        // connect_timeout covers the TCP connect only; this covers the startup
        // and authentication exchange too (a pooler may stall there).
        tokio::time::timeout(self.connect_timeout, connect_with(settings))
            .await
            .unwrap_or_else(|_| Err(ConnectError::Setup(anyhow::anyhow!("connecting timed out"))))
    }

    async fn settings(&self) -> anyhow::Result<tokio_postgres::Config> {
        let mut cfg = match &self.source {
            DatabaseSource::Url(url) => url
                .expose_secret()
                .parse::<tokio_postgres::Config>()
                .context("DATABASE_URL is not a valid connection string")?,
            DatabaseSource::Secret {
                arn,
                pooler_host,
                pooler_port,
            } => {
                let secrets = self
                    .secrets
                    .as_ref()
                    .context("Secrets Manager client missing")?;
                let raw: SecretString = secrets
                    .get_string(arn)
                    .await
                    .context("reading DB_SECRET_ARN")?;
                let s: RdsSecret = serde_json::from_str(raw.expose_secret()).context(
                    "DB_SECRET_ARN is not RDS secret JSON (username, password, host, port, dbname)",
                )?;
                let mut cfg = tokio_postgres::Config::new();
                cfg.user(&s.username)
                    .password(&s.password)
                    .host(pooler_host.as_deref().unwrap_or(&s.host))
                    .port(pooler_port.or(s.port).unwrap_or(5432))
                    .dbname(s.dbname.as_deref().unwrap_or("postgres"));
                cfg
            }
        };
        cfg.application_name(self.application_name)
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        Ok(cfg)
    }
}

enum ConnectError {
    Pg(tokio_postgres::Error),
    Setup(anyhow::Error),
}

/// Plain TCP on loopback (unless the URL asks for TLS); verified TLS elsewhere.
async fn connect_with(settings: &tokio_postgres::Config) -> Result<Client, ConnectError> {
    let mut cfg = settings.clone();
    if is_loopback(&cfg) && cfg.get_ssl_mode() != SslMode::Require {
        cfg.ssl_mode(SslMode::Disable);
        let (client, connection) = cfg.connect(NoTls).await.map_err(ConnectError::Pg)?;
        tokio::spawn(drive(connection));
        return Ok(client);
    }
    cfg.ssl_mode(SslMode::Require);
    // native-tls verifies the certificate chain against the system roots and
    // the host name; tokio-postgres itself checks neither.
    let connector = native_tls::TlsConnector::builder().build().map_err(|e| {
        ConnectError::Setup(anyhow::Error::new(e).context("building the TLS connector"))
    })?;
    let (client, connection) = cfg
        .connect(MakeTlsConnector::new(connector))
        .await
        .map_err(ConnectError::Pg)?;
    tokio::spawn(drive(connection));
    Ok(client)
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        // The next request sees `is_closed()` and reconnects.
        tracing::info!(kind = %DbError::from_pg(&e), "database connection ended");
    }
}

fn is_loopback(cfg: &tokio_postgres::Config) -> bool {
    !cfg.get_hosts().is_empty()
        && cfg.get_hosts().iter().all(|h| match h {
            Host::Tcp(name) => {
                name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            Host::Unix(_) => true,
        })
}

fn is_auth_failure(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_may_skip_tls() {
        let local: tokio_postgres::Config = "postgres://u@127.0.0.1:6432/db".parse().expect("cfg");
        let named: tokio_postgres::Config = "postgres://u@localhost/db".parse().expect("cfg");
        let remote: tokio_postgres::Config = "postgres://u@db.example.com/db".parse().expect("cfg");
        let mixed: tokio_postgres::Config = "host=127.0.0.1,10.0.0.5 user=u".parse().expect("cfg");
        assert!(is_loopback(&local));
        assert!(is_loopback(&named));
        assert!(!is_loopback(&remote));
        assert!(!is_loopback(&mixed));
    }
}
