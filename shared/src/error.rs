//! The one error type of every handler, mapped once to a status, an RFC 9457
//! problem+json body and a log kind. The caller's mistakes carry a detail
//! written for them; our own failures carry nothing but the request id.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// One failed field, named by its JSON path (`metrics[3].name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound(&'static str),
    /// 405; carries the method the route accepts, sent back as `Allow`.
    #[error("method not allowed")]
    MethodNotAllowed(lambda_http::http::Method),
    #[error("conflict: {slug}")]
    Conflict { slug: &'static str, detail: String },
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("unprocessable: {slug}")]
    Unprocessable {
        slug: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The database (or another dependency) cannot answer now; retrying later may work.
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// Our fault. The chain is logged (it must hold no PHI), never returned.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

impl ApiError {
    /// 400 with one field error.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// 400 with the given field errors.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::Invalid {
            detail: "the request body is not valid".into(),
            errors,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem `type` slug.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid-request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::Conflict { slug, .. } | Self::Unprocessable { slug, .. } => slug,
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "Invalid request",
            Self::Unauthorized(_) => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound(_) => "Not found",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::Conflict { .. } => "Conflict",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Unprocessable { .. } => "Unprocessable request",
            Self::Unavailable(_) => "Service unavailable",
            Self::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Invalid { detail, .. }
            | Self::Conflict { detail, .. }
            | Self::Unprocessable { detail, .. } => detail.clone(),
            Self::Unauthorized(_) => "a valid bearer token is required".into(),
            Self::Forbidden => "you may not do this in this tenant".into(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::MethodNotAllowed(_) => "this route does not accept that method".into(),
            Self::PayloadTooLarge { limit } => format!("the request body exceeds {limit} bytes"),
            Self::UnsupportedMediaType => "send the body as application/json".into(),
            Self::Unavailable(_) => "the service is temporarily unavailable; retry shortly".into(),
            Self::Internal(_) => {
                "an unexpected error occurred; quote the request_id when reporting it".into()
            }
        }
    }

    /// The problem+json response. Only the caller-facing fields are written:
    /// `Unauthorized`'s reason and `Internal`'s chain stay in the logs.
    pub fn to_response(&self, request_id: &str) -> Response<Body> {
        let errors: &[FieldError] = match self {
            Self::Invalid { errors, .. } | Self::Unprocessable { errors, .. } => errors,
            _ => &[],
        };
        let status = self.status();
        let detail = self.detail();
        let body = serde_json::to_string(&Problem {
            kind: self.slug(),
            title: self.title(),
            status: status.as_u16(),
            detail: &detail,
            request_id,
            errors,
        })
        .unwrap_or_else(|_| String::from(r#"{"type":"internal","status":500}"#));
        let mut builder = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/problem+json");
        match self {
            Self::Unauthorized(_) => builder = builder.header(header::WWW_AUTHENTICATE, "Bearer"),
            Self::Unavailable(_) => {
                builder = builder.header(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())
            }
            Self::MethodNotAllowed(allow) => {
                builder = builder.header(header::ALLOW, allow.as_str())
            }
            _ => {}
        }
        builder.body(Body::Text(body)).unwrap_or_else(|_| {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(r: &Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).expect("json"),
            _ => panic!("text body expected"),
        }
    }

    #[test]
    fn an_invalid_request_lists_each_field() {
        let e = ApiError::invalid(vec![
            FieldError::new("a", "x"),
            FieldError::new("b[1].c", "y"),
        ]);
        let r = e.to_response("req-1");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let b = body_json(&r);
        assert_eq!(b["type"], "invalid-request");
        assert_eq!(b["request_id"], "req-1");
        assert_eq!(b["errors"][1]["field"], "b[1].c");
    }

    #[test]
    fn an_internal_error_reveals_nothing_of_its_cause() {
        let e = ApiError::Internal(anyhow::anyhow!("password=hunter2 at db.internal:5432"));
        let r = e.to_response("req-2");
        let text = match r.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert_eq!(r.status(), 500);
        assert!(
            !text.contains("hunter2") && !text.contains("db.internal"),
            "{text}"
        );
        assert!(body_json(&r).get("errors").is_none());
    }

    #[test]
    fn unauthorized_and_unavailable_carry_their_headers() {
        let r = ApiError::Unauthorized("expired").to_response("r");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert!(!format!("{:?}", r.body()).contains("expired"));
        let r = ApiError::Unavailable("db down").to_response("r");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
    }

    #[test]
    fn method_not_allowed_names_the_accepted_method() {
        let r = ApiError::MethodNotAllowed(lambda_http::http::Method::PUT).to_response("r");
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "PUT");
    }
}
