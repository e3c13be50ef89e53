//! Configuration, read once from the environment at init. A missing or
//! malformed variable fails the start with the variable's name in the error.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::Secrets;

/// Where the database credentials come from.
#[derive(Clone)]
pub enum DatabaseSource {
    /// `DATABASE_URL`: local development and tests.
    Url(SecretString),
    /// `DB_SECRET_ARN`: an RDS secret JSON (username, password, host, port,
    /// dbname) in Secrets Manager; `DB_POOLER_HOST` (and `DB_POOLER_PORT`)
    /// replace the secret's host and port to reach RDS Proxy / PgBouncer.
    Secret {
        arn: String,
        pooler_host: Option<String>,
        pooler_port: Option<u16>,
    },
}

/// Where the JWT signing secret comes from.
#[derive(Clone)]
pub enum JwtSource {
    /// `JWT_SECRET`, for local development.
    Value(SecretString),
    /// `JWT_SECRET_ARN`: a Secrets Manager secret whose string is the secret
    /// itself, or a JSON object with a `jwt_secret` field.
    Secret { arn: String },
}

impl JwtSource {
    pub async fn resolve(&self, secrets: Option<&Secrets>) -> Result<SecretString> {
        match self {
            Self::Value(v) => Ok(v.clone()),
            Self::Secret { arn } => {
                let secrets =
                    secrets.context("JWT_SECRET_ARN set but Secrets Manager client missing")?;
                let raw = secrets
                    .get_string(arn)
                    .await
                    .context("reading JWT_SECRET_ARN")?;
                let value = match serde_json::from_str::<serde_json::Value>(raw.expose_secret()) {
                    Ok(serde_json::Value::Object(map)) => match map.get("jwt_secret") {
                        Some(serde_json::Value::String(s)) => SecretString::from(s.clone()),
                        _ => bail!("JWT_SECRET_ARN: JSON secret has no string field `jwt_secret`"),
                    },
                    _ => raw,
                };
                Ok(value)
            }
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub database: DatabaseSource,
    pub jwt: JwtSource,
    /// `JWT_AUDIENCE`, default `authenticated` (Supabase's).
    pub jwt_audience: String,
    /// `JWT_ISSUER`: checked only when set.
    pub jwt_issuer: Option<String>,
    /// `STATEMENT_TIMEOUT_MS`, default 5000: kept below the function timeout
    /// so a slow statement ends as a clean 503 rather than a killed Lambda.
    pub statement_timeout: Duration,
    /// `DB_CONNECT_TIMEOUT_MS`, default 3000.
    pub connect_timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`Config::from_env`] over any lookup, so tests need not touch
    /// the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let database = match (get("DATABASE_URL"), get("DB_SECRET_ARN")) {
            (Some(url), _) => DatabaseSource::Url(SecretString::from(url)),
            (None, Some(arn)) => DatabaseSource::Secret {
                arn,
                pooler_host: get("DB_POOLER_HOST"),
                pooler_port: get("DB_POOLER_PORT")
                    .map(|p| p.parse().context("DB_POOLER_PORT must be a port number"))
                    .transpose()?,
            },
            (None, None) => bail!("set DATABASE_URL (local) or DB_SECRET_ARN (AWS)"),
        };
        let jwt = match (get("JWT_SECRET"), get("JWT_SECRET_ARN")) {
            (Some(s), _) => JwtSource::Value(SecretString::from(s)),
            (None, Some(arn)) => JwtSource::Secret { arn },
            (None, None) => bail!("set JWT_SECRET (local) or JWT_SECRET_ARN (AWS)"),
        };
        let millis = |name: &str, default: u64| -> Result<Duration> {
            match get(name) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => match v.parse::<u64>() {
                    Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
                    _ => bail!("{name} must be a positive number of milliseconds"),
                },
            }
        };
        Ok(Self {
            database,
            jwt,
            jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "authenticated".to_owned()),
            jwt_issuer: get("JWT_ISSUER"),
            statement_timeout: millis("STATEMENT_TIMEOUT_MS", 5000)?,
            connect_timeout: millis("DB_CONNECT_TIMEOUT_MS", 3000)?,
        })
    }

    pub fn needs_secrets_manager(&self) -> bool {
        matches!(self.database, DatabaseSource::Secret { .. })
            || matches!(self.jwt, JwtSource::Secret { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_missing_database_setting_names_the_variables() {
        let err = cfg(&[("JWT_SECRET", "s")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("DATABASE_URL") && err.contains("DB_SECRET_ARN"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_jwt_setting_names_the_variables() {
        let err = cfg(&[("DATABASE_URL", "postgres://x")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn defaults_apply_and_a_bad_number_is_named() {
        let c = cfg(&[("DATABASE_URL", "postgres://x"), ("JWT_SECRET", "s")]).expect("config");
        assert_eq!(c.jwt_audience, "authenticated");
        assert_eq!(c.statement_timeout, Duration::from_millis(5000));
        assert!(c.jwt_issuer.is_none());
        let err = cfg(&[
            ("DATABASE_URL", "postgres://x"),
            ("JWT_SECRET", "s"),
            ("STATEMENT_TIMEOUT_MS", "soon"),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("STATEMENT_TIMEOUT_MS"), "{err}");
    }

    #[test]
    fn the_secret_arn_is_used_when_no_url_is_given() {
        let c = cfg(&[
            ("DB_SECRET_ARN", "arn:db"),
            ("DB_POOLER_HOST", "proxy"),
            ("JWT_SECRET_ARN", "arn:jwt"),
        ])
        .expect("config");
        assert!(
            matches!(c.database, DatabaseSource::Secret { ref arn, ref pooler_host, .. } if arn == "arn:db" && pooler_host.as_deref() == Some("proxy"))
        );
        assert!(c.needs_secrets_manager());
    }
}
