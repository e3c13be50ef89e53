//! `POST /tenants/{tenantId}/bookings`: a member books a slot.
//!
//! Double booking is made impossible by the database, not by a check-then-
//! insert: the partial unique index `bookings_active_slot_key` allows one
//! active (pending/confirmed) booking per (tenant, slot), so of N concurrent
//! requests for a free slot exactly one INSERT succeeds and the others get
//! 23505, answered as 409 `slot-unavailable`. A cancelled booking leaves the
//! index, which frees its slot.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::bookings::Booking;
use shared::db::Type;
use shared::http::{Checks, DEFAULT_BODY_LIMIT, is_email, json_body, json_response};
use shared::{ApiError, AppState, Invocation};

pub const FUNCTION: &str = "book";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    pub slot_id: String,
    pub user_name: String,
    pub user_email: String,
}

impl BookRequest {
    fn validate(&self) -> Result<(), ApiError> {
        let mut c = Checks::new();
        c.text("slot_id", &self.slot_id, 1, 200)
            .text("user_name", &self.user_name, 1, 200)
            .check(
                is_email(self.user_email.trim()),
                "user_email",
                "must be an e-mail address",
            );
        c.finish()
    }
}

const INSERT: &str = "INSERT INTO public.bookings (tenant_id, slot_id, user_id, user_name, user_email, status) \
     VALUES ($1, $2, $3, $4, $5, 'confirmed') \
     RETURNING id, tenant_id, slot_id, user_id, user_name, user_email, status, created_at, updated_at";
// (the RETURNING list is shared::bookings::BOOKING_COLUMNS, spelled out so the statement is a constant)

pub async fn handler(state: &AppState, req: Request) -> Response<Body> {
    let mut inv = state.begin(&req);
    let outcome = book(&mut inv, &req).await;
    inv.finish(outcome)
}

async fn book(inv: &mut Invocation<'_>, req: &Request) -> Result<Response<Body>, ApiError> {
    inv.require_method(req, Method::POST)?;
    let caller = inv.authenticate(req)?;
    let tenant = inv.tenant_id(req)?;
    let body: BookRequest = json_body(req, DEFAULT_BODY_LIMIT)?;
    body.validate()?;
    let user_id = caller.require_user()?;
    let (slot, name, email) = (
        body.slot_id.trim(),
        body.user_name.trim(),
        body.user_email.trim(),
    );
    let out = inv
        .tenant_tx(
            &caller,
            Some(tenant),
            INSERT,
            &[
                (&tenant, Type::UUID),
                (&slot, Type::TEXT),
                (&user_id, Type::UUID),
                (&name, Type::TEXT),
                (&email, Type::TEXT),
            ],
        )
        .await
        .map_err(|e| match e {
            ApiError::Conflict { .. } => ApiError::Conflict {
                slug: "slot-unavailable",
                detail: "this slot already has an active booking".into(),
            },
            other => other,
        })?;
    let row = out.the_row("INSERT")?;
    let booking = Booking::from_row(row).map_err(|e| ApiError::Internal(e.into()))?;
    json_response(StatusCode::CREATED, &booking)
}
