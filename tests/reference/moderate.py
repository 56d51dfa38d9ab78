"""Reference values for crates/core/src/trend/moderate.rs (scipy).

Smyth's (2004) moment estimate of the prior of residual variances, as limma's fitFDist computes it, here
with scipy's digamma and polygamma and brentq for the inverse trigamma.

Run: python tests/reference/moderate.py  (scipy >= 1.10)
"""
import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, polygamma

for x in [0.1, 0.5, 1.0, 3.7, 11.0, 250.0]:
    print("trigamma", x, repr(float(polygamma(1, x))))

s2 = np.array([0.0061, 0.0072, 0.0049, 0.0110, 0.0068, 0.0081, 0.0055, 0.0093, 0.0070, 0.0240, 0.0064, 0.0077])
d = 22.0
e = np.log(s2) - digamma(d / 2) + np.log(d / 2)
spread = e.var(ddof=1) - polygamma(1, d / 2)
half_d0 = brentq(lambda x: polygamma(1, x) - spread, 1e-8, 1e8, xtol=1e-14, rtol=1e-15)
d0 = 2 * half_d0
s0 = np.exp(e.mean() + digamma(d0 / 2) - np.log(d0 / 2))
print("d0", repr(float(d0)), "s0", repr(float(s0)))
