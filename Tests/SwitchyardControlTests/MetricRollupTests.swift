import Foundation
import SwitchyardCore
import Testing
@testable import SwitchyardControl
import SwitchyardTesting

/// The data plane's measurements as recorded by a test: a real `MetricsWindow`
/// per deployment, filled with samples at chosen times.
final class RecordedMetrics: MetricsSource, @unchecked Sendable {
    // Written only before the code under test reads it.
    var windows: [String: MetricsWindow] = [:]

    func record(_ deployment: String, _ sample: MetricsWindow.Sample, at moment: Moment) {
        windows[deployment, default: MetricsWindow()].record(sample, at: moment)
    }

    func aggregate(route: String, deployment: String, window: Duration, now: Moment) -> MetricsWindow.Bucket {
        windows[deployment]?.aggregate(window: window, now: now) ?? MetricsWindow.Bucket(start: 0)
    }

    func series(route: String, deployment: String, window: Duration, now: Moment) -> [MetricsWindow.Bucket] {
        windows[deployment]?.series(window: window, now: now) ?? []
    }

    func aggregate(route: String, deployment: String, fromSecond: Int64, toSecond: Int64) -> MetricsWindow.Bucket {
        windows[deployment]?.aggregate(fromSecond: fromSecond, toSecond: toSecond) ?? MetricsWindow.Bucket(start: fromSecond)
    }

    func breakerState(route: String, deployment: String) -> CircuitBreaker.State { .closed }
}

@Suite("Per-minute metric roll-ups")
struct MetricRollupTests {
    let minute: Int64 = 1_800_000_000 - 1_800_000_000 % 60

    @Test func aFinishedMinuteIsStoredWithItsHistogramsAndMergesAcrossWriters() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let (control, _) = try await ControlFixtures.started(store)
        let metrics = RecordedMetrics()
        for second in 0..<60 {
            let at = Moment(seconds: minute + Int64(second))
            metrics.record("stable", .init(outcome: .success, latency: .milliseconds(100 + second), promptTokens: 10, completionTokens: 20, cost: 0.001), at: at)
            if second % 10 == 0 { metrics.record("canary", .init(outcome: .upstream5xx, latency: .milliseconds(5)), at: at) }
        }
        // Traffic in the next minute is not part of this roll-up.
        metrics.record("stable", .init(outcome: .success, latency: .milliseconds(1)), at: Moment(seconds: minute + 61))

        let rollups = MetricsRollupWriter.rollups(minute: minute, plans: await control.currentPlans, metrics: metrics)
        #expect(rollups.map(\.deployment) == ["stable", "canary"])
        try await control.writeRollups(rollups, pruneBefore: minute - 86_400)
        // A second replica writing the same minute adds to it.
        try await control.writeRollups(rollups, pruneBefore: minute - 86_400)

        let stored = try await control.rollups(route: "chat-prod", sinceMinute: minute)
        let stable = try #require(stored.first { $0.deployment == "stable" })
        #expect(stable.figures.requests == 120)
        #expect(stable.figures.completionTokens == 2_400)
        #expect(abs(stable.figures.cost - 0.12) < 1e-9)
        let p50 = try #require(stable.figures.latency.quantileMilliseconds(0.5))
        #expect(abs(p50 - 130) / 130 < 0.08)
        #expect(stored.first { $0.deployment == "canary" }?.figures.count(.upstream5xx) == 12)

        // A day later the minute is forgotten.
        try await control.writeRollups([], pruneBefore: minute + 60)
        #expect(try await control.rollups(route: "chat-prod", sinceMinute: 0).isEmpty)
    }

    @Test func histogramsSurvivePacking() {
        var histogram = LatencyHistogram()
        for value in [0.05, 1, 12, 250, 4_000, 90_000] { histogram.record(milliseconds: value) }
        let unpacked = LatencyHistogram(packed: histogram.packed)
        #expect(unpacked == histogram)
        #expect(LatencyHistogram(packed: [1, 2, 3]) == nil)
    }
}
