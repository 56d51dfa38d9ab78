//! Long calls from Python: progress and Ctrl-C.
//!
//! The work runs on a scoped worker thread with a core [`Observer`]; the calling thread waits with the GIL
//! released and wakes every 100 ms to check for signals (`KeyboardInterrupt` arrives only on the main
//! thread, and only while it runs Python code) and to pass the latest step to the Python progress callback.
//! An interrupt, or an exception in the callback, cancels the work at its next step (a boosting round) and
//! is raised once the worker has stopped, so nothing keeps running behind the user's back.

use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use accountscope::progress::{Observer, Step};
use pyo3::prelude::*;

use crate::errors::IntoPy;

/// How often the waiting thread checks for Ctrl-C and refreshes the progress callback.
const TICK: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Watch {
    cancel: AtomicBool,
    latest: Mutex<Option<(String, u64, u64)>>,
}

impl Observer for Watch {
    fn step(&self, step: &Step<'_>) -> ControlFlow<()> {
        if let Ok(mut latest) = self.latest.lock() {
            // Parallel loops report out of order: keep the furthest step of the running task.
            let behind = latest.as_ref().is_some_and(|(task, done, _)| task == step.task && *done >= step.done);
            if !behind {
                *latest = Some((step.task.to_string(), step.done, step.total));
            }
        }
        if self.cancel.load(Ordering::Relaxed) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }
}

impl Watch {
    fn latest(&self) -> Option<(String, u64, u64)> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }
}

/// Runs `work` on a worker thread, reporting its steps to `progress(task, done, total)` (when given) and
/// turning Ctrl-C into `KeyboardInterrupt`.
pub(crate) fn observed<T: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&dyn Observer) -> accountscope::Result<T> + Send,
) -> PyResult<T> {
    let watch = Watch::default();
    let mut raised: Option<PyErr> = None;
    let mut shown: Option<(String, u64, u64)> = None;
    let mut show = |raised: &mut Option<PyErr>| {
        let (Some(callback), Some(latest)) = (progress, watch.latest()) else { return };
        if shown.as_ref() != Some(&latest) {
            if let Err(e) = callback.call1((latest.0.as_str(), latest.1, latest.2)) {
                raised.get_or_insert(e);
                watch.cancel.store(true, Ordering::Relaxed);
            }
            shown = Some(latest);
        }
    };
    let outcome = std::thread::scope(|scope| {
        let (sender, mut receiver) = mpsc::channel();
        let watching = &watch;
        let worker = scope.spawn(move || {
            // The receiver outlives the worker (joined below), so a failed send cannot happen.
            let _ = sender.send(work(watching));
        });
        let result = loop {
            // A receiver is not `Sync`, so it moves into the GIL-free wait and back out.
            let (received, back) = py.detach(move || (receiver.recv_timeout(TICK), receiver));
            receiver = back;
            match received {
                Ok(result) => break Some(result),
                Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        raised.get_or_insert(e);
                        watch.cancel.store(true, Ordering::Relaxed);
                    }
                    show(&mut raised);
                }
            }
        };
        match py.detach(|| worker.join()) {
            // A panic in the worker is a bug: re-raise it here, where pyo3 turns it into PanicException.
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => result,
        }
    });
    show(&mut raised);
    match (raised, outcome) {
        (Some(e), _) => Err(e),
        (None, Some(result)) => result.py(),
        (None, None) => {
            Err(crate::errors::to_py(accountscope::Error::Internal("the worker thread sent no result".into())))
        }
    }
}
