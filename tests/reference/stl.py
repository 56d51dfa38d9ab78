"""Reference decompositions for accountscope's STL and MSTL (tests/it/stl.rs), made by statsmodels'
`STL` and `MSTL` (statsmodels 0.15.0).

    pip install statsmodels==0.15.0 && python tests/reference/stl.py > tests/reference/stl.json

The series are generated here from a fixed seed and written with the results, so the test does not need
numpy; each case lists its parameters under the statsmodels names.
"""

import json

import numpy as np
from statsmodels.tsa.seasonal import MSTL, STL


def series(n: int, period: int, seed: int, outliers: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    y = 10 + 0.05 * t + 3 * np.sin(2 * np.pi * t / period) + np.cos(4 * np.pi * t / period) + rng.normal(0, 0.7, n)
    if outliers:
        idx = rng.choice(n, outliers, replace=False)
        y[idx] += rng.choice([-1, 1], outliers) * 15
    return np.round(y, 6)


STL_CASES = [
    ("default_period_7", series(63, 7, 1), dict(period=7), {}),
    ("robust_with_outliers", series(84, 7, 2, outliers=5), dict(period=7, robust=True), {}),
    (
        "robust_custom_iterations",
        series(84, 7, 3, outliers=4),
        dict(period=7, robust=True),
        dict(inner_iter=3, outer_iter=4),
    ),
    (
        "jumps_and_degree_0",
        series(72, 12, 4),
        dict(
            period=12, seasonal=9, trend=23, low_pass=13, seasonal_deg=0, trend_deg=1, low_pass_deg=0,
            seasonal_jump=2, trend_jump=3, low_pass_jump=2,
        ),
        {},
    ),
    ("spans_longer_than_series", series(10, 4, 5), dict(period=4, seasonal=13), {}),
    ("trend_degree_0_even_period", series(60, 6, 6), dict(period=6, seasonal=11, trend_deg=0), {}),
]

MSTL_CASES = [
    ("two_periods", series(200, 7, 7) + 2 * np.sin(2 * np.pi * np.arange(200) / 30), dict(periods=(7, 30)), {}),
    (
        "robust_with_windows",
        series(150, 5, 8, outliers=3) + np.sin(2 * np.pi * np.arange(150) / 24),
        dict(periods=(24, 5), windows=(15, 9)),
        dict(robust=True),
    ),
]


def main() -> None:
    cases = []
    for name, y, params, fit in STL_CASES:
        r = STL(y, **params).fit(**fit)
        cases.append(
            dict(
                kind="stl", name=name, y=y.tolist(), params={**params, **fit}, trend=r.trend.tolist(),
                seasonal=r.seasonal.tolist(), resid=r.resid.tolist(), weights=r.weights.tolist(),
            )
        )
    for name, y, params, stl_kwargs in MSTL_CASES:
        r = MSTL(y, **params, stl_kwargs=dict(stl_kwargs)).fit()
        seasonal = np.atleast_2d(np.asarray(r.seasonal).T)
        cases.append(
            dict(
                kind="mstl", name=name, y=y.tolist(),
                params={"periods": list(params["periods"]), "windows": list(params.get("windows") or []),
                        "stl": stl_kwargs},
                trend=r.trend.tolist(), seasonals=seasonal.tolist(), resid=r.resid.tolist(),
                weights=r.weights.tolist(),
            )
        )
    print(json.dumps({"statsmodels": "0.15.0", "cases": cases}))


if __name__ == "__main__":
    main()
