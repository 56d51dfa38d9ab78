//! Command-line helpers shared by the examples, each of which includes this file with
//! `#[path = "support/cli.rs"] mod cli;` (an example is its own crate; this keeps one copy).

#![allow(dead_code)]

use std::fmt::Display;
use std::str::FromStr;

use accountscope::{Error, Result};

/// Runs `run`, printing an error with its category and exiting with status 1 when it fails.
pub(crate) fn main_with(run: impl FnOnce() -> Result<()>) {
    if let Err(e) = run() {
        eprintln!("error [{}]: {e}", e.category());
        std::process::exit(1);
    }
}

/// The value after `name` on the command line.
pub(crate) fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// The value after `name`, or a `Config` error naming it.
pub(crate) fn required(name: &str) -> Result<String> {
    arg(name).ok_or_else(|| Error::config(name, "missing argument"))
}

/// The value after `name` parsed as a number, or `default`.
pub(crate) fn number<T: FromStr>(name: &str, default: T) -> Result<T>
where
    T::Err: Display,
{
    arg(name).map_or(Ok(default), |v| v.parse().map_err(|e| Error::config(name, format!("{e}"))))
}

/// The median of timings (upper middle for an even count).
pub(crate) fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Whether the bare switch `name` is on the command line.
pub(crate) fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}
