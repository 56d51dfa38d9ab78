//! The Node.js binding of accountscope (napi-rs, Arrow IPC buffers in and out).
//!
//! The napi functions are added by the Node binding's issue. Until then this crate re-exports the core so the
//! workspace layout is in place and the crate builds with the rest.

pub use accountscope::VERSION;
