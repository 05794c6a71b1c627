//! The only place that reads the wall clock (enforced by clippy's `disallowed-methods`).

use time::OffsetDateTime;

/// The current instant, in UTC.
#[expect(
    clippy::disallowed_methods,
    reason = "this is the one sanctioned clock read"
)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
