//! `accountscope._native`: the Python binding of accountscope (pyo3 + maturin).
//!
//! A binding only converts: Arrow data comes in through the Arrow PyCapsule interface (pyo3-arrow, so
//! pyarrow, polars, pandas and duckdb objects all work without a copy) and leaves as [`table::Table`],
//! which exports `__arrow_c_stream__`; keyword configurations arrive as JSON text and deserialize into the
//! core's serde structs, so names and defaults are the core's; every heavy call releases the GIL; errors
//! become the exception class of their category (defined in `accountscope/exceptions.py`).

mod anomaly;
mod demo;
mod engine;
mod errors;
mod gbdt;
mod health;
mod io;
mod predict;
mod progress;
mod report;
mod table;
mod trend;
mod validate;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", accountscope::VERSION)?;
    m.add_class::<table::Table>()?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<demo::Demo>()?;
    m.add_function(wrap_pyfunction!(demo::generate_demo, m)?)?;
    m.add_function(wrap_pyfunction!(io::read_file, m)?)?;
    m.add_function(wrap_pyfunction!(io::write_file, m)?)?;
    m.add_function(wrap_pyfunction!(io::conform, m)?)?;
    m.add_function(wrap_pyfunction!(io::canonical_schema, m)?)?;
    m.add_function(wrap_pyfunction!(io::table_names, m)?)?;
    m.add_function(wrap_pyfunction!(trend::trend_tests, m)?)?;
    m.add_function(wrap_pyfunction!(trend::seasonality, m)?)?;
    m.add_function(wrap_pyfunction!(trend::analyze, m)?)?;
    m.add_function(wrap_pyfunction!(trend::resample, m)?)?;
    m.add_function(wrap_pyfunction!(trend::correlations, m)?)?;
    m.add_function(wrap_pyfunction!(trend::lead_lag, m)?)?;
    m.add_function(wrap_pyfunction!(trend::churn_indicators, m)?)?;
    m.add_function(wrap_pyfunction!(trend::seasonality_summary, m)?)?;
    m.add_function(wrap_pyfunction!(trend::stl, m)?)?;
    m.add_function(wrap_pyfunction!(trend::mstl, m)?)?;
    m.add_function(wrap_pyfunction!(health::health_history, m)?)?;
    m.add_class::<health::HealthScorer>()?;
    m.add_function(wrap_pyfunction!(health::health_explain, m)?)?;
    m.add_function(wrap_pyfunction!(health::health_summary, m)?)?;
    m.add_function(wrap_pyfunction!(health::default_scorecards_yaml, m)?)?;
    m.add_class::<gbdt::Booster>()?;
    m.add_function(wrap_pyfunction!(gbdt::gbdt_train, m)?)?;
    m.add_function(wrap_pyfunction!(anomaly::detect_anomalies, m)?)?;
    m.add_function(wrap_pyfunction!(anomaly::anomaly_event_score, m)?)?;
    m.add_function(wrap_pyfunction!(anomaly::peer_outliers, m)?)?;
    m.add_function(wrap_pyfunction!(anomaly::recent_features, m)?)?;
    m.add_function(wrap_pyfunction!(anomaly::nab_score, m)?)?;
    m.add_function(wrap_pyfunction!(anomaly::online_events, m)?)?;
    m.add_class::<anomaly::StreamDetector>()?;
    m.add_function(wrap_pyfunction!(predict::build_features, m)?)?;
    m.add_function(wrap_pyfunction!(predict::known_at, m)?)?;
    m.add_function(wrap_pyfunction!(predict::snapshots_between, m)?)?;
    m.add_function(wrap_pyfunction!(predict::evaluate_probabilities, m)?)?;
    m.add_function(wrap_pyfunction!(predict::delong_test, m)?)?;
    m.add_function(wrap_pyfunction!(predict::feature_drift, m)?)?;
    m.add_class::<predict::ChurnModel>()?;
    m.add_class::<predict::ExpansionModel>()?;
    m.add_class::<predict::TrajectoryModel>()?;
    m.add_class::<report::Report>()?;
    m.add_function(wrap_pyfunction!(report::report_spec, m)?)?;
    m.add_function(wrap_pyfunction!(report::report_template, m)?)?;
    m.add_function(wrap_pyfunction!(report::report_templates, m)?)?;
    m.add_function(wrap_pyfunction!(report::report_json_schema, m)?)?;
    m.add_function(wrap_pyfunction!(report::build_report, m)?)?;
    m.add_function(wrap_pyfunction!(report::erase_account, m)?)?;
    m.add_function(wrap_pyfunction!(report::due_reports, m)?)?;
    m.add_function(wrap_pyfunction!(report::run_due_reports, m)?)?;
    m.add_class::<validate::Validator>()?;
    m.add_class::<validate::Validation>()?;
    m.add_class::<validate::StreamValidator>()?;
    m.add_function(wrap_pyfunction!(validate::profile, m)?)?;
    m.add_function(wrap_pyfunction!(validate::dirty_rules_yaml, m)?)?;
    Ok(())
}
