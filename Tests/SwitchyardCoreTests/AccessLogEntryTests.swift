import Testing
@testable import SwitchyardCore

@Suite struct AccessLogEntryTests {
    @Test func aLineIsOneJSONObjectWithItsFieldsInAFixedOrder() throws {
        var entry = AccessLogEntry(
            time: Moment(nanoseconds: 1_795_975_861_123_456_789), requestID: "id \"1\"\n", method: "POST", path: "/v1/chat/completions", status: 200,
            latency: .microseconds(12_345)
        )
        entry.client = "team-a"
        entry.route = "chat-prod"
        entry.inputTokens = 3
        entry.cost = 0.25
        entry.timeToFirstToken = .milliseconds(7)
        let line = String(decoding: entry.encoded(), as: UTF8.self)
        #expect(line.hasSuffix("}\n"))
        #expect(line.filter { $0 == "\n" }.count == 1, "control characters in values are escaped")
        #expect(line.hasPrefix(#"{"time":"2026-11-29T18:11:01.123Z","level":"info","request_id":"id \"1\"\n","method":"POST""#))
        let decoded = try JSONText.decode(Array(line.utf8))
        #expect(decoded["latency_ms"] == 12.345)
        #expect(decoded["ttft_ms"] == 7)
        #expect(decoded["input_tokens"] == 3)
        #expect(decoded["output_tokens"] == nil, "unknown figures are left out, not zero")
        #expect(decoded["stream"] == false)
    }

    @Test func levelsFollowTheOutcome() {
        func level(_ status: Int, _ error: String? = nil) -> AccessLogEntry.Level {
            var entry = AccessLogEntry(time: Moment(nanoseconds: 0), requestID: "r", method: "POST", path: "/", status: status, latency: .zero)
            entry.error = error
            return entry.level
        }
        #expect(level(200) == .info)
        #expect(level(404, "model_not_found") == .warning)
        #expect(level(200, "client_closed") == .warning)
        #expect(level(200, "stream_interrupted") == .error, "a stream that broke after its 200 is an error")
        #expect(level(502, "upstream_error") == .error)
    }

    @Test func samplingKeepsAnEvenShareOfInfoLinesAndEveryWorseOne() {
        let tenth = AccessLogFilter(sampleRate: 0.1)
        #expect((0..<1000).filter { tenth.admits(.info, sequence: UInt64($0)) }.count == 100)
        #expect((0..<1000).allSatisfy { tenth.admits(.warning, sequence: UInt64($0)) })
        let errorsOnly = AccessLogFilter(minimum: .error)
        #expect(!errorsOnly.admits(.warning, sequence: 0))
        #expect(errorsOnly.admits(.error, sequence: 0))
        #expect(!AccessLogFilter(sampleRate: 0).admits(.info, sequence: 5))
        #expect(AccessLogFilter(sampleRate: .nan).sampleRate == 1, "a rate that is not a number keeps everything")
        #expect(!AccessLogFilter(sampleRate: 0.5).admits(.info, sequence: .max), "where the count wraps, one line is skipped; nothing traps")
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        #expect(Moment(nanoseconds: 0).timestamp == "1970-01-01T00:00:00.000Z")
        #expect(Moment(nanoseconds: -1_000_000).timestamp == "1969-12-31T23:59:59.999Z")
        #expect(Moment(nanoseconds: 951_782_400_000_000_000).timestamp == "2000-02-29T00:00:00.000Z")
    }
}
