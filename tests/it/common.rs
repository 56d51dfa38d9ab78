//! Helpers shared by the integration tests.

use std::sync::OnceLock;

use accountscope::{Demo, DemoConfig, generate};

/// A small demo portfolio (60 accounts, 3 years), generated once per test binary.
pub(crate) fn small_demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| generate(&DemoConfig::new(60, 11)).expect("demo generates"))
}

/// A larger portfolio for statistical properties (1,500 accounts), generated once per test binary.
pub(crate) fn large_demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| generate(&DemoConfig::new(1_500, 2024)).expect("demo generates"))
}
