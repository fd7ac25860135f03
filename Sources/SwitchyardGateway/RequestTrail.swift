import Foundation
import Synchronization
import Hummingbird
import HTTPTypes
import NIOHTTP1
import Tracing
import SwitchyardCore
import SwitchyardHTTP

/// One gateway request as it is served, gathered for its access-log line and
/// its trace span. Both are written once: when the reply has gone out in
/// full (a stream's last event), or — should the client leave before its
/// reply began — when the request is dropped (`client_closed`).
final class RequestTrail: Sendable {
    struct Facts: Sendable {
        var operation: OpenAIOperation?
        var requestModel: String?
        var client: String?
        var route: String?
        var revision: String?
        var deployment: Deployment?
        var attempts = 0
        var status = 0
        var error: String?
        var usage: TokenUsage?
        var cost: Double?
        var timeToFirstToken: Duration?
        var stream = false
        var logContent = false
        var requestContent: [UInt8]?
        var replyContent: [UInt8]?
        /// The upstream's own `x-request-id`, for a ticket with the provider.
        var upstreamRequestID: String?
    }

    /// Content kept: one byte more than a line holds, so the line can say it was cut.
    static let maximumContentBytes = AccessLogEntry.maximumContentBytes + 1

    /// Adds what a stream sent the client to a `logContent` route's copy,
    /// up to ``maximumContentBytes``; nil (content not logged) stays nil.
    static func log(_ sent: ByteBuffer, into logged: inout [UInt8]?) {
        guard let size = logged?.count, size < maximumContentBytes else { return }
        logged?.append(contentsOf: sent.readableBytesView.prefix(maximumContentBytes - size))
    }

    let observability: GatewayObservability
    let clock: any MomentClock
    let started: Moment
    let requestID: String
    let method: String
    let path: String
    let span: (any Span)?
    let traceID: String?
    private let state = Mutex<State>(State())

    private struct State: Sendable {
        var facts = Facts()
        var finished = false
        /// The span of the attempt in progress, ended when it fails over or the reply ends.
        var openAttempt: (any Span)?
    }

    init(request: Request, observability: GatewayObservability, clock: any MomentClock) {
        self.observability = observability
        self.clock = clock
        started = clock.now()
        method = request.method.rawValue
        path = String((request.head.path ?? "").prefix(while: { $0 != "?" }).prefix(512))
        if let given = request.headers[.requestID], !given.isEmpty, HeaderPassThrough.isSafe(given), given.utf8.count <= 200 {
            requestID = given
        } else {
            requestID = Self.newRequestID()
        }
        if let tracer = observability.tracer {
            var parent = ServiceContext.topLevel
            tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
            let span = tracer.startSpan("gateway \(method)", context: parent, ofKind: .server)
            self.span = span
            // Only a sampled trace is worth naming in the access log.
            traceID = span.isRecording && observability.accessLog != nil ? Self.traceID(of: span, tracer: tracer) : nil
        } else {
            span = nil
            traceID = nil
        }
    }

    deinit {
        finish(status: 499, error: "client_closed")
    }

    func update(_ change: (inout Facts) -> Void) {
        state.withLock { change(&$0.facts) }
    }

    /// Whether the reply is a stream (its relay finishes the trail); one field, not a copy of all.
    var isStreaming: Bool { state.withLock { $0.facts.stream } }

    /// Whether the route logs message content.
    var logsContent: Bool { state.withLock { $0.facts.logContent } }

    /// What the gateway knows once it has answered; returns whether the
    /// answer is a stream still being relayed (its relay finishes the trail).
    func update(route: String?, revision: String?, attempts: Int, status: Int) -> Bool {
        state.withLock { state in
            if let route { state.facts.route = route }
            state.facts.revision = revision
            state.facts.attempts = attempts
            state.facts.status = status
            return state.facts.stream
        }
    }

    /// Notes the upstream's own request id from its reply's headers.
    func noteUpstreamReply(_ headers: HTTPHeaders) {
        guard let id = headers.first(name: "x-request-id"), !id.isEmpty, id.utf8.count <= 200, HeaderPassThrough.isSafe(id) else { return }
        update { $0.upstreamRequestID = id }
    }

    /// A child span for one upstream attempt, its context written into the
    /// headers that go upstream.
    func startAttempt(_ context: AttemptContext, headers: inout [(String, String)]) {
        startAttempt(deployment: context.deployment, operation: context.chat.operation, attempt: context.attempt, headers: &headers)
    }

    /// An attempt at `deployment` (number `attempt`, from 1), for paths without an ``AttemptContext``.
    func startAttempt(deployment: Deployment, operation openAIOperation: OpenAIOperation, attempt number: Int, headers: inout [(String, String)]) {
        state.withLock { $0.facts.deployment = deployment }
        guard let tracer = observability.tracer, let span else { return }
        let operation = GenAIAttribute.operation(openAIOperation)
        let attempt = tracer.startSpan("\(operation) \(deployment.model)", context: span.context, ofKind: .client)
        // A span the sampler left out still carries the context upstream, but
        // nothing is gathered for it.
        if attempt.isRecording { attempt.updateAttributes { attributes in
            attributes[GenAIAttribute.operationName] = operation
            attributes[GenAIAttribute.providerName] = GenAIAttribute.provider(deployment.upstream.kind)
            attributes[GenAIAttribute.requestModel] = deployment.model
            attributes["switchyard.deployment"] = deployment.name
            attributes["switchyard.model_version"] = deployment.modelVersion
            attributes["switchyard.attempt"] = number
            if let host = Self.host(of: deployment.upstream.url) { attributes["server.address"] = host }
        } }
        tracer.inject(attempt.context, into: &headers, using: HeaderPairsInjector())
        state.withLock { $0.openAttempt = attempt }
    }

    /// Ends the open attempt's span: `failure` for one that failed over (or
    /// a stream that broke), else the upstream's status and its usage.
    func endAttempt(status: Int?, failure: String?, detail: String? = nil) {
        let (span, usage) = state.withLock { state in
            defer { state.openAttempt = nil }
            return (state.openAttempt, state.facts.usage)
        }
        guard let span else { return }
        if span.isRecording { span.updateAttributes { attributes in
            if let status { attributes["http.response.status_code"] = status }
            if let usage {
                attributes[GenAIAttribute.inputTokens] = usage.promptTokens
                attributes[GenAIAttribute.outputTokens] = usage.completionTokens
            }
            if let failure { attributes["error.type"] = failure }
        } }
        if failure != nil || (status ?? 0) >= 500 { span.setStatus(SpanStatus(code: .error, message: detail ?? failure)) }
        span.end()
    }

    /// Writes the access-log line and ends the span; later calls do nothing.
    func finish(status: Int, error: String?) {
        endAttempt(status: nil, failure: error)
        let finishedFacts: Facts? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            state.facts.status = status
            state.facts.error = error
            return state.facts
        }
        guard let facts = finishedFacts else { return }
        let now = clock.now()
        if let accessLog = observability.accessLog {
            accessLog.record(entry(facts, now: now))
        }
        if let span { end(span, facts: facts) }
    }

    private func entry(_ facts: Facts, now: Moment) -> AccessLogEntry {
        var entry = AccessLogEntry(time: started, requestID: requestID, method: method, path: path, status: facts.status, latency: now - started)
        entry.operation = facts.operation?.rawValue
        entry.client = facts.client
        entry.route = facts.route
        entry.deployment = facts.deployment?.name
        entry.modelVersion = facts.deployment?.modelVersion
        entry.revision = facts.revision
        entry.error = facts.error
        entry.timeToFirstToken = facts.timeToFirstToken
        entry.inputTokens = facts.usage?.promptTokens
        entry.outputTokens = facts.usage?.completionTokens
        entry.cost = facts.cost
        entry.attempts = facts.attempts
        entry.stream = facts.stream
        entry.traceID = traceID
        entry.upstreamRequestID = facts.upstreamRequestID
        if facts.logContent {
            entry.requestContent = facts.requestContent
            entry.replyContent = facts.replyContent
        }
        return entry
    }

    private func end(_ span: any Span, facts: Facts) {
        guard span.isRecording else { return span.end() }
        let operation = facts.operation.map(GenAIAttribute.operation)
        // The route, never a name a client made up: span names must stay few.
        if let operation {
            span.operationName = facts.route.map { "\(operation) \($0)" } ?? operation
        }
        span.updateAttributes { attributes in
            attributes["http.request.method"] = method
            attributes["url.path"] = path
            attributes["http.response.status_code"] = facts.status
            attributes["switchyard.request_id"] = requestID
            if let operation { attributes[GenAIAttribute.operationName] = operation }
            if let model = facts.requestModel ?? facts.route { attributes[GenAIAttribute.requestModel] = model }
            if let deployment = facts.deployment {
                attributes[GenAIAttribute.responseModel] = deployment.modelVersion
                attributes[GenAIAttribute.providerName] = GenAIAttribute.provider(deployment.upstream.kind)
                attributes["switchyard.deployment"] = deployment.name
                attributes["switchyard.model_version"] = deployment.modelVersion
            }
            if let route = facts.route { attributes["switchyard.route"] = route }
            if let revision = facts.revision { attributes["switchyard.route.revision"] = revision }
            if let client = facts.client { attributes["switchyard.client"] = client }
            attributes["switchyard.attempts"] = facts.attempts
            attributes["switchyard.stream"] = facts.stream
            if let usage = facts.usage {
                attributes[GenAIAttribute.inputTokens] = usage.promptTokens
                attributes[GenAIAttribute.outputTokens] = usage.completionTokens
            }
            if let cost = facts.cost { attributes["switchyard.cost"] = cost }
            if let ttft = facts.timeToFirstToken { attributes["switchyard.time_to_first_token"] = ttft.secondsDouble }
            if let error = facts.error { attributes["error.type"] = error }
        }
        // As the HTTP conventions have it for a server: 5xx are errors, a
        // refusal (4xx) is the client's; so is a client that left.
        if facts.status >= 500 || (facts.status < 400 && facts.error != nil && facts.error != "client_closed") {
            span.setStatus(SpanStatus(code: .error, message: facts.error))
        }
        span.end()
    }

    /// The host of an upstream URL (`https://HOST[:PORT]/…`).
    static func host(of url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        var rest = url[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let userinfo = rest.lastIndex(of: "@") { rest = rest[rest.index(after: userinfo)...] }
        if rest.hasPrefix("[") {
            rest = rest.prefix { $0 != "]" }.dropFirst()
        } else {
            rest = rest.prefix { $0 != ":" }
        }
        return rest.isEmpty ? nil : String(rest)
    }

    /// `sy-` and 24 hex digits: 12 chosen at random when the process
    /// starts (so replicas do not collide), then a count. Reading the
    /// system's random source per request cost a system call each.
    static func newRequestID() -> String {
        requestIDPrefix + twelveHexDigits(requestCounter.add(1, ordering: .relaxed).newValue)
    }

    private static let requestCounter = Atomic<UInt64>(0)
    private static let requestIDPrefix = "sy-" + twelveHexDigits(UInt64.random(in: 0...0xFFFF_FFFF_FFFF))

    /// The low 48 bits of `number` as 12 hex digits.
    private static func twelveHexDigits(_ number: UInt64) -> String {
        let digits = String(number & 0xFFFF_FFFF_FFFF, radix: 16)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// The trace id, read back from the `traceparent` the tracer would send.
    static func traceID(of span: any Span, tracer: any Tracer) -> String? {
        var headers: [(String, String)] = []
        tracer.inject(span.context, into: &headers, using: HeaderPairsInjector())
        guard let traceparent = headers.first(where: { $0.0.lowercased() == "traceparent" })?.1 else { return nil }
        let parts = traceparent.split(separator: "-")
        return parts.count >= 2 ? String(parts[1]) : nil
    }
}
