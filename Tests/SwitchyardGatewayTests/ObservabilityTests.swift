import Foundation
import InMemoryTracing
import NIOHTTP1
import SwitchyardCore
import SwitchyardSecrets
import SwitchyardSimulator
import Testing
import Tracing
@testable import SwitchyardGateway

/// The access log and traces, through a real gateway on loopback.
@Suite struct ObservabilityTests {
    static let simulators = [
        SimulatorConfiguration(version: "2024-11-20", latencyMean: .milliseconds(1)),
        SimulatorConfiguration(version: "2025-05-13", latencyMean: .milliseconds(1), errorRate: 1),
    ]

    /// `chat-prod` all on `primary`; `logged` the same with `logContent`;
    /// `failing` sends nearly everyone to a failing deployment first, which
    /// then fails over (a zero-weight deployment is not a failover target).
    static func routes(_ ports: [Int]) throws -> [Route] {
        var logged = Route(name: "logged", stable: "primary", deployments: [LiveCluster.deployment("primary", percent: 100, port: ports[0])])
        logged.logContent = true
        return [
            Route(name: "chat-prod", stable: "primary", deployments: [LiveCluster.deployment("primary", percent: 100, port: ports[0])]),
            logged,
            Route(
                name: "failing", stable: "broken",
                deployments: [
                    LiveCluster.deployment("broken", percent: 99, port: ports[1], priority: 1),
                    LiveCluster.deployment("backup", percent: 1, port: ports[0], priority: 2),
                ]
            ),
        ]
    }

    static let access = AccessConfig(clientKeys: [ClientKey(name: "team-a", digest: SecretDigest.sha256("team-a-secret"))])
    static let key = [("authorization", "Bearer team-a-secret")]

    static func lines(_ path: String) throws -> [JSONValue] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONText.decode(Array($0.utf8)) }
    }

    @Test func everyRequestGetsOneLineWithItsFactsAndNeverItsKeyOrContent() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try AccessLog(.file(path))
        try await LiveCluster.run(
            simulators: Self.simulators, access: Self.access, observability: GatewayObservability(accessLog: log), routes: Self.routes
        ) { cluster in
            let plain = try await cluster.post(body: LiveCluster.chat(), headers: Self.key + [("x-request-id", "support-ticket-42")])
            #expect(plain.status == 200)
            let streamed = try await cluster.post(body: LiveCluster.chat(stream: true, extra: #""stream_options":{"include_usage":true}"#), headers: Self.key)
            #expect(streamed.status == 200)
            let failedOver = try await cluster.post(body: LiveCluster.chat(route: "failing", user: "u1"), headers: Self.key)
            #expect(failedOver.status == 200)
            let unknown = try await cluster.post(body: LiveCluster.chat(route: "nope"), headers: Self.key)
            #expect(unknown.status == 404)
            let wrongKey = try await cluster.post(body: LiveCluster.chat(), headers: [("authorization", "Bearer wrong")])
            #expect(wrongKey.status == 401)
            // Laid out over several lines, as a person would write it: the log line stays one line.
            let pretty = "{\n  \"model\": \"logged\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"Say hello.\"}\n  ]\n}"
            let logged = try await cluster.post(body: pretty, headers: Self.key)
            #expect(logged.status == 200)
            #expect(plain.headers.first(name: "x-switchyard-request-id") == "support-ticket-42")
            #expect(streamed.headers.first(name: "x-switchyard-request-id")?.hasPrefix("sy-") == true, "the id the gateway made up is the client's to quote")
        }
        log.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("team-a-secret"), "the key itself is never logged")
        #expect(!text.contains("wrong"), "nor a wrong one")
        let lines = try Self.lines(path)
        try #require(lines.count == 6)
        let plain = lines[0]
        #expect(plain["request_id"] == "support-ticket-42")
        #expect(plain["level"] == "info")
        #expect(plain["client"] == "team-a")
        #expect(plain["route"] == "chat-prod")
        #expect(plain["deployment"] == "primary")
        #expect(plain["model_version"] == "gpt-4o@2024-11-20")
        #expect(plain["status"] == 200)
        #expect(plain["attempts"] == 1)
        #expect(plain["stream"] == false)
        #expect((plain["input_tokens"]?.doubleValue ?? 0) > 0)
        #expect((plain["output_tokens"]?.doubleValue ?? 0) > 0)
        #expect(plain["latency_ms"]?.doubleValue != nil)
        #expect(plain["request"] == nil && plain["reply"] == nil, "no content unless the route asks for it")
        #expect(plain["time"]?.stringValue?.hasSuffix("Z") == true)

        let streamed = lines[1]
        #expect(streamed["stream"] == true)
        #expect(streamed["status"] == 200)
        #expect(streamed["error"] == nil)
        #expect((streamed["output_tokens"]?.doubleValue ?? 0) > 0, "a stream's usage is logged once it has ended")
        #expect(streamed["ttft_ms"]?.doubleValue != nil)
        #expect(streamed["request_id"]?.stringValue?.hasPrefix("sy-") == true, "a request without an id gets one")
        #expect(plain["upstream_request_id"]?.stringValue?.isEmpty == false, "the provider's own id, for its support")

        let failedOver = lines[2]
        #expect(failedOver["route"] == "failing")
        #expect(failedOver["deployment"] == "backup")
        #expect(failedOver["attempts"] == 2)

        #expect(lines[3]["status"] == 404)
        #expect(lines[3]["error"] == "model_not_found")
        #expect(lines[3]["level"] == "warning")
        #expect(lines[3]["route"] == nil, "a route the client made up is not a route")
        #expect(lines[4]["status"] == 401)
        #expect(lines[4]["client"] == nil)

        #expect(lines[5]["request"]?["messages"]?.arrayValue?.first?["content"] == "Say hello.")
        #expect(lines[5]["reply"]?.stringValue?.contains("chat.completion") == true)
    }

    @Test func theLevelSwitchAndSamplingKeepWarningsAndThinTheRest() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try AccessLog(.file(path), filter: AccessLogFilter(minimum: .info, sampleRate: 0.25))
        try await LiveCluster.run(
            simulators: Self.simulators, access: Self.access, observability: GatewayObservability(accessLog: log), routes: Self.routes
        ) { cluster in
            for _ in 0..<20 { _ = try await cluster.post(body: LiveCluster.chat(), headers: Self.key) }
            for _ in 0..<3 { _ = try await cluster.post(body: LiveCluster.chat(route: "nope"), headers: Self.key) }
        }
        log.flush()
        let lines = try Self.lines(path)
        #expect(lines.filter { $0["level"] == "info" }.count == 5, "a quarter of 20 successes")
        #expect(lines.filter { $0["level"] == "warning" }.count == 3, "every refusal")
    }

    @Test func aRequestSpanContinuesTheClientsTraceWithAChildPerAttempt() async throws {
        let tracer = InMemoryTracer()
        try await LiveCluster.run(
            simulators: Self.simulators, access: Self.access, observability: GatewayObservability(tracer: tracer), routes: Self.routes
        ) { cluster in
            let headers = Self.key + [(InMemoryTracer.traceIDKey, "client-trace"), (InMemoryTracer.spanIDKey, "client-span")]
            let reply = try await cluster.post(body: LiveCluster.chat(route: "failing", user: "u1", stream: true), headers: headers)
            #expect(reply.status == 200)
            // The upstream that answered was called with the second attempt's context.
            let upstream = cluster.simulators[0].lastRequestHeaders
            let spans = tracer.finishedSpans
            let server = try #require(spans.first { $0.kind == .server })
            let attempts = spans.filter { $0.kind == .client }
            try #require(attempts.count == 2)
            #expect(server.traceID == "client-trace")
            #expect(server.parentSpanID == "client-span")
            #expect(server.operationName == "chat failing")
            #expect(server.attributes["gen_ai.operation.name"]?.toSpanAttribute() == "chat")
            #expect(server.attributes["gen_ai.request.model"]?.toSpanAttribute() == "failing")
            #expect(server.attributes["gen_ai.response.model"]?.toSpanAttribute() == "gpt-4o@2024-11-20")
            #expect(server.attributes["switchyard.route"]?.toSpanAttribute() == "failing")
            #expect(server.attributes["switchyard.deployment"]?.toSpanAttribute() == "backup")
            #expect(server.attributes["switchyard.attempts"]?.toSpanAttribute() == 2)
            #expect(server.attributes["switchyard.client"]?.toSpanAttribute() == "team-a")
            #expect(server.attributes["http.response.status_code"]?.toSpanAttribute() == 200)
            #expect(server.attributes["switchyard.time_to_first_token"] != nil)
            for attempt in attempts {
                #expect(attempt.traceID == "client-trace")
                #expect(attempt.parentSpanID == server.spanID)
            }
            let failed = try #require(attempts.first { $0.attributes["switchyard.deployment"]?.toSpanAttribute() == "broken" })
            #expect(failed.status?.code == .error)
            let answered = try #require(attempts.first { $0.attributes["switchyard.deployment"]?.toSpanAttribute() == "backup" })
            #expect(answered.attributes["gen_ai.provider.name"]?.toSpanAttribute() == "openai")
            #expect(answered.attributes["server.address"]?.toSpanAttribute() == "127.0.0.1")
            #expect(upstream[InMemoryTracer.spanIDKey] == answered.spanID, "the upstream's parent is the attempt that reached it")
        }
    }

    @Test func withNothingOnNoRequestBuildsATrail() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.routes) { cluster in
            #expect(!cluster.gateway.observability.isOn)
            let reply = try await cluster.post(body: LiveCluster.chat(), headers: [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
            #expect(reply.status == 200)
            #expect(cluster.simulators[0].lastRequestHeaders["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "off, the client's own context passes through")
        }
    }
}
