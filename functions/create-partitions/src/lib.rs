//! `create-partitions`: run daily by an EventBridge schedule, or invoked
//! directly with `{"months_ahead": n}` (0–24). Not an HTTP function.
//!
//! It keeps `analytics_metrics_YYYY_MM` from the current UTC month through
//! `months_ahead` months later, plus `analytics_metrics_default`, and moves
//! rows that landed in the default partition for a month it creates into
//! that month's partition. The work is the SQL function
//! `app.ensure_metric_partitions` (migration 0003), called as `service_role`
//! in one transaction and one round trip through the same pooler-safe
//! [`Db`] the HTTP functions use; an advisory transaction lock inside it
//! makes overlapping runs safe, and every run is idempotent.
//!
//! Returns (and logs) `{"created": [...], "existing": [...], "moved_rows": n,
//! "purged_idempotency_keys": n}`; with retention configured, also
//! `"detached"` or `"dropped"`. The same run clears expired checkout
//! idempotency keys (migration 0004), the other daily housekeeping job.
//!
//! Environment (besides the database settings of [`shared::Config`]):
//! - `PARTITION_MONTHS_AHEAD`: default for scheduled runs and for direct
//!   invokes without `months_ahead` (0–24, default 3);
//! - `PARTITION_RETENTION_MONTHS`: unset (the default) keeps every partition;
//!   `R` retires monthly partitions of months before the current month minus
//!   R months (1–1200);
//! - `PARTITION_RETENTION_MODE`: `detach` (default: the table is kept,
//!   outside `analytics_metrics`, for an operator to archive) or `drop`.
//!
//! Moving many rows takes time: give this function a `STATEMENT_TIMEOUT_MS`
//! that fits (the Lambda timeout above it).

use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::Config;
use shared::db::{Db, DbError, Type};
use shared::secrets::Secrets;
use time::OffsetDateTime;

pub const FUNCTION: &str = "create-partitions";
pub const DEFAULT_MONTHS_AHEAD: i32 = 3;
pub const MAX_MONTHS_AHEAD: i32 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionMode {
    Detach,
    Drop,
}

impl RetentionMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Detach => "detach",
            Self::Drop => "drop",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub months: i32,
    pub mode: RetentionMode,
}

/// This function's own settings, read once at init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub months_ahead: i32,
    /// `None`: keep every partition (the default).
    pub retention: Option<Retention>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            months_ahead: DEFAULT_MONTHS_AHEAD,
            retention: None,
        }
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let months_ahead = match get("PARTITION_MONTHS_AHEAD") {
            None => DEFAULT_MONTHS_AHEAD,
            Some(v) => match v.trim().parse::<i32>() {
                Ok(n) if (0..=MAX_MONTHS_AHEAD).contains(&n) => n,
                _ => anyhow::bail!("PARTITION_MONTHS_AHEAD must be a whole number from 0 to 24"),
            },
        };
        let retention = match get("PARTITION_RETENTION_MONTHS") {
            None => None,
            Some(v) => {
                let months = match v.trim().parse::<i32>() {
                    Ok(n) if (1..=1200).contains(&n) => n,
                    _ => anyhow::bail!(
                        "PARTITION_RETENTION_MONTHS must be a whole number from 1 to 1200"
                    ),
                };
                let mode = match get("PARTITION_RETENTION_MODE").as_deref().map(str::trim) {
                    None | Some("detach") => RetentionMode::Detach,
                    Some("drop") => RetentionMode::Drop,
                    Some(_) => anyhow::bail!("PARTITION_RETENTION_MODE must be detach or drop"),
                };
                Some(Retention { months, mode })
            }
        };
        Ok(Self {
            months_ahead,
            retention,
        })
    }
}

/// The shared configuration from the environment. This function verifies
/// no tokens, but [`Config`] requires a JWT source: a placeholder stands in
/// for `JWT_SECRET`, so the deployment need not give this function the real
/// secret (nor read it from Secrets Manager).
pub fn config_from_env() -> anyhow::Result<Config> {
    Config::from_lookup(|name| match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ if name == "JWT_SECRET" => Some("unused-by-create-partitions".to_owned()),
        _ => None,
    })
}

/// The database handle, connected at init when the database answers (a
/// failure here is retried by the first run).
pub async fn connect(config: Config) -> Db {
    let secrets = Secrets::new_if_needed(&config).await;
    let db = Db::new(FUNCTION, &config, secrets);
    if let Err(e) = db.warm_up().await {
        tracing::warn!(function = FUNCTION, error = %e, "database not reachable at init; will retry per run");
    }
    db
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub created: Vec<String>,
    pub existing: Vec<String>,
    pub moved_rows: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detached: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<Vec<String>>,
    /// Expired checkout idempotency keys cleared by the same daily run
    /// (`app.purge_expired_idempotency_keys`, migration 0004), so that keys
    /// of users who never return do not pile up.
    #[serde(default)]
    pub purged_idempotency_keys: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error("invalid input: {0}")]
    Input(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("unexpected result from app.ensure_metric_partitions")]
    Result,
}

/// What the invoker (and the Lambda console) sees on failure: a kind and a
/// message of our own words (database errors carry codes only).
impl From<PartitionError> for Diagnostic {
    fn from(e: PartitionError) -> Self {
        let error_type = match &e {
            PartitionError::Input(_) => "InvalidInput",
            PartitionError::Db(DbError::Unavailable(_) | DbError::Timeout) => "DatabaseUnavailable",
            PartitionError::Db(_) => "DatabaseError",
            PartitionError::Result => "InternalError",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

const INPUT_SHAPE: &str =
    "expected an EventBridge scheduled event or {\"months_ahead\": n} with n from 0 to 24";

/// An EventBridge schedule's event (`"source": "aws.events"`,
/// `"detail-type": "Scheduled Event"`).
fn is_scheduled_event(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// `months_ahead` for this run: from a direct invoke's input, else `default`.
pub fn months_ahead(event: &Value, default: i32) -> Result<i32, PartitionError> {
    // `null`: an invoke with no payload at all.
    if event.is_null() || is_scheduled_event(event) {
        return Ok(default);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Direct {
        #[serde(default)]
        months_ahead: Option<i64>,
    }
    // serde would read a struct from an array too; the input is an object.
    if !event.is_object() {
        return Err(PartitionError::Input(INPUT_SHAPE));
    }
    let direct: Direct =
        Direct::deserialize(event).map_err(|_| PartitionError::Input(INPUT_SHAPE))?;
    match direct.months_ahead {
        None => Ok(default),
        Some(n) => i32::try_from(n)
            .ok()
            .filter(|n| (0..=MAX_MONTHS_AHEAD).contains(n))
            .ok_or(PartitionError::Input(
                "months_ahead must be a whole number from 0 to 24",
            )),
    }
}

/// The Lambda handler: validates the event, runs, logs the outcome.
pub async fn handler(db: &Db, settings: &Settings, event: Value) -> Result<Report, PartitionError> {
    let outcome = match months_ahead(&event, settings.months_ahead) {
        Ok(n) => ensure_partitions(db, n, settings.retention, None).await,
        Err(e) => Err(e),
    };
    match &outcome {
        Ok(r) => tracing::info!(
            function = FUNCTION,
            created = ?r.created,
            existing = ?r.existing,
            moved_rows = r.moved_rows,
            purged_idempotency_keys = r.purged_idempotency_keys,
            detached = ?r.detached,
            dropped = ?r.dropped,
            "partitions ensured"
        ),
        Err(e) => tracing::error!(function = FUNCTION, error = %e, "partitions not ensured"),
    }
    outcome
}

// The daily maintenance run: partitions, and everyone's expired idempotency
// keys (one batch; a backlog larger than a batch is finished on later days).
const ENSURE: &str = "SELECT app.ensure_metric_partitions($1, $2, $3, $4) \
     || jsonb_build_object('purged_idempotency_keys', app.purge_expired_idempotency_keys())";

/// One run, as `service_role`, in one transaction. `now` replaces the
/// clock for the month computation (tests use it to cross a year end);
/// `None` is the database's `now()`, taken in UTC.
pub async fn ensure_partitions(
    db: &Db,
    months_ahead: i32,
    retention: Option<Retention>,
    now: Option<OffsetDateTime>,
) -> Result<Report, PartitionError> {
    if !(0..=MAX_MONTHS_AHEAD).contains(&months_ahead) {
        return Err(PartitionError::Input(
            "months_ahead must be a whole number from 0 to 24",
        ));
    }
    // A service caller, as a service token's claims would say: no user, no tenant.
    let claims = json!({"role": "service_role"});
    let retention_months = retention.map(|r| r.months);
    let retention_mode = retention.map_or(RetentionMode::Detach, |r| r.mode).as_str();
    let out = db
        .tenant_tx(
            &claims,
            None,
            ENSURE,
            &[
                (&months_ahead, Type::INT4),
                (&now, Type::TIMESTAMPTZ),
                (&retention_months, Type::INT4),
                (&retention_mode, Type::TEXT),
            ],
        )
        .await?;
    let value: Value = out
        .rows
        .first()
        .and_then(|row| row.try_get(0).ok())
        .ok_or(PartitionError::Result)?;
    serde_json::from_value(value).map_err(|_| PartitionError::Result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    #[test]
    fn settings_default_to_three_months_and_no_retention() {
        assert_eq!(settings(&[]).expect("defaults"), Settings::default());
        let s = settings(&[
            ("PARTITION_MONTHS_AHEAD", "6"),
            ("PARTITION_RETENTION_MONTHS", "12"),
            ("PARTITION_RETENTION_MODE", "drop"),
        ])
        .expect("set");
        assert_eq!(s.months_ahead, 6);
        assert_eq!(
            s.retention,
            Some(Retention {
                months: 12,
                mode: RetentionMode::Drop
            })
        );
        for bad in [
            ("PARTITION_MONTHS_AHEAD", "25"),
            ("PARTITION_MONTHS_AHEAD", "-1"),
            ("PARTITION_RETENTION_MONTHS", "0"),
        ] {
            let err = settings(&[bad]).expect_err("refused").to_string();
            assert!(err.contains(bad.0), "{err}");
        }
        let err = settings(&[
            ("PARTITION_RETENTION_MONTHS", "3"),
            ("PARTITION_RETENTION_MODE", "archive"),
        ])
        .expect_err("mode");
        assert!(err.to_string().contains("PARTITION_RETENTION_MODE"));
    }

    #[test]
    fn the_event_decides_months_ahead() {
        let scheduled = json!({"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(months_ahead(&scheduled, 5).expect("scheduled"), 5);
        assert_eq!(months_ahead(&Value::Null, 5).expect("no payload"), 5);
        assert_eq!(months_ahead(&json!({}), 5).expect("empty"), 5);
        assert_eq!(months_ahead(&json!({"months_ahead": 0}), 5).expect("0"), 0);
        assert_eq!(
            months_ahead(&json!({"months_ahead": 24}), 5).expect("24"),
            24
        );
        for bad in [
            json!({"months_ahead": 25}),
            json!({"months_ahead": -1}),
            json!({"months_ahead": "3"}),
            json!({"months_ahead": 1.5}),
            json!({"months_ahead": 3, "extra": true}),
            json!({"source": "aws.s3", "detail-type": "Object Created"}),
            json!([3]),
        ] {
            assert!(
                matches!(months_ahead(&bad, 5), Err(PartitionError::Input(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn failures_reach_the_invoker_as_typed_diagnostics() {
        let d = Diagnostic::from(PartitionError::Input(
            "months_ahead must be a whole number from 0 to 24",
        ));
        assert_eq!(d.error_type, "InvalidInput");
        assert!(d.error_message.contains("months_ahead"));
        let d = Diagnostic::from(PartitionError::Db(DbError::Timeout));
        assert_eq!(d.error_type, "DatabaseUnavailable");
    }
}
