//! Progress and cancellation for long calls (model training per boosting round, health histories and
//! anomaly detection per account): the call reports each step to an [`Observer`], which may stop it; a
//! stopped call returns [`Error::Cancelled`] and keeps nothing.
//!
//! This is how a binding shows a progress bar and turns Ctrl-C into a clean stop (the Python binding's
//! `KeyboardInterrupt`). It is distinct from [`crate::gbdt::Training::with_progress`], whose stop is an
//! ordinary end of training that keeps the trees grown so far.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// One report from a long call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<'a> {
    /// What is running, e.g. `"churn 90d"` or `"gbdt"`; a call may run several tasks one after another.
    pub task: &'a str,
    /// Units of this task done so far (boosting rounds for training).
    pub done: u64,
    /// Units of this task in all.
    pub total: u64,
}

/// Receives the steps of a long call; returning `ControlFlow::Break(())` cancels it.
///
/// Steps arrive on the thread that runs the call's main loop, which may be a worker thread.
pub trait Observer: Sync {
    /// Called after each unit of work.
    fn step(&self, step: &Step<'_>) -> ControlFlow<()>;
}

/// The observer that ignores every step and never cancels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn step(&self, _: &Step<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

impl<F: Fn(&Step<'_>) -> ControlFlow<()> + Sync> Observer for F {
    fn step(&self, step: &Step<'_>) -> ControlFlow<()> {
        self(step)
    }
}

/// Reports `step` and turns a stop into [`Error::Cancelled`] naming the task.
pub(crate) fn report(observer: &dyn Observer, step: Step<'_>) -> Result<()> {
    match observer.step(&step) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Error::Cancelled(step.task.to_string())),
    }
}

/// Counts the units of a parallel loop (one per account) and reports each one done.
pub(crate) struct Counter<'a> {
    observer: &'a dyn Observer,
    task: &'a str,
    total: u64,
    done: AtomicU64,
}

impl<'a> Counter<'a> {
    /// A count of `total` units of `task`.
    pub(crate) fn new(observer: &'a dyn Observer, task: &'a str, total: usize) -> Self {
        Self { observer, task, total: total as u64, done: AtomicU64::new(0) }
    }

    /// One more unit done (from any thread); a stop becomes [`Error::Cancelled`].
    pub(crate) fn tick(&self) -> Result<()> {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        report(self.observer, Step { task: self.task, done, total: self.total })
    }
}

/// Adds `context` to an error unless it is a cancellation, which passes through unchanged so that callers
/// can tell a stop from a failure.
pub(crate) fn model_error(context: impl FnOnce(Error) -> String) -> impl FnOnce(Error) -> Error {
    move |e| match e {
        Error::Cancelled(_) => e,
        e => Error::Model(context(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_becomes_cancelled_and_passes_context_unchanged() {
        let seen = AtomicU64::new(0);
        let stop_at_three = |s: &Step<'_>| {
            seen.fetch_add(1, Ordering::Relaxed);
            if s.done >= 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        };
        assert!(report(&stop_at_three, Step { task: "t", done: 1, total: 5 }).is_ok());
        let err = report(&stop_at_three, Step { task: "t", done: 3, total: 5 }).unwrap_err();
        assert!(matches!(&err, Error::Cancelled(t) if t == "t"));
        assert!(matches!(model_error(|e| format!("x: {e}"))(err), Error::Cancelled(_)));
        assert!(
            matches!(model_error(|e| format!("x: {e}"))(Error::invalid("a", "b")), Error::Model(m) if m.starts_with("x: "))
        );
        assert_eq!(seen.load(Ordering::Relaxed), 2);
        assert!(report(&Silent, Step { task: "t", done: 9, total: 9 }).is_ok());
    }
}
