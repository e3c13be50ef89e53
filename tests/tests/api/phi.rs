//! log-phi: the handler with `events/log-phi.json`; masked findings only in
//! the audit trail; no raw value in any column of any table, nor in the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::proxy::RoundTripProxy;
use integration_tests::{
    TestDb, assert_problem, body_json, error_fields, event, pooler_addr, set_body, status, token,
    token_with,
};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// Raw values sent in the tests below; none may come to rest anywhere.
const RAW: &[&str] = &[
    "Ada Lovelace",
    "Lovelace",
    "12/10/1815",
    "123-45-6789",
    "(415) 555-2671",
    "555-2671",
    "jane.roe@example.org",
    "4111 1111 1111 1111",
    "1234567893",
    "AB1234563",
    "1EG4-TE5-MK73",
    "GB82 WEST 1234 5698 7654 32",
    "021000021",
    "192.168.14.77",
    "1M8GDM9AXKP042788",
    "00123456",
    "W987654321",
    "4821 Oak Ridge Avenue",
    "June 4, 1942",
];

const PHI_TEXT: &str = "Patient Ada Lovelace (DOB 12/10/1815), SSN 123-45-6789, phone (415) 555-2671, \
email jane.roe@example.org, card 4111 1111 1111 1111, NPI 1234567893, DEA AB1234563, \
Medicare 1EG4-TE5-MK73, IBAN GB82 WEST 1234 5698 7654 32, routing 021000021, from 192.168.14.77, \
VIN 1M8GDM9AXKP042788, MRN: 00123456, member ID W987654321, lives at 4821 Oak Ridge Avenue, \
admitted June 4, 1942. Lovelace says hi.";

fn scan_req(tenant: Uuid, tok: &str, body: Option<Value>) -> lambda_http::Request {
    event("log-phi", tenant, None, tok, |e| {
        if let Some(b) = &body {
            set_body(e, b);
        }
    })
}

/// Every table of the public schema, each row as text.
async fn all_rows(db: &TestDb) -> Vec<String> {
    let admin = db.admin().await;
    let tables = admin
        .query(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN ('public', 'app')",
            &[],
        )
        .await
        .expect("tables");
    let mut out = Vec::new();
    for t in tables {
        let name: String = t.get(0);
        let rows = admin
            .query(&format!("SELECT t::text FROM {name} t"), &[])
            .await
            .expect("rows");
        out.extend(rows.into_iter().map(|r| r.get::<_, String>(0)));
    }
    out
}

async fn events_of(db: &TestDb, tenant: Uuid) -> Vec<tokio_postgres::Row> {
    db.admin()
        .await
        .query(
            "SELECT phi_type, masked_value, context, action_taken, user_id, session_id \
             FROM phi_detection_events WHERE tenant_id = $1 ORDER BY created_at, phi_type",
            &[&tenant],
        )
        .await
        .expect("events")
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_sample_event_masks_the_text_and_logs_each_finding_masked() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(log_phi::FUNCTION).await;
    // The file's own body, untouched.
    let resp = log_phi::handler(&state, scan_req(t.id, &token(t.member), None)).await;
    assert_eq!(status(&resp), 200, "{}", body_json(&resp));
    assert_eq!(resp.headers()["content-type"], "application/json");
    let b = body_json(&resp);
    assert_eq!(b["action_taken"], "masked");
    let masked = b["masked_text"].as_str().expect("masked_text");
    for raw in [
        "Ada Lovelace",
        "12/10/1815",
        "123-45-6789",
        "(415) 555-2671",
    ] {
        assert!(!masked.contains(raw), "{masked}");
    }
    assert!(masked.contains("***-**-6789"), "{masked}");
    let findings = b["findings"].as_array().expect("findings");
    let types: Vec<&str> = findings.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(types, ["PERSON", "DATE", "US_SSN", "PHONE_NUMBER"], "{b}");
    // Offsets count code points of the original text.
    let text = "Patient Ada Lovelace, DOB 12/10/1815, SSN 123-45-6789, call (415) 555-2671.";
    let chars: Vec<char> = text.chars().collect();
    let ssn = &findings[2];
    let (s, e) = (
        ssn["start"].as_u64().expect("start") as usize,
        ssn["end"].as_u64().expect("end") as usize,
    );
    assert_eq!(chars[s..e].iter().collect::<String>(), "123-45-6789");
    assert_eq!(ssn["masked_value"], "***-**-6789");
    assert!(
        ssn["confidence"]
            .as_f64()
            .is_some_and(|c| c > 0.5 && c <= 1.0)
    );

    let rows = events_of(&db, t.id).await;
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r.get::<_, String>("action_taken"), "masked");
        assert_eq!(r.get::<_, Option<Uuid>>("user_id"), Some(t.member));
        assert_eq!(
            r.get::<_, Option<String>>("session_id").as_deref(),
            Some("sess-001")
        );
        let context: String = r.get("context");
        let value: String = r.get("masked_value");
        assert!(context.contains(&value), "{context} / {value}");
    }
    let stored: Vec<String> = rows.iter().map(|r| r.get("masked_value")).collect();
    assert!(stored.contains(&"***-**-6789".to_owned()), "{stored:?}");
    assert!(stored.contains(&"[PERSON]".to_owned()), "{stored:?}");
}

#[tokio::test]
async fn no_column_of_any_table_and_no_log_line_holds_a_raw_value() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(log_phi::FUNCTION).await;
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let service = token_with(json!({"role": "service_role"}));
    let calls = [
        (token(t.member), "mask", "m-1"),
        (token(t.admin), "block", "m-2"),
        (service, "alert", "svc-1"),
    ];
    let mut total = 0;
    for (tok, action, sid) in &calls {
        let body = json!({"text": PHI_TEXT, "session_id": sid, "action": action});
        let resp = log_phi::handler(&state, scan_req(t.id, tok, Some(body))).await;
        let b = body_json(&resp);
        assert_eq!(status(&resp), 200, "{b}");
        let expected = match *action {
            "mask" => "masked",
            "block" => "blocked",
            _ => "alerted",
        };
        assert_eq!(b["action_taken"], expected);
        let text = b.to_string();
        for raw in RAW {
            assert!(!text.contains(raw), "{raw:?} in the response: {text}");
        }
        let n = b["findings"].as_array().map_or(0, Vec::len);
        assert!(n >= 17, "{b}");
        total += n;
    }
    let rows = events_of(&db, t.id).await;
    assert_eq!(rows.len(), total);
    // The service token has no `sub`: its rows carry no user.
    let svc: Vec<_> = rows
        .iter()
        .filter(|r| r.get::<_, Option<String>>("session_id").as_deref() == Some("svc-1"))
        .collect();
    assert!(!svc.is_empty());
    assert!(
        svc.iter()
            .all(|r| r.get::<_, Option<Uuid>>("user_id").is_none()
                && r.get::<_, String>("action_taken") == "alerted")
    );

    for row in all_rows(&db).await {
        for raw in RAW {
            assert!(!row.contains(raw), "{raw:?} stored in {row}");
        }
    }
    let captured = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("utf-8");
    assert!(captured.contains("log-phi"), "no invocation log captured");
    for raw in RAW {
        assert!(!captured.contains(raw), "{raw:?} logged");
    }
}

#[tokio::test]
async fn a_text_without_phi_answers_none_and_stores_nothing() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(log_phi::FUNCTION).await;
    let text = "Order #123456789 ships Tuesday; take 500 mg at 10:30, ICD-10 E11.9, version 10.2.3.4, call 911.";
    let body = json!({"text": text});
    let resp = log_phi::handler(&state, scan_req(t.id, &token(t.member), Some(body))).await;
    let b = body_json(&resp);
    assert_eq!(status(&resp), 200, "{b}");
    assert_eq!(b["action_taken"], "none");
    assert_eq!(b["masked_text"], text);
    assert_eq!(b["findings"], json!([]));
    assert!(events_of(&db, t.id).await.is_empty());
}

#[tokio::test]
async fn a_non_member_gets_403_with_or_without_phi_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(log_phi::FUNCTION).await;
    let stranger = token(Uuid::new_v4());
    for text in [PHI_TEXT, "nothing to see here"] {
        let body = json!({"text": text});
        let resp = log_phi::handler(&state, scan_req(t.id, &stranger, Some(body))).await;
        let p = assert_problem(&resp, 403, "forbidden");
        assert!(!p.to_string().contains("123-45-6789"));
    }
    assert!(events_of(&db, t.id).await.is_empty());
    let resp = log_phi::handler(&state, scan_req(t.id, "not-a-token", None)).await;
    assert_problem(&resp, 401, "unauthorized");
}

#[tokio::test]
async fn text_over_64_kib_is_413_and_64_kib_is_accepted() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(log_phi::FUNCTION).await;
    let tok = token(t.member);
    let limit = log_phi::MAX_TEXT_BYTES;
    let at_limit = "a".repeat(limit);
    let resp = log_phi::handler(
        &state,
        scan_req(t.id, &tok, Some(json!({"text": at_limit}))),
    )
    .await;
    assert_eq!(status(&resp), 200, "{}", body_json(&resp));
    let over = "a".repeat(limit + 1);
    let resp = log_phi::handler(&state, scan_req(t.id, &tok, Some(json!({"text": over})))).await;
    assert_problem(&resp, 413, "payload-too-large");
    // Multi-byte characters count as bytes: 32 Ki two-byte characters + 1.
    let wide = "é".repeat(limit / 2 + 1);
    let resp = log_phi::handler(&state, scan_req(t.id, &tok, Some(json!({"text": wide})))).await;
    assert_problem(&resp, 413, "payload-too-large");
    assert!(events_of(&db, t.id).await.is_empty());
}

#[tokio::test]
async fn invalid_bodies_are_400_naming_the_field() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(log_phi::FUNCTION).await;
    let tok = token(t.member);
    let cases = [
        (
            json!({"text": "SSN 123-45-6789", "action": "delete"}),
            "action",
        ),
        (json!({"text": "x", "action": "MASK"}), "action"),
        (json!({"text": 5}), "text"),
        (json!({"action": "mask"}), "text"),
        (json!({"text": "x", "session_id": ""}), "session_id"),
        (json!({"text": "x", "extra": 1}), "extra"),
    ];
    for (body, field) in cases {
        let resp = log_phi::handler(&state, scan_req(t.id, &tok, Some(body.clone()))).await;
        let p = assert_problem(&resp, 400, "invalid-request");
        assert_eq!(error_fields(&p), [field], "{body}: {p}");
        assert!(!p.to_string().contains("123-45-6789"));
    }
    assert!(events_of(&db, t.id).await.is_empty());
}

#[tokio::test]
async fn a_scan_with_findings_takes_one_round_trip() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let proxy = RoundTripProxy::start(pooler_addr(), Duration::from_millis(5)).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let state = db.state_with_url(log_phi::FUNCTION, url).await;
    proxy.reset();
    let body = json!({"text": PHI_TEXT, "session_id": "rt"});
    let resp = log_phi::handler(&state, scan_req(t.id, &token(t.member), Some(body))).await;
    assert_eq!(status(&resp), 200, "{}", body_json(&resp));
    assert_eq!(proxy.round_trips(), 1);
    let n = body_json(&resp)["findings"].as_array().map_or(0, Vec::len);
    assert_eq!(events_of(&db, t.id).await.len(), n);
}

#[tokio::test]
async fn score_stores_feedback_masked_and_logs_each_finding_in_the_same_transaction() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let state = db.state(score::FUNCTION).await;
    let feedback = "Dr. Ada Lovelace was great; call me at (415) 555-2671 or jane.roe@example.org, SSN 123-45-6789.";
    let req = event("score", t.id, None, &token(t.member), |e| {
        set_body(
            e,
            &json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                    "rating": 5, "feedback": feedback}),
        )
    });
    let resp = score::handler(&state, req).await;
    let b = body_json(&resp);
    assert_eq!(status(&resp), 201, "{b}");
    let stored = b["feedback"].as_str().expect("feedback");
    assert_eq!(
        stored,
        "Dr. [PERSON] was great; call me at (***) ***-2671 or [EMAIL_ADDRESS], SSN ***-**-6789."
    );
    let rows = events_of(&db, t.id).await;
    let mut types: Vec<String> = rows.iter().map(|r| r.get("phi_type")).collect();
    types.sort();
    assert_eq!(types, ["EMAIL_ADDRESS", "PERSON", "PHONE_NUMBER", "US_SSN"]);
    for r in &rows {
        assert_eq!(r.get::<_, String>("action_taken"), "masked");
        assert_eq!(r.get::<_, Option<Uuid>>("user_id"), Some(t.member));
        assert_eq!(
            r.get::<_, Option<String>>("session_id").as_deref(),
            Some("sess-20261201-0001")
        );
    }
    for row in all_rows(&db).await {
        for raw in RAW {
            assert!(!row.contains(raw), "{raw:?} stored in {row}");
        }
    }
    // Feedback without PHI: stored as is, no audit rows added.
    let req = event("score", t.id, None, &token(t.member), |_| {});
    let resp = score::handler(&state, req).await;
    assert_eq!(status(&resp), 201, "{}", body_json(&resp));
    assert_eq!(events_of(&db, t.id).await.len(), 4);
}
