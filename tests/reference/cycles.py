"""Reference values for crates/core/src/trend/cycles.rs (statsmodels, pandas).

Run: python tests/reference/cycles.py  (statsmodels >= 0.14, pandas >= 2)
"""
import numpy as np
import pandas as pd
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm

table = [[1.0, 2.0, 3.0, 4.5], [2.0, 2.5, 4.0, 6.0], [0.5, 2.0, 2.0, 5.0], [1.5, 3.0, 3.5, 4.0]]
d = pd.DataFrame([(b, j, v) for b, row in enumerate(table) for j, v in enumerate(row)], columns=["b", "j", "y"])
fit = ols("y ~ C(j, Sum) + C(b, Sum)", d).fit()
print("anova", anova_lm(fit).loc["C(j, Sum)", ["F", "PR(>F)"]].tolist())

# Column 3 against the mean of columns 0-2. With sum-to-zero coding the column effects are
# a_0..a_2 (named) and a_3 = -(a_0 + a_1 + a_2); the contrast a_3 - (a_0 + a_1 + a_2) / 3 = -(4/3)(a_0 + a_1 + a_2).
names = fit.params.index
c = np.zeros(len(names))
for j in range(3):
    c[list(names).index(f"C(j, Sum)[S.{j}]")] = -4.0 / 3.0
t = fit.t_test(c)
print("contrast", float(np.asarray(t.effect).ravel()[0]), "p", float(np.asarray(t.pvalue).ravel()[0]))

x = pd.Series([1.0, 4.0, 2.0, 8.0, 3.0, 5.0, 7.0, 0.5, 6.0])
print("level_relative", (x - x.rolling(5, center=True, min_periods=1).median()).tolist())
