//! Bearer JWT verification (Supabase-style HS256 tokens) with `jsonwebtoken`.
//! Every failure is the same 401 to the client; the reason is logged as a
//! short kind, never the token.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;

/// Seconds of clock skew tolerated on `exp` / `nbf`.
pub const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerRole {
    /// A signed-in user; must be a member of the tenant it acts on.
    Authenticated,
    /// The backend's own services; may act on any tenant.
    ServiceRole,
}

impl CallerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::ServiceRole => "service_role",
        }
    }
}

/// A verified caller. `claims` is what the database sees as
/// `request.jwt.claims`, exactly as PostgREST would set it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The JWT `sub`. Required for users; Supabase's service key has none.
    pub user_id: Option<Uuid>,
    pub role: CallerRole,
    pub claims: serde_json::Value,
}

impl Caller {
    /// The user id for routes that act on behalf of a user: a service token
    /// without `sub` cannot book or buy for nobody.
    pub fn require_user(&self) -> Result<Uuid, ApiError> {
        self.user_id.ok_or(ApiError::Forbidden)
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    role: Option<String>,
}

pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn new(
        secret: &SecretString,
        audience: &str,
        issuer: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_audience(&[audience]);
        let mut required = vec!["exp", "aud"];
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let key = DecodingKey::from_secret(secret.expose_secret().as_bytes())
            .map_err(|_| anyhow::anyhow!("the JWT secret is not a usable HS256 key"))?;
        Ok(Self { key, validation })
    }

    /// Verifies `Authorization: Bearer <jwt>`.
    pub fn verify(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = bearer_token(headers).ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &self.key, &self.validation)
            .map_err(|e| {
                tracing::debug!(reason = ?e.kind(), "token rejected");
                ApiError::Unauthorized("invalid or expired token")
            })?;
        let claims: Claims = serde_json::from_value(data.claims.clone())
            .map_err(|_| ApiError::Unauthorized("invalid token claims"))?;
        let role = match claims.role.as_deref() {
            None | Some("authenticated") => CallerRole::Authenticated,
            Some("service_role") => CallerRole::ServiceRole,
            Some(_) => return Err(ApiError::Unauthorized("token role not allowed")),
        };
        let user_id = match claims.sub.as_deref() {
            Some(sub) => Some(
                Uuid::parse_str(sub)
                    .map_err(|_| ApiError::Unauthorized("token subject is not a UUID"))?,
            ),
            None if role == CallerRole::ServiceRole => None,
            None => return Err(ApiError::Unauthorized("token has no subject")),
        };
        let mut claims = data.claims;
        // The database trusts `role` in the claims; make it the checked value.
        if let serde_json::Value::Object(map) = &mut claims {
            map.insert("role".into(), role.as_str().into());
        }
        Ok(Caller {
            user_id,
            role,
            claims,
        })
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(lambda_http::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Signs an HS256 token. For the dev command, tests and benches only:
/// production tokens come from the identity provider.
pub fn mint_hs256(secret: &str, claims: &serde_json::Value) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes())?,
    )?)
}

/// Seconds since the Unix epoch, for `exp` / `iat` claims.
pub fn now_secs() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;
    use serde_json::json;

    const SECRET: &str = "unit-test-secret-unit-test-secret";

    fn authn() -> Authenticator {
        Authenticator::new(&SecretString::from(SECRET), "authenticated", None).expect("key")
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        h
    }

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut c = json!({"sub": Uuid::new_v4().to_string(), "aud": "authenticated", "role": "authenticated", "exp": now_secs() + 600});
        if let (Some(c), serde_json::Value::Object(e)) = (c.as_object_mut(), extra) {
            c.extend(e);
        }
        c
    }

    fn verify(token: &str) -> Result<Caller, ApiError> {
        authn().verify(&headers(token))
    }

    #[test]
    fn a_valid_token_yields_the_subject_and_role() {
        let sub = Uuid::new_v4();
        let t = mint_hs256(SECRET, &claims(json!({"sub": sub.to_string()}))).expect("mint");
        let caller = verify(&t).expect("valid");
        assert_eq!(caller.user_id, Some(sub));
        assert_eq!(caller.role, CallerRole::Authenticated);
    }

    #[test]
    fn a_missing_header_or_other_scheme_is_unauthorized() {
        assert!(matches!(
            authn().verify(&HeaderMap::new()),
            Err(ApiError::Unauthorized(_))
        ));
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert!(matches!(authn().verify(&h), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn tampered_expired_wrong_audience_and_unsigned_tokens_are_unauthorized() {
        let wrong_key =
            mint_hs256("another-secret-another-secret!!", &claims(json!({}))).expect("mint");
        let expired = mint_hs256(
            SECRET,
            &claims(json!({"exp": now_secs() - LEEWAY_SECS - 60})),
        )
        .expect("mint");
        let wrong_aud = mint_hs256(SECRET, &claims(json!({"aud": "other"}))).expect("mint");
        let no_aud = mint_hs256(
            SECRET,
            &json!({"sub": Uuid::new_v4().to_string(), "exp": now_secs() + 60}),
        )
        .expect("mint");
        let bad_sub = mint_hs256(SECRET, &claims(json!({"sub": "not-a-uuid"}))).expect("mint");
        let bad_role = mint_hs256(SECRET, &claims(json!({"role": "postgres"}))).expect("mint");
        // alg "none": header {"alg":"none","typ":"JWT"}, same claims, empty signature.
        let good = mint_hs256(SECRET, &claims(json!({}))).expect("mint");
        let payload = good.split('.').nth(1).expect("payload");
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        for (name, t) in [
            ("wrong key", wrong_key.as_str()),
            ("expired", &expired),
            ("wrong aud", &wrong_aud),
            ("no aud", &no_aud),
            ("bad sub", &bad_sub),
            ("bad role", &bad_role),
            ("alg none", &unsigned),
            ("garbage", "abc.def.ghi"),
        ] {
            assert!(
                matches!(verify(t), Err(ApiError::Unauthorized(_))),
                "{name} was accepted"
            );
        }
    }

    #[test]
    fn expiry_within_the_leeway_is_accepted() {
        let t = mint_hs256(SECRET, &claims(json!({"exp": now_secs() - 5}))).expect("mint");
        assert!(verify(&t).is_ok());
    }

    #[test]
    fn the_issuer_is_checked_when_configured() {
        let a = Authenticator::new(
            &SecretString::from(SECRET),
            "authenticated",
            Some("https://issuer"),
        )
        .expect("key");
        let right = mint_hs256(SECRET, &claims(json!({"iss": "https://issuer"}))).expect("mint");
        let wrong = mint_hs256(SECRET, &claims(json!({"iss": "https://evil"}))).expect("mint");
        let none = mint_hs256(SECRET, &claims(json!({}))).expect("mint");
        assert!(a.verify(&headers(&right)).is_ok());
        assert!(a.verify(&headers(&wrong)).is_err());
        assert!(a.verify(&headers(&none)).is_err());
    }

    #[test]
    fn a_service_token_may_omit_the_subject() {
        let t = mint_hs256(
            SECRET,
            &json!({"aud": "authenticated", "role": "service_role", "exp": now_secs() + 60}),
        )
        .expect("mint");
        let caller = verify(&t).expect("service token");
        assert_eq!(caller.role, CallerRole::ServiceRole);
        assert!(caller.user_id.is_none());
        assert!(matches!(caller.require_user(), Err(ApiError::Forbidden)));
    }
}
