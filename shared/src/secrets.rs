//! AWS Secrets Manager. The client honours `AWS_ENDPOINT_URL`, which is how
//! the tests point it at moto.

use anyhow::{Context, Result};
use secrecy::SecretString;

use crate::config::Config;

/// The AWS SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL`), with the one HTTPS client every SDK call here uses:
/// rustls on *ring* (see the workspace Cargo.toml for why not aws-lc-rs).
/// Trusted roots are the platform's, read when the first connection is made;
/// `SSL_CERT_FILE` (set in template.yaml) makes that one file read instead of
/// a directory walk.
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

#[derive(Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub async fn new_if_needed(config: &Config) -> Option<Self> {
        if !config.needs_secrets_manager() {
            return None;
        }
        Some(Self {
            client: aws_sdk_secretsmanager::Client::new(&sdk_config().await),
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
