//! Phase timings on stderr when an environment variable is set (`ACCOUNTSCOPE_VALIDATE_TIMING`,
//! `ACCOUNTSCOPE_ANOMALY_TIMING`): a diagnostic for profiling, off and free by default.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Wall-clock marks of a run's phases, and CPU time summed over threads for the parts of a parallel phase.
pub(crate) struct Timing {
    label: &'static str,
    start: Option<Instant>,
}

impl Timing {
    /// On when the environment variable `var` is set; `label` prefixes every line.
    pub(crate) fn from_env(var: &str, label: &'static str) -> Self {
        Self { label, start: std::env::var_os(var).map(|_| Instant::now()) }
    }

    /// Prints the time since the start at the end of `phase`.
    pub(crate) fn mark(&self, phase: &str) {
        if let Some(start) = self.start {
            eprintln!("{}: {phase} done at {:.3} s", self.label, start.elapsed().as_secs_f64());
        }
    }

    /// Runs `f`, adding its duration to `total` (nanoseconds) when timing is on.
    pub(crate) fn part<T>(&self, total: &AtomicU64, f: impl FnOnce() -> T) -> T {
        if self.start.is_none() {
            return f();
        }
        let clock = Instant::now();
        let out = f();
        total.fetch_add(clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }

    /// Prints a part's summed time.
    pub(crate) fn report(&self, part: &str, total: &AtomicU64) {
        if self.start.is_some() {
            eprintln!(
                "{}:   {part}: {:.3} s over all threads",
                self.label,
                total.load(Ordering::Relaxed) as f64 * 1e-9
            );
        }
    }
}
