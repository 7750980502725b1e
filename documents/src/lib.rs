//! Document factory: MONO document templates (our own Russian texts, rendered with minijinja),
//! input data and its validation, meta, deterministic PDFs through WeasyPrint (a warm worker
//! pool with the CLI as fallback), `doc_hash`, regeneration checks and unsigned `document2`.
//!
//! Rendering (data → HTML: [`render`], [`factory::prepare`]) is pure; process IO lives in
//! [`pdf`] only. Storage and GraphQL belong to the tenant node, which supplies the data as of
//! the meta's `block_num`.

pub mod clock;
pub mod factory;
pub mod image;
pub mod meta;
pub mod model;
pub mod pdf;
pub mod registry;
pub mod render;
pub mod sample;
pub mod schema;
pub mod validate;
pub mod verify;
