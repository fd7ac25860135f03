/// The outcome of one significance test.
public struct TestResult: Hashable, Sendable, Codable {
    /// The test statistic (z, t or the normal approximation of U).
    public var statistic: Double
    /// The one-sided p-value for "the candidate is worse by more than the margin".
    public var pValue: Double
    /// Welch's degrees of freedom; `nil` for the normal-based tests.
    public var degreesOfFreedom: Double?

    public init(statistic: Double, pValue: Double, degreesOfFreedom: Double? = nil) {
        self.statistic = statistic
        self.pValue = pValue
        self.degreesOfFreedom = degreesOfFreedom
    }
}

/// The three tests the analysis gates use. Each asks one-sided whether the
/// candidate exceeds the baseline (by more than a margin, where one applies).
public enum HypothesisTests {
    /// Two-proportion z-test of H₀: p_candidate − p_baseline ≤ margin against
    /// H₁: it is greater. With a zero margin the pooled standard error is used
    /// (the textbook test, equal to a 2×2 χ² test without continuity
    /// correction); with a margin, the unpooled one, since H₀ no longer says
    /// the rates are equal.
    public static func twoProportion(
        baselineEvents x1: Int, baselineTotal n1: Int,
        candidateEvents x2: Int, candidateTotal n2: Int,
        margin: Double = 0
    ) -> TestResult? {
        guard n1 > 0, n2 > 0 else { return nil }
        let p1 = Double(x1) / Double(n1)
        let p2 = Double(x2) / Double(n2)
        let variance: Double
        if margin == 0 {
            let pooled = Double(x1 + x2) / Double(n1 + n2)
            variance = pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n2))
        } else {
            variance = p1 * (1 - p1) / Double(n1) + p2 * (1 - p2) / Double(n2)
        }
        let difference = p2 - p1 - margin
        guard variance > 0 else {
            // Both rates are 0 or 1: no spread, so the observed difference is the answer.
            return TestResult(statistic: difference > 0 ? .infinity : (difference < 0 ? -.infinity : 0), pValue: difference > 0 ? 0 : 1)
        }
        let z = difference / variance.squareRoot()
        return TestResult(statistic: z, pValue: Distributions.normalSurvival(z))
    }

    /// Welch's t-test of H₀: mean_candidate − mean_baseline ≤ margin against
    /// H₁: it is greater, from summary statistics (sample variances).
    public static func welch(
        baselineMean m1: Double, baselineVariance v1: Double, baselineCount n1: Int,
        candidateMean m2: Double, candidateVariance v2: Double, candidateCount n2: Int,
        margin: Double = 0
    ) -> TestResult? {
        guard n1 >= 2, n2 >= 2 else { return nil }
        let a = v1 / Double(n1)
        let b = v2 / Double(n2)
        let standardError = (a + b).squareRoot()
        let difference = m2 - m1 - margin
        guard standardError > 0 else {
            return TestResult(statistic: difference > 0 ? .infinity : (difference < 0 ? -.infinity : 0), pValue: difference > 0 ? 0 : 1)
        }
        let t = difference / standardError
        let df = (a + b) * (a + b) / (a * a / Double(n1 - 1) + b * b / Double(n2 - 1))
        return TestResult(statistic: t, pValue: Distributions.studentTSurvival(t, degreesOfFreedom: df), degreesOfFreedom: df)
    }

    /// Mann–Whitney U test that the candidate's values tend to be larger than
    /// the baseline's, on two histograms with the same buckets: every value in
    /// a bucket is a tie. Normal approximation with tie and continuity
    /// correction (what scipy's `mannwhitneyu(method="asymptotic")` computes).
    /// The statistic returned is z; U itself is in `mannWhitneyU`.
    public static func mannWhitney(baseline: [UInt32], candidate: [UInt32]) -> TestResult? {
        precondition(baseline.count == candidate.count, "histograms must share their buckets")
        let n1 = baseline.reduce(0.0) { $0 + Double($1) }
        let n2 = candidate.reduce(0.0) { $0 + Double($1) }
        guard n1 > 0, n2 > 0 else { return nil }
        let u = mannWhitneyU(baseline: baseline, candidate: candidate)
        let n = n1 + n2
        var tieTerm = 0.0
        for index in baseline.indices {
            let t = Double(baseline[index]) + Double(candidate[index])
            tieTerm += t * t * t - t
        }
        let mean = n1 * n2 / 2
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        guard variance > 0 else { return TestResult(statistic: 0, pValue: 1) }
        let z = (u - mean - 0.5) / variance.squareRoot()
        return TestResult(statistic: z, pValue: Distributions.normalSurvival(z))
    }

    /// U for the candidate: the number of (candidate, baseline) pairs where the
    /// candidate is larger, ties counting one half.
    public static func mannWhitneyU(baseline: [UInt32], candidate: [UInt32]) -> Double {
        var below = 0.0
        var u = 0.0
        for index in baseline.indices {
            let a = Double(baseline[index])
            let b = Double(candidate[index])
            u += b * (below + a / 2)
            below += a
        }
        return u
    }
}

/// Mean, variance and count of a set of scores, with its confidence interval.
public struct ScoreSummary: Hashable, Sendable, Codable {
    public var count: Int
    public var mean: Double
    /// The sample variance (n − 1 in the denominator).
    public var variance: Double

    public init(_ values: [Double]) {
        count = values.count
        mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        let meanValue = mean
        variance = values.count < 2 ? 0 : values.reduce(0) { $0 + ($1 - meanValue) * ($1 - meanValue) } / Double(values.count - 1)
    }

    public init(count: Int, mean: Double, variance: Double) {
        self.count = count
        self.mean = mean
        self.variance = variance
    }

    /// The two-sided Student-t interval for the mean at `confidence`; `nil` with fewer than two values.
    public func interval(confidence: Double = 0.95) -> ClosedRange<Double>? {
        guard count >= 2 else { return nil }
        let t = Distributions.studentTQuantile(1 - (1 - confidence) / 2, degreesOfFreedom: Double(count - 1))
        let half = t * (variance / Double(count)).squareRoot()
        guard mean.isFinite, half.isFinite, half >= 0 else { return nil }
        return (mean - half)...(mean + half)
    }
}
