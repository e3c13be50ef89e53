//! Runs after the other tests (scripts/test.sh calls it with `--ignored`):
//! reads every log line the functions wrote during the run and proves that
//! none carries a token, a secret, a password or a PHI value used by a test.

use integration_tests::{JWT_SECRET, SENSITIVE_SAMPLES};

#[test]
#[ignore = "reads the logs of a whole test run; scripts/test.sh runs it last"]
fn the_logs_of_the_whole_run_hold_no_token_secret_or_phi() {
    let path = std::env::var("TEST_LOG_FILE").expect("TEST_LOG_FILE names the captured log");
    let logs = std::fs::read_to_string(&path).expect("captured log file");
    let invocations = logs
        .lines()
        .filter(|l| l.contains("\"message\":\"invocation\""))
        .count();
    assert!(
        invocations >= 50,
        "only {invocations} invocation lines captured: is logging wired up?"
    );
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        // A JWT is three base64url parts, the first two starting with `eyJ` ('{"').
        assert!(
            !line.contains("eyJ"),
            "a token (or JWT part) was logged: {line}"
        );
        assert!(!line.contains(JWT_SECRET), "the JWT secret was logged");
        for sample in SENSITIVE_SAMPLES {
            assert!(
                !line.contains(sample),
                "a sensitive test value was logged: {sample}"
            );
        }
    }
}
