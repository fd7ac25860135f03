#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An anytime-valid interval: with the stated confidence it holds the true
/// figure at every look at once. An end is `nil` when the data cannot bound
/// it yet (a p95 needs enough samples above it before it has an upper bound).
public struct AnytimeInterval: Hashable, Sendable, Codable {
    public var low: Double?
    public var high: Double?

    public init(low: Double?, high: Double?) {
        self.low = low
        self.high = high
    }

    /// The interval with both ends multiplied by `factor` (> 0), e.g. a proportion as percentage points.
    public func scaled(by factor: Double) -> AnytimeInterval {
        AnytimeInterval(low: low.map { $0 * factor }, high: high.map { $0 * factor })
    }
}

/// A candidate-against-baseline figure with its anytime-valid interval.
public struct AnytimeEstimate: Hashable, Sendable {
    /// The observed difference or ratio.
    public var estimate: Double
    public var interval: AnytimeInterval
    /// For the normal-mixture comparisons: what the anytime p-value needs.
    var standardError: Double?
    var effectiveSamples: Double?
    var rho: Double?

    /// The estimate in other units (`factor` > 0): percentage points from a proportion.
    public func scaled(by factor: Double) -> AnytimeEstimate {
        var scaled = self
        scaled.estimate = estimate * factor
        scaled.interval = interval.scaled(by: factor)
        scaled.standardError = standardError.map { $0 * factor }
        return scaled
    }

    /// The anytime-valid p-value for "the true figure is on the far side of
    /// `limit`" — below it when `higherIsWorse`, above it otherwise — in the
    /// direction the data points: 1 when the estimate is not beyond the limit.
    /// `nil` for comparisons without one (quantiles).
    public func pValue(beyond limit: Double, higherIsWorse: Bool = true) -> Double? {
        guard let standardError, let effectiveSamples, let rho else { return nil }
        let excess = higherIsWorse ? estimate - limit : limit - estimate
        guard excess > 0 else { return 1 }
        guard standardError > 0 else { return 0 }
        let sum = effectiveSamples.squareRoot() * excess / standardError
        let logMartingale = MixtureBoundaries.normalMixtureLogMartingale(sum: sum, intrinsicTime: effectiveSamples, rho: rho)
        return Swift.min(1, exp(-logMartingale))
    }
}

extension AnytimeEstimate {
    /// The anytime-valid p-value for "no difference" (a difference of 0),
    /// in either direction; `nil` for comparisons without one (quantiles).
    public var pValueOfNoDifference: Double? {
        guard let standardError, let effectiveSamples, let rho else { return nil }
        guard standardError > 0 else { return estimate == 0 ? 1 : 0 }
        let sum = effectiveSamples.squareRoot() * estimate / standardError
        return Swift.min(1, exp(-MixtureBoundaries.normalMixtureLogMartingale(sum: sum, intrinsicTime: effectiveSamples, rho: rho)))
    }
}

/// Two-sample comparisons whose intervals stay valid however often they are
/// looked at, for as long as data keeps arriving.
///
/// Rates and means use the asymptotic normal-mixture confidence sequence
/// (Waudby-Smith, Arnold, Wu and Ramdas, "Time-uniform central limit theory
/// and asymptotic confidence sequences", 2024 — the form Netflix's, Eppo's
/// and Spotify's sequential tests use) on the difference in information
/// time: the plug-in variance of each side has a floor at the pooled
/// variance of both, so a side that happens to show no spread (0 errors of
/// 40) never makes the interval collapse. Quantiles use the exact
/// beta-binomial confidence sequence of each side (Howard and Ramdas 2022),
/// combined by a union bound.
///
/// `plannedSamples` (per side) tunes where the boundary is tightest; it
/// does not affect validity.
public enum AnytimeComparison {
    /// candidate rate − baseline rate, in proportions (0…1).
    public static func proportionDifference(
        baselineEvents x1: Int, baselineTotal n1: Int, candidateEvents x2: Int, candidateTotal n2: Int,
        confidence: Double, plannedSamples: Int
    ) -> AnytimeEstimate? {
        guard n1 > 0, n2 > 0, x1 >= 0, x2 >= 0, x1 <= n1, x2 <= n2 else { return nil }
        let b = Double(n1)
        let c = Double(n2)
        let pooled = (Double(x1) + Double(x2) + 1) / (b + c + 2)
        let floor = pooled * (1 - pooled)
        func variance(_ events: Int, _ total: Double) -> Double {
            let smoothed = (Double(events) + 1) / (total + 2)
            return Swift.max(smoothed * (1 - smoothed), floor)
        }
        let estimate = Double(x2) / c - Double(x1) / b
        let standardError = (variance(x1, b) / b + variance(x2, c) / c).squareRoot()
        return normalMixture(estimate: estimate, standardError: standardError, baseline: b, candidate: c, confidence: confidence, plannedSamples: plannedSamples, clamp: -1...1)
    }

    /// candidate mean − baseline mean.
    public static func meanDifference(baseline: ScoreSummary, candidate: ScoreSummary, confidence: Double, plannedSamples: Int) -> AnytimeEstimate? {
        guard baseline.count >= 2, candidate.count >= 2, let floor = pooledVariance(baseline, candidate) else { return nil }
        let b = Double(baseline.count)
        let c = Double(candidate.count)
        let standardError = (Swift.max(baseline.variance, floor) / b + Swift.max(candidate.variance, floor) / c).squareRoot()
        return normalMixture(
            estimate: candidate.mean - baseline.mean, standardError: standardError, baseline: b, candidate: c,
            confidence: confidence, plannedSamples: plannedSamples, clamp: nil
        )
    }

    /// candidate mean ÷ baseline mean (delta method), for positive quantities such as cost.
    public static func meanRatio(baseline: ScoreSummary, candidate: ScoreSummary, confidence: Double, plannedSamples: Int) -> AnytimeEstimate? {
        guard baseline.count >= 2, candidate.count >= 2, baseline.mean > 0, candidate.mean >= 0, let floor = pooledVariance(baseline, candidate)
        else { return nil }
        let b = Double(baseline.count)
        let c = Double(candidate.count)
        let ratio = candidate.mean / baseline.mean
        let variance = (Swift.max(candidate.variance, floor) / c + ratio * ratio * Swift.max(baseline.variance, floor) / b) / (baseline.mean * baseline.mean)
        return normalMixture(
            estimate: ratio, standardError: variance.squareRoot(), baseline: b, candidate: c,
            confidence: confidence, plannedSamples: plannedSamples, clamp: 0...Double.greatestFiniteMagnitude
        )
    }

    /// candidate q-quantile ÷ baseline q-quantile, each side's anytime
    /// interval at half the error so that both hold together.
    public static func quantileRatio(
        _ q: Double, baseline: LatencyHistogram, candidate: LatencyHistogram, confidence: Double, plannedSamples: Int
    ) -> AnytimeEstimate? {
        guard let b = baseline.quantileMilliseconds(q), let c = candidate.quantileMilliseconds(q), b > 0 else { return nil }
        let sideAlpha = (1 - confidence) / 2
        let baselineBounds = quantileInterval(q, of: baseline, alpha: sideAlpha, plannedSamples: plannedSamples)
        let candidateBounds = quantileInterval(q, of: candidate, alpha: sideAlpha, plannedSamples: plannedSamples)
        var interval = AnytimeInterval(low: nil, high: nil)
        if let low = candidateBounds.low, let high = baselineBounds.high, high > 0 { interval.low = low / high }
        if let high = candidateBounds.high, let low = baselineBounds.low, low > 0 { interval.high = high / low }
        return AnytimeEstimate(estimate: c / b, interval: interval)
    }

    /// The anytime-valid interval of one histogram's q-quantile, in milliseconds
    /// (Howard and Ramdas 2022, Theorem 1, with the beta-binomial mixture):
    /// the fractions `a` of the sample that can lie below the true quantile
    /// are those where the mixture martingale stays under 1/α, so the
    /// quantile lies between the order statistics at those ranks.
    ///
    /// A histogram knows each sample only to its 15 % bucket. Where the two
    /// order statistics fall in different buckets, each is read interpolated
    /// within its bucket, as the point estimate is: that assumes latencies
    /// spread smoothly across a bucket, as real ones spread over decades. Where
    /// both fall in the same bucket — a concentrated distribution, where that
    /// assumption could fail — the interval is the whole bucket, edge to edge.
    public static func quantileInterval(_ q: Double, of histogram: LatencyHistogram, alpha: Double, plannedSamples: Int) -> AnytimeInterval {
        guard histogram.total > 0, q > 0, q < 1 else { return AnytimeInterval(low: nil, high: nil) }
        let (low, high) = quantileFractions(q, samples: histogram.total, alpha: alpha, plannedSamples: plannedSamples)
        let lowSample = low.flatMap { histogram.sample(ofRank: Swift.max(1, rank($0, of: histogram.total, rounding: .up))) }
        let highSample = high.flatMap { histogram.sample(ofRank: rank($0, of: histogram.total, rounding: .down).saturatingAdding(1)) }
        if let lowSample, let highSample, lowSample.bucket == highSample.bucket {
            return AnytimeInterval(low: lowSample.lower, high: highSample.upper)
        }
        return AnytimeInterval(
            low: lowSample.map { $0.bucket == 0 ? 0 : $0.interpolated },
            high: highSample.flatMap { $0.upper == nil ? nil : $0.interpolated }
        )
    }

    /// `fraction` (0…1) of `total` as a whole rank, never past `total`
    /// (a histogram's total comes from stored figures too, and may be anything).
    static func rank(_ fraction: Double, of total: Int, rounding rule: FloatingPointRoundingRule) -> Int {
        let value = (Swift.min(1, Swift.max(0, fraction)) * Double(total)).rounded(rule)
        guard let rank = Int(exactly: value) else { return value > 0 ? total : 0 }
        return Swift.min(total, rank)
    }

    /// The range of sample fractions `[low, high]` consistent with the true
    /// q-quantile at error `alpha`; an end is `nil` when it is not bounded.
    public static func quantileFractions(_ q: Double, samples: Int, alpha: Double, plannedSamples: Int) -> (low: Double?, high: Double?) {
        let n = Double(samples)
        let mixture = MixtureBoundaries.BetaBinomialMixture(optimizedFor: q * (1 - q) * Double(Swift.max(1, plannedSamples)), alpha: alpha, g: q, h: 1 - q)
        let threshold = log(1 / alpha)
        let v = q * (1 - q) * n
        func excess(_ fraction: Double) -> Double {
            mixture.logMartingale(sum: (fraction - q) * n, intrinsicTime: v) - threshold
        }
        // log M is convex in the sum: find its lowest point, then each crossing.
        var left = 0.0
        var right = 1.0
        for _ in 0..<56 {  // (2/3)^56 ≈ 1e-10 of the unit interval
            let third = (right - left) / 3
            if excess(left + third) < excess(right - third) { right -= third } else { left += third }
        }
        let bottom = (left + right) / 2
        guard excess(bottom) < 0 else { return (nil, nil) }
        func crossing(inside: Double, outside: Double) -> Double {
            var inside = inside
            var outside = outside
            for _ in 0..<40 {  // 2^-40 ≈ 1e-12
                let middle = (inside + outside) / 2
                if excess(middle) < 0 { inside = middle } else { outside = middle }
            }
            return outside
        }
        let low: Double? = excess(0) < 0 ? nil : crossing(inside: bottom, outside: 0)
        let high: Double? = excess(1) < 0 ? nil : crossing(inside: bottom, outside: 1)
        return (low, high)
    }

    /// The variance of both sides taken as one sample, with one pseudo-observation
    /// as far from the pooled mean as the mean is from zero (plus a hair): a
    /// floor for each side's own variance, so that values that happen to be
    /// identical — two scores of 1 on each side, fixed prices — never make an
    /// interval collapse to a point. It fades as 1/n.
    static func pooledVariance(_ a: ScoreSummary, _ b: ScoreSummary) -> Double? {
        let total = Double(a.count) + Double(b.count)
        guard total >= 2, a.mean.isFinite, b.mean.isFinite, a.variance.isFinite, b.variance.isFinite else { return nil }
        let mean = (Double(a.count) * a.mean + Double(b.count) * b.mean) / total
        let squares = Double(a.count - 1) * a.variance + Double(b.count - 1) * b.variance
            + Double(a.count) * (a.mean - mean) * (a.mean - mean) + Double(b.count) * (b.mean - mean) * (b.mean - mean)
        let pseudo = (abs(mean) + 1e-3) * (abs(mean) + 1e-3)
        let variance = (squares + pseudo) / total
        return variance.isFinite ? Swift.max(0, variance) : nil
    }

    /// The normal-mixture interval for an estimate with standard error
    /// `standardError` from `baseline` and `candidate` samples: in
    /// standardized units the estimate is a sum over `nEff` observations.
    static func normalMixture(
        estimate: Double, standardError: Double, baseline: Double, candidate: Double, confidence: Double, plannedSamples: Int,
        clamp: ClosedRange<Double>?
    ) -> AnytimeEstimate? {
        guard estimate.isFinite, standardError.isFinite, standardError >= 0 else { return nil }
        let alpha = 1 - confidence
        let effective = baseline * candidate / (baseline + candidate)
        let planned = Double(Swift.max(1, plannedSamples)) / 2
        let rho = MixtureBoundaries.bestRho(intrinsicTime: planned, alpha: alpha)
        let half = standardError * MixtureBoundaries.normalMixtureBound(intrinsicTime: effective, alpha: alpha, rho: rho) / effective.squareRoot()
        var low = estimate - half
        var high = estimate + half
        if let clamp {
            low = Swift.max(low, clamp.lowerBound)
            high = Swift.min(high, clamp.upperBound)
        }
        return AnytimeEstimate(
            estimate: estimate, interval: AnytimeInterval(low: low, high: high), standardError: standardError, effectiveSamples: effective, rho: rho
        )
    }
}
