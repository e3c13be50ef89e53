//! `POST /tenants/{tenantId}/conversations/{sessionId}/scores`: a member
//! scores a conversation; the row is stored with the caller's `user_id`.
//!
//! # The score (formula `score-v1`)
//!
//! An integer from 0 to 100, the sum of three components, computed with
//! integer arithmetic only (no floats, so every platform gives the same
//! result):
//!
//! | component | points | rule |
//! |---|---|---|
//! | `rating` | 0–40 | `10 × (rating − 1)`; no rating counts as a neutral 3, i.e. 20 |
//! | `reliability` | 0–40 | `⌊40 × (message_count − error_count) / message_count⌋` |
//! | `answered` | 0 or 20 | 20 when a non-error `assistant` message with non-blank content comes after the last `user` message (or anywhere, if there is no user message) |
//!
//! Why these: the user's own rating is the most direct signal, so it carries
//! as much weight as anything else; messages flagged `error` are turns where
//! the system failed, so their *share* of the conversation lowers the score
//! (a share, not a count, so a long conversation is not punished for one
//! hiccup); and a conversation left with the user's last question unanswered
//! (or answered only by an error) failed at its job whatever else happened.
//!
//! Guarantees, checked by property tests below: the score is always within
//! 0–100; adding a message with `error: true` anywhere, or flagging an
//! existing message as an error, never raises it (the error share can only
//! grow, and an error message is never an answer but may be a new "last user
//! message"); a higher rating never lowers it; the same input always gives
//! the same score. Message content is read only to tell blank from
//! non-blank: it is never stored or logged.
//!
//! `metadata` stores `formula`, `message_count`, `error_count`, `rating`,
//! `answered` and `components` (the three point values above, which sum to
//! `score`), so a reader can recompute the score from the row alone.
//!
//! # Feedback
//! `feedback` is trimmed (blank means none) and prepared for storage in one
//! place, [`feedback_for_storage`], where PHI masking belongs.
//!
//! PHI (issue 5): the stored feedback is masked by the `phi` detector (the
//! one log-phi uses), and each finding becomes a `phi_detection_events` row
//! (action `masked`, this conversation's `session_id`, masked value and
//! masked context only), written by the same statement as the score: the
//! INSERT below is one statement with a data-modifying CTE, so score and
//! audit rows commit together in the one round trip.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::db::Type;
use shared::http::{
    Checks, DEFAULT_BODY_LIMIT, is_forbidden_char, json_body, json_response, path_param,
};
use shared::{ApiError, AppState, Invocation};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

pub const FUNCTION: &str = "score";

/// The whole request body: 1 MiB (DESIGN: over it → 413).
pub const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;
pub const MAX_MESSAGES: usize = 1000;
/// Per message, in bytes of UTF-8 (32 KiB).
pub const MAX_CONTENT_BYTES: usize = 32 * 1024;
pub const MAX_FEEDBACK_CHARS: usize = 4000;
pub const MAX_SESSION_ID_CHARS: usize = 200;
/// The version written into `metadata.formula`; bump it when the formula changes.
pub const FORMULA: &str = "score-v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
    Tool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Whether this turn was a failure (a tool error, a refused call, ...).
    #[serde(default)]
    pub error: Option<bool>,
}

impl Message {
    fn is_error(&self) -> bool {
        self.error.unwrap_or(false)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    pub messages: Vec<Message>,
    #[serde(default)]
    pub rating: Option<i64>,
    #[serde(default)]
    pub feedback: Option<String>,
}

impl ScoreRequest {
    fn validate(&self) -> Result<(), ApiError> {
        let mut c = Checks::new();
        c.check(
            (1..=MAX_MESSAGES).contains(&self.messages.len()),
            "messages",
            format!("must hold 1 to {MAX_MESSAGES} messages"),
        );
        for (i, m) in self.messages.iter().enumerate() {
            c.check(
                m.content.len() <= MAX_CONTENT_BYTES,
                format!("messages[{i}].content"),
                format!("must be at most {MAX_CONTENT_BYTES} bytes"),
            );
        }
        if let Some(r) = self.rating {
            c.check(
                (1..=5).contains(&r),
                "rating",
                "must be an integer from 1 to 5",
            );
        }
        if let Some(f) = &self.feedback {
            c.check(
                f.chars().count() <= MAX_FEEDBACK_CHARS,
                "feedback",
                format!("must be at most {MAX_FEEDBACK_CHARS} characters"),
            );
            // Line breaks and tabs are fine in free text; NUL cannot be stored
            // and the other controls / bidi overrides only disguise text.
            c.check(
                !f.chars()
                    .any(|ch| is_forbidden_char(ch) && !matches!(ch, '\n' | '\r' | '\t')),
                "feedback",
                "must not contain control or bidirectional-override characters",
            );
        }
        c.finish()
    }
}

/// The three components of the score; their sum is the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Components {
    pub rating: i32,
    pub reliability: i32,
    pub answered: i32,
}

/// Everything the formula looked at, and what it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    pub score: i32,
    pub message_count: usize,
    pub error_count: usize,
    pub rating: Option<i64>,
    pub answered: bool,
    pub components: Components,
}

impl Scored {
    /// What goes into `conversation_scores.metadata`.
    pub fn metadata(&self) -> serde_json::Value {
        json!({
            "formula": FORMULA,
            "message_count": self.message_count,
            "error_count": self.error_count,
            "rating": self.rating,
            "answered": self.answered,
            "components": self.components,
        })
    }
}

/// The score formula (see the crate docs). Pure and total: any input,
/// validated or not, gives a score within 0–100.
pub fn compute(messages: &[Message], rating: Option<i64>) -> Scored {
    let message_count = messages.len();
    let error_count = messages.iter().filter(|m| m.is_error()).count();

    // Out-of-range ratings are refused before this point; clamping keeps the
    // function total (and monotone) for any caller.
    let rating_points = 10 * (i32::try_from(rating.unwrap_or(3).clamp(1, 5)).unwrap_or(3) - 1);

    let reliability_points = if message_count == 0 {
        0
    } else {
        // u128 so that no message count can overflow 40 × count.
        let ok = (message_count - error_count) as u128;
        i32::try_from(40 * ok / message_count as u128).unwrap_or(0)
    };

    let after_last_user = messages
        .iter()
        .rposition(|m| m.role == Role::User)
        .map_or(0, |i| i + 1);
    let answered = messages[after_last_user..]
        .iter()
        .any(|m| m.role == Role::Assistant && !m.is_error() && !m.content.trim().is_empty());
    let answered_points = if answered { 20 } else { 0 };

    let components = Components {
        rating: rating_points,
        reliability: reliability_points,
        answered: answered_points,
    };
    Scored {
        score: rating_points + reliability_points + answered_points,
        message_count,
        error_count,
        rating,
        answered,
        components,
    }
}

/// The one place feedback is prepared for storage: trimmed, blank means
/// none. PHI masking of the stored text belongs here, so that every path
/// that stores feedback goes through it.
pub fn feedback_for_storage(feedback: Option<&str>) -> Option<String> {
    prepare_feedback(feedback).text
}

// --- PHI (issue 5) -------------------------------------------------------
/// Characters of masked feedback kept on each side of a finding in the
/// audit row's `context` (as log-phi does).
const PHI_CONTEXT_CHARS: usize = 40;

/// Feedback ready for storage: masked text, and one audit entry per finding.
#[derive(Debug, Default)]
pub struct PreparedFeedback {
    pub text: Option<String>,
    pub phi_types: Vec<&'static str>,
    pub phi_values: Vec<String>,
    pub phi_contexts: Vec<String>,
}

/// Trims (blank means none) and masks PHI; never keeps a raw value.
pub fn prepare_feedback(feedback: Option<&str>) -> PreparedFeedback {
    let Some(text) = feedback.map(str::trim).filter(|t| !t.is_empty()) else {
        return PreparedFeedback::default();
    };
    let m = phi::mask_with_context(text, PHI_CONTEXT_CHARS);
    PreparedFeedback {
        text: Some(m.masked_text),
        phi_types: m.findings.iter().map(|f| f.entity.as_str()).collect(),
        phi_values: m.findings.into_iter().map(|f| f.masked_value).collect(),
        phi_contexts: m.contexts,
    }
}
// --- end PHI -------------------------------------------------------------

/// The stored row; also the response body.
#[derive(Debug, Serialize)]
pub struct ConversationScore {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub session_id: String,
    pub user_id: Uuid,
    pub score: i32,
    pub feedback: Option<String>,
    pub metadata: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl ConversationScore {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            tenant_id: row.try_get(1)?,
            session_id: row.try_get(2)?,
            user_id: row.try_get(3)?,
            score: row.try_get(4)?,
            feedback: row.try_get(5)?,
            metadata: row.try_get(6)?,
            created_at: row
                .try_get::<_, OffsetDateTime>(7)?
                .to_offset(time::UtcOffset::UTC),
            updated_at: row
                .try_get::<_, OffsetDateTime>(8)?
                .to_offset(time::UtcOffset::UTC),
        })
    }
}

// PHI (issue 5): the score row and its feedback's audit rows in one statement.
const INSERT: &str = "WITH score AS ( \
     INSERT INTO public.conversation_scores (tenant_id, session_id, user_id, score, feedback, metadata) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     RETURNING id, tenant_id, session_id, user_id, score, feedback, metadata, created_at, updated_at \
     ), phi AS ( \
     INSERT INTO public.phi_detection_events (tenant_id, user_id, session_id, phi_type, masked_value, context, action_taken) \
     SELECT $1, $3, $2, e.phi_type, e.masked_value, e.context, 'masked' \
     FROM unnest($7::text[], $8::text[], $9::text[]) AS e(phi_type, masked_value, context) \
     ) \
     SELECT id, tenant_id, session_id, user_id, score, feedback, metadata, created_at, updated_at FROM score";

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = score(&mut inv, &req).await;
    inv.finish(outcome)
}

/// The `{sessionId}` of the route, checked like any other field.
fn session_id(req: &Request) -> Result<String, ApiError> {
    let raw =
        path_param(req, "sessionId", "conversations").ok_or(ApiError::NotFound("conversation"))?;
    let mut c = Checks::new();
    c.text("sessionId", &raw, 1, MAX_SESSION_ID_CHARS);
    c.finish()?;
    Ok(raw.trim().to_owned())
}

async fn score(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::POST)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let session = session_id(req)?;
    let body: ScoreRequest = json_body(req, BODY_LIMIT)?;
    body.validate()?;
    let user_id = caller.require_user()?;

    let scored = compute(&body.messages, body.rating);
    // PHI (issue 5): masked feedback and its audit entries.
    let prepared = prepare_feedback(body.feedback.as_deref());
    let feedback = prepared.text;
    let metadata = scored.metadata();
    let out = inv
        .tenant_tx(
            &caller,
            Some(tenant),
            INSERT,
            &[
                (&tenant, Type::UUID),
                (&session, Type::TEXT),
                (&user_id, Type::UUID),
                (&scored.score, Type::INT4),
                (&feedback, Type::TEXT),
                (&metadata, Type::JSONB),
                (&prepared.phi_types, Type::TEXT_ARRAY),
                (&prepared.phi_values, Type::TEXT_ARRAY),
                (&prepared.phi_contexts, Type::TEXT_ARRAY),
            ],
        )
        .await?;
    let row = out.the_row("INSERT")?;
    let stored = ConversationScore::from_row(row).map_err(|e| ApiError::Internal(e.into()))?;
    json_response(StatusCode::CREATED, &stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msg(role: Role, content: &str, error: bool) -> Message {
        Message {
            role,
            content: content.to_owned(),
            error: Some(error),
        }
    }

    #[test]
    fn a_perfect_and_a_failed_conversation_score_the_extremes() {
        let good = [
            msg(Role::User, "hi", false),
            msg(Role::Assistant, "hello", false),
        ];
        assert_eq!(compute(&good, Some(5)).score, 100);
        let bad = [
            msg(Role::User, "hi", true),
            msg(Role::Assistant, "oops", true),
        ];
        assert_eq!(compute(&bad, Some(1)).score, 0);
    }

    #[test]
    fn components_follow_the_documented_rules() {
        let m = [
            msg(Role::System, "be nice", false),
            msg(Role::User, "q", false),
            msg(Role::Tool, "", true),
            msg(Role::Assistant, "a", false),
        ];
        let s = compute(&m, None);
        assert_eq!(
            s.components,
            Components {
                rating: 20,
                reliability: 30,
                answered: 20
            }
        );
        assert_eq!(s.score, 70);
        assert_eq!((s.message_count, s.error_count), (4, 1));
        // The user's last question left unanswered, and a blank answer is none.
        let unanswered = [
            msg(Role::Assistant, "a", false),
            msg(Role::User, "q", false),
            msg(Role::Assistant, "   ", false),
        ];
        assert!(!compute(&unanswered, Some(3)).answered);
        let meta = compute(&m, Some(4)).metadata();
        assert_eq!(meta["components"]["rating"], 30);
        assert_eq!(meta["message_count"], 4);
        assert_eq!(meta["error_count"], 1);
        assert_eq!(meta["formula"], FORMULA);
    }

    #[test]
    fn feedback_is_trimmed_and_blank_means_none() {
        assert_eq!(feedback_for_storage(Some("  ok \n")), Some("ok".into()));
        assert_eq!(feedback_for_storage(Some(" \t ")), None);
        assert_eq!(feedback_for_storage(None), None);
        // PHI (issue 5): masked before storage, one audit entry per finding.
        let p = prepare_feedback(Some("Dr. Jane Roe called me at (415) 555-2671 "));
        assert_eq!(
            p.text.as_deref(),
            Some("Dr. [PERSON] called me at (***) ***-2671")
        );
        assert_eq!(p.phi_types, ["PERSON", "PHONE_NUMBER"]);
        assert_eq!(p.phi_values, ["[PERSON]", "(***) ***-2671"]);
        assert!(
            p.phi_contexts
                .iter()
                .all(|c| !c.contains("Roe") && !c.contains("555-2671"))
        );
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![
            Just(Role::User),
            Just(Role::Assistant),
            Just(Role::System),
            Just(Role::Tool)
        ]
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            role(),
            prop_oneof![Just(""), Just(" "), Just("text")],
            any::<Option<bool>>(),
        )
            .prop_map(|(role, content, error)| Message {
                role,
                content: content.to_owned(),
                error,
            })
    }

    fn messages() -> impl Strategy<Value = Vec<Message>> {
        prop::collection::vec(message(), 0..40)
    }

    fn rating() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![Just(None), (1i64..=5).prop_map(Some)]
    }

    proptest! {
        #[test]
        fn the_score_is_always_within_0_and_100(m in messages(), r in prop::option::of(any::<i64>())) {
            let s = compute(&m, r);
            prop_assert!((0..=100).contains(&s.score), "{}", s.score);
            prop_assert_eq!(s.score, s.components.rating + s.components.reliability + s.components.answered);
        }

        #[test]
        fn adding_an_error_message_never_raises_the_score(
            m in messages(), r in rating(), role in role(), content in ".{0,3}", at in any::<prop::sample::Index>()
        ) {
            let before = compute(&m, r).score;
            let mut more = m.clone();
            more.insert(at.index(m.len() + 1), Message { role, content, error: Some(true) });
            prop_assert!(compute(&more, r).score <= before);
        }

        #[test]
        fn flagging_a_message_as_an_error_never_raises_the_score(
            m in prop::collection::vec(message(), 1..40), r in rating(), at in any::<prop::sample::Index>()
        ) {
            let before = compute(&m, r).score;
            let mut flagged = m.clone();
            flagged[at.index(m.len())].error = Some(true);
            prop_assert!(compute(&flagged, r).score <= before);
        }

        #[test]
        fn a_higher_rating_never_lowers_the_score(m in messages(), a in 1i64..=5, b in 1i64..=5) {
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(compute(&m, Some(lo)).score <= compute(&m, Some(hi)).score);
        }

        #[test]
        fn the_same_input_always_gives_the_same_score(m in messages(), r in rating()) {
            let copy = m.clone();
            prop_assert_eq!(compute(&m, r), compute(&copy, r));
        }
    }
}
