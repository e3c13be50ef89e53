//! The booking row, read by both `book` and `cancel`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

/// The booking as stored; also `cancel`'s response body.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Booking {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub slot_id: String,
    pub user_id: Uuid,
    pub user_name: String,
    pub user_email: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The columns `Booking::from_row` reads, in order.
pub const BOOKING_COLUMNS: &str =
    "id, tenant_id, slot_id, user_id, user_name, user_email, status, created_at, updated_at";

impl Booking {
    pub fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            tenant_id: row.try_get(1)?,
            slot_id: row.try_get(2)?,
            user_id: row.try_get(3)?,
            user_name: row.try_get(4)?,
            user_email: row.try_get(5)?,
            status: row.try_get(6)?,
            created_at: row
                .try_get::<_, OffsetDateTime>(7)?
                .to_offset(time::UtcOffset::UTC),
            updated_at: row
                .try_get::<_, OffsetDateTime>(8)?
                .to_offset(time::UtcOffset::UTC),
        })
    }
}
