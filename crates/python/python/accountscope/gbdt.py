"""scikit-learn style estimators over accountscope's GBDT engine.

Constructor keyword arguments are the Rust ``GbdtParams`` fields (LightGBM's names and defaults), so a
configuration means the same in Python and Rust. ``X`` is a float64 matrix (numpy or anything
``numpy.asarray`` accepts) or an Arrow table (pyarrow, polars, pandas through its Arrow export), whose text
and dictionary columns are categorical. scikit-learn is optional: when it is installed the estimators are
real ``BaseEstimator`` subclasses and work in ``cross_val_score``, ``GridSearchCV`` and ``Pipeline``.
"""

from __future__ import annotations

import json
from typing import Any, Self

import numpy as np

from . import _native
from ._progress import Progress, reporter
from .exceptions import InvalidInputError, NotFittedError

try:  # scikit-learn is optional
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
except ImportError:  # pragma: no cover - exercised only without scikit-learn

    class _Base:  # type: ignore[no-redef]
        """get_params / set_params as scikit-learn defines them, for environments without it."""

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in _PARAMS}

        def set_params(self, **params: Any) -> "_Base":
            for name, value in params.items():
                if name not in _PARAMS:
                    raise ValueError(f"invalid parameter {name!r}")
                setattr(self, name, value)
            return self

    class _ClassifierMixin:  # type: ignore[no-redef]
        pass

    class _RegressorMixin:  # type: ignore[no-redef]
        pass


_PARAMS = (
    "objective", "num_iterations", "learning_rate", "num_leaves", "max_depth", "min_data_in_leaf",
    "min_sum_hessian_in_leaf", "lambda_l1", "lambda_l2", "min_gain_to_split", "max_bin",
    "bin_construct_sample_cnt", "bagging_fraction", "bagging_freq", "feature_fraction", "scale_pos_weight",
    "monotone_constraints", "categorical_features", "max_cat_threshold", "cat_smooth", "cat_l2",
    "max_cat_to_onehot", "min_data_per_group", "early_stopping_round", "metric", "boost_from_average",
    "alpha", "tweedie_variance_power", "poisson_max_delta_step", "seed", "num_threads", "importance_type",
)


def _is_arrow(x: Any) -> bool:
    return hasattr(x, "__arrow_c_stream__") or hasattr(x, "__arrow_c_array__")


def _features(x: Any) -> tuple[Any, list[str] | None]:
    """Arrow objects pass through (zero-copy to the native side); the rest becomes a float64 matrix."""
    if _is_arrow(x):
        return x, None
    names = None
    if hasattr(x, "columns") and hasattr(x, "to_numpy"):
        names = [str(c) for c in x.columns]
        x = x.to_numpy(dtype=np.float64, na_value=np.nan) if hasattr(x, "dtypes") else x.to_numpy()
    array = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if array.ndim != 2:
        raise InvalidInputError(f"invalid input in X: expected a 2-D matrix, got {array.ndim} dimension(s)")
    return array, names


def _vector(v: Any) -> np.ndarray | None:
    return None if v is None else np.ascontiguousarray(np.asarray(v, dtype=np.float64).ravel())


class _GBDT(_Base):
    _default_objective = "binary"

    def __init__(
        self,
        *,
        objective: str | None = None,
        num_iterations: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        max_depth: int | None = None,
        min_data_in_leaf: int = 20,
        min_sum_hessian_in_leaf: float = 1e-3,
        lambda_l1: float = 0.0,
        lambda_l2: float = 0.0,
        min_gain_to_split: float = 0.0,
        max_bin: int = 255,
        bin_construct_sample_cnt: int = 200_000,
        bagging_fraction: float = 1.0,
        bagging_freq: int = 0,
        feature_fraction: float = 1.0,
        scale_pos_weight: float = 1.0,
        monotone_constraints: dict[str, int] | None = None,
        categorical_features: list[str] | None = None,
        max_cat_threshold: int = 32,
        cat_smooth: float = 10.0,
        cat_l2: float = 10.0,
        max_cat_to_onehot: int = 4,
        min_data_per_group: int = 100,
        early_stopping_round: int | None = None,
        metric: str | None = None,
        boost_from_average: bool = True,
        alpha: float = 0.9,
        tweedie_variance_power: float = 1.5,
        poisson_max_delta_step: float = 0.7,
        seed: int = 0,
        num_threads: int = 0,
        importance_type: str = "split",
    ) -> None:
        self.objective = objective
        self.num_iterations = num_iterations
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_data_in_leaf = min_data_in_leaf
        self.min_sum_hessian_in_leaf = min_sum_hessian_in_leaf
        self.lambda_l1 = lambda_l1
        self.lambda_l2 = lambda_l2
        self.min_gain_to_split = min_gain_to_split
        self.max_bin = max_bin
        self.bin_construct_sample_cnt = bin_construct_sample_cnt
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.feature_fraction = feature_fraction
        self.scale_pos_weight = scale_pos_weight
        self.monotone_constraints = monotone_constraints
        self.categorical_features = categorical_features
        self.max_cat_threshold = max_cat_threshold
        self.cat_smooth = cat_smooth
        self.cat_l2 = cat_l2
        self.max_cat_to_onehot = max_cat_to_onehot
        self.min_data_per_group = min_data_per_group
        self.early_stopping_round = early_stopping_round
        self.metric = metric
        self.boost_from_average = boost_from_average
        self.alpha = alpha
        self.tweedie_variance_power = tweedie_variance_power
        self.poisson_max_delta_step = poisson_max_delta_step
        self.seed = seed
        self.num_threads = num_threads
        self.importance_type = importance_type

    def _params_json(self) -> str:
        params = {name: getattr(self, name) for name in _PARAMS if name != "importance_type"}
        params["objective"] = params["objective"] or self._default_objective
        params["monotone_constraints"] = params["monotone_constraints"] or {}
        params["categorical_features"] = list(params["categorical_features"] or [])
        return json.dumps(params)

    def _learn_target(self, y: Any) -> None:
        """What ``fit`` learns from the training target before encoding it (the classes of a classifier)."""

    def _encode_target(self, y: Any) -> np.ndarray:
        return _vector(y)  # type: ignore[return-value]

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        eval_set: list[tuple[Any, Any]] | None = None,
        eval_sample_weight: list[Any] | None = None,
        progress: Progress = True,
    ) -> Self:
        """Train on ``X``, ``y``; the first ``eval_set`` pair is the validation set for early stopping.

        ``progress``: a bar for fits longer than half a second (``False``: none; a callable receives
        ``(task, done, total)``). Ctrl-C stops training with ``KeyboardInterrupt`` and leaves no model."""
        self._learn_target(y)
        x, names = _features(X)
        target = self._encode_target(y)
        valid_x = valid_y = valid_w = None
        if eval_set:
            vx, vy = eval_set[0]
            valid_x = _features(vx)[0]
            valid_y = self._encode_target(vy)
            valid_w = _vector(eval_sample_weight[0]) if eval_sample_weight else None
        with reporter(progress) as report:
            booster = _native.gbdt_train(
                self._params_json(), x, target, _vector(sample_weight), names, valid_x, valid_y, valid_w, report
            )
        self.booster_ = booster
        self.n_features_in_ = len(self.booster_.feature_names)
        if names is not None or _is_arrow(X):
            self.feature_names_in_ = np.asarray(self.booster_.feature_names, dtype=object)
        info = json.loads(self.booster_.training_info_json())
        self.best_iteration_ = info["best_iteration"]
        self.evals_result_ = info["eval_history"]
        return self

    def _booster(self) -> Any:
        booster = getattr(self, "booster_", None)
        if booster is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit first")
        return booster

    def _raw(self, X: Any) -> np.ndarray:
        return self._booster().predict(_features(X)[0], raw=True)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Importance per feature by ``importance_type`` (``"split"`` or ``"gain"``)."""
        return self._booster().feature_importance(self.importance_type)

    def shap_values(self, X: Any) -> np.ndarray:
        """Exact TreeSHAP contributions, shape (n, features + 1), expected value last; rows sum to the raw score."""
        return self._booster().shap_values(_features(X)[0])

    def save_model(self, path: str) -> None:
        """Save the fitted booster (JSON for a ``.json`` path, binary otherwise)."""
        self._booster().save(path)


def _missing_labels(labels: np.ndarray) -> np.ndarray:
    """Positions of missing labels: NaN in a float array, None or NaN in an object array."""
    if labels.dtype.kind == "f":
        return np.flatnonzero(np.isnan(labels))
    if labels.dtype.kind == "O":
        return np.flatnonzero([v is None or (isinstance(v, float) and v != v) for v in labels])
    return np.empty(0, dtype=np.intp)


class GBDTClassifier(_ClassifierMixin, _GBDT):
    """Binary gradient-boosted tree classifier (objective ``binary``): ``y`` has two classes of any label
    type, the second sorted class is the positive one."""

    _default_objective = "binary"

    def _learn_target(self, y: Any) -> None:
        labels = np.asarray(y).ravel()
        missing = _missing_labels(labels)
        if len(missing):
            raise InvalidInputError(f"invalid input in y, row {missing[0]}: expected a class label, got a missing value")
        classes = np.unique(labels)
        if len(classes) != 2:
            raise InvalidInputError(f"invalid input in y: expected two classes, got {len(classes)}: {list(classes[:5])}")
        self.classes_ = classes

    def _encode_target(self, y: Any) -> np.ndarray:
        labels = np.asarray(y).ravel()
        unknown = ~np.isin(labels, self.classes_)
        if unknown.any():
            raise InvalidInputError(
                f"invalid input in y: label {labels[unknown][0]!r} is not one of the classes {list(self.classes_)}"
            )
        return np.ascontiguousarray((labels == self.classes_[1]).astype(np.float64))

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores (log-odds)."""
        return self._raw(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, 2)."""
        p = self._booster().predict(_features(X)[0])
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p > 0.5).astype(int)]


class GBDTRegressor(_RegressorMixin, _GBDT):
    """Gradient-boosted tree regressor (objective ``regression``, ``quantile``, ``poisson`` or ``tweedie``)."""

    _default_objective = "regression"

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values (means for Poisson/Tweedie, the ``alpha`` quantile for quantile)."""
        return self._booster().predict(_features(X)[0])


Booster = _native.Booster
