//! Structured logs: one JSON object per line on stdout, which CloudWatch
//! Logs Insights can query field by field. `RUST_LOG` sets the level (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init`: tests may call this more than once per process.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .try_init();
}

/// Namespace of the CloudWatch metrics (`METRICS_NAMESPACE` overrides).
const DEFAULT_NAMESPACE: &str = "LambdaBackend";

/// Writes one CloudWatch Embedded Metric Format line for an invocation:
/// latency, database time and a request count, by function and by status
/// class. No tenant dimension: per-tenant dimensions would create a metric
/// per tenant (cost) and tenant ids are not for dashboards.
pub fn emit_invocation_metrics(function: &str, status: u16, latency_ms: f64, db_ms: f64) {
    println!(
        "{}",
        emf_line(function, status, latency_ms, db_ms, unix_millis())
    );
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

fn emf_line(
    function: &str,
    status: u16,
    latency_ms: f64,
    db_ms: f64,
    timestamp_ms: u128,
) -> String {
    let namespace =
        std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    let status_class = format!("{}xx", status / 100);
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["function"], ["function", "status_class"]],
                "Metrics": [
                    {"Name": "latency", "Unit": "Milliseconds"},
                    {"Name": "db_time", "Unit": "Milliseconds"},
                    {"Name": "requests", "Unit": "Count"}
                ]
            }]
        },
        "function": function,
        "status_class": status_class,
        "latency": latency_ms,
        "db_time": db_ms,
        "requests": 1
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_line_is_embedded_metric_format() {
        let line = emf_line("book", 409, 12.5, 3.25, 1_796_029_200_000);
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["_aws"]["Timestamp"], 1_796_029_200_000u64);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        // Every dimension and metric named in the directive is a top-level member.
        for dims in directive["Dimensions"].as_array().expect("dimensions") {
            for d in dims.as_array().expect("dimension set") {
                assert!(
                    v.get(d.as_str().expect("name")).is_some(),
                    "dimension {d} missing"
                );
            }
        }
        for m in directive["Metrics"].as_array().expect("metrics") {
            assert!(
                v[m["Name"].as_str().expect("name")].is_number(),
                "metric {m} missing"
            );
        }
        assert_eq!(v["status_class"], "4xx");
        assert_eq!(v["latency"], 12.5);
        assert!(v.get("tenant").is_none());
    }
}
