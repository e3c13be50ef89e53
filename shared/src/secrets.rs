//! AWS Secrets Manager. The client honours `AWS_ENDPOINT_URL`, which is how
//! the tests point it at moto.

use anyhow::{Context, Result};
use secrecy::SecretString;

use crate::config::Config;

#[derive(Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub async fn new_if_needed(config: &Config) -> Option<Self> {
        if !config.needs_secrets_manager() {
            return None;
        }
        let sdk = aws_config::load_from_env().await;
        Some(Self {
            client: aws_sdk_secretsmanager::Client::new(&sdk),
        })
    }

    pub async fn get_string(&self, arn: &str) -> Result<SecretString> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            // The SDK error names the operation and the service's error code,
            // never the secret's value.
            .map_err(aws_sdk_secretsmanager::Error::from)
            .context("GetSecretValue failed")?;
        out.secret_string()
            .map(|s| SecretString::from(s.to_owned()))
            .context("secret has no SecretString")
    }
}
