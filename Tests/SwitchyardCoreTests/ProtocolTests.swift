import Testing
@testable import SwitchyardCore

@Suite("Chat-completions requests and streamed replies")
struct ProtocolTests {
    static let chunk = #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null}"# + "\n\n"
    static let usage = #"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}}"# + "\n\n"
    static let done = "data: [DONE]\n\n"

    @Test func eventsAreFoundWhereverTheChunksAreCut() throws {
        let stream = Array((Self.chunk + ": keep-alive\n\n" + Self.chunk + Self.usage + Self.done).utf8)
        var rng = StickyAssignmentTests.SplitMix(state: 7)
        for _ in 0..<300 {
            var splitter = ServerSentEventSplitter()
            var kinds: [String] = []
            var bytes: [UInt8] = []
            var offset = 0
            while offset < stream.count {
                let length = Int.random(in: 1...40, using: &rng)
                let end = min(stream.count, offset + length)
                for event in try splitter.feed(stream[offset..<end]) {
                    bytes += event.bytes
                    switch event.kind {
                    case .chunk: kinds.append("chunk")
                    case .usage(let usage): kinds.append("usage \(usage.promptTokens)/\(usage.completionTokens)")
                    case .done: kinds.append("done")
                    case .finished(let usage): kinds.append("finished \(usage?.promptTokens ?? -1)/\(usage?.completionTokens ?? -1)")
                    case .error: kinds.append("error")
                    case .other: kinds.append("other")
                    }
                }
                offset = end
            }
            #expect(kinds == ["chunk", "other", "chunk", "usage 12/34", "done"])
            #expect(bytes == stream, "events carry the original bytes")
            #expect(splitter.pendingByteCount == 0)
        }
    }

    @Test func crlfTerminatedEventsAndErrorsAreRecognised() throws {
        var splitter = ServerSentEventSplitter()
        let events = try splitter.feed(Array("data: {\"error\":{\"message\":\"boom\"}}\r\n\r\ndata: [DONE]\r\n\r\n".utf8))
        #expect(events.count == 2)
        #expect(events[0].kind == .error)
        #expect(events[1].kind == .done)
    }

    @Test func usageIsReadFromRawBytes() {
        let usage = TokenUsage(scanning: Array(#"{"usage": {"prompt_tokens": 7, "completion_tokens":9}}"#.utf8))
        #expect(usage == TokenUsage(promptTokens: 7, completionTokens: 9))
        #expect(TokenUsage(scanning: Array(#"{"usage":null}"#.utf8)) == nil)
    }

    @Test func contentFilterStopsAreToldApartFromTextThatMentionsThem() {
        #expect(ReplyScan.finishedByContentFilter(Array(#"{"choices":[{"finish_reason":"content_filter"}]}"#.utf8)))
        #expect(!ReplyScan.finishedByContentFilter(Array(#"{"choices":[{"message":{"content":"about content_filter"},"finish_reason":"stop"}]}"#.utf8)))
        #expect(ReplyScan.isContentFilterError(Array(#"{"error":{"code":"content_filter","status":400}}"#.utf8)))
        #expect(!ReplyScan.isContentFilterError(Array(#"{"error":{"code":"invalid_request"}}"#.utf8)))
    }

    @Test func aResponsesStreamEndsAtItsTerminalEventWithTheWholeReplysUsage() throws {
        let stream = Array((
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"usage\":null}}\n\n"
            + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"say \\\"type\\\":\\\"response.completed\\\"\"}\n\n"
            + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"usage\":{\"input_tokens\":7,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":21,\"total_tokens\":28}}}\n\n"
        ).utf8)
        var splitter = ServerSentEventSplitter()
        let kinds = try splitter.feed(stream).map(\.kind)
        #expect(kinds.count == 3)
        #expect(kinds.last == .finished(usage: TokenUsage(promptTokens: 7, completionTokens: 21)))
        #expect(kinds.dropLast().allSatisfy { if case .chunk = $0 { true } else { false } }, "generated text that quotes an event type is only text")
        var failed = ServerSentEventSplitter()
        #expect(try failed.feed(Array("event: response.failed\ndata: {\"type\":\"response.failed\"}\n\n".utf8)).first?.kind == .error)
        #expect(TokenUsage(scanning: Array(#"{"object":"list","usage":{"prompt_tokens":8,"total_tokens":8}}"#.utf8)) == TokenUsage(promptTokens: 8, completionTokens: 0), "embeddings count input only")
    }

    @Test func invalidBodiesAreRefusedWithAMessageNamingTheProblem() {
        func error(_ body: String, requireModel: Bool = true) -> APIError? {
            do {
                _ = try ClientRequest(bytes: Array(body.utf8), requireModel: requireModel)
                return nil
            } catch {
                return error
            }
        }
        #expect(error("{not json")?.code == "invalid_json")
        #expect(error("[1,2]")?.message == "request body must be a JSON object")
        #expect(error(#"{"model":"r"}"#)?.message == "'messages' is required")
        #expect(error(#"{"model":"r","messages":[]}"#)?.code == "invalid_type")
        #expect(error(#"{"model":"r","messages":["hi"]}"#)?.message.contains("messages[0]") == true)
        #expect(error(#"{"messages":[{"role":"user","content":"x"}]}"#)?.message.contains("'model' is required") == true)
        #expect(error(#"{"messages":[{"role":"user","content":"x"}]}"#, requireModel: false) == nil)
        #expect(error(#"{"model":7,"messages":[{"role":"user"}]}"#)?.message == "'model' must be a string, not number")
        #expect(error(#"{"model":"r","stream":"yes","messages":[{"role":"user"}]}"#)?.message.contains("'stream' must be a boolean") == true)
        #expect(error("")?.status == 400)
    }

    @Test func errorBodiesHaveTheOpenAIShape() throws {
        let error = APIError.rateLimited("slow down", retryAfter: .milliseconds(1500))
        let body = try JSONText.decode(error.body)
        #expect(body["error"]?["message"] == "slow down")
        #expect(body["error"]?["type"] == "rate_limit_error")
        #expect(body["error"]?["code"] == "rate_limit_exceeded")
        #expect(error.retryAfterSeconds == 2)
    }

    @Test func durationsReadAndWriteLikeAPersonWritesThem() {
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("1m30s") == .seconds(90))
        #expect(DurationText.parse("2h") == .seconds(7200))
        #expect(DurationText.parse("10") == nil)
        #expect(DurationText.parse("5x") == nil)
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
    }
}

@Suite("JSON text")
struct JSONTextTests {
    @Test func valuesRoundTripThroughText() throws {
        let value: JSONValue = [
            "s": "quote \" backslash \\ newline \n tab \t bell \u{7} é ✓",
            "i": 800, "d": 0.2, "neg": -3.5, "big": 1e21, "t": true, "f": false, "n": nil,
            "a": [1, "two", [3], ["k": "v"]],
        ]
        let text = JSONText.encode(value)
        #expect(try JSONText.decode(text) == value)
        #expect(String(decoding: JSONText.encode(["max_tokens": 800, "temperature": 0.2]), as: UTF8.self) == #"{"max_tokens":800,"temperature":0.2}"#)
    }

    @Test func booleansAndNumbersKeepTheirTypesWhenParsed() throws {
        let parsed = try JSONText.decode(Array(#"{"a":true,"b":1,"c":0,"d":false,"e":1.5}"#.utf8))
        #expect(parsed == ["a": true, "b": 1, "c": 0, "d": false, "e": 1.5])
    }
}
