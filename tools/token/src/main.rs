//! `token --sub UUID [--role authenticated|service_role] [--ttl-secs N] [--email E]`
//! prints an HS256 JWT signed with `JWT_SECRET` (audience `JWT_AUDIENCE`,
//! default `authenticated`; issuer `JWT_ISSUER` when set). Local use only.

use anyhow::{Context, Result, bail};
use serde_json::json;
use uuid::Uuid;

fn main() -> Result<()> {
    let mut sub = None;
    let mut role = "authenticated".to_owned();
    let mut ttl: u64 = 3600;
    let mut email = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--sub" => sub = Some(Uuid::parse_str(&value()?).context("--sub must be a UUID")?),
            "--role" => role = value()?,
            "--ttl-secs" => ttl = value()?.parse().context("--ttl-secs must be a number")?,
            "--email" => email = Some(value()?),
            _ => bail!(
                "usage: token --sub UUID [--role authenticated|service_role] [--ttl-secs N] [--email E]"
            ),
        }
    }
    if role != "authenticated" && role != "service_role" {
        bail!("--role must be authenticated or service_role");
    }
    let secret = std::env::var("JWT_SECRET").context("JWT_SECRET must be set")?;
    let audience = std::env::var("JWT_AUDIENCE").unwrap_or_else(|_| "authenticated".to_owned());
    let now = shared::auth::now_secs();
    let mut claims = json!({"aud": audience, "role": role, "iat": now, "exp": now + ttl});
    if let Some(sub) = sub {
        claims["sub"] = json!(sub.to_string());
    } else if role == "authenticated" {
        bail!("--sub is required for role authenticated");
    }
    if let Some(email) = email {
        claims["email"] = json!(email);
    }
    if let Ok(iss) = std::env::var("JWT_ISSUER") {
        claims["iss"] = json!(iss);
    }
    println!("{}", shared::auth::mint_hs256(&secret, &claims)?);
    Ok(())
}
