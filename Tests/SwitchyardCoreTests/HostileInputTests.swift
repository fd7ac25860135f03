import Foundation
import Testing
@testable import SwitchyardCore

/// A small deterministic generator, so a failing case can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Texts meant to break number and duration parsers: extremes, words,
/// signs, exponents, huge digit runs, broken Unicode, and random mixes.
enum HostileText {
    static let fixed: [String] = [
        "", " ", "0", "-0", "-1", "1e20", "1E308", "1e999", "-1e300", "inf", "Infinity", "-inf", "NaN", "nan", "0x10", "+5",
        "99999999999999999999", "9223372036854775807", "9223372036854775808", "18446744073709551616", "8000000000",
        "1.5", ".5", "5.", "1..5", "1.2.3", "١٢٣", "１２", "5 5", "\u{0}", "\u{FFFD}", "🙂", "5s", "100000d", "366d", "367d",
        "8784h", "8785h", "527040m", "31622400s", "31622401s", "1ms", "0.5ms", "0s", "0ms", "1m30s", "1d1d1d", "d", "s5",
        "99999999999999999999d", "1.0000000000000000001s", "1e3s", String(repeating: "9", count: 5000) + "s",
        String(repeating: "1s", count: 10_000),
    ]

    static func random(_ generator: inout SeededGenerator) -> String {
        let alphabet = Array("0123456789.eE+-smhdmsinfNaN \u{0}١🙂")
        let length = Int.random(in: 0...40, using: &generator)
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func all(seed: UInt64 = 42, randomCount: Int = 2000) -> [String] {
        var generator = SeededGenerator(state: seed)
        return fixed + (0..<randomCount).map { _ in random(&generator) }
    }
}

@Suite("Hostile input: every parser refuses cleanly, time arithmetic saturates")
struct HostileInputTests {
    @Test func momentArithmeticSaturatesInsteadOfTrapping() {
        let now = Moment(seconds: 1_800_000_000)
        #expect(now + .seconds(Int64.max) == .distantFuture)
        #expect(Moment(seconds: -1) - .seconds(Int64.max) == .distantPast)
        #expect(Moment.distantFuture + .seconds(1) == .distantFuture)
        #expect(Moment.distantPast - .seconds(1) == .distantPast)
        #expect(Moment(seconds: .max) == .distantFuture)
        #expect(Moment(seconds: .min) == .distantPast)
        #expect((Moment.distantFuture - Moment.distantPast).nanosecondsClamped == .max)
        #expect(now + .seconds(60) == Moment(seconds: 1_800_000_060), "ordinary arithmetic is unchanged")
    }

    @Test func durationsAreBoundedToOneMillisecondThroughOneYearAndAHalfDay() throws {
        #expect(DurationText.parse("366d") == .seconds(366 * 86_400))
        #expect(DurationText.parse("1ms") == .milliseconds(1))
        #expect(DurationText.parse("1m30s") == .seconds(90))
        #expect(DurationText.parse("367d") == nil)
        #expect(DurationText.parse("100000d") == nil)
        #expect(DurationText.parse("0s") == nil)
        #expect(DurationText.parse("0.5ms") == nil)
        #expect(DurationText.parse("99999999999999999999d") == nil)
        let error = try #require(throws: DurationText.Invalid.self) { try DurationText.checked("100000d") }
        #expect(error.description == "'100000d' is longer than the maximum of 366d")
        let short = try #require(throws: DurationText.Invalid.self) { try DurationText.checked("0s") }
        #expect(short.description.contains("shorter than the minimum of 1ms"))
    }

    @Test func everyDurationTextEitherParsesWithinBoundsOrIsRefused() {
        for text in HostileText.all() {
            if let duration = DurationText.parse(text) {
                #expect(duration >= DurationText.minimum && duration <= DurationText.maximum, "\(text.debugDescription) → \(duration)")
                // What parses can be added to any moment without trapping.
                _ = Moment.distantFuture + duration
                _ = DurationText.format(duration)
            }
        }
    }

    @Test func calendarDatesAreBoundedAndFarOnesSaturate() {
        #expect(CalendarDay("1969-12-31") == nil)
        #expect(CalendarDay("1000-01-01") == nil)
        #expect(CalendarDay("0000-01-01") == nil)
        #expect(CalendarDay("+970-01-01") == nil)
        #expect(CalendarDay("2026-1-01") == nil)
        #expect(CalendarDay("2026--1-01") == nil)
        #expect(CalendarDay("9999-12-31") != nil)
        #expect(CalendarDay("2300-01-01")!.start == .distantFuture, "past 2262 a date is later than any moment")
        #expect(CalendarDay("9999-12-31")!.start == .distantFuture)
        #expect(CalendarDay("2262-04-11")!.start < .distantFuture)
        for text in HostileText.all() + ["2026-02-29", "2024-02-29", "9999-99-99", "2026-00-10", "２０２６-01-01"] {
            if let day = CalendarDay(text) {
                #expect(CalendarDay.supportedYears.contains(day.year))
                _ = day.start
            }
        }
        // A moment anywhere in Int64 maps to a day without trapping.
        for nanoseconds in [Int64.min, -1, 0, 1, .max] {
            _ = CalendarDay(Moment(nanoseconds: nanoseconds))
        }
    }

    @Test func retryAfterIsHonouredUpToTenMinutesAndOtherwiseAbsent() {
        #expect(RetryAfter.parse(milliseconds: nil, seconds: "2") == .seconds(2))
        #expect(RetryAfter.parse(milliseconds: "1500", seconds: "9") == .milliseconds(1500))
        #expect(RetryAfter.parse(milliseconds: "1.5", seconds: nil) == .microseconds(1500))
        #expect(RetryAfter.parse(milliseconds: nil, seconds: "600") == .seconds(600))
        #expect(RetryAfter.parse(milliseconds: nil, seconds: "601") == nil)
        for hostile in ["inf", "Infinity", "1e20", "8000000000", "-1", "NaN", "", "abc", "1e300", "9999999999999", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            #expect(RetryAfter.parse(milliseconds: hostile, seconds: hostile) == nil, "\(hostile)")
        }
        #expect(RetryAfter.parse(milliseconds: "1e300", seconds: "3") == .seconds(3), "an invalid retry-after-ms falls back to Retry-After")
        for text in HostileText.all() {
            if let wait = RetryAfter.parse(milliseconds: text, seconds: text) {
                #expect(wait >= .zero && wait <= RetryAfter.maximum, "\(text.debugDescription)")
            }
        }
    }

    @Test func upstreamTokenCountsOutOfBoundsMeanNoUsage() throws {
        func usage(_ json: String) throws -> TokenUsage? { TokenUsage(usage: try JSONText.decode(Array(json.utf8))) }
        #expect(try usage(#"{"prompt_tokens": 10, "completion_tokens": 5}"#) == TokenUsage(promptTokens: 10, completionTokens: 5))
        #expect(try usage(#"{"prompt_tokens": 10, "total_tokens": 15}"#) == TokenUsage(promptTokens: 10, completionTokens: 5))
        for hostile in ["1e300", "-1e300", "99999999999999999999", "9e18", "-5", "1.5", "\"12\"", "null", "true"] {
            #expect(try usage(#"{"prompt_tokens": \#(hostile), "completion_tokens": 5}"#) == nil, "\(hostile)")
            #expect(try usage(#"{"prompt_tokens": 1, "completion_tokens": \#(hostile)}"#) == nil, "\(hostile)")
        }
        // The byte scanner on the streaming path refuses the same.
        for hostile in ["99999999999999999999", "1e300", "1.5", "100000001"] {
            let bytes = Array(#"{"usage":{"prompt_tokens":\#(hostile),"completion_tokens":1}}"#.utf8)
            #expect(TokenUsage(scanning: bytes) == nil, "\(hostile)")
        }
        #expect(TokenUsage(scanning: Array(#"{"usage":{"prompt_tokens":12,"completion_tokens":3}}"#.utf8)) == TokenUsage(promptTokens: 12, completionTokens: 3))
    }

    @Test func aShadowReportSumsExtremeCountsWithoutTrapping() {
        var report = ShadowReport(deployment: "shadow")
        for _ in 0..<3 {
            report.record(
                ShadowComparison(
                    primaryLatency: .milliseconds(10), shadowLatency: .milliseconds(12), primaryTokens: .max, shadowTokens: .max,
                    primaryFinishReason: "stop", shadowFinishReason: "stop", primaryText: "a", shadowText: "a", shadowCost: .infinity
                )
            )
        }
        #expect(report.primaryTokens == .max)
        #expect(report.shadowTokens == .max)
        #expect(report.shadowCost == 0, "a non-finite cost is not added")
    }

    /// A route with a stable deployment and a candidate at weight 0.
    static let route = Route(
        name: "chat", stable: "a",
        deployments: [
            Deployment(name: "a", weight: .full, model: "m", version: "1", upstream: .init(kind: .openai, url: "http://127.0.0.1:1/v1")),
            Deployment(name: "b", weight: .zero, model: "m", version: "2", upstream: .init(kind: .openai, url: "http://127.0.0.1:2/v1")),
        ]
    )

    @Test func everyRolloutPlanDurationIsRefusedOutsideItsBoundsWithTheValue() throws {
        let route = Self.route
        let plans: [String] = [
            #"{"strategy":"canary","canary":"b","steps":[{"setWeight":10}],"deadline":"100000d"}"#,
            #"{"strategy":"canary","canary":"b","steps":[{"setWeight":10}],"interval":"100000d"}"#,
            #"{"strategy":"canary","canary":"b","steps":[{"pause":"100000d"}]}"#,
            #"{"strategy":"canary","canary":"b","steps":[{"analysis":{"window":"99999999999999999999d"}}]}"#,
            #"{"strategy":"ab","variants":["a","b"],"duration":"100000d"}"#,
            #"{"strategy":"shadow","shadow":"b","duration":"367d"}"#,
            #"{"strategy":"bluegreen","target":"b","keepPrevious":"100000d"}"#,
            #"{"strategy":"bluegreen","target":"b","healthCheck":{"timeout":"0s"}}"#,
        ]
        for text in plans {
            let error = try #require(throws: RolloutPlanError.self, "\(text)") {
                try RolloutPlan(json: try JSONText.decode(Array(text.utf8)), route: route)
            }
            #expect("\(error)".contains("366d") || "\(error)".contains("1ms"), "\(error)")
        }
    }

    @Test func aStoredRolloutPastTheBoundsIsQuarantinedNotDriven() throws {
        let route = Self.route
        let plan = try RolloutPlan(
            json: try JSONText.decode(Array(#"{"strategy":"canary","canary":"b","steps":[{"setWeight":10},{"pause":"1h"}],"deadline":"2h"}"#.utf8)),
            route: route
        )
        let now = Moment(seconds: 1_800_000_000)
        var (rollout, _) = RolloutMachine.start(id: "r1", route: route, plan: plan, actor: "alice", now: now)
        #expect(rollout.storedStateProblem == nil)
        // As a build without bounds saved it, or a hand-edited row.
        rollout.plan.deadline = .seconds(100_000 * 86_400)
        let problem = try #require(rollout.storedStateProblem)
        #expect(problem.contains("deadline"))
        let quarantined = rollout.quarantined(because: problem, at: now)
        #expect(quarantined.state == .aborted)
        #expect(quarantined.reason.contains("quarantined"))
        var broken = rollout
        broken.plan.deadline = .seconds(60)
        broken.stepIndex = -3
        #expect(broken.storedStateProblem?.contains("step -3") == true)
        // Even driven, a far deadline cannot trap: time arithmetic saturates.
        rollout.plan.deadline = .seconds(Int64.max)
        _ = try RolloutMachine.handle(rollout, .tick, now: now + .seconds(10))
        _ = rollout.endsAt
    }

    @Test func theEventSplitterGivesTheSameEventsHoweverTheBytesAreCut() throws {
        var generator = SeededGenerator(state: 99)
        let pieces: [[UInt8]] = [
            Array("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n".utf8), Array("data: [DONE]\n\n".utf8),
            Array(": keep-alive\r\n\r\n".utf8), Array("data: {\"error\":{\"message\":\"x\"}}\n\n".utf8),
            Array("data: {\"usage\":{\"prompt_tokens\":99999999999999999999,\"completion_tokens\":1e300},\"choices\":[]}\n\n".utf8),
            Array("\n".utf8), Array("\r".utf8), Array("data:".utf8), [0, 0xFF, 0xC3], Array("\n\r\n".utf8),
        ]
        for _ in 0..<300 {
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 0...30, using: &generator) { stream += pieces.randomElement(using: &generator)! }
            var whole = ServerSentEventSplitter()
            let expected = try whole.feed(stream).map { Array($0.bytes) }
            var cut = ServerSentEventSplitter()
            var got: [[UInt8]] = []
            var rest = stream[...]
            while !rest.isEmpty {
                let size = Int.random(in: 1...max(1, min(rest.count, 7)), using: &generator)
                got += try cut.feed(rest.prefix(size)).map { Array($0.bytes) }
                rest = rest.dropFirst(size)
            }
            #expect(got == expected)
            #expect(cut.pendingByteCount == whole.pendingByteCount)
        }
    }

    @Test func aTrickledHugeEventIsRefusedWithoutRescanningItForEveryByte() {
        var splitter = ServerSentEventSplitter()
        let byte: [UInt8] = [UInt8(ascii: "x")]
        var refused = false
        // 4 MiB fed one byte at a time: linear work, then a clean refusal.
        for _ in 0...ServerSentEventSplitter.maximumEventBytes {
            do {
                _ = try splitter.feed(byte)
            } catch {
                refused = true
                break
            }
        }
        #expect(refused)
    }
}
