//! `PUT /tenants/{tenantId}/products/{sku}`: a tenant admin creates or
//! replaces a catalog entry. 201 when created, 200 when updated; the body is
//! the product either way.
//!
//! The catalog is the only source of prices for `checkout`, so what enters
//! it is checked strictly: `unit_price` is a decimal *string* (never a JSON
//! number, which a client may already have rounded through a float), greater
//! than zero, with no more decimals than the currency's ISO 4217 minor unit
//! (`"1.005"` USD is refused, `"1200"` JPY is fine), and below what
//! `products.unit_price NUMERIC(15,4)` holds; `currency` is an ISO 4217 code
//! that has a minor unit (from `iso_currency`, not a hand-written list).
//!
//! Who may write is decided by Row Level Security, not by this code: the
//! statement is one `INSERT ... ON CONFLICT (tenant_id, sku) DO UPDATE`, and
//! the policies `admin_insert` / `admin_update` on `products` refuse a
//! member both ways (a new row fails the insert check; an existing row fails
//! the update's USING clause, which for ON CONFLICT raises rather than
//! skipping). Postgres reports SQLSTATE 42501, answered as 403. The same rule
//! therefore holds for a Supabase client writing the table directly.
//!
//! `(xmax = 0)` in `RETURNING` tells a fresh insert (no deleting or locking
//! transaction on the new tuple) from the conflict path's update.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::commerce::{decimals_used, for_display, is_sku, minor_units, parse_amount};
use shared::db::Type;
use shared::http::{Checks, json_body, json_response, path_param};
use shared::{ApiError, AppState, Invocation};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

pub const FUNCTION: &str = "upsert-product";

/// A product body is a few hundred bytes; anything near this is not one.
const BODY_LIMIT: usize = 16 * 1024;

/// `products.unit_price` is NUMERIC(15,4): at most 11 integer digits.
const PRICE_LIMIT: Decimal = Decimal::from_parts(1_215_752_192, 23, 0, false, 0); // 100_000_000_000

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    pub name: String,
    /// A decimal string such as `"12.50"`.
    pub unit_price: String,
    pub currency: String,
    /// A PUT without `active` describes a product on sale.
    #[serde(default = "default_active")]
    pub active: bool,
}

fn default_active() -> bool {
    true
}

/// A request that passed every check, ready for the database.
struct ValidProduct<'a> {
    sku: &'a str,
    name: &'a str,
    unit_price: Decimal,
    currency: &'a str,
    active: bool,
}

impl ProductRequest {
    /// Every failing field at once, each named.
    fn validate<'a>(&'a self, sku: &'a str) -> Result<ValidProduct<'a>, ApiError> {
        let mut c = Checks::new();
        c.check(
            is_sku(sku),
            "sku",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
        );
        c.text("name", &self.name, 1, 200);
        let units = minor_units(&self.currency);
        c.check(
            units.is_some(),
            "currency",
            "must be an ISO 4217 currency code with a minor unit, such as \"USD\"",
        );
        let price = parse_amount(&self.unit_price);
        match price {
            None => {
                c.check(
                    false,
                    "unit_price",
                    "must be a decimal string such as \"12.50\"",
                );
            }
            Some(p) => {
                c.check(p > Decimal::ZERO, "unit_price", "must be greater than 0");
                c.check(
                    p < PRICE_LIMIT,
                    "unit_price",
                    "must be less than 100000000000",
                );
                if let Some(units) = units {
                    c.check(
                        decimals_used(p) <= units,
                        "unit_price",
                        format!("must have at most {units} decimals in this currency"),
                    );
                }
            }
        }
        c.finish()?;
        let unit_price =
            price.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("price checked above")))?;
        Ok(ValidProduct {
            sku,
            name: self.name.trim(),
            unit_price,
            currency: &self.currency,
            active: self.active,
        })
    }
}

/// The product as stored; the response body.
#[derive(Debug, Serialize)]
pub struct Product {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub sku: String,
    pub name: String,
    /// Written with the currency's minor unit: `"12.50"`, `"1200"`.
    pub unit_price: Decimal,
    pub currency: String,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Product {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        let currency: String = row.try_get("currency")?;
        let unit_price: Decimal = row.try_get("unit_price")?;
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            sku: row.try_get("sku")?,
            name: row.try_get("name")?,
            unit_price: for_display(unit_price, minor_units(&currency).unwrap_or(0)),
            currency,
            active: row.try_get("active")?,
            created_at: row
                .try_get::<_, OffsetDateTime>("created_at")?
                .to_offset(time::UtcOffset::UTC),
            updated_at: row
                .try_get::<_, OffsetDateTime>("updated_at")?
                .to_offset(time::UtcOffset::UTC),
        })
    }
}

/// One statement; RLS decides whether the caller may write (see the crate doc).
const UPSERT: &str = "INSERT INTO public.products AS p (tenant_id, sku, name, unit_price, currency, active) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (tenant_id, sku) DO UPDATE \
       SET name = EXCLUDED.name, unit_price = EXCLUDED.unit_price, \
           currency = EXCLUDED.currency, active = EXCLUDED.active \
     RETURNING p.id, p.tenant_id, p.sku, p.name, p.unit_price, p.currency, p.active, \
       p.created_at, p.updated_at, (p.xmax = 0) AS created";

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = upsert(&mut inv, &req).await;
    inv.finish(outcome)
}

async fn upsert(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::PUT)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let sku = path_param(req, "sku", "products").ok_or(ApiError::NotFound("product"))?;
    let body: ProductRequest = json_body(req, BODY_LIMIT)?;
    let p = body.validate(&sku)?;
    let out = inv
        .tenant_tx(
            &caller,
            Some(tenant),
            UPSERT,
            &[
                (&tenant, Type::UUID),
                (&p.sku, Type::TEXT),
                (&p.name, Type::TEXT),
                (&p.unit_price, Type::NUMERIC),
                (&p.currency, Type::TEXT),
                (&p.active, Type::BOOL),
            ],
        )
        .await?;
    let row = out.the_row("upsert")?;
    let created: bool = row
        .try_get("created")
        .map_err(|e| ApiError::Internal(e.into()))?;
    let product = Product::from_row(row).map_err(|e| ApiError::Internal(e.into()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, &product)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(price: &str, currency: &str) -> ProductRequest {
        ProductRequest {
            name: "Widget".into(),
            unit_price: price.into(),
            currency: currency.into(),
            active: true,
        }
    }

    fn failing_fields(r: Result<ValidProduct<'_>, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::Invalid { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other:?}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn the_price_limit_is_ten_to_the_eleventh() {
        assert_eq!(PRICE_LIMIT, Decimal::from(100_000_000_000_i64));
    }

    #[test]
    fn prices_respect_the_currency_minor_unit() {
        assert!(failing_fields(req("12.50", "USD").validate("a")).is_empty());
        assert!(failing_fields(req("12.500", "USD").validate("a")).is_empty());
        assert_eq!(
            failing_fields(req("12.505", "USD").validate("a")),
            ["unit_price"]
        );
        assert!(failing_fields(req("1200", "JPY").validate("a")).is_empty());
        assert_eq!(
            failing_fields(req("1200.5", "JPY").validate("a")),
            ["unit_price"]
        );
        assert!(failing_fields(req("1.005", "BHD").validate("a")).is_empty());
        assert_eq!(
            failing_fields(req("0", "USD").validate("a")),
            ["unit_price"]
        );
        assert_eq!(
            failing_fields(req("1e3", "USD").validate("a")),
            ["unit_price"]
        );
        assert_eq!(
            failing_fields(req("100000000000", "USD").validate("a")),
            ["unit_price"]
        );
        assert_eq!(failing_fields(req("1", "XAU").validate("a")), ["currency"]);
        assert_eq!(
            failing_fields(req("x", "usd").validate("bad sku")),
            ["sku", "currency", "unit_price"]
        );
    }
}
