//! Structured logs: one JSON object per line on stdout, which CloudWatch
//! Logs Insights can query field by field. `RUST_LOG` sets the level (default `info`).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    // `Targets`, not `EnvFilter`: RUST_LOG here is a level with optional
    // per-target levels ("info", "warn,shared=debug"); EnvFilter's span and
    // field matching would bring a regex engine into every binary.
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    // `try_init`: tests may call this more than once per process.
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_target(false),
        )
        .with(filter)
        .try_init();
}

/// RUST_LOG as `Targets`; unset, empty or unreadable means `info`.
fn log_filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
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
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_and_defaults_to_info() {
        let f = log_filter(None);
        assert!(f.would_enable("book", &Level::INFO));
        assert!(!f.would_enable("book", &Level::DEBUG));
        for blank in ["", "  ", "not=a=level"] {
            let f = log_filter(Some(blank));
            assert!(f.would_enable("x", &Level::INFO), "{blank:?}");
            assert!(!f.would_enable("x", &Level::DEBUG), "{blank:?}");
        }
        let f = log_filter(Some("warn,shared=debug"));
        assert!(!f.would_enable("book", &Level::INFO));
        assert!(f.would_enable("book", &Level::WARN));
        assert!(f.would_enable("shared::db", &Level::DEBUG));
    }

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
