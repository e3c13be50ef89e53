//! `POST /tenants/{tenantId}/bookings/{bookingId}/cancel`: the booking's
//! owner or a tenant admin cancels it.
//!
//! Who may cancel is decided by Row Level Security (policy
//! `owner_or_admin_cancel`), so the same rule holds for any client of the
//! table. A booking the caller may not touch is indistinguishable from one
//! that does not exist: both are 404. Cancelling twice is 200 both times.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::bookings::{BOOKING_COLUMNS, Booking};
use shared::db::Type;
use shared::http::{DEFAULT_BODY_LIMIT, empty_body, json_response, path_param};
use shared::{ApiError, AppState, Invocation};
use uuid::Uuid;

pub const FUNCTION: &str = "cancel";

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = cancel(&mut inv, &req).await;
    inv.finish(outcome)
}

async fn cancel(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::POST)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let booking_id = path_param(req, "bookingId", "bookings")
        .and_then(|s| Uuid::parse_str(&s).ok())
        .ok_or(ApiError::NotFound("booking"))?;
    empty_body(req, DEFAULT_BODY_LIMIT)?;
    let sql = format!(
        "UPDATE public.bookings SET status = 'cancelled' WHERE id = $1 AND tenant_id = $2 RETURNING {BOOKING_COLUMNS}"
    );
    let out = inv
        .tenant_tx(
            &caller,
            Some(tenant),
            &sql,
            &[(&booking_id, Type::UUID), (&tenant, Type::UUID)],
        )
        .await?;
    let row = out.rows.first().ok_or(ApiError::NotFound("booking"))?;
    let booking = Booking::from_row(row).map_err(|e| ApiError::Internal(e.into()))?;
    json_response(StatusCode::OK, &booking)
}
