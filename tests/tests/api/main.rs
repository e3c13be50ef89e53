//! One integration-test binary (see tests/src/lib.rs for the harness).

mod auth;
mod bookings;
mod migrations;
mod resilience;
mod rls;
mod round_trips;
mod secrets;
