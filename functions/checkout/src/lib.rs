//! `POST /tenants/{tenantId}/orders`: a member places an order, priced from
//! the tenant's catalog, exactly once per idempotency key.
//!
//! # Prices
//! The body names skus and quantities only. A client that sends a price,
//! line total or total gets 400 (`deny_unknown_fields`): there is nothing to
//! tamper with. Unit prices are read from the tenant's *active* products in
//! the same statement that inserts the order, so the order is priced by the
//! catalog as it is at that instant. Postgres multiplies and sums in NUMERIC
//! (exact decimal arithmetic); before answering, the handler re-derives every
//! line total and the total with `rust_decimal` from the stored unit prices
//! and refuses to return an order whose figures disagree. No float is
//! involved anywhere: JSON strings in and out, NUMERIC in the database.
//! `orders.total` is NUMERIC(10,2); a total that it cannot hold exactly (at
//! or above 100,000,000, or with more than two decimals, possible in
//! three-decimal currencies) is 422 `total-out-of-range`, never rounded.
//!
//! # Idempotency
//! Storage: the order row itself carries `idempotency_key`, `request_hash`
//! (SHA-256 of the canonical request, below) and `idempotency_expires_at`
//! (creation + 24 h). The partial unique index `orders_idempotency_key` on
//! (tenant_id, user_id, idempotency_key) WHERE key IS NOT NULL makes a key
//! unique per (tenant, user) while it is set. Only a created order is
//! stored, so only a 201 is ever replayed: a 4xx writes nothing and the same
//! key may be retried after the client fixes the request (Stripe's rule for
//! requests that fail validation).
//!
//! Replay: the order row is the source of the first response, so a replay
//! rebuilds the same status (201) and body from it and adds
//! `Idempotent-Replayed: true`. The same key with another canonical request
//! is 422 `idempotency-key-reused`.
//!
//! Expiry: a key is live while `idempotency_expires_at > now()`. The
//! checkout statement first clears *this* key if it has expired (one probe
//! of the unique index), so an old key never blocks a new order;
//! `app.purge_expired_idempotency_keys()` (migration 0004, for
//! `service_role`, batched, SKIP LOCKED; run daily by create-partitions)
//! clears all other expired keys. Clearing only this key keeps the statement's
//! cost independent of how many orders the caller has: clearing all the
//! caller's expired keys here made the planner walk every order of the tenant
//! when its statistics lagged behind a burst of orders (BENCHMARKS.md).
//! Orders are never deleted, only their three key columns emptied, which
//! also removes them from the unique index: expired keys do not pile up.
//!
//! Concurrency, in one round trip: the statement inserts with
//! `ON CONFLICT (tenant_id, user_id, idempotency_key) DO UPDATE SET
//! idempotency_key = EXCLUDED.idempotency_key`. Of N concurrent identical
//! requests, one inserts; the others wait on its uncommitted index entry and,
//! once it commits, take the conflict path. `DO NOTHING` would return no row
//! there (the winner's row is not in their statement's snapshot, so a second
//! statement would be needed); `DO UPDATE` locks and returns the winner's
//! row even though it is not in the snapshot, and the no-op assignment
//! changes nothing (the `updated_at` trigger keeps the old value when the row
//! is unchanged). `(xmax = 0)` tells the insert from the conflict. So every
//! response carries the one order, and every checkout is one round trip.
//!
//! # The canonical request (what `request_hash` covers)
//! After validation: the items merged by sku (quantities summed) and sorted
//! by sku; the effective currency (`USD` when absent); the trimmed
//! `customer_email`, `payment_method`, `transaction_id` (absent and `null`
//! are the same); `shipping_address` with object keys sorted. Written as JSON
//! with no whitespace, prefixed `checkout/v1`. So reordering items, splitting
//! a quantity over two lines, or reordering JSON keys is the *same* request;
//! any change of sku, quantity, currency or the optional fields is another.

use std::collections::HashMap;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use shared::commerce::{for_display, is_sku, minor_units};
use shared::db::Type;
use shared::http::{Checks, is_email, json_body, json_response};
use shared::{ApiError, AppState, FieldError, Invocation};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

pub const FUNCTION: &str = "checkout";

/// 100 items of short skus fit in a few KiB; this leaves room for the rest.
const BODY_LIMIT: usize = 64 * 1024;
pub const MAX_ITEMS: usize = 100;
pub const MAX_QUANTITY: u32 = 1_000;
pub const MAX_KEY_LEN: usize = 255;
/// `shipping_address` as compact JSON, in bytes.
pub const MAX_SHIPPING_BYTES: usize = 2_048;
pub const DEFAULT_CURRENCY: &str = "USD";
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub items: Vec<ItemRequest>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub payment_method: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub shipping_address: Option<Map<String, Value>>,
}

/// No price field: a client that sends one gets 400 "is not a known field".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    pub sku: String,
    pub quantity: u32,
}

/// One sku of the order after merging; `index` is its first position in
/// the request, used to name the field in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    sku: String,
    quantity: u32,
    index: usize,
}

/// A request that passed every check.
#[derive(Debug)]
struct ValidCheckout {
    /// Merged, in order of first appearance (the order of the response's items).
    lines: Vec<Line>,
    currency: String,
    minor_units: u32,
    customer_email: Option<String>,
    payment_method: Option<String>,
    transaction_id: Option<String>,
    shipping_address: Option<Value>,
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref().map(|s| s.trim().to_owned())
}

impl CheckoutRequest {
    fn validate(&self) -> Result<ValidCheckout, ApiError> {
        let mut c = Checks::new();
        c.check(
            (1..=MAX_ITEMS).contains(&self.items.len()),
            "items",
            format!("must hold 1 to {MAX_ITEMS} items"),
        );
        let mut lines: Vec<Line> = Vec::new();
        let mut position: HashMap<&str, usize> = HashMap::new();
        for (i, item) in self.items.iter().enumerate() {
            let sku_ok = is_sku(&item.sku);
            c.check(
                sku_ok,
                format!("items[{i}].sku"),
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
            );
            let qty_ok = (1..=MAX_QUANTITY).contains(&item.quantity);
            c.check(
                qty_ok,
                format!("items[{i}].quantity"),
                format!("must be an integer from 1 to {MAX_QUANTITY}"),
            );
            if !(sku_ok && qty_ok) {
                continue;
            }
            match position.get(item.sku.as_str()) {
                Some(&at) => {
                    let line = &mut lines[at];
                    line.quantity += item.quantity;
                    c.check(
                        line.quantity <= MAX_QUANTITY,
                        format!("items[{i}].quantity"),
                        format!("the quantities of this sku add up to more than {MAX_QUANTITY}"),
                    );
                }
                None => {
                    position.insert(&item.sku, lines.len());
                    lines.push(Line {
                        sku: item.sku.clone(),
                        quantity: item.quantity,
                        index: i,
                    });
                }
            }
        }
        let currency = self
            .currency
            .clone()
            .unwrap_or_else(|| DEFAULT_CURRENCY.to_owned());
        let units = minor_units(&currency);
        c.check(
            units.is_some(),
            "currency",
            "must be an ISO 4217 currency code with a minor unit, such as \"USD\"",
        );
        let customer_email = trimmed(&self.customer_email);
        if let Some(email) = &customer_email {
            c.check(
                is_email(email),
                "customer_email",
                "must be an e-mail address",
            );
        }
        if let Some(pm) = &self.payment_method {
            c.text("payment_method", pm, 1, 64);
        }
        if let Some(tx) = &self.transaction_id {
            c.text("transaction_id", tx, 1, 255);
        }
        let shipping_address = self.shipping_address.clone().map(Value::Object);
        if let Some(addr) = &shipping_address {
            c.check(
                addr.to_string().len() <= MAX_SHIPPING_BYTES,
                "shipping_address",
                format!("must be at most {MAX_SHIPPING_BYTES} bytes of JSON"),
            );
        }
        c.finish()?;
        Ok(ValidCheckout {
            lines,
            currency,
            minor_units: units.unwrap_or(0),
            customer_email,
            payment_method: trimmed(&self.payment_method),
            transaction_id: trimmed(&self.transaction_id),
            shipping_address,
        })
    }
}

impl ValidCheckout {
    /// SHA-256 (hex) of the canonical request; see the crate doc.
    fn request_hash(&self) -> String {
        let mut items: Vec<(&str, u32)> = self
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect();
        items.sort_unstable();
        let doc = json!({
            "items": items,
            "currency": self.currency,
            "customer_email": self.customer_email,
            "payment_method": self.payment_method,
            "transaction_id": self.transaction_id,
            "shipping_address": self.shipping_address,
        });
        let mut text = String::from("checkout/v1");
        canonical_json(&doc, &mut text);
        hex(&Sha256::digest(text.as_bytes()))
    }

    fn status(&self) -> &'static str {
        if self.transaction_id.is_some() {
            "completed"
        } else {
            "pending"
        }
    }
}

/// JSON with object keys sorted and no whitespace. Written by hand because
/// serde_json's map order depends on a crate feature (`preserve_order`) that
/// any other crate in the build may switch on.
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(map.get(k.as_str()).unwrap_or(&Value::Null), out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// `Idempotency-Key`: exactly one, 1 to 255 printable ASCII characters.
fn idempotency_key(req: &Request) -> Result<String, ApiError> {
    let invalid = |message: &str| ApiError::Invalid {
        detail: "the Idempotency-Key header is required: 1 to 255 printable ASCII characters"
            .into(),
        errors: vec![FieldError::new("Idempotency-Key", message)],
    };
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(invalid("is required")),
        (Some(_), Some(_)) => return Err(invalid("must be sent once")),
        (Some(v), None) => v,
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_KEY_LEN
        || !bytes.iter().all(|b| (0x20..=0x7e).contains(b))
    {
        return Err(invalid("must be 1 to 255 printable ASCII characters"));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| invalid("must be 1 to 255 printable ASCII characters"))
}

/// The order as stored; the response body (DESIGN "Routes", checkout).
#[derive(Debug, Serialize)]
pub struct Order {
    pub id: Uuid,
    pub order_id: String,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub customer_email: Option<String>,
    pub items: Vec<OrderItem>,
    pub total: Decimal,
    pub currency: String,
    pub status: String,
    pub payment_method: Option<String>,
    pub transaction_id: Option<String>,
    pub shipping_address: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One line as stored in `orders.items` (amounts as JSON strings).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub unit_price: Decimal,
    pub quantity: u32,
    pub line_total: Decimal,
}

impl Order {
    /// Reads the order columns of the statement's result and checks its
    /// arithmetic with `rust_decimal`.
    fn from_row(row: &Row) -> anyhow::Result<Self> {
        let currency: String = row.try_get("currency")?;
        let units = minor_units(&currency).unwrap_or(2);
        let items: Value = row.try_get("items")?;
        let mut items: Vec<OrderItem> = serde_json::from_value(items)?;
        let mut sum = Decimal::ZERO;
        for item in &mut items {
            let line = item
                .unit_price
                .checked_mul(Decimal::from(item.quantity))
                .ok_or_else(|| anyhow::anyhow!("line total overflows"))?;
            anyhow::ensure!(
                line == item.line_total,
                "stored line total is not price x quantity"
            );
            sum += line;
            item.unit_price = for_display(item.unit_price, units);
            item.line_total = for_display(item.line_total, units);
        }
        let total: Decimal = row.try_get("total")?;
        anyhow::ensure!(sum == total, "stored total is not the sum of the lines");
        Ok(Self {
            id: row.try_get("id")?,
            order_id: row.try_get("order_id")?,
            tenant_id: row.try_get("tenant_id")?,
            user_id: row.try_get("user_id")?,
            customer_email: row.try_get("customer_email")?,
            items,
            total: for_display(total, units),
            currency,
            status: row.try_get("status")?,
            payment_method: row.try_get("payment_method")?,
            transaction_id: row.try_get("transaction_id")?,
            shipping_address: row.try_get("shipping_address")?,
            created_at: row
                .try_get::<_, OffsetDateTime>("created_at")?
                .to_offset(time::UtcOffset::UTC),
            updated_at: row
                .try_get::<_, OffsetDateTime>("updated_at")?
                .to_offset(time::UtcOffset::UTC),
        })
    }
}

/// The largest total `orders.total NUMERIC(10,2)` holds is 99,999,999.99.
fn fits_order_total(total: Decimal) -> bool {
    total < Decimal::from(100_000_000) && total.normalize().scale() <= 2
}

/// The whole checkout in one statement (one round trip with BEGIN, the
/// claims and COMMIT). Parameters: $1 tenant, $2 user, $3 key, $4 request
/// hash, $5 skus, $6 quantities, $7 currency, $8 its minor units, $9 order
/// id, $10 status, $11 customer_email, $12 payment_method, $13
/// transaction_id, $14 shipping_address.
///
/// - `cleared` empties this key if it has expired (at most one row, by the
///   unique index). The insert's WHERE reads it, so it has run before the
///   insert looks for a conflicting key.
/// - `prior` is the caller's live order for this key, if any: a replay or a
///   mismatch, decided in Rust by comparing `request_hash`; nothing is
///   priced or inserted then.
/// - `lines` / `priced` price each sku from the tenant's active products and
///   collect unknown or inactive skus, skus priced in another currency, and
///   the exact total. The stored items carry amounts as strings with at
///   least the currency's minor unit and never fewer decimals than the value
///   has (no rounding).
/// - `created` inserts only when there is no prior order and nothing is
///   wrong; on a concurrent insert of the same key it returns that row (see
///   the crate doc).
/// - The result is always one row: the order (`fresh` true when created
///   now, false when it already existed) or NULLs plus the reasons.
const CHECKOUT: &str = "\
WITH cleared AS (
  UPDATE public.orders
     SET idempotency_key = NULL, request_hash = NULL, idempotency_expires_at = NULL
   WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3
     AND idempotency_expires_at <= now()
  RETURNING 1
),
prior AS (
  SELECT id, order_id, tenant_id, user_id, customer_email, items, total, currency, status,
         payment_method, transaction_id, shipping_address, request_hash, created_at, updated_at
    FROM public.orders
   WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3
     AND idempotency_expires_at > now()
),
lines AS (
  SELECT w.ord, w.sku, w.quantity, p.name, p.unit_price, p.currency,
         p.unit_price * w.quantity AS line_total
    FROM unnest($5::text[], $6::int4[]) WITH ORDINALITY AS w (sku, quantity, ord)
    LEFT JOIN public.products p ON p.tenant_id = $1 AND p.sku = w.sku AND p.active
),
priced AS (
  SELECT coalesce(array_agg(sku ORDER BY ord) FILTER (WHERE name IS NULL), '{}') AS unknown,
         coalesce(array_agg(sku ORDER BY ord) FILTER (WHERE currency <> $7), '{}') AS mismatched,
         sum(line_total) AS total,
         jsonb_agg(jsonb_build_object(
           'sku', sku,
           'name', name,
           'unit_price', round(unit_price, greatest($8, scale(trim_scale(unit_price))))::text,
           'quantity', quantity,
           'line_total', round(line_total, greatest($8, scale(trim_scale(line_total))))::text
         ) ORDER BY ord) AS items
    FROM lines
),
created AS (
  INSERT INTO public.orders AS o (order_id, tenant_id, user_id, customer_email, items, total,
         currency, status, payment_method, transaction_id, shipping_address,
         idempotency_key, request_hash, idempotency_expires_at)
  SELECT $9, $1, $2, $11, p.items, p.total, $7, $10, $12, $13, $14,
         $3, $4, now() + interval '24 hours'
    FROM priced p
   WHERE NOT EXISTS (SELECT 1 FROM prior)
     AND (SELECT count(*) FROM cleared) >= 0
     AND cardinality(p.unknown) = 0 AND cardinality(p.mismatched) = 0
     AND p.total < 100000000 AND p.total = round(p.total, 2)
  ON CONFLICT (tenant_id, user_id, idempotency_key) WHERE idempotency_key IS NOT NULL
  DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
  RETURNING o.id, o.order_id, o.tenant_id, o.user_id, o.customer_email, o.items, o.total,
            o.currency, o.status, o.payment_method, o.transaction_id, o.shipping_address,
            o.request_hash, o.created_at, o.updated_at, (o.xmax = 0) AS fresh
)
SELECT o.fresh, o.id, o.order_id, o.tenant_id, o.user_id, o.customer_email, o.items, o.total,
       o.currency, o.status, o.payment_method, o.transaction_id, o.shipping_address,
       o.request_hash, o.created_at, o.updated_at,
       p.unknown, p.mismatched, p.total AS priced_total
  FROM priced p
  LEFT JOIN (
    SELECT c.fresh, c.id, c.order_id, c.tenant_id, c.user_id, c.customer_email, c.items,
           c.total, c.currency, c.status, c.payment_method, c.transaction_id,
           c.shipping_address, c.request_hash, c.created_at, c.updated_at
      FROM created c
    UNION ALL
    SELECT false, r.id, r.order_id, r.tenant_id, r.user_id, r.customer_email, r.items,
           r.total, r.currency, r.status, r.payment_method, r.transaction_id,
           r.shipping_address, r.request_hash, r.created_at, r.updated_at
      FROM prior r
  ) o ON true";

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = checkout(&mut inv, &req).await;
    inv.finish(outcome)
}

async fn checkout(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::POST)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let key = idempotency_key(req)?;
    let body: CheckoutRequest = json_body(req, BODY_LIMIT)?;
    let order = body.validate()?;
    // A service token without `sub` cannot buy for nobody.
    let user_id = caller.require_user()?;
    let hash = order.request_hash();
    // 128 random bits (UUID v4 from the OS generator): unique and not guessable.
    let order_id = format!("ord_{}", Uuid::new_v4().simple());
    let skus: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
    let quantities: Vec<i32> = order
        .lines
        .iter()
        .map(|l| i32::try_from(l.quantity).unwrap_or(i32::MAX))
        .collect();
    let units = i32::try_from(order.minor_units).unwrap_or(0);
    let status = order.status();
    let out = inv
        .tenant_tx(
            &caller,
            Some(tenant),
            CHECKOUT,
            &[
                (&tenant, Type::UUID),
                (&user_id, Type::UUID),
                (&key, Type::TEXT),
                (&hash, Type::TEXT),
                (&skus, Type::TEXT_ARRAY),
                (&quantities, Type::INT4_ARRAY),
                (&order.currency, Type::TEXT),
                (&units, Type::INT4),
                (&order_id, Type::TEXT),
                (&status, Type::TEXT),
                (&order.customer_email, Type::TEXT),
                (&order.payment_method, Type::TEXT),
                (&order.transaction_id, Type::TEXT),
                (&order.shipping_address, Type::JSONB),
            ],
        )
        .await?;
    let row = out.the_row("checkout")?;
    let internal = |e: anyhow::Error| ApiError::Internal(e);
    let fresh: Option<bool> = row.try_get("fresh").map_err(|e| internal(e.into()))?;
    match fresh {
        Some(fresh) => {
            let stored_hash: String = row
                .try_get("request_hash")
                .map_err(|e| internal(e.into()))?;
            if !fresh && stored_hash != hash {
                return Err(ApiError::Unprocessable {
                    slug: "idempotency-key-reused",
                    detail: "this Idempotency-Key was already used with a different request; \
                             use a new key for a new order"
                        .into(),
                    errors: vec![FieldError::new(
                        "Idempotency-Key",
                        "was used with a different request",
                    )],
                });
            }
            let stored = Order::from_row(row).map_err(internal)?;
            let mut resp = json_response(StatusCode::CREATED, &stored)?;
            if !fresh {
                resp.headers_mut()
                    .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            }
            Ok(resp)
        }
        None => Err(refusal(&order, row)?),
    }
}

/// Why no order was created: unknown or inactive products first, then
/// currency, then a total the orders table cannot hold.
fn refusal(order: &ValidCheckout, row: &Row) -> Result<ApiError, ApiError> {
    let internal = |e: tokio_postgres::Error| ApiError::Internal(e.into());
    let unknown: Vec<String> = row.try_get("unknown").map_err(internal)?;
    let mismatched: Vec<String> = row.try_get("mismatched").map_err(internal)?;
    let total: Option<Decimal> = row.try_get("priced_total").map_err(internal)?;
    let name_items = |skus: &[String], message: &str| -> Vec<FieldError> {
        order
            .lines
            .iter()
            .filter(|l| skus.contains(&l.sku))
            .map(|l| FieldError::new(format!("items[{}].sku", l.index), message))
            .collect()
    };
    if !unknown.is_empty() {
        return Ok(ApiError::Unprocessable {
            slug: "unknown-product",
            detail: format!(
                "these skus are not active products of this tenant: {}",
                unknown.join(", ")
            ),
            errors: name_items(&unknown, "is not an active product"),
        });
    }
    if !mismatched.is_empty() {
        return Ok(ApiError::Unprocessable {
            slug: "currency-mismatch",
            detail: format!(
                "these skus are not priced in {}: {}",
                order.currency,
                mismatched.join(", ")
            ),
            errors: name_items(&mismatched, "is priced in another currency"),
        });
    }
    if total.is_some_and(|t| !fits_order_total(t)) {
        return Ok(ApiError::Unprocessable {
            slug: "total-out-of-range",
            detail: "the order total exceeds 99999999.99 or has more than two decimals, \
                     which an order cannot hold"
                .into(),
            errors: vec![FieldError::new("items", "the total is out of range")],
        });
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "checkout created no order and gave no reason"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<ValidCheckout, ApiError> {
        let req: CheckoutRequest = serde_json::from_value(v).expect("shape");
        req.validate()
    }

    fn fields(r: Result<ValidCheckout, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::Invalid { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other:?}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn duplicate_skus_merge_in_first_appearance_order() {
        let v = parse(json!({"items": [
            {"sku": "B", "quantity": 2}, {"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 3}
        ]}))
        .expect("valid");
        let got: Vec<(&str, u32, usize)> = v
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.index))
            .collect();
        assert_eq!(got, [("B", 5, 0), ("A", 1, 1)]);
        assert_eq!(v.currency, "USD");
        assert_eq!(v.status(), "pending");
    }

    #[test]
    fn the_hash_ignores_order_splitting_and_key_order_but_not_content() {
        let h = |v: Value| parse(v).expect("valid").request_hash();
        let a = h(
            json!({"items": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}],
                         "shipping_address": {"city": "X", "zip": "1"}}),
        );
        let b = h(
            json!({"shipping_address": {"zip": "1", "city": "X"}, "currency": "USD",
                         "items": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 1},
                                   {"sku": "A", "quantity": 1}]}),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let c = h(
            json!({"items": [{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 1}],
                         "shipping_address": {"city": "X", "zip": "1"}}),
        );
        assert_ne!(a, c);
        let d = h(
            json!({"items": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}],
                         "shipping_address": {"city": "X", "zip": "1"}, "currency": "EUR"}),
        );
        assert_ne!(a, d);
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(fields(parse(json!({"items": []}))), ["items"]);
        assert_eq!(
            fields(parse(json!({
                "items": [{"sku": "a b", "quantity": 0}, {"sku": "A", "quantity": 1001}],
                "currency": "ABC",
                "customer_email": "nope",
                "payment_method": "x".repeat(65),
                "transaction_id": "",
            }))),
            [
                "items[0].sku",
                "items[0].quantity",
                "items[1].quantity",
                "currency",
                "customer_email",
                "payment_method",
                "transaction_id"
            ]
        );
        assert_eq!(
            fields(parse(
                json!({"items": [{"sku": "A", "quantity": 600}, {"sku": "A", "quantity": 600}]})
            )),
            ["items[1].quantity"]
        );
        assert_eq!(
            fields(parse(json!({"items": [{"sku": "A", "quantity": 1}],
                                "shipping_address": {"line1": "x".repeat(3000)}}))),
            ["shipping_address"]
        );
    }

    #[test]
    fn order_totals_must_fit_numeric_10_2() {
        assert!(fits_order_total(Decimal::new(9_999_999_999, 2)));
        assert!(!fits_order_total(Decimal::from(100_000_000)));
        assert!(fits_order_total(Decimal::new(12_3400, 4)));
        assert!(!fits_order_total(Decimal::new(1_235, 3)));
    }
}
