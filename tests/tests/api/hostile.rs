//! Hostile input, route by route: malformed and mistyped JSON, unknown and
//! missing fields, huge strings, deep nesting, numbers at and beyond their
//! limits, Unicode edge cases, wrong content types, empty and 10 MB bodies.
//! Every case must be a 4xx problem+json, never a 5xx, and write nothing.
//! Then property-based bodies (arbitrary JSON, and mutations of a valid
//! body) against each handler: never a 5xx, every 4xx a problem+json.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use integration_tests::{Tenant, TestDb, connect, row_counts, status, token};
use lambda_http::{Body, Response};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::route_kit::{
    KIT_SKU, Route, States, Target, body_text, is_problem, request, seed_catalog,
};

/// A further edit of a case's event.
type Edit = Box<dyn Fn(&mut Value) + Send + Sync>;

/// What a case sends.
struct Case {
    name: String,
    /// The raw body text (`None`: no body at all).
    body: Option<String>,
    /// `Some(None)`: no Content-Type header; `Some(Some(ct))`: that one.
    content_type: Option<Option<&'static str>>,
    /// Base64-encode `body` as bytes that are not UTF-8 (`body` ignored).
    raw_bytes: Option<Vec<u8>>,
    /// Further edits of the event (path parameters, headers).
    edit: Option<Edit>,
    /// The exact status expected; `None`: any 4xx.
    expect: Option<u16>,
}

impl Case {
    fn new(name: impl Into<String>, body: impl Into<String>, expect: u16) -> Self {
        Self {
            name: name.into(),
            body: Some(body.into()),
            content_type: None,
            raw_bytes: None,
            edit: None,
            expect: Some(expect),
        }
    }

    fn json(name: impl Into<String>, body: &Value, expect: u16) -> Self {
        Self::new(name, body.to_string(), expect)
    }

    fn content_type(mut self, ct: Option<&'static str>) -> Self {
        self.content_type = Some(ct);
        self
    }

    fn edit(mut self, f: impl Fn(&mut Value) + Send + Sync + 'static) -> Self {
        self.edit = Some(Box::new(f));
        self
    }

    fn any_4xx(mut self) -> Self {
        self.expect = None;
        self
    }
}

/// `valid` with `key` set to `value` (at the top level).
fn with(valid: &Value, key: &str, value: Value) -> Value {
    let mut v = valid.clone();
    v[key] = value;
    v
}

/// `valid` without `key`.
fn without(valid: &Value, key: &str) -> Value {
    let mut v = valid.clone();
    v.as_object_mut().expect("object").remove(key);
    v
}

const NUL: &str = "a\u{0000}b";
const RLO: &str = "abc\u{202E}fdp.exe";
const RTL_MARK: &str = "\u{200F}Ada";
const BIG: usize = 10 * 1024 * 1024;

/// The cases every route with a JSON body shares.
/// The cases every route with a JSON body shares; `first_key` is a
/// required field of the body.
fn common_cases(valid: &Value, first_key: &str) -> Vec<Case> {
    let text = valid.to_string();
    let nested = format!(
        "{{\"{first_key}\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let nested_objects = format!(
        "{{\"{first_key}\": {}1{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let ten_mb = format!("{{\"{first_key}\": \"{}\"}}", "x".repeat(BIG));
    let mut cases = vec![
        Case::new("invalid JSON (cut short)", &text[..text.len() / 2], 400),
        Case::new("invalid JSON (not JSON at all)", "slot please", 400),
        Case::new("invalid JSON (single quotes)", "{'a': 1}", 400),
        Case::new("invalid JSON (trailing comma)", "{\"a\": 1,}", 400),
        Case::new("NaN literal", format!("{{\"{first_key}\": NaN}}"), 400),
        Case::new("an array, not an object", format!("[{text}]"), 400),
        Case::new("a string, not an object", "\"hello\"", 400),
        Case::new("null", "null", 400),
        Case::new("a number", "42", 400),
        Case::new("empty object", "{}", 400),
        Case::new("empty body", "", 400),
        Case::new("whitespace body", " \n\t ", 400),
        Case::new("byte-order mark first", format!("\u{FEFF}{text}"), 400),
        Case::json("unknown field", &with(valid, "is_admin", json!(true)), 400),
        Case::json(
            "unknown field (prototype pollution)",
            &with(valid, "__proto__", json!({"admin": true})),
            400,
        ),
        Case::new(
            "duplicate field",
            format!("{{\"{first_key}\": null, {}", &text[1..]),
            400,
        ),
        Case::json(
            format!("missing {first_key}"),
            &without(valid, first_key),
            400,
        ),
        Case::json(
            format!("{first_key} of the wrong type (object)"),
            &with(valid, first_key, json!({"$gt": ""})),
            400,
        ),
        Case::json(
            format!("{first_key} of the wrong type (true)"),
            &with(valid, first_key, json!(true)),
            400,
        ),
        Case::new(
            "escaped lone surrogate",
            format!("{{\"{first_key}\": \"\\ud800\"}}"),
            400,
        ),
        Case::new(
            "escaped lone low surrogate",
            text.replacen(':', ": \"\\udc00x\", \"zz\":", 1),
            400,
        ),
        // 400, or 413 where the body limit is below the 20 kB of brackets.
        Case::new("deep nesting (10,000 arrays)", nested, 400).any_4xx(),
        Case::new("deep nesting (10,000 objects)", nested_objects, 400).any_4xx(),
        Case::new("wrong content type", text.clone(), 415).content_type(Some("text/plain")),
        Case::new("form content type", text.clone(), 415)
            .content_type(Some("application/x-www-form-urlencoded")),
        Case::new("json-ish but not json", text.clone(), 415)
            .content_type(Some("application/jsonp")),
        Case::new("missing content type", text.clone(), 415).content_type(None),
        Case::new("a 10 MB body", ten_mb, 413),
    ];
    cases.push(Case {
        name: "not UTF-8".into(),
        body: None,
        content_type: None,
        raw_bytes: Some(
            [
                format!("{{\"{first_key}\": \"").into_bytes(),
                vec![0xff, 0xfe, 0xc3],
                b"\"}".to_vec(),
            ]
            .concat(),
        ),
        edit: None,
        expect: Some(400),
    });
    cases
}

fn book_cases() -> Vec<Case> {
    const KEY: &str = "slot_id";
    let v = Route::Book.valid_body(0).expect("body");
    let mut cases = common_cases(&v, KEY);
    for field in ["slot_id", "user_name", "user_email"] {
        cases.push(Case::json(
            format!("missing {field}"),
            &without(&v, field),
            400,
        ));
        cases.push(Case::json(
            format!("{field} a number"),
            &with(&v, field, json!(7)),
            400,
        ));
        cases.push(Case::json(
            format!("{field} null"),
            &with(&v, field, Value::Null),
            400,
        ));
        cases.push(Case::json(
            format!("{field} an array"),
            &with(&v, field, json!(["a"])),
            400,
        ));
        cases.push(Case::json(
            format!("{field} empty"),
            &with(&v, field, json!("")),
            400,
        ));
        cases.push(Case::json(
            format!("{field} blank"),
            &with(&v, field, json!("   ")),
            400,
        ));
        cases.push(Case::json(
            format!("{field} with NUL"),
            &with(&v, field, json!(NUL)),
            400,
        ));
        cases.push(Case::json(
            format!("{field} with a right-to-left override"),
            &with(&v, field, json!(RLO)),
            400,
        ));
        cases.push(Case::json(
            format!("{field} with a right-to-left mark"),
            &with(&v, field, json!(RTL_MARK)),
            400,
        ));
        cases.push(Case::json(
            format!("{field} of 100 KiB"),
            &with(&v, field, json!("y".repeat(100 * 1024))),
            400,
        ));
    }
    cases.push(Case::json(
        "slot_id of 201 characters",
        &with(&v, "slot_id", json!("s".repeat(201))),
        400,
    ));
    cases.push(Case::json(
        "user_name of 201 characters",
        &with(&v, "user_name", json!("é".repeat(201))),
        400,
    ));
    cases.push(Case::json(
        "user_email of 255 characters",
        &with(
            &v,
            "user_email",
            json!(format!("{}@example.com", "a".repeat(243))),
        ),
        400,
    ));
    for bad in [
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a b@example.com",
        "ada@exa\u{202E}mple.com",
    ] {
        cases.push(Case::json(
            format!("user_email {bad:?}"),
            &with(&v, "user_email", json!(bad)),
            400,
        ));
    }
    cases
}

fn score_cases() -> Vec<Case> {
    const KEY: &str = "messages";
    let v = Route::Score.valid_body(0).expect("body");
    let mut cases = common_cases(&v, KEY);
    let msg = |m: Value| with(&v, "messages", json!([m]));
    cases.extend([
        Case::json("messages missing", &without(&v, "messages"), 400),
        Case::json(
            "messages an object",
            &with(&v, "messages", json!({"role": "user"})),
            400,
        ),
        Case::json("messages empty", &with(&v, "messages", json!([])), 400),
        Case::json(
            "1,001 messages",
            &with(
                &v,
                "messages",
                json!(vec![json!({"role": "user", "content": "hi"}); 1001]),
            ),
            400,
        ),
        Case::json(
            "unknown role",
            &msg(json!({"role": "admin", "content": "hi"})),
            400,
        ),
        Case::json(
            "role upper-case",
            &msg(json!({"role": "User", "content": "hi"})),
            400,
        ),
        Case::json("content missing", &msg(json!({"role": "user"})), 400),
        Case::json(
            "content a number",
            &msg(json!({"role": "user", "content": 1})),
            400,
        ),
        Case::json(
            "content over 32 KiB",
            &msg(json!({"role": "user", "content": "c".repeat(32 * 1024 + 1)})),
            400,
        ),
        Case::json(
            "error a string",
            &msg(json!({"role": "user", "content": "x", "error": "yes"})),
            400,
        ),
        Case::json(
            "unknown message field",
            &msg(json!({"role": "user", "content": "x", "score": 100})),
            400,
        ),
        Case::json("rating 0", &with(&v, "rating", json!(0)), 400),
        Case::json("rating -1", &with(&v, "rating", json!(-1)), 400),
        Case::json("rating 6", &with(&v, "rating", json!(6)), 400),
        Case::json("rating 4.5", &with(&v, "rating", json!(4.5)), 400),
        Case::json("rating \"4\"", &with(&v, "rating", json!("4")), 400),
        Case::new(
            "rating 1e400",
            v.to_string().replace("\"rating\":4", "\"rating\":1e400"),
            400,
        ),
        Case::new(
            "rating beyond i64",
            v.to_string()
                .replace("\"rating\":4", "\"rating\":9223372036854775808"),
            400,
        ),
        Case::json("rating i64::MIN", &with(&v, "rating", json!(i64::MIN)), 400),
        Case::json(
            "feedback of 4,001 characters",
            &with(&v, "feedback", json!("f".repeat(4001))),
            400,
        ),
        Case::json("feedback with NUL", &with(&v, "feedback", json!(NUL)), 400),
        Case::json(
            "feedback with a right-to-left override",
            &with(&v, "feedback", json!(RLO)),
            400,
        ),
        Case::json("feedback a number", &with(&v, "feedback", json!(3)), 400),
    ]);
    for (name, session) in [
        ("session id with NUL", "s\u{0000}1".to_owned()),
        ("session id with a right-to-left override", RLO.to_owned()),
        ("session id of 201 characters", "s".repeat(201)),
        ("session id blank", "   ".to_owned()),
    ] {
        cases.push(Case::json(name, &v, 400).edit(move |e| {
            e["pathParameters"]["sessionId"] = json!(session);
        }));
    }
    cases
}

fn metric_cases() -> Vec<Case> {
    const KEY: &str = "name";
    let v = Route::RecordMetric.valid_body(0).expect("body");
    let mut cases = common_cases(&v, KEY);
    let text = v.to_string();
    let value_as = |raw: &str| text.replace("\"value\":12.5", &format!("\"value\":{raw}"));
    for raw in [
        "1e400",
        "-1e400",
        "1e-40",
        "79228162514264337593543950336",
        "1234567890123456789012345678901",
        "0.00000000000000000000000000001",
        "\"1\"",
        "null",
        "true",
        "[1]",
        "{}",
        "Infinity",
        "-",
        "01",
        "1.",
    ] {
        cases.push(Case::new(format!("value {raw}"), value_as(raw), 400));
    }
    for name in [
        "",
        "   ",
        "Bad Name",
        "-starts-with-dash",
        "a\u{0000}b",
        "caf\u{00e9}",
        "\u{202E}abc",
        "n\u{200F}",
    ] {
        cases.push(Case::json(
            format!("name {name:?}"),
            &with(&v, "name", json!(name)),
            400,
        ));
    }
    cases.push(Case::json(
        "name of 129 characters",
        &with(&v, "name", json!("n".repeat(129))),
        400,
    ));
    cases.push(Case::json(
        "name a number",
        &with(&v, "name", json!(5)),
        400,
    ));
    let many_tags: Map<String, Value> = (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    cases.extend([
        Case::json("tags an array", &with(&v, "tags", json!(["a"])), 400),
        Case::json(
            "tag value a number",
            &with(&v, "tags", json!({"a": 1})),
            400,
        ),
        Case::json("tag value null", &with(&v, "tags", json!({"a": null})), 400),
        Case::json("33 tags", &with(&v, "tags", Value::Object(many_tags)), 400),
        Case::json("empty tag key", &with(&v, "tags", json!({"": "v"})), 400),
        Case::json(
            "tag key of 65 characters",
            &with(&v, "tags", json!({"k".repeat(65): "v"})),
            400,
        ),
        Case::json(
            "tag value of 257 characters",
            &with(&v, "tags", json!({"k": "v".repeat(257)})),
            400,
        ),
        Case::json("tag with NUL", &with(&v, "tags", json!({"k": NUL})), 400),
        Case::json(
            "tag key with NUL",
            &with(&v, "tags", json!({NUL: "v"})),
            400,
        ),
        Case::json(
            "tag with a right-to-left override",
            &with(&v, "tags", json!({"k": RLO})),
            400,
        ),
        Case::new(
            "duplicate tag keys",
            text.replace("{\"env\":\"test\"}", "{\"env\":\"a\",\"env\":\"b\"}"),
            400,
        ),
        Case::json(
            "timestamp garbage",
            &with(&v, "timestamp", json!("yesterday")),
            400,
        ),
        Case::json(
            "timestamp a number",
            &with(&v, "timestamp", json!(1_700_000_000)),
            400,
        ),
        Case::json(
            "timestamp 2 years ago",
            &with(&v, "timestamp", json!("2000-01-01T00:00:00Z")),
            400,
        ),
        Case::json(
            "timestamp far ahead",
            &with(&v, "timestamp", json!("9999-12-31T23:59:59Z")),
            400,
        ),
        Case::json(
            "timestamp without zone",
            &with(&v, "timestamp", json!("2026-12-01T10:00:00")),
            400,
        ),
        Case::json("empty batch", &json!({"metrics": []}), 400),
        Case::json(
            "batch of 1,001",
            &json!({"metrics": vec![v.clone(); 1001]}),
            400,
        ),
        Case::json(
            "batch and single fields",
            &with(&v, "metrics", json!([v.clone()])),
            400,
        ),
        Case::json("metrics an object", &json!({"metrics": v.clone()}), 400),
        Case::json(
            "one bad entry of three",
            &json!({"metrics": [v.clone(), with(&v, "value", json!("x")), v.clone()]}),
            400,
        ),
        Case::json("missing value", &without(&v, "value"), 400),
    ]);
    cases
}

fn product_cases() -> Vec<Case> {
    const KEY: &str = "name";
    let v = Route::UpsertProduct.valid_body(0).expect("body");
    let mut cases = common_cases(&v, KEY);
    for price in [
        "0",
        "0.00",
        "-1",
        "-0.01",
        "1e3",
        "12.505",
        "12.5.0",
        ".5",
        "5.",
        " 5",
        "5 ",
        "1_000",
        "100000000000",
        "99999999999999999999999999999",
        "NaN",
        "",
        "0x10",
        "١٢",
    ] {
        cases.push(Case::json(
            format!("unit_price {price:?}"),
            &with(&v, "unit_price", json!(price)),
            400,
        ));
    }
    cases.push(Case::json(
        "unit_price a number",
        &with(&v, "unit_price", json!(12.5)),
        400,
    ));
    for cur in ["usd", "US", "USDD", "XAU", "XXX", "ZZZ", "", "U\u{0000}D"] {
        cases.push(Case::json(
            format!("currency {cur:?}"),
            &with(&v, "currency", json!(cur)),
            400,
        ));
    }
    for (name, value) in [
        ("name empty", json!("")),
        ("name of 201 characters", json!("n".repeat(201))),
        ("name with NUL", json!(NUL)),
        ("name with a right-to-left override", json!(RLO)),
        ("name with a right-to-left mark", json!(RTL_MARK)),
        ("name a number", json!(1)),
        ("active a string", json!("yes")),
        ("active 1", json!(1)),
    ] {
        let key = if name.starts_with("active") {
            "active"
        } else {
            "name"
        };
        cases.push(Case::json(name, &with(&v, key, value), 400));
    }
    for sku in ["bad sku", "é", "a/b", "x\u{0000}", &"s".repeat(65)] {
        let sku = sku.to_owned();
        cases.push(
            Case::json(format!("sku {sku:?} in the path"), &v, 400).edit(move |e| {
                e["pathParameters"]["sku"] = json!(sku);
            }),
        );
    }
    cases
}

fn checkout_cases() -> Vec<Case> {
    const KEY: &str = "items";
    let v = Route::Checkout.valid_body(0).expect("body");
    let mut cases = common_cases(&v, KEY);
    let item = |i: Value| json!({"items": [i]});
    for (name, qty) in [
        ("quantity 0", json!(0)),
        ("quantity -1", json!(-1)),
        ("quantity 1,001", json!(1001)),
        ("quantity u32::MAX + 1", json!(4_294_967_296_u64)),
        ("quantity 1.5", json!(1.5)),
        ("quantity \"1\"", json!("1")),
        ("quantity null", Value::Null),
    ] {
        cases.push(Case::json(
            name,
            &item(json!({"sku": KIT_SKU, "quantity": qty})),
            400,
        ));
    }
    cases.push(Case::new(
        "quantity 1e400",
        format!("{{\"items\":[{{\"sku\":\"{KIT_SKU}\",\"quantity\":1e400}}]}}"),
        400,
    ));
    for sku in ["", "bad sku", "é", "x\u{0000}", RLO, &"s".repeat(65)] {
        cases.push(Case::json(
            format!("item sku {sku:?}"),
            &item(json!({"sku": sku, "quantity": 1})),
            400,
        ));
    }
    cases.extend([
        Case::json("items empty", &json!({"items": []}), 400),
        Case::json("items missing", &json!({"currency": "USD"}), 400),
        Case::json("items an object", &json!({"items": {"sku": KIT_SKU}}), 400),
        Case::json("101 items", &json!({"items": vec![json!({"sku": KIT_SKU, "quantity": 1}); 101]}), 400),
        Case::json(
            "merged quantities over 1,000",
            &json!({"items": [{"sku": KIT_SKU, "quantity": 600}, {"sku": KIT_SKU, "quantity": 600}]}),
            400,
        ),
        Case::json("a client price", &item(json!({"sku": KIT_SKU, "quantity": 1, "unit_price": "0.01"})), 400),
        Case::json("a client total", &with(&v, "total", json!("0.01")), 400),
        Case::json("currency lower-case", &with(&v, "currency", json!("usd")), 400),
        Case::json("currency XAU", &with(&v, "currency", json!("XAU")), 400),
        Case::json("currency a number", &with(&v, "currency", json!(840)), 400),
        Case::json("customer_email invalid", &with(&v, "customer_email", json!("nobody")), 400),
        Case::json("customer_email with NUL", &with(&v, "customer_email", json!("a\u{0000}@example.com")), 400),
        Case::json("payment_method with NUL", &with(&v, "payment_method", json!(NUL)), 400),
        Case::json("transaction_id with a right-to-left override", &with(&v, "transaction_id", json!(RLO)), 400),
        Case::json("payment_method of 100 KiB", &with(&v, "payment_method", json!("p".repeat(100 * 1024))), 413),
        Case::json("shipping_address a string", &with(&v, "shipping_address", json!("1 Main St")), 400),
        Case::json("shipping_address over 2 KiB", &with(&v, "shipping_address", json!({"line1": "l".repeat(3000)})), 400),
        Case::json("shipping_address with NUL", &with(&v, "shipping_address", json!({"line1": NUL})), 400),
        Case::json("unknown sku", &item(json!({"sku": "NOPE", "quantity": 1})), 422),
    ]);
    for (name, key) in [
        ("Idempotency-Key of 256 characters", Some("k".repeat(256))),
        ("Idempotency-Key empty", Some(String::new())),
        ("Idempotency-Key not ASCII", Some("ключ".to_owned())),
        ("Idempotency-Key missing", None),
    ] {
        cases.push(Case::json(name, &v, 400).edit(move |e| {
            let headers = e["headers"].as_object_mut().expect("headers");
            match &key {
                Some(k) => headers.insert("idempotency-key".into(), json!(k)),
                None => headers.remove("idempotency-key"),
            };
        }));
    }
    cases
}

fn phi_cases() -> Vec<Case> {
    const KEY: &str = "text";
    let v = Route::LogPhi.valid_body(0).expect("body");
    let mut cases = common_cases(&v, KEY);
    cases.extend([
        Case::json("text missing", &without(&v, "text"), 400),
        Case::json("text a number", &with(&v, "text", json!(123_456_789)), 400),
        Case::json("text null", &with(&v, "text", Value::Null), 400),
        Case::json(
            "text an array",
            &with(&v, "text", json!(["SSN 123-45-6789"])),
            400,
        ),
        Case::json(
            "text over 64 KiB",
            &with(&v, "text", json!("t".repeat(64 * 1024 + 1))),
            413,
        ),
        Case::json("action unknown", &with(&v, "action", json!("delete")), 400),
        Case::json("action upper-case", &with(&v, "action", json!("MASK")), 400),
        Case::json("action a number", &with(&v, "action", json!(1)), 400),
        Case::json("session_id empty", &with(&v, "session_id", json!("")), 400),
        Case::json(
            "session_id with NUL",
            &with(&v, "session_id", json!(NUL)),
            400,
        ),
        Case::json(
            "session_id with a right-to-left override",
            &with(&v, "session_id", json!(RLO)),
            400,
        ),
        Case::json(
            "session_id of 201 characters",
            &with(&v, "session_id", json!("s".repeat(201))),
            400,
        ),
    ]);
    cases
}

/// Cancel takes no body: anything but none or `{}` is refused.
fn cancel_cases() -> Vec<Case> {
    let ten_mb = format!("{{\"reason\": \"{}\"}}", "x".repeat(BIG));
    let mut cases = vec![
        Case::new(
            "a body with a field",
            "{\"reason\": \"changed my mind\"}",
            400,
        ),
        Case::new("a status in the body", "{\"status\": \"confirmed\"}", 400),
        Case::new("invalid JSON", "{\"reason\": ", 400),
        Case::new("not JSON", "cancel it", 400),
        Case::new("an array of one", "[1]", 400),
        Case::new("escaped lone surrogate", "{\"\\ud800\": 1}", 400),
        Case::new(
            "deep nesting (10,000 arrays)",
            format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000)),
            400,
        ),
        Case::new("wrong content type", "{\"a\": 1}", 415).content_type(Some("text/plain")),
        Case::new("missing content type", "{\"a\": 1}", 415).content_type(None),
        Case::new("a 10 MB body", ten_mb, 413),
    ];
    for (name, id) in [
        ("booking id not a UUID", "booking-1".to_owned()),
        (
            "booking id with NUL",
            "00000000-0000-4000-8000-00000000000\u{0000}".to_owned(),
        ),
        ("booking id SQL", "1' OR '1'='1".to_owned()),
        ("booking id empty", String::new()),
    ] {
        cases.push(
            Case {
                name: name.into(),
                body: None,
                content_type: None,
                raw_bytes: None,
                edit: None,
                expect: Some(404),
            }
            .edit(move |e| {
                e["pathParameters"]["bookingId"] = json!(id);
            }),
        );
    }
    for (name, tenant) in [
        ("tenant id not a UUID", "clinic-1"),
        ("tenant id with NUL", "\u{0000}"),
    ] {
        cases.push(
            Case {
                name: name.into(),
                body: None,
                content_type: None,
                raw_bytes: None,
                edit: None,
                expect: Some(404),
            }
            .edit(move |e| {
                e["pathParameters"]["tenantId"] = json!(tenant);
            }),
        );
    }
    cases
}

/// Count and digest of every row of every table in `public`: proves that
/// no row was added, removed or changed.
async fn snapshot(admin: &Client) -> BTreeMap<String, (i64, String)> {
    let counts = row_counts(admin).await;
    let mut out = BTreeMap::new();
    for (table, n) in counts {
        let digest: String = admin
            .query_one(
                &format!(
                    "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM public.\"{table}\" t"
                ),
                &[],
            )
            .await
            .expect("digest")
            .get(0);
        out.insert(table, (n, digest));
    }
    out
}

struct Fixture {
    db: TestDb,
    t: Tenant,
    states: States,
    booking: Uuid,
}

async fn fixture() -> Fixture {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    seed_catalog(&db, t.id).await;
    let booking: Uuid = db
        .admin()
        .await
        .query_one(
            "INSERT INTO bookings (tenant_id, slot_id, user_id, user_name, user_email, status) \
             VALUES ($1, 'held', $2, 'Ada Patient', 'ada@example.com', 'confirmed') RETURNING id",
            &[&t.id, &t.member],
        )
        .await
        .expect("booking")
        .get(0);
    let states = States::new(&db).await;
    Fixture {
        db,
        t,
        states,
        booking,
    }
}

fn target_for(route: Route, f: &Fixture) -> Target {
    match route {
        Route::Cancel => Target {
            booking: Some(f.booking),
            ..Target::default()
        },
        // The admin may write the catalog: the body is what is refused.
        Route::UpsertProduct => Target {
            sku: Some("HOSTILE-1".into()),
            ..Target::default()
        },
        Route::Checkout => Target {
            key: Some("hostile-key".into()),
            ..Target::default()
        },
        _ => Target::default(),
    }
}

fn caller_for(route: Route, t: &Tenant) -> String {
    if route == Route::UpsertProduct {
        token(t.admin)
    } else {
        token(t.member)
    }
}

fn build(route: Route, f: &Fixture, case: &Case) -> lambda_http::Request {
    let tok = caller_for(route, &f.t);
    request(
        route,
        f.t.id,
        Some(&tok),
        &target_for(route, f),
        case.body.as_deref(),
        |e| {
            if let Some(bytes) = &case.raw_bytes {
                e["body"] = json!(base64(bytes));
                e["isBase64Encoded"] = json!(true);
            }
            match case.content_type {
                Some(Some(ct)) => e["headers"]["content-type"] = json!(ct),
                Some(None) => {
                    e["headers"]
                        .as_object_mut()
                        .expect("headers")
                        .remove("content-type");
                }
                None => {}
            }
            if let Some(edit) = &case.edit {
                edit(e);
            }
        },
    )
}

async fn run_cases(route: Route, cases: Vec<Case>) {
    let f = fixture().await;
    let admin = connect(&f.db.direct_url()).await;
    let before = snapshot(&admin).await;
    let mut failures = Vec::new();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let n = cases.len();
    for case in &cases {
        let resp = f.states.call(route, build(route, &f, case)).await;
        let got = status(&resp);
        *by_status.entry(got).or_default() += 1;
        let ok_status = match case.expect {
            Some(want) => got == want,
            None => (400..500).contains(&got),
        };
        if !ok_status || !is_problem(&resp) {
            failures.push(format!(
                "{}: expected {:?}, got {got}: {}",
                case.name,
                case.expect,
                short(&body_text(&resp))
            ));
        }
    }
    let after = snapshot(&admin).await;
    eprintln!(
        "hostile {}: {n} cases, statuses {by_status:?}, 5xx {}, tables unchanged: {}",
        route.name(),
        by_status.range(500..).map(|(_, c)| c).sum::<usize>(),
        before == after
    );
    assert!(
        failures.is_empty(),
        "{} of {n} hostile {} cases failed:\n{}",
        failures.len(),
        route.name(),
        failures.join("\n")
    );
    assert_eq!(before, after, "a refused request wrote something");
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Standard base64 (the event's `isBase64Encoded` body).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn hostile_bodies_to_book_are_4xx_problems_and_write_nothing() {
    run_cases(Route::Book, book_cases()).await;
}

#[tokio::test]
async fn hostile_bodies_to_cancel_are_4xx_problems_and_write_nothing() {
    run_cases(Route::Cancel, cancel_cases()).await;
}

#[tokio::test]
async fn hostile_bodies_to_score_are_4xx_problems_and_write_nothing() {
    run_cases(Route::Score, score_cases()).await;
}

#[tokio::test]
async fn hostile_bodies_to_record_metric_are_4xx_problems_and_write_nothing() {
    run_cases(Route::RecordMetric, metric_cases()).await;
}

#[tokio::test]
async fn hostile_bodies_to_upsert_product_are_4xx_problems_and_write_nothing() {
    run_cases(Route::UpsertProduct, product_cases()).await;
}

#[tokio::test]
async fn hostile_bodies_to_checkout_are_4xx_problems_and_write_nothing() {
    run_cases(Route::Checkout, checkout_cases()).await;
}

#[tokio::test]
async fn hostile_bodies_to_log_phi_are_4xx_problems_and_write_nothing() {
    run_cases(Route::LogPhi, phi_cases()).await;
}

/// A body is one JSON object and nothing else: whatever follows the first
/// object (a second, smuggled document included) makes it malformed. This
/// once passed unnoticed (`parse_json` did not call `Deserializer::end`).
#[tokio::test]
async fn characters_after_the_json_object_are_400_on_every_route() {
    let mut all = Vec::new();
    for route in crate::route_kit::ROUTES {
        let valid = route.valid_body(0).unwrap_or_else(|| json!({})).to_string();
        let cases = vec![
            Case::new("trailing garbage", format!("{valid} x"), 400),
            Case::new("two documents", format!("{valid}{valid}"), 400),
            Case::new("a trailing array", format!("{valid}[]"), 400),
        ];
        let f = fixture().await;
        let admin = connect(&f.db.direct_url()).await;
        let before = snapshot(&admin).await;
        for case in &cases {
            let resp = f.states.call(route, build(route, &f, case)).await;
            if status(&resp) != 400 || !is_problem(&resp) {
                all.push(format!("{} {}: {}", route.name(), case.name, status(&resp)));
            }
        }
        if before != snapshot(&admin).await {
            all.push(format!("{}: rows written", route.name()));
        }
    }
    assert!(all.is_empty(), "accepted:\n{}", all.join("\n"));
}

// ------------------------------------------------------------ properties --

/// Cases per route and strategy: enough to wander, few enough to stay fast.
const PROPTEST_CASES: u32 = 96;

/// Field names the handlers know, so that generated objects often reach
/// the type and validation checks rather than stopping at "unknown field".
const KNOWN_KEYS: &[&str] = &[
    "slot_id",
    "user_name",
    "user_email",
    "messages",
    "role",
    "content",
    "error",
    "rating",
    "feedback",
    "metrics",
    "name",
    "value",
    "tags",
    "timestamp",
    "unit_price",
    "currency",
    "active",
    "items",
    "sku",
    "quantity",
    "customer_email",
    "payment_method",
    "transaction_id",
    "shipping_address",
    "text",
    "session_id",
    "action",
];

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 ._@-]{0,20}",
        Just(String::new()),
        Just("\u{0000}".to_owned()),
        Just("\u{202E}\u{200F}\u{2066}".to_owned()),
        Just("123-45-6789".to_owned()),
        Just(KIT_SKU.to_owned()),
        Just("user".to_owned()),
        Just("USD".to_owned()),
        Just("12.50".to_owned()),
        Just("2026-12-01T10:00:00Z".to_owned()),
        Just("ada@example.com".to_owned()),
    ]
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        (-3_i64..8).prop_map(|n| json!(n)),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        any_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KNOWN_KEYS).prop_map(str::to_owned),
                        any_string()
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `v` (object keys and array indexes).
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(json!(k));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(json!(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn slot<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = match p {
            Value::String(k) => cur.get_mut(k.as_str())?,
            Value::Number(i) => cur.get_mut(usize::try_from(i.as_u64()?).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    AddField(usize, String, Value),
}

/// `valid` with one to three values somewhere inside replaced, removed, or
/// joined by another field.
fn apply(valid: &Value, muts: &[Mutation]) -> Value {
    let mut v = valid.clone();
    for m in muts {
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        if all.is_empty() {
            break;
        }
        match m {
            Mutation::Replace(i, new) => {
                let p = &all[i % all.len()];
                if let Some(s) = slot(&mut v, p) {
                    *s = new.clone();
                }
            }
            Mutation::Remove(i) => {
                let p = &all[i % all.len()];
                let (last, parent) = p.split_last().expect("non-empty path");
                if let Some(parent) = slot(&mut v, parent) {
                    match (parent, last) {
                        (Value::Object(m), Value::String(k)) => {
                            m.remove(k.as_str());
                        }
                        (Value::Array(a), Value::Number(n)) => {
                            if let Some(i) = n.as_u64().and_then(|n| usize::try_from(n).ok())
                                && i < a.len()
                            {
                                a.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Mutation::AddField(i, k, new) => {
                let p = &all[i % all.len()];
                let (_, parent) = p.split_last().expect("non-empty path");
                if let Some(Value::Object(m)) = slot(&mut v, parent) {
                    m.insert(k.clone(), new.clone());
                }
            }
        }
    }
    v
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => (
            any::<usize>(),
            prop_oneof![prop::sample::select(KNOWN_KEYS).prop_map(str::to_owned), any_string()],
            any_json()
        )
            .prop_map(|(i, k, v)| Mutation::AddField(i, k, v)),
    ]
}

/// Raw-text edits of the serialized valid body: bytes cut, inserted, repeated.
fn text_mutation(valid: String) -> impl Strategy<Value = String> {
    let len = valid.len();
    (
        0..=len,
        0..=len,
        prop_oneof![
            Just(String::new()),
            Just("\\".to_owned()),
            Just("\"".to_owned()),
            Just("\\u0000".to_owned()),
            Just("\\ud800".to_owned()),
            Just("{".to_owned()),
            Just("[".to_owned()),
            Just("1e999".to_owned()),
            Just("-".to_owned()),
            any::<String>(),
        ],
    )
        .prop_map(move |(a, b, insert)| {
            let (lo, hi) = (a.min(b), a.max(b));
            let cut = |i: usize| {
                let mut i = i;
                while !valid.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            format!("{}{insert}{}", &valid[..cut(lo)], &valid[cut(hi)..])
        })
}

fn check_response(resp: &Response<Body>, what: &str) -> Result<(), TestCaseError> {
    let s = status(resp);
    prop_assert!(s < 500, "{what}: {s} {}", short(&body_text(resp)));
    if (400..500).contains(&s) {
        prop_assert!(
            is_problem(resp),
            "{what}: {s} not problem+json: {}",
            short(&body_text(resp))
        );
    }
    Ok(())
}

/// Runs generated bodies through `route`'s handler (arbitrary JSON, then
/// mutations of a valid body, then raw-text mutations of it).
fn property_run(route: Route) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let f = rt.block_on(fixture());
    let counter = AtomicUsize::new(0);
    let valid = route.valid_body(1).unwrap_or_else(|| json!({}));
    let config = PropConfig {
        cases: PROPTEST_CASES,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..PropConfig::default()
    };
    let send = |body: String| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let mut target = target_for(route, &f);
        // Fresh keys and skus so that valid mutations reach the database.
        if route == Route::Checkout {
            target.key = Some(format!("prop-{n}"));
        }
        if route == Route::UpsertProduct {
            target.sku = Some(format!("PROP-{n}"));
        }
        let tok = caller_for(route, &f.t);
        let req = request(route, f.t.id, Some(&tok), &target, Some(&body), |_| {});
        rt.block_on(f.states.call(route, req))
    };

    let mut runner = TestRunner::new(config.clone());
    runner
        .run(&any_json(), |v| {
            let resp = send(v.to_string());
            check_response(&resp, &format!("{} arbitrary {v}", route.name()))
        })
        .unwrap_or_else(|e| panic!("{}: {e}", route.name()));

    let mut runner = TestRunner::new(config.clone());
    runner
        .run(&prop::collection::vec(mutation(), 1..4), |muts| {
            let body = apply(&valid, &muts);
            let resp = send(body.to_string());
            check_response(&resp, &format!("{} mutated {body}", route.name()))
        })
        .unwrap_or_else(|e| panic!("{}: {e}", route.name()));

    let mut runner = TestRunner::new(config);
    runner
        .run(&text_mutation(valid.to_string()), |text| {
            let resp = send(text.clone());
            check_response(&resp, &format!("{} text {text:?}", route.name()))
        })
        .unwrap_or_else(|e| panic!("{}: {e}", route.name()));
    eprintln!(
        "property bodies {}: {} requests, none 5xx",
        route.name(),
        counter.load(Ordering::Relaxed)
    );
    drop(f);
}

#[test]
fn generated_bodies_to_book_are_never_5xx() {
    property_run(Route::Book);
}

#[test]
fn generated_bodies_to_cancel_are_never_5xx() {
    property_run(Route::Cancel);
}

#[test]
fn generated_bodies_to_score_are_never_5xx() {
    property_run(Route::Score);
}

#[test]
fn generated_bodies_to_record_metric_are_never_5xx() {
    property_run(Route::RecordMetric);
}

#[test]
fn generated_bodies_to_upsert_product_are_never_5xx() {
    property_run(Route::UpsertProduct);
}

#[test]
fn generated_bodies_to_checkout_are_never_5xx() {
    property_run(Route::Checkout);
}

#[test]
fn generated_bodies_to_log_phi_are_never_5xx() {
    property_run(Route::LogPhi);
}
