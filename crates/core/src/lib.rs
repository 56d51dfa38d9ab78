#![doc = include_str!("../../../README.md")]

pub mod anomaly;
mod config_text;
pub mod contracts;
pub mod demo;
pub mod engine;
pub mod error;
pub mod features;
pub mod gbdt;
pub mod health;
pub mod html;
pub mod io;
pub mod metrics;
pub mod portfolio;
pub mod predict;
pub mod privacy;
pub mod progress;
pub mod report;
pub mod table;
mod timing;
pub mod trend;
pub mod validate;

pub use contracts::{ColumnMapping, TableKind};
pub use demo::{Demo, DemoConfig, generate};
pub use engine::Engine;
pub use error::{Error, ErrorCategory, Result};
pub use portfolio::Portfolio;
pub use table::Table;

/// The library version (from Cargo).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
