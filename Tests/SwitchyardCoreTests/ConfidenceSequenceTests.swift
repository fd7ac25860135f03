import Foundation
import Testing
@testable import SwitchyardCore

/// The anytime-valid boundaries and intervals against values the `confseq`
/// package printed once (e2e/reference/confseq_reference.py →
/// Fixtures/confseq-reference.json).
@Suite("Confidence sequences match confseq's reference values")
struct ConfidenceSequenceTests {
    static let reference: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/confseq-reference.json")
        let data = try! Data(contentsOf: url)
        return try! JSONText.decode(Array(data))
    }()

    func cases(_ key: String) -> [JSONValue] { Self.reference[key]?.arrayValue ?? [] }

    func number(_ item: JSONValue, _ key: String) -> Double { item[key]?.doubleValue ?? .nan }

    func close(_ actual: Double?, _ expected: Double?, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
        guard let actual, let expected else { return actual == nil && expected == nil }
        return abs(actual - expected) <= max(absolute, relative * abs(expected))
    }

    @Test func normalMixtureBoundaries() {
        #expect(cases("normalMixtureBounds").count == 36)
        for item in cases("normalMixtureBounds") {
            let alpha = number(item, "alpha")
            let rho = MixtureBoundaries.bestRho(intrinsicTime: number(item, "vOpt"), alpha: alpha)
            let bound = MixtureBoundaries.normalMixtureBound(intrinsicTime: number(item, "v"), alpha: alpha, rho: rho)
            #expect(close(bound, number(item, "bound")), "bound at v=\(number(item, "v")), α=\(alpha)")
        }
        for item in cases("normalLogMixtures") {
            let rho = MixtureBoundaries.bestRho(intrinsicTime: number(item, "vOpt"), alpha: number(item, "alpha"))
            let value = MixtureBoundaries.normalMixtureLogMartingale(sum: number(item, "s"), intrinsicTime: number(item, "v"), rho: rho)
            #expect(close(value, number(item, "logMixture")), "log M at s=\(number(item, "s"))")
        }
    }

    @Test func betaBinomialMixture() {
        #expect(cases("betaBinomialLogMixtures").count == 45)
        for item in cases("betaBinomialLogMixtures") {
            let q = number(item, "q")
            let mixture = MixtureBoundaries.BetaBinomialMixture(optimizedFor: number(item, "vOpt"), alpha: number(item, "alpha"), g: q, h: 1 - q)
            let value = mixture.logMartingale(sum: number(item, "s"), intrinsicTime: number(item, "v"))
            #expect(close(value, number(item, "logMixture"), relative: 1e-8, absolute: 1e-8), "log M for q=\(q) n=\(number(item, "n")) s=\(number(item, "s"))")
        }
    }

    @Test func quantileConfidenceSequences() {
        #expect(cases("quantileFractions").count == 16)
        for item in cases("quantileFractions") {
            let q = number(item, "q")
            let n = Int(number(item, "n"))
            let (low, high) = AnytimeComparison.quantileFractions(q, samples: n, alpha: number(item, "alpha"), plannedSamples: Int(number(item, "planned")))
            #expect(close(low, item["low"]?.doubleValue, relative: 1e-6, absolute: 1e-9), "low for q=\(q) n=\(n): \(String(describing: low))")
            #expect(close(high, item["high"]?.doubleValue, relative: 1e-6, absolute: 1e-9), "high for q=\(q) n=\(n): \(String(describing: high))")
        }
    }

    @Test func differenceOfProportions() throws {
        #expect(cases("proportionIntervals").count == 8)
        for item in cases("proportionIntervals") {
            let estimate = try #require(
                AnytimeComparison.proportionDifference(
                    baselineEvents: Int(number(item, "baselineEvents")), baselineTotal: Int(number(item, "baselineTotal")),
                    candidateEvents: Int(number(item, "candidateEvents")), candidateTotal: Int(number(item, "candidateTotal")),
                    confidence: number(item, "confidence"), plannedSamples: Int(number(item, "plannedSamples"))
                )
            )
            #expect(close(estimate.interval.low, number(item, "low")), "low of \(item)")
            #expect(close(estimate.interval.high, number(item, "high")), "high of \(item)")
        }
    }

    @Test func theAnytimePValueCrossesAlphaExactlyWhereTheIntervalLeavesTheLimit() throws {
        let estimate = try #require(
            AnytimeComparison.proportionDifference(baselineEvents: 40, baselineTotal: 4000, candidateEvents: 40, candidateTotal: 1000, confidence: 0.95, plannedSamples: 1000)
        )
        let low = try #require(estimate.interval.low)
        #expect(try #require(estimate.pValue(beyond: low - 1e-6)) < 0.05)
        #expect(try #require(estimate.pValue(beyond: low + 1e-6)) > 0.05)
        #expect(estimate.pValue(beyond: estimate.estimate + 0.01) == 1, "not beyond a limit above the estimate")
    }

    @Test func noSpreadOnEitherSideIsNoDifferenceNotACertainty() throws {
        // 0 errors of 200 against 0 of 200: the pooled floor keeps the interval open.
        let estimate = try #require(
            AnytimeComparison.proportionDifference(baselineEvents: 0, baselineTotal: 200, candidateEvents: 0, candidateTotal: 200, confidence: 0.95, plannedSamples: 1000)
        )
        #expect(estimate.estimate == 0)
        #expect(try #require(estimate.interval.low) < -0.01)
        #expect(try #require(estimate.interval.high) > 0.01)
        // Scores that happen to have no spread within a side (all 1 against all 0).
        let scores = try #require(
            AnytimeComparison.meanDifference(
                baseline: ScoreSummary([1, 1, 1]), candidate: ScoreSummary([0, 0, 0]), confidence: 0.95, plannedSamples: 100
            )
        )
        #expect(try #require(scores.interval.low) < -1 && scores.interval.high! > 0, "three scores per side decide nothing")
    }

    @Test func ranksFromFractionsNeverPassTheTotal() {
        #expect(AnytimeComparison.rank(0.95, of: 200, rounding: .up) == 190)
        #expect(AnytimeComparison.rank(1.5, of: 200, rounding: .up) == 200)
        #expect(AnytimeComparison.rank(.nan, of: 200, rounding: .down) == 0)
        #expect(AnytimeComparison.rank(1, of: .max, rounding: .up) == .max, "a damaged total does not trap")
        #expect(LatencyHistogram.bucketIndex(microseconds: .infinity) == LatencyHistogram.bucketCount - 1)
    }

    @Test func aQuantileIntervalHoldsTheQuantileAndNarrowsWithData() throws {
        var small = LatencyHistogram()
        var large = LatencyHistogram()
        // Spread over two decades, as latencies are, so the 15 % buckets are fine beside the rank uncertainty.
        for index in 0..<200 { small.record(milliseconds: 100 * pow(100, Double(index) / 200)) }
        for index in 0..<20_000 { large.record(milliseconds: 100 * pow(100, Double(index % 200) / 200)) }
        let few = AnytimeComparison.quantileInterval(0.95, of: small, alpha: 0.05, plannedSamples: 1000)
        let many = AnytimeComparison.quantileInterval(0.95, of: large, alpha: 0.05, plannedSamples: 1000)
        let p95 = try #require(large.quantileMilliseconds(0.95))
        #expect(try #require(many.low) <= p95 && p95 <= many.high!)
        #expect(many.high! - many.low! < (few.high ?? .infinity) - (few.low ?? 0))
        #expect(AnytimeComparison.quantileInterval(0.95, of: LatencyHistogram(), alpha: 0.05, plannedSamples: 1000) == AnytimeInterval(low: nil, high: nil))
        // Every sample in one bucket: the interval is the bucket, never narrower.
        var constant = LatencyHistogram()
        for _ in 0..<10_000 { constant.record(milliseconds: 120) }
        let bucket = AnytimeComparison.quantileInterval(0.95, of: constant, alpha: 0.05, plannedSamples: 1000)
        #expect(try #require(bucket.low) < 120 && 120 < bucket.high!)
        #expect(abs(bucket.high! / bucket.low! - 1.15) < 1e-9)
    }
}
