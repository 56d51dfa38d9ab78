"""Reference values for accountscope's trend tests (tests/it/trend.rs), from independent implementations:
pymannkendall.original_test (Mann-Kendall with tie correction, Sen's slope and intercept) and
scipy.stats.linregress (OLS slope, its standard error and p-value; the CI uses Student's t).

    pip install pymannkendall scipy && python tests/reference/trend_tests.py

Prints Rust literals that are pasted into tests/it/trend.rs.
"""

import numpy as np
import pymannkendall as mk
from scipy import stats

CASES = {
    "increasing_with_noise": [1.0, 2.3, 2.9, 4.1, 3.8, 5.2, 6.0, 6.1, 7.4, 8.0, 7.7, 9.1],
    "ties": [3.0, 3.0, 4.0, 4.0, 4.0, 2.0, 5.0, 5.0, 6.0, 3.0, 6.0, 7.0, 7.0, 7.0],
    "decreasing": [10.0, 9.5, 9.7, 8.1, 8.3, 7.0, 6.2, 6.4, 5.0, 4.1],
    "no_trend": [5.0, 3.0, 6.0, 4.0, 5.0, 3.0, 6.0, 4.0, 5.0, 3.0, 6.0, 4.0],
}


def main() -> None:
    for name, x in CASES.items():
        r = mk.original_test(np.array(x), alpha=0.05)
        t = np.arange(len(x), dtype=float)
        lr = stats.linregress(t, x)
        q = stats.t.ppf(0.975, len(x) - 2)
        f = lambda v: repr(float(v))  # noqa: E731
        print(
            f"    (\"{name}\", &{x!r}, MkRef {{ s: {f(r.s)}, var_s: {f(r.var_s)}, z: {f(r.z)}, p: {f(r.p)}, "
            f"tau: {f(r.Tau)}, slope: {f(r.slope)}, intercept: {f(r.intercept)}, trend: \"{r.trend}\" }}, "
            f"OlsRef {{ slope: {f(lr.slope)}, stderr: {f(lr.stderr)}, p: {f(lr.pvalue)}, "
            f"lower: {f(lr.slope - q * lr.stderr)}, upper: {f(lr.slope + q * lr.stderr)} }}),"
        )


if __name__ == "__main__":
    main()
