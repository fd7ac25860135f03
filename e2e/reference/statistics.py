#!/usr/bin/env python3
"""Reference values for the gates' statistics, computed once with scipy.

Run: python3 e2e/reference/statistics.py > Tests/SwitchyardCoreTests/Fixtures/statistics-reference.json
The Swift tests (StatisticsTests) compare the core's own implementation with
the numbers this printed; scipy is not needed to run the test suite.
"""
import json

import numpy as np
import scipy
from scipy import stats

out = {"scipy": scipy.__version__, "normal": [], "studentT": [], "twoProportion": [], "welch": [], "mannWhitney": [], "interval": []}

for z in [-6.0, -2.5, -1.0, 0.0, 0.3, 1.6448536269514722, 1.96, 3.7, 8.0]:
    out["normal"].append({"z": z, "cdf": stats.norm.cdf(z), "sf": stats.norm.sf(z)})

for t, df in [(0.0, 3.0), (1.2, 1.0), (-2.1, 4.5), (2.5, 7.3), (4.0, 30.0), (-0.7, 120.0), (12.0, 2.0)]:
    out["studentT"].append({"t": t, "df": df, "cdf": stats.t.cdf(t, df), "sf": stats.t.sf(t, df), "q975": stats.t.ppf(0.975, df)})

# Two-proportion test, zero margin: z^2 equals the 2x2 chi-square without correction.
for x1, n1, x2, n2 in [(8, 1000, 40, 1000), (12, 1500, 15, 1500), (0, 300, 3, 300), (50, 200, 30, 210), (4, 4812, 6, 5100)]:
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi2, p_two, _, _ = stats.chi2_contingency(table, correction=False)
    p1, p2 = x1 / n1, x2 / n2
    sign = 1 if p2 > p1 else -1
    z = sign * np.sqrt(chi2)
    out["twoProportion"].append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "margin": 0.0, "z": z, "p": stats.norm.sf(z), "chi2PTwoSided": p_two})

# With a margin: unpooled standard error.
for x1, n1, x2, n2, margin in [(8, 1000, 40, 1000, 0.01), (10, 1000, 25, 1000, 0.01), (100, 2000, 130, 2000, 0.005)]:
    p1, p2 = x1 / n1, x2 / n2
    se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = (p2 - p1 - margin) / se
    out["twoProportion"].append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "margin": margin, "z": z, "p": stats.norm.sf(z)})

# Welch's t from summary statistics, one-sided (candidate greater), with margins by shifting.
for m1, v1, n1, m2, v2, n2, margin in [
    (0.80, 0.04, 40, 0.72, 0.05, 35, 0.0),
    (0.80, 0.04, 40, 0.72, 0.05, 35, -0.05),
    (0.0041, 1e-6, 500, 0.0046, 2e-6, 480, 0.0),
    (3.0, 4.0, 5, 5.5, 9.0, 4, 0.0),
]:
    res = stats.ttest_ind_from_stats(m2 - margin, np.sqrt(v2), n2, m1, np.sqrt(v1), n1, equal_var=False, alternative="greater")
    a, b = v1 / n1, v2 / n2
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    out["welch"].append({"m1": m1, "v1": v1, "n1": n1, "m2": m2, "v2": v2, "n2": n2, "margin": margin, "t": res.statistic, "p": res.pvalue, "df": df})

# Mann-Whitney on histograms: expand bucket indices into samples (all ties within a bucket).
rng = np.random.default_rng(7)
cases = [
    ([0, 5, 20, 40, 20, 10, 5, 0], [0, 2, 10, 30, 30, 18, 8, 2]),
    ([3, 3, 3, 3], [3, 3, 3, 3]),
    ([0, 0, 100, 0], [0, 0, 90, 10]),
    (list(rng.integers(0, 50, 30)), list(rng.integers(0, 60, 30))),
]
for baseline, candidate in cases:
    baseline = [int(c) for c in baseline]
    candidate = [int(c) for c in candidate]
    xs = np.repeat(np.arange(len(baseline)), baseline)
    ys = np.repeat(np.arange(len(candidate)), candidate)
    res = stats.mannwhitneyu(ys, xs, alternative="greater", method="asymptotic", use_continuity=True)
    out["mannWhitney"].append({"baseline": baseline, "candidate": candidate, "u": res.statistic, "p": res.pvalue})

for values in [[0.7, 0.9, 0.8, 1.0, 0.6], [0.2, 0.25, 0.3], [1.0, 0.0] * 20]:
    mean = float(np.mean(values))
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    out["interval"].append({"values": values, "mean": mean, "low": low, "high": high})

print(json.dumps(out, indent=1, default=float))
