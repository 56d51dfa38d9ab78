"""Reference values of accountscope's metrics from scikit-learn (tests/it/metrics.rs embeds them).

Run: .venv/bin/python tests/reference/metrics.py  (needs scikit-learn and numpy)
The vectors are defined by formulas so the Rust test rebuilds them exactly; scores have ties on purpose.
"""

import numpy as np
import sklearn
from sklearn import metrics as m

n = 97
i = np.arange(n)
y = ((i * 7) % 3 == 0).astype(float)
score = ((i * 37) % 23) / 23.0          # 23 distinct values: many ties
prob = 0.02 + 0.96 * score
w = 1.0 + (i % 5) / 2.0
reg_true = np.sin(i * 0.37) * 10.0 + 0.5 * i
reg_pred = reg_true + np.cos(i * 1.3) * 3.0
count_true = (i % 4).astype(float)
count_pred = 0.5 + (i % 7) / 3.0

values = {
    "roc_auc": m.roc_auc_score(y, score),
    "roc_auc_w": m.roc_auc_score(y, score, sample_weight=w),
    "average_precision": m.average_precision_score(y, score),
    "average_precision_w": m.average_precision_score(y, score, sample_weight=w),
    "log_loss": m.log_loss(y, prob),
    "log_loss_w": m.log_loss(y, prob, sample_weight=w),
    "brier": m.brier_score_loss(y, prob),
    "brier_w": m.brier_score_loss(y, prob, sample_weight=w),
    "precision_at_05": m.precision_score(y, prob >= 0.5),
    "recall_at_05": m.recall_score(y, prob >= 0.5),
    "f1_at_05": m.f1_score(y, prob >= 0.5),
    "f1_at_05_w": m.f1_score(y, prob >= 0.5, sample_weight=w),
    "rmse": m.root_mean_squared_error(reg_true, reg_pred),
    "rmse_w": m.root_mean_squared_error(reg_true, reg_pred, sample_weight=w),
    "mae": m.mean_absolute_error(reg_true, reg_pred),
    "pinball_09": m.mean_pinball_loss(reg_true, reg_pred, alpha=0.9),
    "pinball_02_w": m.mean_pinball_loss(reg_true, reg_pred, alpha=0.2, sample_weight=w),
    "poisson_deviance": m.mean_poisson_deviance(count_true, count_pred),
    "tweedie_15_w": m.mean_tweedie_deviance(count_true, count_pred, power=1.5, sample_weight=w),
}
print(f"// scikit-learn {sklearn.__version__}")
for k, v in values.items():
    print(f'("{k}", {float(v)!r}),')
