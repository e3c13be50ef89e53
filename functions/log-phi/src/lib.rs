//! `POST /tenants/{tenantId}/phi/scan`: finds PHI in a text, masks it, and
//! writes the HIPAA audit trail.
//!
//! `{"text", "session_id"?, "action"?: "mask|block|alert"}` (default `mask`)
//! → 200 `{"action_taken", "masked_text", "findings": [{"type", "start",
//! "end", "masked_value", "confidence"}]}`. Offsets count code points of
//! `text`.
//!
//! Every finding becomes one `phi_detection_events` row, all rows written
//! by one multi-row `INSERT ... SELECT FROM unnest(...)` inside the tenant
//! transaction (one round trip). A row holds the masked value and a window
//! of the *masked* text around the finding, never the raw value.
//!
//! No findings → `action_taken: "none"` and nothing is stored; the tenant
//! transaction still runs (with `SELECT 1`) so that a non-member gets 403
//! whether or not the text holds PHI: the answer must not depend on what a
//! caller without access sent. Members and `service_role` may call; a
//! service token without `sub` is stored with `user_id` NULL.
//!
//! Neither the text nor any finding is ever logged.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use shared::db::Type;
use shared::http::{Checks, json_body, json_response};
use shared::{ApiError, AppState, Invocation};

pub const FUNCTION: &str = "log-phi";

/// The largest `text` scanned, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The body may hold `text` escaped as JSON (up to 6 bytes per byte) plus the other fields.
const BODY_LIMIT: usize = 6 * MAX_TEXT_BYTES + 4096;
/// Characters of masked text kept on each side of a finding in `context`.
pub const CONTEXT_CHARS: usize = 40;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    pub text: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Mask,
    Block,
    Alert,
}

impl Action {
    fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            None | Some("mask") => Some(Self::Mask),
            Some("block") => Some(Self::Block),
            Some("alert") => Some(Self::Alert),
            Some(_) => None,
        }
    }

    /// The `action_taken` recorded for findings.
    pub fn taken(self) -> &'static str {
        match self {
            Self::Mask => "masked",
            Self::Block => "blocked",
            Self::Alert => "alerted",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FindingOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
    pub masked_value: String,
    pub confidence: f32,
}

#[derive(Debug, Serialize)]
pub struct ScanResponse {
    pub action_taken: &'static str,
    pub masked_text: String,
    pub findings: Vec<FindingOut>,
}

impl ScanRequest {
    fn validate(&self) -> Result<Action, ApiError> {
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_TEXT_BYTES,
            });
        }
        let action = Action::parse(self.action.as_deref());
        let mut c = Checks::new();
        c.check(
            action.is_some(),
            "action",
            "must be one of mask, block, alert",
        );
        if let Some(sid) = &self.session_id {
            c.text("session_id", sid, 1, 200);
        }
        c.finish()?;
        action.ok_or_else(|| ApiError::invalid_field("action", "must be one of mask, block, alert"))
    }
}

const INSERT: &str = "INSERT INTO public.phi_detection_events \
     (tenant_id, user_id, session_id, phi_type, masked_value, context, action_taken) \
     SELECT $1, $2, $3, e.phi_type, e.masked_value, e.context, $4 \
     FROM unnest($5::text[], $6::text[], $7::text[]) AS e(phi_type, masked_value, context)";

/// Only the membership check of the tenant transaction.
const MEMBERSHIP: &str = "SELECT 1";

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = scan_route(&mut inv, &req).await;
    inv.finish(outcome)
}

async fn scan_route(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::POST)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let body: ScanRequest = json_body(req, BODY_LIMIT)?;
    let action = body.validate()?;
    let session: Option<String> = body.session_id.as_deref().map(|s| s.trim().to_owned());
    let result = phi::mask_with_context(&body.text, CONTEXT_CHARS);
    drop(body);

    let action_taken = if result.findings.is_empty() {
        inv.tenant_tx(&caller, Some(tenant), MEMBERSHIP, &[])
            .await?;
        "none"
    } else {
        let types: Vec<&str> = result.findings.iter().map(|f| f.entity.as_str()).collect();
        let values: Vec<&str> = result
            .findings
            .iter()
            .map(|f| f.masked_value.as_str())
            .collect();
        let taken = action.taken();
        inv.tenant_tx(
            &caller,
            Some(tenant),
            INSERT,
            &[
                (&tenant, Type::UUID),
                (&caller.user_id, Type::UUID),
                (&session, Type::TEXT),
                (&taken, Type::TEXT),
                (&types, Type::TEXT_ARRAY),
                (&values, Type::TEXT_ARRAY),
                (&result.contexts, Type::TEXT_ARRAY),
            ],
        )
        .await?;
        taken
    };
    let findings = result
        .findings
        .iter()
        .map(|f| FindingOut {
            kind: f.entity.as_str(),
            start: f.start,
            end: f.end,
            masked_value: f.masked_value.clone(),
            confidence: (f.confidence * 100.0).round() / 100.0,
        })
        .collect();
    json_response(
        StatusCode::OK,
        &ScanResponse {
            action_taken,
            masked_text: result.masked_text,
            findings,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        assert_eq!(Action::parse(None), Some(Action::Mask));
        assert_eq!(Action::parse(Some("block")), Some(Action::Block));
        assert_eq!(Action::parse(Some("delete")), None);
        assert_eq!(Action::Alert.taken(), "alerted");
    }

    #[test]
    fn contexts_are_cut_from_the_masked_text() {
        let text = "Patient SSN 123-45-6789 and phone (415) 555-2671, thanks";
        let s = phi::mask_with_context(text, CONTEXT_CHARS);
        assert_eq!(s.findings.len(), 2);
        for c in &s.contexts {
            assert!(!c.contains("123-45-6789") && !c.contains("555-2671"), "{c}");
        }
        assert!(s.contexts[0].contains("***-**-6789"));
    }
}
