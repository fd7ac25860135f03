"""Reference values for the anytime-valid gates, from the `confseq` package
(Howard, Ramdas et al.; https://github.com/gostevehoward/confseq).

confseq's C++ core needs Boost headers to build, so this is run on purpose,
never in CI, and its output is committed:

    apt-get install libboost-math-dev
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install numpy "pybind11>=2.10" scikit-build cmake
    /tmp/ref/bin/pip install --no-build-isolation confseq==0.0.11
    /tmp/ref/bin/python e2e/reference/confseq_reference.py > Tests/SwitchyardCoreTests/Fixtures/confseq-reference.json

Tests/SwitchyardCoreTests/ConfidenceSequenceTests.swift compares ours with these.
"""
import json
import math

from confseq import boundaries

normal_bounds = []
for v in [1.0, 10.0, 50.0, 500.0, 2_400.0, 100_000.0]:
    for alpha in [0.05, 0.01, 0.2]:
        for v_opt in [50.0, 500.0]:
            normal_bounds.append({
                "v": v, "alpha": alpha, "vOpt": v_opt,
                "bound": boundaries.normal_mixture_bound(v, alpha, v_opt, alpha, False),
            })

normal_log_mixtures = []
for s in [-30.0, 0.0, 4.5, 25.0]:
    for v in [10.0, 400.0]:
        normal_log_mixtures.append({
            "s": s, "v": v, "vOpt": 500.0, "alpha": 0.05,
            "logMixture": boundaries.normal_log_mixture(s, v, 500.0, 0.05, False),
        })

beta_binomial_log_mixtures = []
for q in [0.5, 0.95, 0.99]:
    for n in [20, 1_000, 50_000]:
        v = q * (1 - q) * n
        for fraction in [0.0, q - 0.02, q, min(1.0, q + 0.01), 1.0]:
            s = (fraction - q) * n
            beta_binomial_log_mixtures.append({
                "q": q, "n": n, "s": s, "v": v, "vOpt": q * (1 - q) * 1_000, "alpha": 0.025,
                "logMixture": boundaries.beta_binomial_log_mixture(s, v, q * (1 - q) * 1_000, q, 1 - q, 0.025, False),
            })

# A fixed quantile's confidence sequence as fractions of the sample
# (Howard and Ramdas 2022, Theorem 1): the upper crossing of the mixture
# for observations in [-q, 1-q], the lower one with the range mirrored.
quantile_fractions = []
for q in [0.5, 0.95]:
    for n in [10, 200, 1_000, 20_000]:
        for planned in [100, 1_000]:
            alpha = 0.025
            v = q * (1 - q) * n
            v_opt = q * (1 - q) * planned
            upper = boundaries.beta_binomial_mixture_bound(v, alpha, v_opt, q, 1 - q, alpha, False)
            lower = boundaries.beta_binomial_mixture_bound(v, alpha, v_opt, 1 - q, q, alpha, False)
            high = q + upper / n
            low = q - lower / n
            quantile_fractions.append({
                "q": q, "n": n, "planned": planned, "alpha": alpha,
                "low": None if low <= 1e-9 else low, "high": None if high >= 1 - 1e-9 else high,
            })

# Two proportions: the difference's interval is the normal-mixture bound in
# information time (effective samples n1*n2/(n1+n2)), scaled by the standard
# error with each side's smoothed variance floored at the pooled one.
proportion_intervals = []
for (x1, n1, x2, n2) in [(10, 1_000, 50, 1_000), (0, 200, 0, 200), (20, 4_000, 9, 400), (500, 10_000, 560, 10_000)]:
    for confidence in [0.95, 0.99]:
        alpha = 1 - confidence
        pooled = (x1 + x2 + 1) / (n1 + n2 + 2)
        floor = pooled * (1 - pooled)
        def var(x, n):
            p = (x + 1) / (n + 2)
            return max(p * (1 - p), floor)
        se = math.sqrt(var(x1, n1) / n1 + var(x2, n2) / n2)
        eff = n1 * n2 / (n1 + n2)
        planned = 1_000 / 2
        half = se * boundaries.normal_mixture_bound(eff, alpha, planned, alpha, False) / math.sqrt(eff)
        d = x2 / n2 - x1 / n1
        proportion_intervals.append({
            "baselineEvents": x1, "baselineTotal": n1, "candidateEvents": x2, "candidateTotal": n2, "confidence": confidence,
            "plannedSamples": 1_000, "low": max(-1, d - half), "high": min(1, d + half),
        })

print(json.dumps({
    "source": "confseq 0.0.11",
    "normalMixtureBounds": normal_bounds,
    "normalLogMixtures": normal_log_mixtures,
    "betaBinomialLogMixtures": beta_binomial_log_mixtures,
    "quantileFractions": quantile_fractions,
    "proportionIntervals": proportion_intervals,
}, indent=1))
