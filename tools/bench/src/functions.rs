//! The eight functions as the bench drives them: their `events/` request,
//! the fixtures each needs, and one invocation.

use std::time::Duration;

use anyhow::{Context, Result};
use integration_tests::{Tenant, TestDb, event, set_body, token};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::AppState;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Book,
    Cancel,
    Score,
    RecordMetric,
    UpsertProduct,
    Checkout,
    LogPhi,
    CreatePartitions,
}

impl Function {
    /// In an order where each one's fixtures exist when it runs.
    pub const ALL: [Function; 8] = [
        Function::CreatePartitions,
        Function::Book,
        Function::Cancel,
        Function::UpsertProduct,
        Function::Checkout,
        Function::Score,
        Function::RecordMetric,
        Function::LogPhi,
    ];

    /// The function's name: its package, its binary and its `events/` file.
    pub fn name(self) -> &'static str {
        match self {
            Function::Book => book::FUNCTION,
            Function::Cancel => cancel::FUNCTION,
            Function::Score => score::FUNCTION,
            Function::RecordMetric => record_metric::FUNCTION,
            Function::UpsertProduct => upsert_product::FUNCTION,
            Function::Checkout => checkout::FUNCTION,
            Function::LogPhi => log_phi::FUNCTION,
            Function::CreatePartitions => create_partitions::FUNCTION,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether it answers HTTP (create-partitions is a scheduled job).
    pub fn is_http(self) -> bool {
        self != Function::CreatePartitions
    }
}

/// One execution environment of one function with what its requests need.
pub struct Env {
    pub function: Function,
    pub state: AppState,
    pub tenant: Tenant,
    member_token: String,
    admin_token: String,
    /// Confirmed bookings of the member, for cancel (one per request).
    bookings: Vec<Uuid>,
    /// Distinguishes this environment's slots and idempotency keys.
    prefix: String,
}

impl Env {
    /// A state for `function` connected to `url`, in a fresh tenant of `db`,
    /// with the fixtures `requests` invocations need.
    pub async fn new(
        db: &TestDb,
        function: Function,
        url: String,
        requests: usize,
        tenant: Option<Tenant>,
    ) -> Result<Self> {
        let tenant = match tenant {
            Some(t) => t,
            None => db.tenant().await,
        };
        let state = db.state_with_url(function.name(), url).await;
        let mut env = Self {
            function,
            state,
            tenant,
            member_token: token(tenant.member),
            admin_token: token(tenant.admin),
            bookings: Vec::new(),
            prefix: Uuid::new_v4().simple().to_string(),
        };
        env.fixtures(db, requests).await?;
        Ok(env)
    }

    async fn fixtures(&mut self, db: &TestDb, requests: usize) -> Result<()> {
        match self.function {
            Function::Cancel => {
                let admin = db.admin().await;
                let n = i32::try_from(requests).context("too many requests")?;
                let rows = admin
                    .query(
                        "INSERT INTO public.bookings (tenant_id, slot_id, user_id, user_name, user_email, status) \
                         SELECT $1, $3 || '-' || g, $2, 'Ada Patient', 'ada@example.com', 'confirmed' \
                         FROM generate_series(1, $4) g RETURNING id",
                        &[&self.tenant.id, &self.tenant.member, &self.prefix, &n],
                    )
                    .await
                    .context("creating bookings to cancel")?;
                self.bookings = rows.iter().map(|r| r.get(0)).collect();
            }
            Function::Checkout => {
                // The product the checkout event orders, from the upsert-product event.
                let catalog = db
                    .state_with_url(upsert_product::FUNCTION, db.pooler_url())
                    .await;
                let req = event(
                    "upsert-product",
                    self.tenant.id,
                    None,
                    &self.admin_token,
                    |_| {},
                );
                let resp = upsert_product::handler(&catalog, req).await;
                anyhow::ensure!(
                    resp.status().is_success(),
                    "creating the product: {}",
                    resp.status()
                );
            }
            Function::RecordMetric | Function::CreatePartitions => {
                // The current month's metrics partition.
                create_partitions::ensure_partitions(
                    &self.state.db,
                    create_partitions::DEFAULT_MONTHS_AHEAD,
                    None,
                    None,
                )
                .await
                .map_err(|e| anyhow::anyhow!("creating partitions: {e}"))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The function's `events/` request for invocation `i` (distinct slot,
    /// idempotency key or booking where the function needs one).
    pub fn request(&self, i: usize) -> Result<Request> {
        let t = self.tenant.id;
        let member = &self.member_token;
        Ok(match self.function {
            Function::Book => {
                let slot = format!("{}-{i}", self.prefix);
                event("book", t, None, member, |e| {
                    set_body(
                        e,
                        &json!({"slot_id": slot, "user_name": "Ada Patient", "user_email": "ada@example.com"}),
                    );
                })
            }
            Function::Cancel => {
                let id = *self.bookings.get(i).context("no booking left to cancel")?;
                event("cancel", t, Some(id), member, |_| {})
            }
            Function::Checkout => {
                let key = format!("bench-{}-{i}", self.prefix);
                event("checkout", t, None, member, |e| {
                    e["headers"]["idempotency-key"] = Value::String(key);
                })
            }
            Function::UpsertProduct => event("upsert-product", t, None, &self.admin_token, |_| {}),
            Function::Score => event("score", t, None, member, |_| {}),
            Function::RecordMetric => event("record-metric", t, None, member, |_| {}),
            Function::LogPhi => event("log-phi", t, None, member, |_| {}),
            Function::CreatePartitions => anyhow::bail!("create-partitions takes no HTTP request"),
        })
    }

    /// One invocation; the HTTP status (create-partitions: 200 or 500).
    pub async fn invoke(&self, i: usize) -> Result<u16> {
        if self.function == Function::CreatePartitions {
            let scheduled: Value =
                serde_json::from_str(&integration_tests::event_text("create-partitions"))?;
            let r = create_partitions::handler(
                &self.state.db,
                &create_partitions::Settings::default(),
                scheduled,
            )
            .await;
            return Ok(if r.is_ok() { 200 } else { 500 });
        }
        let req = self.request(i)?;
        Ok(self.call(req).await.status().as_u16())
    }

    pub async fn call(&self, req: Request) -> Response<Body> {
        let s = &self.state;
        match self.function {
            Function::Book => book::handler(s, req).await,
            Function::Cancel => cancel::handler(s, req).await,
            Function::Score => score::handler(s, req).await,
            Function::RecordMetric => record_metric::handler(s, req).await,
            Function::UpsertProduct => upsert_product::handler(s, req).await,
            Function::Checkout => checkout::handler(s, req).await,
            Function::LogPhi => log_phi::handler(s, req).await,
            Function::CreatePartitions => Response::new(Body::Empty),
        }
    }
}

/// Percentile `q` (0..1) of sorted `v`.
pub fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
