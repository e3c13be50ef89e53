//! Every function's request type through the strict body parser the
//! handlers use (`shared::http::parse_json`), then record-metric's own
//! validation (public). Must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::http::parse_json;

fuzz_target!(|data: &[u8]| {
    let _ = parse_json::<book::BookRequest>(data);
    let _ = parse_json::<score::ScoreRequest>(data);
    let _ = parse_json::<upsert_product::ProductRequest>(data);
    let _ = parse_json::<checkout::CheckoutRequest>(data);
    let _ = parse_json::<log_phi::ScanRequest>(data);
    if let Ok(req) = parse_json::<record_metric::RecordRequest>(data) {
        let _ = req.into_metrics(time::OffsetDateTime::now_utc());
    }
    // An error never quotes the body back (it may be PHI): the problem's
    // text holds field paths and our own words only.
    if let Err(e) = parse_json::<book::BookRequest>(data) {
        let problem = format!("{e}");
        if let Ok(text) = std::str::from_utf8(data)
            && text.len() >= 16
            && text.chars().all(|c| c.is_ascii_alphanumeric())
        {
            assert!(!problem.contains(text), "the error echoes the body");
        }
    }
});
