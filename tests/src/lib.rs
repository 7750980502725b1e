//! End-to-end test crate of the platform; the tests live in `tests/tests/`, shared fixtures here
//! as they appear (real binaries, real PostgreSQL via `managed_pg::testing`, real sockets).
