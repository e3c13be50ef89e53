//! AWS Secrets Manager. The client honours `AWS_ENDPOINT_URL`, which is how
//! the tests point it at moto.

use anyhow::{Context, Result};
use secrecy::SecretString;

use crate::config::Config;

/// A Secrets Manager client configured from the environment, as Lambda
/// provides it: `AWS_REGION`, and the execution role's credentials in
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`
/// (fixed for the life of the execution environment). `AWS_ENDPOINT_URL`
/// (or `AWS_ENDPOINT_URL_SECRETS_MANAGER`) points it elsewhere: moto in the
/// tests. On a laptop, export credentials the same way
/// (`aws configure export-credentials --format env`).
///
/// Not `aws-config`'s provider chain: it brings an STS client, profile-file
/// parsing and the IMDS client into every binary (about 0.5 MB) and reads
/// files at start, none of which a Lambda function needs. What is missing is
/// reported by the first call (`GetSecretValue failed: … no credentials …`).
///
/// HTTPS: rustls on *ring* (see the workspace Cargo.toml for why not
/// aws-lc-rs). Trusted roots are the platform's, read at the first TLS
/// connection; `SSL_CERT_FILE` (set in template.yaml) makes that one file.
pub fn client_from_env() -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http);
    if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        conf = conf.region(Region::new(region));
    }
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        conf = conf.credentials_provider(Credentials::new(
            id,
            secret,
            env("AWS_SESSION_TOKEN"),
            None,
            "environment",
        ));
    }
    if let Some(url) = env("AWS_ENDPOINT_URL_SECRETS_MANAGER").or_else(|| env("AWS_ENDPOINT_URL")) {
        conf = conf.endpoint_url(url);
    }
    aws_sdk_secretsmanager::Client::from_conf(conf.build())
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
            client: client_from_env(),
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
