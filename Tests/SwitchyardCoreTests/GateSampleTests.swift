import Foundation
import Testing
@testable import SwitchyardCore

@Suite("A rollout's gate sample grows for as long as the rollout runs")
struct GateSampleTests {
    let start = Moment(seconds: 1_800_000_005)

    @Test func itKeepsEverythingSinceTheStartLongAfterTheWindowHasForgottenIt() {
        var window = MetricsWindow()
        var sample = GateSample(startedAt: start)
        #expect(sample.since == 1_800_000_000, "from the 10-second bucket the rollout began in")
        let read = { (_: String, from: Int64, to: Int64) in window.aggregate(fromSecond: from, toSecond: to) }
        // Three hours, one failed request a minute, the sample folded every 30 s as the gates look.
        for minute in 0..<180 {
            let at = start + .seconds(Int64(minute * 60))
            window.record(.init(outcome: .upstream5xx), at: at)
            window.record(.init(outcome: .success), at: at + .seconds(20))
            sample.fold(["canary"], now: at + .seconds(30), read: read)
        }
        let now = start + .seconds(180 * 60)
        let figures = sample.figures(of: "canary", now: now, read: read)
        #expect(figures.requests == 360, "all three hours, where the window keeps one")
        #expect(figures.deploymentFailures == 180)
        #expect(window.aggregate(window: .seconds(7200), now: now).requests < 130)
    }

    @Test func unsettledMinutesAreReadAgainNotFoldedTwice() {
        var window = MetricsWindow()
        var sample = GateSample(startedAt: start)
        let read = { (_: String, from: Int64, to: Int64) in window.aggregate(fromSecond: from, toSecond: to) }
        window.record(.init(outcome: .success), at: start + .seconds(10))
        sample.fold(["stable"], now: start + .seconds(30), read: read)
        #expect(sample.foldedThrough == sample.since, "nothing is settled after 30 s")
        window.record(.init(outcome: .success), at: start + .seconds(40))
        for second in stride(from: 40, to: 400, by: 7) { sample.fold(["stable"], now: start + .seconds(Int64(second)), read: read) }
        #expect(sample.figures(of: "stable", now: start + .seconds(400), read: read).requests == 2)
    }

    @Test func itSurvivesARoundTripAndRefusesAForeignHistogram() throws {
        var window = MetricsWindow()
        window.record(.init(outcome: .success, latency: .milliseconds(120)), at: start)
        var sample = GateSample(startedAt: start)
        sample.fold(["canary"], now: start + .seconds(600)) { _, from, to in window.aggregate(fromSecond: from, toSecond: to) }
        let data = try JSONEncoder().encode(sample)
        #expect(try JSONDecoder().decode(GateSample.self, from: data) == sample)
        let foreign = #"{"counts": [1, 2, 3], "total": 6}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LatencyHistogram.self, from: Data(foreign.utf8)) }
    }
}
