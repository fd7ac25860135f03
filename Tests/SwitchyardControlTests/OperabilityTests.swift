import AsyncHTTPClient
import InMemoryTracing
import NIOCore
import SwitchyardClient
import SwitchyardCore
import SwitchyardGateway
import SwitchyardServer
import SwitchyardTesting
import Testing
import Tracing

/// What an SRE's tools see of a whole server: rollout gauges on `/metrics`
/// for alerts, and spans for management-API changes and the rollout
/// transitions they set off.
@Suite struct OperabilityTests {
    static let canary: JSONValue = [
        "strategy": "canary", "canary": "canary",
        "steps": [["setWeight": 25], ["pause": "1h"], ["setWeight": 100]],
    ]

    static func metrics(_ server: TestServer) async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.gatewayURL + "/metrics"), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }

    @Test func rolloutGaugesFollowTheRolloutAndChangesAreSpansWithTheirTransitionsAsChildren() async throws {
        let tracer = InMemoryTracer()
        try await TestServer.run(routes: [TestRoutes.chatProd(stable: 100, canary: 0)], adjust: { $0.observability.tracer = tracer }) { server in
            let before = try await Self.metrics(server)
            #expect(before.contains("switchyard_state_store_up 1"))
            #expect(!before.contains("switchyard_rollout_active{"), "no rollout, no series")
            #expect(before.contains(#"switchyard_deployment_info{route="chat-prod",deployment="canary",provider="openai",model="gpt-4o",version="2025-05-13"} 1"#))
            #if os(Linux)
            for name in ["process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ", "process_max_fds ", "process_start_time_seconds "] {
                #expect(before.contains("\n" + name), "\(name)is exported")
            }
            #endif

            _ = try await server.client().startRollout(route: "chat-prod", plan: Self.canary)
            let running = try await Self.metrics(server)
            #expect(running.contains(#"switchyard_rollout_active{route="chat-prod",strategy="canary",state="progressing"} 1"#))
            #expect(running.contains(#"switchyard_rollout_deployment_role{route="chat-prod",deployment="stable",role="stable"} 1"#))
            #expect(running.contains(#"switchyard_rollout_deployment_role{route="chat-prod",deployment="canary",role="candidate"} 1"#))
            #expect(running.contains(#"switchyard_rollout_state_since_timestamp_seconds{route="chat-prod"} "#))
            #expect(running.contains(#"switchyard_rollouts_finished_total{route="chat-prod",strategy="canary",state="aborted"} 0"#), "the ending's series is there from the start")

            _ = try await server.client().operate(route: "chat-prod", .pause, reason: "looking")
            let paused = try await Self.metrics(server)
            #expect(paused.contains(#"switchyard_rollout_active{route="chat-prod",strategy="canary",state="paused"} 1"#))

            _ = try await server.client().operate(route: "chat-prod", .abort, reason: "done")
            let ended = try await Self.metrics(server)
            #expect(!ended.contains("switchyard_rollout_active{"), "a finished rollout leaves the gauges")
            #expect(ended.contains(#"switchyard_rollouts_finished_total{route="chat-prod",strategy="canary",state="aborted"} 1"#))
            #expect(ended.contains(#"switchyard_rollouts_finished_total{route="chat-prod",strategy="canary",state="rolled_back"} 0"#))
        }
        let spans = tracer.finishedSpans
        let changes = spans.filter { $0.operationName == "management POST" }
        #expect(changes.count == 3, "start, pause, abort")
        let start = try #require(spans.first { $0.operationName == "rollout rollout.start" })
        #expect(changes.contains { $0.spanID == start.parentSpanID }, "the start is a child of the call that made it")
        #expect(start.attributes["switchyard.route"]?.toSpanAttribute() == "chat-prod")
        #expect(start.attributes["switchyard.rollout.strategy"]?.toSpanAttribute() == "canary")
        let call = try #require(changes.first)
        #expect(call.attributes["switchyard.actor"] != nil)
        #expect(call.attributes["http.response.status_code"] != nil)
    }
}
