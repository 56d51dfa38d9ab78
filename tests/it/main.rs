//! Integration tests of the core crate, compiled as one binary (one link) as polars and datafusion do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anomaly;
mod common;
mod contracts;
mod demo;
mod dirty;
mod engine;
mod features;
mod gbdt;
mod health;
mod io;
mod metrics;
mod predict;
mod report;
mod stl;
mod trend;
mod validate;
