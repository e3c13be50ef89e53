//! What the bench reads from inside the functions without changing them:
//! the `latency_ms` / `db_ms` of each invocation's log line (a tracing
//! layer), and the server notices tokio-postgres logs (auto_explain plans).

use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// `(latency_ms, db_ms)` of the last invocation line.
static LAST: Mutex<Option<(f64, f64)>> = Mutex::new(None);
static NOTICES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Invocations;

#[derive(Default)]
struct Fields {
    latency: Option<f64>,
    db: Option<f64>,
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        match field.name() {
            "latency_ms" => self.latency = Some(value),
            "db_ms" => self.db = Some(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> Layer<S> for Invocations {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if let (Some(l), Some(d)) = (f.latency, f.db)
            && let Ok(mut last) = LAST.lock()
        {
            *last = Some((l, d));
        }
    }
}

/// Installs the layer (no output: the bench prints its own table).
pub fn install() {
    let subscriber = tracing_subscriber::registry().with(Invocations);
    let _ = tracing::subscriber::set_global_default(subscriber);
    let _ = log::set_logger(&NOTICE_LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}

/// Takes the last invocation's `(latency_ms, db_ms)`.
pub fn take_last() -> Option<(f64, f64)> {
    LAST.lock().ok().and_then(|mut l| l.take())
}

struct NoticeLogger;
static NOTICE_LOGGER: NoticeLogger = NoticeLogger;

impl log::Log for NoticeLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("tokio_postgres")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata())
            && let Ok(mut n) = NOTICES.lock()
        {
            n.push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

/// Takes the notices received since the last call.
pub fn take_notices() -> Vec<String> {
    NOTICES
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default()
}
