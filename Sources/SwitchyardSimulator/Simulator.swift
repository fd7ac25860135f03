import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import Synchronization
public import SwitchyardCore

/// An OpenAI-compatible upstream for demos, tests and benchmarks
/// (`switchyard simulate`). It answers the OpenAI and Azure chat-completions
/// paths, streaming and not, with the latency and failures it is told to show.
/// Its behaviour can be changed while it runs with `PUT /simulator/config`.
public final class Simulator: Sendable {
    private let state: Mutex<State>
    /// Responses created with `store: true`, by id.
    let responses = Mutex<[String: StoredResponse]>([:])

    struct State {
        var configuration: SimulatorConfiguration
        var requestCount = 0
        var lastRequest: JSONValue?
        var lastRequestBytes: [UInt8] = []
        var lastRequestHeaders: [String: String] = [:]
        /// Failures owed: each request adds `errorRate`, and a whole one fails
        /// the request. Failures are spread evenly, so a 5 % upstream fails
        /// exactly 5 of every 100 requests and tests can count on it.
        var errorDebt = 0.0
    }

    public init(configuration: SimulatorConfiguration) {
        self.state = Mutex(State(configuration: configuration))
    }

    public var configuration: SimulatorConfiguration {
        get { state.withLock { $0.configuration } }
        set { state.withLock { $0.configuration = newValue } }
    }

    /// How many chat-completions requests have arrived.
    public var requestCount: Int { state.withLock { $0.requestCount } }

    /// The body of the last chat-completions request, parsed.
    public var lastRequest: JSONValue? { state.withLock { $0.lastRequest } }

    /// The body of the last request, byte for byte as it arrived.
    public var lastRequestBytes: [UInt8] { state.withLock { $0.lastRequestBytes } }

    /// The headers of the last request (names in lower case).
    public var lastRequestHeaders: [String: String] { state.withLock { $0.lastRequestHeaders } }

    /// The router serving the simulator's endpoints.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in
            try await self.chatCompletions(request, azure: false)
        }
        router.post("/openai/v1/chat/completions") { request, _ in
            try await self.chatCompletions(request, azure: true)
        }
        router.post("/openai/deployments/{deployment}/chat/completions") { request, _ in
            try await self.chatCompletions(request, azure: true)
        }
        addOtherOperations(to: router)
        router.get("/healthz") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/simulator/config") { _, _ in
            Self.json(status: .ok, self.configurationJSON())
        }
        router.put("/simulator/config") { request, _ in
            let bytes = try await request.body.collect(upTo: 64 << 10)
            return self.updateConfiguration(Array(buffer: bytes))
        }
        router.get("/simulator/last-request") { _, _ in
            let bytes = self.lastRequestBytes
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes.isEmpty ? Array("null".utf8) : bytes)))
        }
        router.get("/simulator/last-request-headers") { _, _ in
            Self.json(status: .ok, .object(self.lastRequestHeaders.mapValues(JSONValue.string)))
        }
        router.get("/simulator/stats") { _, _ in
            Self.json(status: .ok, ["requests": .number(Double(self.requestCount))])
        }
        return router
    }

    /// A Hummingbird application serving the simulator on `host:port`.
    public func buildApplication(host: String, port: Int, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            router: buildRouter(),
            // A deep accept queue: load tests open thousands of streams at once.
            configuration: .init(address: .hostname(host, port: port), serverName: "switchyard-simulator", backlog: 4096),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    // MARK: Chat completions

    /// What every simulated call shares: the key check, the body, the count,
    /// and whether (and how) this request fails.
    struct Admission {
        let configuration: SimulatorConfiguration
        let body: [String: JSONValue]
        let sequence: Int
        let failure: SimulatorConfiguration.ErrorKind?
        let latency: Duration
    }

    /// Admits a request, or answers it at once (a wrong key, a broken body).
    func admit(_ request: Request, azure: Bool) async throws -> Result<Admission, SimulatorRefusal> {
        let configuration = self.configuration
        if let key = configuration.requiredKey {
            let presented = azure ? request.headers[.apiKey] : request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) }
            guard presented == key else {
                return .failure(SimulatorRefusal(response: Self.error(status: .unauthorized, message: "simulated upstream: missing or wrong API key", type: "invalid_request_error", code: "invalid_api_key")))
            }
        }
        let bytes = try await request.body.collect(upTo: 64 << 20)
        let body: [String: JSONValue]
        do {
            guard case .object(let members) = try JSONText.decode(Array(buffer: bytes)) else {
                return .failure(SimulatorRefusal(response: Self.error(status: .badRequest, message: "body must be a JSON object", type: "invalid_request_error", code: nil)))
            }
            body = members
        } catch {
            return .failure(SimulatorRefusal(response: Self.error(status: .badRequest, message: error.message, type: "invalid_request_error", code: nil)))
        }
        let (sequence, fails) = state.withLock { state in
            state.requestCount += 1
            state.lastRequest = .object(body)
            state.lastRequestBytes = Array(buffer: bytes)
            state.lastRequestHeaders = Dictionary(request.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { first, _ in first })
            state.errorDebt += state.configuration.errorRate
            let fails = state.errorDebt >= 1 - 1e-9
            if fails { state.errorDebt -= 1 }
            return (state.requestCount, fails)
        }
        return .success(Admission(configuration: configuration, body: body, sequence: sequence, failure: fails ? configuration.errorKind : nil, latency: Self.sampleLatency(configuration)))
    }

    /// The reply of a request that fails before any content (500, 429,
    /// hang, content filter); nil for no failure or a cut stream.
    static func failureReply(_ admission: Admission) async throws -> Response? {
        let configuration = admission.configuration
        switch admission.failure {
        case .serverError?:
            try await Task.sleep(for: admission.latency)
            return Self.error(status: .internalServerError, message: "simulated upstream failure", type: "server_error", code: nil)
        case .rateLimited?:
            var response = Self.error(status: .tooManyRequests, message: "simulated rate limit: retry later", type: "rate_limit_error", code: "rate_limit_exceeded")
            let milliseconds = configuration.retryAfter.nanosecondsClamped / 1_000_000
            response.headers[.retryAfter] = String(max(1, (milliseconds + 999) / 1000))
            response.headers[.retryAfterMilliseconds] = String(milliseconds)
            return response
        case .timeout?:
            try await Task.sleep(for: .seconds(3600))
            return Self.error(status: .gatewayTimeout, message: "simulated hang ended", type: "server_error", code: nil)
        case .contentFilter?:
            try await Task.sleep(for: admission.latency)
            return Self.contentFilterError()
        case .cutStream?, nil:
            return nil
        }
    }

    private func chatCompletions(_ request: Request, azure: Bool) async throws -> Response {
        let admission: Admission
        switch try await admit(request, azure: azure) {
        case .success(let admitted): admission = admitted
        case .failure(let refusal): return refusal.response
        }
        let configuration = admission.configuration
        let body = admission.body
        let sequence = admission.sequence
        let latency = admission.latency
        let failure = admission.failure
        if let reply = try await Self.failureReply(admission) { return reply }
        let stream = body["stream"]?.boolValue ?? false
        let includeUsage = body["stream_options"]?["include_usage"]?.boolValue ?? false
        let maxTokens = (body["max_tokens"] ?? body["max_completion_tokens"])?.doubleValue.map { Int(min(1e9, max(1, $0.isFinite ? $0 : 1))) }
        let completionTokens = min(configuration.replyTokens, maxTokens ?? .max)
        let promptTokens = Self.estimatePromptTokens(body["messages"])

        let reply = ReplyWriter(
            id: "chatcmpl-sim-\(sequence)",
            model: configuration.replyModel,
            words: Self.words(count: completionTokens, model: configuration.replyModel),
            usage: TokenUsage(promptTokens: promptTokens, completionTokens: completionTokens)
        )
        if stream {
            let firstToken = configuration.timeToFirstToken ?? latency
            let interval = Duration.seconds(1 / max(configuration.tokensPerSecond, 0.001))
            let cut = failure == .cutStream
            return Response(
                status: .ok,
                headers: Self.providerHeaders(sequence: sequence, contentType: "text/event-stream"),
                body: ResponseBody { writer in
                    try await Task.sleep(for: firstToken)
                    for (index, chunk) in reply.streamChunks(includeUsage: includeUsage).enumerated() {
                        if index > 0, index <= reply.words.count { try await Task.sleep(for: interval) }
                        if cut, index == max(1, reply.words.count / 2) {
                            throw SimulatedCut()
                        }
                        try await writer.write(ByteBuffer(string: chunk))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        try await Task.sleep(for: latency)
        let full = ByteBuffer(string: reply.completion())
        if failure == .cutStream {
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(contentLength: full.readableBytes) { writer in
                    try await writer.write(full.getSlice(at: 0, length: full.readableBytes / 2)!)
                    throw SimulatedCut()
                }
            )
        }
        return Response(status: .ok, headers: Self.providerHeaders(sequence: sequence), body: ResponseBody(byteBuffer: full))
    }

    /// The headers a provider's reply carries that clients read: its request
    /// id, its processing time and the caller's remaining rate-limit budget.
    static func providerHeaders(sequence: Int, contentType: String = "application/json") -> HTTPFields {
        var headers: HTTPFields = [.contentType: contentType]
        if contentType == "text/event-stream" { headers[.cacheControl] = "no-cache" }
        headers[HTTPField.Name("x-request-id")!] = "req_sim_\(sequence)"
        headers[HTTPField.Name("openai-processing-ms")!] = "12"
        headers[HTTPField.Name("x-ratelimit-remaining-requests")!] = "9999"
        headers[HTTPField.Name("x-ratelimit-limit-requests")!] = "10000"
        return headers
    }

    struct SimulatedCut: Error {}

/// A request the simulator answers without simulating anything.
struct SimulatorRefusal: Error {
    let response: Response
}

    static func sampleLatency(_ configuration: SimulatorConfiguration) -> Duration {
        let mean = configuration.latencyMean.millisecondsDouble
        let jitter = configuration.latencyJitter.millisecondsDouble
        let sample = jitter > 0 ? Double.random(in: (mean - jitter)...(mean + jitter)) : mean
        return .microseconds(Int64(min(3_600_000, max(0, sample)) * 1000))
    }

    /// Roughly four characters per token, as providers' tokenizers average on English.
    static func estimatePromptTokens(_ messages: JSONValue?) -> Int {
        var characters = 0
        for message in messages?.arrayValue ?? [] {
            if let text = message["content"]?.stringValue { characters += text.count }
        }
        return max(1, (characters + 3) / 4)
    }

    /// The same estimate for a bare text or an array of texts (`prompt`, `input`).
    static func estimateTextTokens(_ value: JSONValue?) -> Int {
        if let text = value?.stringValue { return max(1, (text.count + 3) / 4) }
        let texts = value?.arrayValue?.map { $0.stringValue ?? $0["content"]?.stringValue ?? "" } ?? []
        return max(1, (texts.reduce(0) { $0 + $1.count } + 3) / 4)
    }

    static let vocabulary = [
        "the", "canary", "stable", "route", "weight", "version", "gateway", "rollout", "answer", "model", "pinned",
        "traffic", "safely", "today", "latency", "tokens",
    ]

    static func words(count: Int, model: String) -> [String] {
        (0..<count).map { index in
            switch index {
            case 0: "hello"
            case 1: "from"
            case 2: model
            default: vocabulary[(index * 7) % vocabulary.count]
            }
        }
    }

    // MARK: Control endpoint

    private func configurationJSON() -> JSONValue {
        let configuration = self.configuration
        return [
            "model": .string(configuration.model),
            "version": .string(configuration.version),
            "latencyMs": .number(configuration.latencyMean.millisecondsDouble),
            "jitterMs": .number(configuration.latencyJitter.millisecondsDouble),
            "ttftMs": configuration.timeToFirstToken.map { .number($0.millisecondsDouble) } ?? .null,
            "tokensPerSecond": .number(configuration.tokensPerSecond),
            "errorRate": .number(configuration.errorRate),
            "errorKind": .string(configuration.errorKind.rawValue),
            "requests": .number(Double(requestCount)),
        ]
    }

    private func updateConfiguration(_ bytes: [UInt8]) -> Response {
        let update: [String: JSONValue]
        do {
            guard case .object(let members) = try JSONText.decode(bytes) else {
                return Self.error(status: .badRequest, message: "body must be a JSON object", type: "invalid_request_error", code: nil)
            }
            update = members
        } catch {
            return Self.error(status: .badRequest, message: error.message, type: "invalid_request_error", code: nil)
        }
        var next = configuration
        for (key, value) in update {
            switch (key, value) {
            case ("errorRate", .number(let rate)) where (0...1).contains(rate):
                next.errorRate = rate
            case ("errorKind", .string(let text)):
                guard let kind = SimulatorConfiguration.ErrorKind(rawValue: text) else {
                    return Self.error(status: .badRequest, message: "errorKind must be one of 500, 429, timeout, content-filter, cut-stream", type: "invalid_request_error", code: nil)
                }
                next.errorKind = kind
            case ("latencyMs", .number(let ms)) where (0...3_600_000).contains(ms):
                next.latencyMean = .microseconds(Int64(ms * 1000))
            case ("jitterMs", .number(let ms)) where (0...3_600_000).contains(ms):
                next.latencyJitter = .microseconds(Int64(ms * 1000))
            case ("ttftMs", .number(let ms)) where (0...3_600_000).contains(ms):
                next.timeToFirstToken = .microseconds(Int64(ms * 1000))
            case ("tokensPerSecond", .number(let rate)) where rate > 0 && rate <= 1_000_000:
                next.tokensPerSecond = rate
            default:
                return Self.error(status: .badRequest, message: "cannot set '\(key)' to \(value.typeName) \(value)", type: "invalid_request_error", code: nil)
            }
        }
        configuration = next
        return Self.json(status: .ok, configurationJSON())
    }

    // MARK: Responses

    static func json(status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.encode(value))))
    }

    static func error(status: HTTPResponse.Status, message: String, type: String, code: String?) -> Response {
        json(status: status, ["error": ["message": .string(message), "type": .string(type), "code": code.map(JSONValue.string) ?? .null, "param": .null]])
    }

    /// Azure OpenAI's refusal of a prompt by its content filter.
    static func contentFilterError() -> Response {
        json(
            status: .badRequest,
            [
                "error": [
                    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                    "type": .null,
                    "param": "prompt",
                    "code": "content_filter",
                    "status": 400,
                    "innererror": [
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_result": [
                            "hate": ["filtered": false, "severity": "safe"],
                            "self_harm": ["filtered": false, "severity": "safe"],
                            "sexual": ["filtered": false, "severity": "safe"],
                            "violence": ["filtered": true, "severity": "medium"],
                        ],
                    ],
                ]
            ]
        )
    }
}

extension HTTPField.Name {
    static let apiKey = Self("api-key")!
    static let retryAfterMilliseconds = Self("retry-after-ms")!
}

/// A request the simulator answers without simulating anything.
struct SimulatorRefusal: Error {
    let response: Response
}
