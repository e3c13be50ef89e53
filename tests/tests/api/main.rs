//! One integration-test binary (see tests/src/lib.rs for the harness).

mod auth;
mod bookings;
mod checkout;
mod metrics;
mod migrations;
mod partitions;
mod phi;
mod products;
mod resilience;
mod rls;
mod round_trips;
mod routes;
mod score;
mod secrets;

// Reliability and security (issue 8); route_kit is their shared helper.
mod faults;
mod hostile;
mod isolation;
mod races;
mod route_kit;
