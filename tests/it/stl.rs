//! STL and MSTL against statsmodels: `tests/reference/stl.py` wrote `tests/reference/stl.json` with the
//! series, the parameters (statsmodels' names, which are ours) and statsmodels' components.

use accountscope::trend::{MstlParams, StlParams, mstl, stl};
use serde_json::Value;

const REFERENCE: &str = include_str!("../reference/stl.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn assert_close(ours: &[f64], reference: &Value, case: &str, what: &str) {
    let reference = floats(reference);
    assert_eq!(ours.len(), reference.len(), "{case} {what} length");
    for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert!((a - b).abs() <= 1e-9, "{case} {what}[{i}]: {a} vs statsmodels {b}");
    }
}

#[test]
fn stl_and_mstl_equal_statsmodels() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let y = floats(&case["y"]);
        let mut params = case["params"].clone();
        let d = if case["kind"] == "stl" {
            let params: StlParams = serde_json::from_value(params).unwrap();
            stl(&y, &params).unwrap()
        } else {
            if params["windows"].as_array().is_some_and(Vec::is_empty) {
                params["windows"] = Value::Null;
            }
            let params: MstlParams = serde_json::from_value(params).unwrap();
            let m = mstl(&y, &params).unwrap();
            let expected = case["seasonals"].as_array().unwrap();
            assert_eq!(m.seasonals.len(), expected.len(), "{name} periods");
            for (k, (ours, theirs)) in m.seasonals.iter().zip(expected).enumerate() {
                assert_close(ours, theirs, name, &format!("seasonal {}", m.periods[k]));
            }
            m.total
        };
        assert_close(&d.trend, &case["trend"], name, "trend");
        assert_close(&d.resid, &case["resid"], name, "resid");
        assert_close(&d.weights, &case["weights"], name, "weights");
        if let Some(seasonal) = case.get("seasonal") {
            assert_close(&d.seasonal, seasonal, name, "seasonal");
        }
    }
}

#[test]
fn mstl_drops_periods_longer_than_half_the_series_and_says_so() {
    let y: Vec<f64> = (0..100).map(|i| (i as f64 * 0.9).sin() + (i % 7) as f64).collect();
    let m = mstl(&y, &MstlParams { periods: vec![7, 365], ..MstlParams::default() }).unwrap();
    assert_eq!((m.periods.clone(), m.dropped.clone()), (vec![7], vec![365]));
    let e = mstl(&y[..10], &MstlParams::default()).unwrap_err();
    assert!(e.to_string().contains("fewer than two"), "{e}");
}
