import Foundation
import Testing
@testable import SwitchyardCore

@Suite("Metrics in 10-second buckets")
struct MetricsWindowTests {
    let t0 = Moment(seconds: 1_800_000_000)

    @Test func aggregatesOverTheWindowAndSeparatesOutcomes() {
        var window = MetricsWindow()
        for second in 0..<60 {
            let now = t0 + .seconds(second)
            window.record(.init(outcome: .success, latency: .milliseconds(100 + second), promptTokens: 10, completionTokens: 5, cost: 0.001), at: now)
            if second % 10 == 0 { window.record(.init(outcome: .upstream5xx), at: now) }
            if second % 20 == 0 { window.record(.init(outcome: .upstream429), at: now) }
        }
        let now = t0 + .seconds(59)
        let minute = window.aggregate(window: .seconds(60), now: now)
        #expect(minute.requests == 60 + 6 + 3)
        #expect(minute.count(.upstream5xx) == 6)
        #expect(minute.count(.upstream429) == 3)
        #expect(minute.deploymentFailures == 6, "a provider's 429 is not the deployment's failure")
        #expect(minute.promptTokens == 600 && minute.completionTokens == 300)
        #expect(abs(minute.cost - 0.06) < 1e-9)
        let p50 = minute.latency.quantileMilliseconds(0.5)!
        #expect(abs(p50 - 130) / 130 < 0.08, "p50 \(p50)")
        let tenSeconds = window.aggregate(window: .seconds(10), now: now)
        #expect(tenSeconds.count(.success) == 10)
    }

    @Test func seriesKeepsEmptyBucketsSoGraphsKeepTheirTimeAxis() {
        var window = MetricsWindow()
        window.record(.init(outcome: .success), at: t0)
        let series = window.series(window: .seconds(60), now: t0 + .seconds(50))
        #expect(series.count == 6)
        #expect(series.map(\.requests).reduce(0, +) == 1)
        #expect(series.last!.start > series.first!.start)
    }

    @Test func anHourLaterTheOldBucketsAreGoneAndMemoryIsConstant() {
        var window = MetricsWindow()
        window.record(.init(outcome: .upstream5xx), at: t0)
        let later = t0 + .seconds(3600)
        window.record(.init(outcome: .success), at: later)
        let hour = window.aggregate(window: .seconds(3600), now: later)
        #expect(hour.requests == 1)
        #expect(hour.count(.upstream5xx) == 0)
        // Recording far in the past does not corrupt newer buckets.
        window.record(.init(outcome: .timeout), at: t0)
        #expect(window.aggregate(window: .seconds(3600), now: later).count(.timeout) == 0)
    }

    @Test func quantilesAreWithinTheHistogramsResolution() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(milliseconds: Double(value)) }
        for (quantile, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let estimate = histogram.quantileMilliseconds(quantile)!
            #expect(abs(estimate - exact) / exact < 0.08, "q\(quantile): \(estimate) vs \(exact)")
        }
        #expect(LatencyHistogram().quantileMilliseconds(0.5) == nil)
    }

    @Test func anEmptyHistogramAllocatesNothingYetReadsAndStoresAsZeros() throws {
        let empty = LatencyHistogram()
        #expect(empty.counts.count == LatencyHistogram.bucketCount && empty.counts.allSatisfy { $0 == 0 })
        #expect(LatencyHistogram(packed: empty.packed) == empty)
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(empty))
        #expect(decoded == empty && decoded.hashValue == empty.hashValue)
        var one = LatencyHistogram()
        one.record(milliseconds: 5)
        var merged = LatencyHistogram()
        merged.merge(one)
        merged.merge(LatencyHistogram())
        #expect(merged == one)
        #expect(merged.quantileMilliseconds(0.5) == one.quantileMilliseconds(0.5))
        #expect(LatencyHistogram(packed: one.packed) == one)
    }
}
