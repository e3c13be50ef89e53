//! Request plumbing shared by the HTTP functions: the per-invocation context
//! (request id, timing, the one log line), path parameters, strict JSON
//! bodies and JSON responses.

use std::time::{Duration, Instant};

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::db::{Param, TxOutput};
use crate::error::{ApiError, FieldError};

/// Default body limit: well under API Gateway's 10 MB, far above any valid request.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// One request's context: who asked, for which tenant, how long it took and
/// how much of that was the database. `finish` turns the outcome into the
/// response and writes the invocation's single log line.
pub struct Invocation<'a> {
    state: &'a AppState,
    request_id: String,
    started: Instant,
    tenant: Option<Uuid>,
    db_time: Duration,
}

impl<'a> Invocation<'a> {
    pub(crate) fn new(state: &'a AppState, req: &Request) -> Self {
        Self {
            state,
            request_id: request_id(req),
            started: Instant::now(),
            tenant: None,
            db_time: Duration::ZERO,
        }
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// 405 unless the request uses `method` (function URLs accept any method).
    pub fn require_method(&self, req: &Request, method: Method) -> Result<(), ApiError> {
        if req.method() == method {
            Ok(())
        } else {
            Err(ApiError::MethodNotAllowed(method))
        }
    }

    /// Verifies the bearer token (401 on any failure).
    pub fn authenticate(&self, req: &Request) -> Result<Caller, ApiError> {
        self.state.auth.verify(req.headers())
    }

    /// The `{tenantId}` of the route; 404 when it is not a UUID.
    pub fn tenant_id(&mut self, req: &Request) -> Result<Uuid, ApiError> {
        let raw = path_param(req, "tenantId", "tenants").ok_or(ApiError::NotFound("tenant"))?;
        let id = Uuid::parse_str(&raw).map_err(|_| ApiError::NotFound("tenant"))?;
        self.tenant = Some(id);
        Ok(id)
    }

    /// Runs one statement in the caller's tenant transaction (see
    /// [`crate::db::Db::tenant_tx`]): a non-member gets 403.
    pub async fn tenant_tx(
        &mut self,
        caller: &Caller,
        tenant: Option<Uuid>,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<TxOutput, ApiError> {
        let started = Instant::now();
        let result = self
            .state
            .db
            .tenant_tx(&caller.claims, tenant, sql, params)
            .await;
        self.db_time += started.elapsed();
        result.map_err(ApiError::from)
    }

    /// The response for `outcome`, logged as one JSON line with no body,
    /// token, secret or PHI in it.
    pub fn finish(self, outcome: Result<Response<Body>, ApiError>) -> Response<Body> {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let db_ms = self.db_time.as_secs_f64() * 1000.0;
        let tenant = self.tenant.map(|t| t.to_string()).unwrap_or_default();
        let function = self.state.function;
        let response = match outcome {
            Ok(resp) => {
                tracing::info!(request_id = %self.request_id, function, tenant, status = resp.status().as_u16(), latency_ms, db_ms, "invocation");
                resp
            }
            Err(err) => {
                let resp = err.to_response(&self.request_id);
                let status = resp.status().as_u16();
                if status >= 500 {
                    // Internal and DB error texts hold codes and our own words only.
                    tracing::error!(request_id = %self.request_id, function, tenant, status, latency_ms, db_ms, problem = err.slug(), error = %err, "invocation");
                } else {
                    tracing::info!(request_id = %self.request_id, function, tenant, status, latency_ms, db_ms, problem = err.slug(), "invocation");
                }
                resp
            }
        };
        crate::telemetry::emit_invocation_metrics(
            function,
            response.status().as_u16(),
            latency_ms,
            db_ms,
        );
        response
    }
}

/// API Gateway's request id (what the client sees as `apigw-requestid`),
/// else the Lambda request id, else a fresh UUID.
fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// A path parameter: from API Gateway's `pathParameters`, or, when absent
/// (function URLs, `cargo lambda watch` without a router), the segment that
/// follows `after` in the raw path: `/tenants/{tenantId}/...`.
pub fn path_param(req: &Request, name: &str, after: &str) -> Option<String> {
    if let Some(v) = req.path_parameters_ref().and_then(|p| p.first(name)) {
        return Some(v.to_owned());
    }
    let path = req.raw_http_path();
    let path = if path.is_empty() {
        req.uri().path()
    } else {
        path
    };
    let mut segments = path.split('/');
    segments.by_ref().find(|s| *s == after)?;
    segments.next().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

fn is_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parses a JSON body strictly: 413 over `limit` bytes, 415 unless the
/// content type is JSON, 400 naming the field for malformed JSON, wrong
/// types, missing fields and unknown fields (types use `deny_unknown_fields`).
pub fn json_body<T: DeserializeOwned>(req: &Request, limit: usize) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_field("body", "a JSON body is required"));
    }
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // serde would read a struct from an array too; a body is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    parse_json(bytes)
}

/// For routes without a body: accepts none, or an empty JSON object.
pub fn empty_body(req: &Request, limit: usize) -> Result<(), ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    parse_json::<Nothing>(bytes).map(|_| ())
}

/// Deserializes with the failing field's path. The message never quotes the
/// offending value: it may be PHI, and the client already has it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut *de);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if !inner.is_data() {
            return ApiError::invalid_field("body", "malformed JSON");
        }
        let msg = inner.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg);
        let (field, message) = describe(&path, msg);
        ApiError::invalid(vec![FieldError::new(field, message)])
    })?;
    // One JSON value and nothing after it: `{...} x` or `{...}{...}` is malformed.
    de.end()
        .map_err(|_| ApiError::invalid_field("body", "malformed JSON"))?;
    Ok(value)
}

/// Turns serde's message into a field name and a message without values.
fn describe(path: &str, msg: &str) -> (String, String) {
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let field = if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        return (join(&name), "is required".into());
    }
    if msg.starts_with("unknown field ") {
        // serde_path_to_error already put the unknown key at the end of the path.
        return (field, "is not a known field".into());
    }
    if let Some((_, expected)) = msg.split_once(", expected ") {
        let what = if msg.starts_with("invalid type") {
            "wrong type"
        } else {
            "invalid value"
        };
        return (field, format!("{what}: expected {expected}"));
    }
    if msg.starts_with("duplicate field") {
        return (field, "appears more than once".into());
    }
    (field, "is not valid".into())
}

/// A JSON response with `status`.
pub fn json_response<T: Serialize>(
    status: StatusCode,
    body: &T,
) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.into()))?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(text))
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Field checks that collect every failure instead of stopping at the first.
#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check(
        &mut self,
        ok: bool,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Self {
        if !ok {
            self.0.push(FieldError::new(field, message));
        }
        self
    }

    /// A required text: trimmed length within `min..=max` characters and no
    /// control characters (NUL, escapes, bidi overrides are refused).
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let len = value.trim().chars().count();
        if len < min || len > max {
            self.0.push(FieldError::new(
                field,
                format!("must be {min} to {max} characters"),
            ));
        } else if value.chars().any(is_forbidden_char) {
            self.0.push(FieldError::new(
                field,
                "must not contain control or bidirectional-override characters",
            ));
        }
        self
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.0))
        }
    }
}

/// Control characters and the bidirectional overrides used to disguise text.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// A pragmatic e-mail check: one `@`, a non-empty local part, a dotted
/// domain of letters, digits and hyphens, at most 254 characters.
pub fn is_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || is_forbidden_char(c)) {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body2 {
        name: String,
        items: Vec<Item>,
    }

    fn field_of(r: Result<Body2, ApiError>) -> (String, String) {
        match r {
            Err(ApiError::Invalid { errors, .. }) => {
                (errors[0].field.clone(), errors[0].message.clone())
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_by_its_path() {
        let (f, m) = field_of(parse_json(
            br#"{"name":"a","items":[{"sku":"x","quantity":1},{"sku":"y","quantity":"2"}]}"#,
        ));
        assert_eq!(f, "items[1].quantity");
        assert!(m.starts_with("wrong type"), "{m}");
        let (f, m) = field_of(parse_json(
            br#"{"name":"a","items":[{"sku":"x","quantity":1,"price":"0.01"}]}"#,
        ));
        assert_eq!(f, "items[0].price");
        assert_eq!(m, "is not a known field");
        let (f, m) = field_of(parse_json(br#"{"items":[]}"#));
        assert_eq!((f.as_str(), m.as_str()), ("name", "is required"));
        let (f, m) = field_of(parse_json(br#"{"name": "a", "#));
        assert_eq!((f.as_str(), m.as_str()), ("body", "malformed JSON"));
    }

    #[test]
    fn error_messages_do_not_echo_values() {
        let r: Result<Body2, _> = parse_json(br#"{"name":123456789,"items":[]}"#);
        let text = format!("{:?}", r.err());
        assert!(!text.contains("123456789"), "{text}");
    }

    #[test]
    fn emails_are_checked_pragmatically() {
        assert!(is_email("ada@example.com"));
        assert!(is_email("a.b+c@mail.example.co.uk"));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@exa mple.com",
            "ada@-x.com",
            "a@b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn text_checks_refuse_control_and_bidi_characters() {
        let mut c = Checks::new();
        c.text("a", "ok name", 1, 10)
            .text("b", "", 1, 10)
            .text("c", "x\u{0000}y", 1, 10)
            .text("d", "\u{202E}abc", 1, 10);
        match c.finish() {
            Err(ApiError::Invalid { errors, .. }) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["b", "c", "d"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
