//! `POST /tenants/{tenantId}/metrics`: a member, or a `service_role` token,
//! records one metric (`{"name","value","tags"?,"timestamp"?}`) or a batch
//! (`{"metrics": [...]}`, 1 to 1,000 entries). All or nothing: every entry is
//! validated before anything is sent, and the batch is one multi-row INSERT
//! over arrays (`unnest`), so the database either takes every row or none.
//!
//! Rules for an entry (errors name it: `metrics[3].name`, or `name` for a
//! single metric):
//! - `name` is trimmed and lower-cased, then must match
//!   `^[a-z0-9][a-z0-9_.:/-]{0,127}$`;
//! - `value` is a JSON number, stored exactly as NUMERIC. It is read from its
//!   JSON text, never through an f64, into a [`Decimal`]: up to 28
//!   significant digits, magnitude below 7.9e28, at most 28 decimal places.
//!   A number outside that (`1e400`, `1e-40`, 30 significant digits) is
//!   refused rather than rounded; anything not a number (`"1"`, `null`,
//!   `NaN`) is refused too;
//! - `tags` is an object of string → string: at most 32 keys, keys 1–64 and
//!   values at most 256 characters, no control characters, no duplicate keys;
//! - `timestamp` is RFC 3339, defaults to the database's `now()`, and must
//!   lie between 365 days ago and 1 day ahead (the Lambda's clock).
//!
//! The body limit is 1 MiB (413 above it): a larger batch is split by the sender.

use std::collections::BTreeMap;
use std::fmt;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use rust_decimal::Decimal;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use shared::db::Type;
use shared::http::{Checks, DEFAULT_BODY_LIMIT, is_forbidden_char, json_body, json_response};
use shared::{ApiError, AppState, Invocation};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub const FUNCTION: &str = "record-metric";

pub const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;
pub const MAX_BATCH: usize = 1000;
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_KEY_CHARS: usize = 64;
pub const MAX_TAG_VALUE_CHARS: usize = 256;
pub const MAX_AGE: Duration = Duration::days(365);
pub const MAX_AHEAD: Duration = Duration::days(1);

/// Tags as sent, refusing duplicate keys (serde's maps keep the last one
/// silently, which would drop data the sender believes was stored).
#[derive(Debug, Default)]
pub struct Tags(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TagsVisitor;
        impl<'de> Visitor<'de> for TagsVisitor {
            type Value = Tags;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tags, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.insert(k, v).is_some() {
                        // Worded so shared::http names it "appears more than once".
                        return Err(de::Error::custom("duplicate field in tags"));
                    }
                }
                Ok(Tags(out))
            }
        }
        d.deserialize_map(TagsVisitor)
    }
}

/// One entry of `metrics`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricIn {
    pub name: String,
    /// Kept as JSON text so the number is never rounded through an f64.
    pub value: Box<RawValue>,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// The body: either the fields of one metric, or `metrics`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    #[serde(default)]
    pub metrics: Option<Vec<MetricIn>>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<Box<RawValue>>,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// A validated, normalised metric, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: Decimal,
    pub tags: serde_json::Value,
    /// `None`: the database's `now()`.
    pub timestamp: Option<OffsetDateTime>,
}

impl RecordRequest {
    /// Every entry validated against `now`, or every failing field.
    pub fn into_metrics(self, now: OffsetDateTime) -> Result<Vec<Metric>, ApiError> {
        let mut c = Checks::new();
        let mut out = Vec::new();
        match self.metrics {
            Some(batch) => {
                let single_fields = self.name.is_some()
                    || self.value.is_some()
                    || self.tags.is_some()
                    || self.timestamp.is_some();
                c.check(
                    !single_fields,
                    "metrics",
                    "send one metric's fields or a `metrics` list, not both",
                );
                c.check(
                    (1..=MAX_BATCH).contains(&batch.len()),
                    "metrics",
                    format!("must hold 1 to {MAX_BATCH} metrics"),
                );
                for (i, m) in batch.into_iter().enumerate() {
                    let prefix = format!("metrics[{i}].");
                    out.extend(validate(
                        &mut c,
                        &prefix,
                        &m.name,
                        &m.value,
                        m.tags,
                        m.timestamp.as_deref(),
                        now,
                    ));
                }
            }
            None => {
                c.check(self.name.is_some(), "name", "is required");
                c.check(self.value.is_some(), "value", "is required");
                if let (Some(name), Some(value)) = (&self.name, &self.value) {
                    out.extend(validate(
                        &mut c,
                        "",
                        name,
                        value,
                        self.tags,
                        self.timestamp.as_deref(),
                        now,
                    ));
                }
            }
        }
        c.finish()?;
        Ok(out)
    }
}

/// Checks one metric, recording failures under `prefix`; `Some` when it is valid.
fn validate(
    c: &mut Checks,
    prefix: &str,
    name: &str,
    value: &RawValue,
    tags: Option<Tags>,
    timestamp: Option<&str>,
    now: OffsetDateTime,
) -> Option<Metric> {
    let mut ok = true;
    let mut fail = |c: &mut Checks, field: &str, message: String| {
        ok = false;
        c.check(false, format!("{prefix}{field}"), message);
    };

    let name = normalize_name(name);
    if !is_metric_name(&name) {
        fail(
            c,
            "name",
            "after trimming and lower-casing, must match ^[a-z0-9][a-z0-9_.:/-]{0,127}$".into(),
        );
    }

    let value = match parse_exact(value.get()) {
        Ok(v) => Some(v),
        Err(why) => {
            fail(c, "value", why.into());
            None
        }
    };

    let tags = tags.unwrap_or_default().0;
    if tags.len() > MAX_TAGS {
        fail(c, "tags", format!("must have at most {MAX_TAGS} keys"));
    }
    if tags
        .keys()
        .any(|k| !(1..=MAX_TAG_KEY_CHARS).contains(&k.chars().count()))
    {
        fail(
            c,
            "tags",
            format!("keys must be 1 to {MAX_TAG_KEY_CHARS} characters"),
        );
    }
    if tags
        .values()
        .any(|v| v.chars().count() > MAX_TAG_VALUE_CHARS)
    {
        fail(
            c,
            "tags",
            format!("values must be at most {MAX_TAG_VALUE_CHARS} characters"),
        );
    }
    // NUL cannot be stored in jsonb; other controls and bidi overrides only disguise.
    if tags
        .iter()
        .any(|(k, v)| k.chars().chain(v.chars()).any(is_forbidden_char))
    {
        fail(
            c,
            "tags",
            "must not contain control or bidirectional-override characters".into(),
        );
    }

    let timestamp = match timestamp {
        None => None,
        Some(text) => match OffsetDateTime::parse(text, &Rfc3339) {
            Err(_) => {
                fail(c, "timestamp", "must be an RFC 3339 timestamp".into());
                None
            }
            Ok(t) if t < now - MAX_AGE => {
                fail(c, "timestamp", "must not be more than 365 days ago".into());
                None
            }
            Ok(t) if t > now + MAX_AHEAD => {
                fail(
                    c,
                    "timestamp",
                    "must not be more than 1 day in the future".into(),
                );
                None
            }
            Ok(t) => Some(t),
        },
    };

    let value = value?;
    ok.then(|| Metric {
        name,
        value,
        tags: serde_json::Value::Object(
            tags.into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
        ),
        timestamp,
    })
}

pub fn normalize_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// `^[a-z0-9][a-z0-9_.:/-]{0,127}$`, the same rule as the table's CHECK.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= MAX_NAME_CHARS
        && chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | ':' | '/' | '-')
        })
}

/// The exact value of a JSON number's text, or why it cannot be held exactly.
/// `text` is valid JSON (serde_json checked it), so a number is
/// `-?digits(.digits)?([eE][+-]?digits)?`.
pub fn parse_exact(text: &str) -> Result<Decimal, &'static str> {
    const NOT_A_NUMBER: &str = "must be a number";
    const NOT_EXACT: &str = "must be a finite number of at most 28 significant digits and 28 decimal places, below 7.9e28 in magnitude";
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(NOT_A_NUMBER);
    }
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    // from_str_exact refuses what it would have to round; from_str would round.
    let mut value = Decimal::from_str_exact(mantissa).map_err(|_| NOT_EXACT)?;
    let Some(exponent) = exponent else {
        return Ok(value);
    };
    let exponent: i64 = exponent
        .strip_prefix('+')
        .unwrap_or(exponent)
        .parse()
        .map_err(|_| NOT_EXACT)?;
    let scale = i64::from(value.scale());
    if exponent <= scale {
        // Shifting the decimal point left (or less far right than the scale).
        let new_scale = u32::try_from(scale - exponent).map_err(|_| NOT_EXACT)?;
        if new_scale > Decimal::MAX_SCALE {
            return Err(NOT_EXACT);
        }
        value.set_scale(new_scale).map_err(|_| NOT_EXACT)?;
        Ok(value)
    } else {
        // Integer part grows: multiply exactly, refusing overflow.
        value.set_scale(0).map_err(|_| NOT_EXACT)?;
        let mut shift = exponent - scale;
        let ten = Decimal::TEN;
        while shift > 0 {
            value = value.checked_mul(ten).ok_or(NOT_EXACT)?;
            shift -= 1;
        }
        Ok(value)
    }
}

#[derive(Serialize)]
struct Recorded {
    recorded: usize,
}

/// One statement for the whole batch. No RETURNING: a member may insert
/// metrics but not read them back (only admins may), and RLS would apply the
/// SELECT policy to returned rows. The arrays have equal lengths, so unnest
/// yields exactly one row per metric and success means all were stored.
const INSERT: &str = "INSERT INTO public.analytics_metrics (tenant_id, name, value, tags, created_at) \
     SELECT $1, m.name, m.value, m.tags, coalesce(m.ts, now()) \
     FROM unnest($2::text[], $3::numeric[], $4::jsonb[], $5::timestamptz[]) AS m(name, value, tags, ts)";

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = record(&mut inv, &req).await;
    inv.finish(outcome)
}

async fn record(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::POST)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let body: RecordRequest = json_body(req, BODY_LIMIT)?;
    let metrics = body.into_metrics(OffsetDateTime::now_utc())?;

    let n = metrics.len();
    let mut names = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let mut tags = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    for m in metrics {
        names.push(m.name);
        values.push(m.value);
        tags.push(m.tags);
        times.push(m.timestamp);
    }
    inv.tenant_tx(
        &caller,
        Some(tenant),
        INSERT,
        &[
            (&tenant, Type::UUID),
            (&names, Type::TEXT_ARRAY),
            (&values, Type::NUMERIC_ARRAY),
            (&tags, Type::JSONB_ARRAY),
            (&times, Type::TIMESTAMPTZ_ARRAY),
        ],
    )
    .await
    .map_err(|e| match e {
        // Every column is validated above, so the one constraint left to
        // fail is the tenant foreign key: a service token naming a tenant
        // that does not exist (a member's token already proved it exists).
        ApiError::Unprocessable {
            slug: "constraint-violation",
            ..
        } => ApiError::NotFound("tenant"),
        other => other,
    })?;
    json_response(StatusCode::CREATED, &Recorded { recorded: n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use shared::http::parse_json;
    use std::str::FromStr;

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-06-15T12:00:00Z", &Rfc3339).expect("time")
    }

    fn fields(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Invalid { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected 400, got {other:?}"),
        }
    }

    fn metrics(body: &str) -> Result<Vec<Metric>, ApiError> {
        parse_json::<RecordRequest>(body.as_bytes())?.into_metrics(now())
    }

    #[test]
    fn values_are_exact_decimals() {
        for (text, want) in [
            ("0", "0"),
            ("-12.50", "-12.50"),
            ("0.1", "0.1"),
            (
                "12345678901234567890.12345678",
                "12345678901234567890.12345678",
            ),
            ("1e3", "1000"),
            ("1.5E+2", "150"),
            ("1.25e-3", "0.00125"),
            ("-0", "0"),
        ] {
            assert_eq!(
                parse_exact(text),
                Ok(Decimal::from_str(want).expect("decimal")),
                "{text}"
            );
        }
        assert_eq!(
            parse_exact("-12.50").expect("value").to_string(),
            "-12.50",
            "the scale is kept"
        );
        for bad in [
            "1e400",
            "1e-400",
            "1e29",
            "0.12345678901234567890123456789",
            "123456789012345678901234567890",
            "\"1\"",
            "null",
            "true",
            "[1]",
        ] {
            assert!(parse_exact(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_single_metric_is_normalised() {
        let m = metrics(r#"{"name": "  API.Latency ", "value": 12.5, "tags": {"env": "prod"}}"#)
            .expect("valid");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name, "api.latency");
        assert_eq!(m[0].value, Decimal::from_str("12.5").expect("d"));
        assert_eq!(m[0].tags, serde_json::json!({"env": "prod"}));
        assert_eq!(m[0].timestamp, None);
    }

    #[test]
    fn raw_values_survive_the_path_tracking_parser() {
        // 0.1 + 17 more digits would not survive an f64.
        let m = metrics(r#"{"metrics": [{"name": "a", "value": 0.12345678901234567890123}]}"#)
            .expect("valid");
        assert_eq!(m[0].value.to_string(), "0.12345678901234567890123");
    }

    #[test]
    fn errors_name_the_entry_and_field() {
        let e = metrics(
            r#"{"metrics": [
                {"name": "ok", "value": 1},
                {"name": "-bad", "value": "1", "timestamp": "yesterday"},
                {"name": "ok", "value": 1e400},
                {"name": "ok", "value": 1, "timestamp": "2024-01-01T00:00:00Z"},
                {"name": "ok", "value": 1, "timestamp": "2026-06-17T00:00:00Z"},
                {"name": "ok", "value": 1, "tags": {"": "x"}}
            ]}"#,
        )
        .expect_err("invalid");
        assert_eq!(
            fields(e),
            [
                "metrics[1].name",
                "metrics[1].value",
                "metrics[1].timestamp",
                "metrics[2].value",
                "metrics[3].timestamp",
                "metrics[4].timestamp",
                "metrics[5].tags"
            ]
        );
        let e = metrics(r#"{"metrics": [{"name": "a", "value": 1, "tags": {"k": 1}}]}"#)
            .expect_err("type");
        assert_eq!(fields(e), ["metrics[0].tags.k"]);
        let e =
            metrics(r#"{"metrics": [{"name": "a", "value": 1, "tags": {"k": "1", "k": "2"}}]}"#)
                .expect_err("dup");
        assert_eq!(fields(e), ["metrics[0].tags"]);
        let e = metrics(r#"{"metrics": [{"name": "a", "value": 1, "unit": "ms"}]}"#)
            .expect_err("unknown");
        assert_eq!(fields(e), ["metrics[0].unit"]);
        let e = metrics(r#"{"value": 1}"#).expect_err("missing");
        assert_eq!(fields(e), ["name"]);
        let e = metrics(r#"{"metrics": []}"#).expect_err("empty");
        assert_eq!(fields(e), ["metrics"]);
        let e = metrics(r#"{"name": "a", "value": 1, "metrics": [{"name": "b", "value": 2}]}"#)
            .expect_err("both");
        assert_eq!(fields(e), ["metrics"]);
    }

    #[test]
    fn the_timestamp_window_is_inclusive_at_its_edges() {
        let at = |t: OffsetDateTime| {
            let ts = t.format(&Rfc3339).expect("fmt");
            metrics(&format!(
                r#"{{"name": "a", "value": 1, "timestamp": "{ts}"}}"#
            ))
        };
        assert!(at(now() - MAX_AGE).is_ok());
        assert!(at(now() + MAX_AHEAD).is_ok());
        assert!(at(now() - MAX_AGE - Duration::seconds(1)).is_err());
        assert!(at(now() + MAX_AHEAD + Duration::seconds(1)).is_err());
    }

    #[test]
    fn tag_limits_apply() {
        let many: serde_json::Map<String, serde_json::Value> = (0..33)
            .map(|i| (format!("k{i}"), serde_json::Value::String("v".into())))
            .collect();
        let body = serde_json::json!({"name": "a", "value": 1, "tags": many}).to_string();
        assert_eq!(fields(metrics(&body).expect_err("33 keys")), ["tags"]);
        let body =
            serde_json::json!({"name": "a", "value": 1, "tags": {"k".repeat(65): "v"}}).to_string();
        assert_eq!(fields(metrics(&body).expect_err("long key")), ["tags"]);
        let body = serde_json::json!({"name": "a", "value": 1, "tags": {"k": "v".repeat(257)}})
            .to_string();
        assert_eq!(fields(metrics(&body).expect_err("long value")), ["tags"]);
        let body = serde_json::json!({"name": "a", "value": 1, "tags": {"k": "v".repeat(256)}})
            .to_string();
        assert!(metrics(&body).is_ok());
    }

    proptest! {
        #[test]
        fn names_are_accepted_exactly_when_they_match_the_pattern(s in "[ A-Za-z0-9_.:/-]{0,130}") {
            let n = normalize_name(&s);
            let want = !n.is_empty()
                && n.len() <= 128
                && n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:/-".contains(c));
            prop_assert_eq!(is_metric_name(&n), want);
        }

        #[test]
        fn any_decimal_round_trips_through_its_json_text(m in any::<i64>(), scale in 0u32..=18) {
            let d = Decimal::new(m, scale);
            prop_assert_eq!(parse_exact(&d.to_string()), Ok(d));
        }
    }
}
