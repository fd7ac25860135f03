import Foundation
import Testing
@testable import SwitchyardCore

/// The gates' statistics against numbers scipy printed once
/// (e2e/reference/statistics.py → Fixtures/statistics-reference.json).
@Suite("Statistics match scipy's reference values")
struct StatisticsTests {
    static let reference: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/statistics-reference.json")
        let data = try! Data(contentsOf: url)
        return try! JSONText.decode(Array(data))
    }()

    func cases(_ key: String) -> [JSONValue] { Self.reference[key]?.arrayValue ?? [] }

    func close(_ actual: Double?, _ expected: Double?, relative: Double = 1e-7, absolute: Double = 1e-12) -> Bool {
        guard let actual, let expected else { return false }
        return abs(actual - expected) <= max(absolute, relative * abs(expected))
    }

    @Test func normalDistribution() {
        #expect(cases("normal").count == 9)
        for item in cases("normal") {
            let z = item["z"]!.doubleValue!
            #expect(close(Distributions.normalCDF(z), item["cdf"]?.doubleValue), "cdf(\(z))")
            #expect(close(Distributions.normalSurvival(z), item["sf"]?.doubleValue), "sf(\(z))")
        }
    }

    @Test func studentT() {
        #expect(cases("studentT").count == 7)
        for item in cases("studentT") {
            let t = item["t"]!.doubleValue!
            let df = item["df"]!.doubleValue!
            #expect(close(Distributions.studentTCDF(t, degreesOfFreedom: df), item["cdf"]?.doubleValue, relative: 1e-9), "cdf(\(t), \(df))")
            #expect(close(Distributions.studentTSurvival(t, degreesOfFreedom: df), item["sf"]?.doubleValue, relative: 1e-9), "sf(\(t), \(df))")
            #expect(close(Distributions.studentTQuantile(0.975, degreesOfFreedom: df), item["q975"]?.doubleValue, relative: 1e-8), "q(\(df))")
        }
    }

    @Test func twoProportionZTest() throws {
        #expect(cases("twoProportion").count == 8)
        for item in cases("twoProportion") {
            let result = try #require(
                HypothesisTests.twoProportion(
                    baselineEvents: Int(item["x1"]!.doubleValue!), baselineTotal: Int(item["n1"]!.doubleValue!),
                    candidateEvents: Int(item["x2"]!.doubleValue!), candidateTotal: Int(item["n2"]!.doubleValue!),
                    margin: item["margin"]!.doubleValue!
                )
            )
            #expect(close(result.statistic, item["z"]?.doubleValue, relative: 1e-9), "z for \(item)")
            #expect(close(result.pValue, item["p"]?.doubleValue, relative: 1e-7), "p for \(item)")
        }
    }

    @Test func welchTTest() throws {
        #expect(cases("welch").count == 4)
        for item in cases("welch") {
            let result = try #require(
                HypothesisTests.welch(
                    baselineMean: item["m1"]!.doubleValue!, baselineVariance: item["v1"]!.doubleValue!, baselineCount: Int(item["n1"]!.doubleValue!),
                    candidateMean: item["m2"]!.doubleValue!, candidateVariance: item["v2"]!.doubleValue!, candidateCount: Int(item["n2"]!.doubleValue!),
                    margin: item["margin"]!.doubleValue!
                )
            )
            #expect(close(result.statistic, item["t"]?.doubleValue, relative: 1e-9), "t for \(item)")
            #expect(close(result.pValue, item["p"]?.doubleValue, relative: 1e-7), "p for \(item)")
            #expect(close(result.degreesOfFreedom, item["df"]?.doubleValue, relative: 1e-9), "df for \(item)")
        }
    }

    @Test func mannWhitneyOnHistograms() throws {
        #expect(cases("mannWhitney").count == 4)
        for item in cases("mannWhitney") {
            let baseline = item["baseline"]!.arrayValue!.map { UInt32($0.doubleValue!) }
            let candidate = item["candidate"]!.arrayValue!.map { UInt32($0.doubleValue!) }
            let result = try #require(HypothesisTests.mannWhitney(baseline: baseline, candidate: candidate))
            #expect(close(HypothesisTests.mannWhitneyU(baseline: baseline, candidate: candidate), item["u"]?.doubleValue, relative: 1e-12))
            #expect(close(result.pValue, item["p"]?.doubleValue, relative: 1e-7), "p for \(baseline) vs \(candidate)")
        }
    }

    @Test func meanConfidenceInterval() throws {
        #expect(cases("interval").count == 3)
        for item in cases("interval") {
            let summary = ScoreSummary(item["values"]!.arrayValue!.map { $0.doubleValue! })
            let interval = try #require(summary.interval(confidence: 0.95))
            #expect(close(summary.mean, item["mean"]?.doubleValue))
            #expect(close(interval.lowerBound, item["low"]?.doubleValue, relative: 1e-8))
            #expect(close(interval.upperBound, item["high"]?.doubleValue, relative: 1e-8))
        }
    }

    @Test func testsRefuseEmptySides() {
        #expect(HypothesisTests.twoProportion(baselineEvents: 0, baselineTotal: 0, candidateEvents: 1, candidateTotal: 10) == nil)
        #expect(HypothesisTests.welch(baselineMean: 1, baselineVariance: 1, baselineCount: 1, candidateMean: 1, candidateVariance: 1, candidateCount: 10) == nil)
        #expect(HypothesisTests.mannWhitney(baseline: [0, 0], candidate: [1, 2]) == nil)
    }
}
