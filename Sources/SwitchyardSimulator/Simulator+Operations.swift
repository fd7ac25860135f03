import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import SwitchyardCore

/// The simulator's other OpenAI calls: legacy completions, embeddings
/// (deterministic vectors: the same text and model give the same vector, a
/// different model a different one), and the Responses API with stored
/// responses a follow-up must find on this same simulator.
extension Simulator {
    func addOtherOperations(to router: Router<BasicRequestContext>) {
        router.post("/v1/completions") { request, _ in try await self.completions(request, azure: false) }
        router.post("/openai/deployments/{deployment}/completions") { request, _ in try await self.completions(request, azure: true) }
        router.post("/v1/embeddings") { request, _ in try await self.embeddings(request, azure: false) }
        router.post("/openai/deployments/{deployment}/embeddings") { request, _ in try await self.embeddings(request, azure: true) }
        for (prefix, azure) in [("/v1/responses", false), ("/openai/responses", true), ("/openai/v1/responses", true)] {
            router.post(RouterPath(prefix)) { request, _ in try await self.createResponse(request, azure: azure) }
            router.get(RouterPath(prefix + "/{id}")) { _, context in self.storedResponse(context.parameters.get("id") ?? "") }
            router.delete(RouterPath(prefix + "/{id}")) { _, context in self.deleteResponse(context.parameters.get("id") ?? "") }
            router.post(RouterPath(prefix + "/{id}/cancel")) { _, context in self.cancelResponse(context.parameters.get("id") ?? "") }
            router.get(RouterPath(prefix + "/{id}/input_items")) { _, context in self.inputItems(context.parameters.get("id") ?? "") }
        }
    }

    // MARK: Completions

    private func completions(_ request: Request, azure: Bool) async throws -> Response {
        let admission: Admission
        switch try await admit(request, azure: azure) {
        case .success(let admitted): admission = admitted
        case .failure(let refusal): return refusal.response
        }
        if let reply = try await Self.failureReply(admission) { return reply }
        let configuration = admission.configuration
        let maxTokens = admission.body["max_tokens"]?.doubleValue.map { Int(min(1e9, max(1, $0.isFinite ? $0 : 1))) }
        let count = min(configuration.replyTokens, maxTokens ?? .max)
        let text = Self.words(count: count, model: configuration.replyModel).joined(separator: " ")
        let usage = TokenUsage(promptTokens: Self.estimateTextTokens(admission.body["prompt"]), completionTokens: count)
        let id = "cmpl-sim-\(admission.sequence)"
        let created = Int(Date().timeIntervalSince1970)
        let usageJSON: JSONValue = ["prompt_tokens": .number(Double(usage.promptTokens)), "completion_tokens": .number(Double(count)), "total_tokens": .number(Double(usage.totalTokens))]
        if admission.body["stream"]?.boolValue == true {
            let includeUsage = admission.body["stream_options"]?["include_usage"]?.boolValue ?? false
            var events: [JSONValue] = text.split(separator: " ").enumerated().map { index, word in
                ["id": .string(id), "object": "text_completion", "created": .number(Double(created)), "model": .string(configuration.replyModel),
                 "choices": [["text": .string(index == 0 ? String(word) : " " + word), "index": 0, "logprobs": nil, "finish_reason": nil]]]
            }
            events.append(["id": .string(id), "object": "text_completion", "created": .number(Double(created)), "model": .string(configuration.replyModel),
                           "choices": [["text": "", "index": 0, "logprobs": nil, "finish_reason": "stop"]]])
            if includeUsage {
                events.append(["id": .string(id), "object": "text_completion", "created": .number(Double(created)), "model": .string(configuration.replyModel), "choices": [], "usage": usageJSON])
            }
            let chunks = events.map { "data: " + String(decoding: JSONText.encode($0), as: UTF8.self) + "\n\n" } + ["data: [DONE]\n\n"]
            return streamed(chunks, admission: admission)
        }
        try await Task.sleep(for: admission.latency)
        let body: JSONValue = [
            "id": .string(id), "object": "text_completion", "created": .number(Double(created)), "model": .string(configuration.replyModel),
            "choices": [["text": .string(text), "index": 0, "logprobs": nil, "finish_reason": "stop"]], "usage": usageJSON,
        ]
        return Response(status: .ok, headers: Self.providerHeaders(sequence: admission.sequence), body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.encode(body))))
    }

    // MARK: Embeddings

    private func embeddings(_ request: Request, azure: Bool) async throws -> Response {
        let admission: Admission
        switch try await admit(request, azure: azure) {
        case .success(let admitted): admission = admitted
        case .failure(let refusal): return refusal.response
        }
        if let reply = try await Self.failureReply(admission) { return reply }
        let configuration = admission.configuration
        let inputs: [String]
        switch admission.body["input"] {
        case .string(let text)?: inputs = [text]
        case .array(let items)?: inputs = items.map { $0.stringValue ?? String(decoding: JSONText.encode($0), as: UTF8.self) }
        default:
            return Self.error(status: .badRequest, message: "'input' is required", type: "invalid_request_error", code: nil)
        }
        let dimensions = admission.body["dimensions"]?.doubleValue.map { Int(min(4096, max(1, $0.isFinite ? $0 : 8))) } ?? 8
        let base64 = admission.body["encoding_format"]?.stringValue == "base64"
        try await Task.sleep(for: admission.latency)
        let data: [JSONValue] = inputs.enumerated().map { index, text in
            let vector = Self.embedding(of: text, model: configuration.replyModel, dimensions: dimensions)
            let encoded: JSONValue = base64 ? .string(Self.base64Floats(vector)) : .array(vector.map { .number(Double($0)) })
            return ["object": "embedding", "index": .number(Double(index)), "embedding": encoded]
        }
        let tokens = Self.estimateTextTokens(admission.body["input"])
        let body: JSONValue = [
            "object": "list", "data": .array(data), "model": .string(configuration.replyModel),
            "usage": ["prompt_tokens": .number(Double(tokens)), "total_tokens": .number(Double(tokens))],
        ]
        return Response(status: .ok, headers: Self.providerHeaders(sequence: admission.sequence), body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.encode(body))))
    }

    /// A unit vector from the text and the model: stable across runs and
    /// machines, and different for another model, as real embeddings are.
    static func embedding(of text: String, model: String, dimensions: Int) -> [Float] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (model + "\u{0}" + text).utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        var values: [Float] = []
        values.reserveCapacity(dimensions)
        for _ in 0..<dimensions {
            hash = hash &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Float(Int64(bitPattern: hash >> 11) % 2_000_001 - 1_000_000) / 1_000_000)
        }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? values.map { $0 / norm } : values
    }

    /// Float32 little-endian, base64: OpenAI's `encoding_format: base64`.
    static func base64Floats(_ values: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            bytes += [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        }
        return Data(bytes).base64EncodedString()
    }

    // MARK: Responses API

    private func createResponse(_ request: Request, azure: Bool) async throws -> Response {
        let admission: Admission
        switch try await admit(request, azure: azure) {
        case .success(let admitted): admission = admitted
        case .failure(let refusal): return refusal.response
        }
        let body = admission.body
        if let previous = body["previous_response_id"]?.stringValue, stored(previous) == nil {
            return Self.json(status: .notFound, [
                "error": ["message": .string("Previous response with id '\(previous)' not found."), "type": "invalid_request_error", "param": "previous_response_id", "code": "previous_response_not_found"]
            ])
        }
        if let reply = try await Self.failureReply(admission) { return reply }
        let configuration = admission.configuration
        let maxTokens = body["max_output_tokens"]?.doubleValue.map { Int(min(1e9, max(1, $0.isFinite ? $0 : 1))) }
        let words = Self.words(count: min(configuration.replyTokens, maxTokens ?? .max), model: configuration.replyModel)
        let id = "resp_sim_\(configuration.version)_\(admission.sequence)"
        let messageID = "msg_sim_\(admission.sequence)"
        let text = words.joined(separator: " ")
        let inputTokens = Self.estimateTextTokens(body["input"])
        let store = body["store"]?.boolValue ?? true
        func response(status: String, content: String?, usage: Bool) -> JSONValue {
            let output: JSONValue = content.map { text in
                [["type": "message", "id": .string(messageID), "status": "completed", "role": "assistant",
                  "content": [["type": "output_text", "text": .string(text), "annotations": []]]]]
            } ?? []
            return [
                "id": .string(id), "object": "response", "created_at": .number(Double(Int(Date().timeIntervalSince1970))), "status": .string(status),
                "model": .string(configuration.replyModel), "output": output, "previous_response_id": body["previous_response_id"] ?? .null,
                "instructions": body["instructions"] ?? .null, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
                "temperature": body["temperature"] ?? 1, "top_p": body["top_p"] ?? 1, "store": .bool(store), "background": body["background"] ?? false,
                "text": ["format": ["type": "text"]], "truncation": "disabled", "metadata": body["metadata"] ?? [:], "error": nil, "incomplete_details": nil,
                "usage": usage
                    ? ["input_tokens": .number(Double(inputTokens)), "input_tokens_details": ["cached_tokens": 0],
                       "output_tokens": .number(Double(words.count)), "output_tokens_details": ["reasoning_tokens": 0],
                       "total_tokens": .number(Double(inputTokens + words.count))]
                    : nil,
            ]
        }
        let final = response(status: "completed", content: text, usage: true)
        if store {
            let items = body["input"].map { input -> [JSONValue] in
                input.stringValue.map { [["type": "message", "role": "user", "content": [["type": "input_text", "text": .string($0)]]]] } ?? (input.arrayValue ?? [])
            } ?? []
            responses.withLock { $0[id] = StoredResponse(body: final, inputItems: items) }
        }
        guard body["stream"]?.boolValue == true else {
            try await Task.sleep(for: admission.latency)
            return Response(status: .ok, headers: Self.providerHeaders(sequence: admission.sequence), body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.encode(final))))
        }
        var events: [(String, JSONValue)] = [
            ("response.created", ["response": response(status: "in_progress", content: nil, usage: false)]),
            ("response.in_progress", ["response": response(status: "in_progress", content: nil, usage: false)]),
            ("response.output_item.added", ["output_index": 0, "item": ["type": "message", "id": .string(messageID), "status": "in_progress", "role": "assistant", "content": []]]),
            ("response.content_part.added", ["item_id": .string(messageID), "output_index": 0, "content_index": 0, "part": ["type": "output_text", "text": "", "annotations": []]]),
        ]
        for (index, word) in words.enumerated() {
            events.append(("response.output_text.delta", ["item_id": .string(messageID), "output_index": 0, "content_index": 0, "delta": .string(index == 0 ? word : " " + word)]))
        }
        events.append(("response.output_text.done", ["item_id": .string(messageID), "output_index": 0, "content_index": 0, "text": .string(text)]))
        events.append(("response.completed", ["response": final]))
        let chunks = events.enumerated().map { sequence, event -> String in
            var payload = event.1.objectValue ?? [:]
            payload["type"] = .string(event.0)
            payload["sequence_number"] = .number(Double(sequence))
            return "event: \(event.0)\ndata: " + String(decoding: JSONText.encode(.object(payload)), as: UTF8.self) + "\n\n"
        }
        return streamed(chunks, admission: admission)
    }

    private func stored(_ id: String) -> StoredResponse? {
        responses.withLock { $0[id] }
    }

    private func notFound(_ id: String) -> Response {
        Self.json(status: .notFound, ["error": ["message": .string("No response found with id '\(id)'."), "type": "invalid_request_error", "param": nil, "code": nil]])
    }

    private func storedResponse(_ id: String) -> Response {
        guard let response = stored(id) else { return notFound(id) }
        return Self.json(status: .ok, response.body)
    }

    private func deleteResponse(_ id: String) -> Response {
        guard responses.withLock({ $0.removeValue(forKey: id) }) != nil else { return notFound(id) }
        return Self.json(status: .ok, ["id": .string(id), "object": "response", "deleted": true])
    }

    private func cancelResponse(_ id: String) -> Response {
        guard stored(id) != nil else { return notFound(id) }
        return Self.error(status: .badRequest, message: "Only responses created with background set to true can be cancelled.", type: "invalid_request_error", code: nil)
    }

    private func inputItems(_ id: String) -> Response {
        guard let response = stored(id) else { return notFound(id) }
        let items: [JSONValue] = response.inputItems.enumerated().map { index, item in
            var copy = item.objectValue ?? [:]
            copy["id"] = .string("item_\(index)")
            return .object(copy)
        }
        return Self.json(status: .ok, [
            "object": "list", "data": .array(items), "first_id": items.first?["id"] ?? .null, "last_id": items.last?["id"] ?? .null, "has_more": false,
        ])
    }

    // MARK: Streaming

    /// Sends server-sent events at the configured pace; a `cut-stream`
    /// failure drops the connection half-way.
    private func streamed(_ chunks: [String], admission: Admission) -> Response {
        let configuration = admission.configuration
        let firstToken = configuration.timeToFirstToken ?? admission.latency
        let interval = Duration.seconds(1 / max(configuration.tokensPerSecond, 0.001))
        let cut = admission.failure == .cutStream
        return Response(
            status: .ok,
            headers: Self.providerHeaders(sequence: admission.sequence, contentType: "text/event-stream"),
            body: ResponseBody { writer in
                try await Task.sleep(for: firstToken)
                for (index, chunk) in chunks.enumerated() {
                    if index > 0, index < chunks.count - 1 { try await Task.sleep(for: interval) }
                    if cut, index == max(1, chunks.count / 2) { throw SimulatedCut() }
                    try await writer.write(ByteBuffer(string: chunk))
                }
                try await writer.finish(nil)
            }
        )
    }
}

/// A response the simulator keeps for retrieval, as a provider does with `store: true`.
struct StoredResponse: Sendable {
    let body: JSONValue
    let inputItems: [JSONValue]
}
