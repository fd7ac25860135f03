import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardClock

@Suite("Streaming passes chunks through as they arrive")
struct StreamingTests {
    @Test func chunksReachTheClientBeforeTheUpstreamHasFinished() async throws {
        // 20 words at 20 tokens/s: the upstream needs a second to finish.
        let slow = SimulatorConfiguration(latencyMean: .milliseconds(1), tokensPerSecond: 20, replyTokens: 20)
        try await LiveCluster.run(simulators: [slow], routes: ResilienceTests.single()) { cluster in
            var request = HTTPClientRequest(url: cluster.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: LiveCluster.chat(route: "solo", stream: true)))
            let started = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var arrivals: [Duration] = []
            var text = ""
            for try await buffer in response.body {
                arrivals.append(ContinuousClock.now - started)
                text += String(buffer: buffer)
            }
            #expect(arrivals.count >= 10, "the reply arrived in \(arrivals.count) pieces")
            // Relayed as produced, the pieces are spread over the upstream's
            // second; buffered, they would arrive together at its end. (A spread,
            // not absolute times, so a busy machine does not fail the test.)
            #expect(arrivals.last! - arrivals.first! > .milliseconds(600), "pieces from \(arrivals.first!) to \(arrivals.last!)")
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            #expect(!text.contains(#""usage":{"#), "the client did not ask for usage")
            // The gateway still counted the tokens from the usage chunk it asked for.
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.completionTokens == 20)
            #expect(window.timeToFirstToken.total == 1)
        }
    }

    @Test func theUsageChunkIsForwardedWhenTheClientAsksForIt() async throws {
        try await LiveCluster.run(simulators: [SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 1000)], routes: ResilienceTests.single()) { cluster in
            let reply = try await cluster.post(
                body: LiveCluster.chat(route: "solo", stream: true, extra: #""stream_options":{"include_usage":true}"#)
            )
            #expect(reply.body.contains(#""choices":[],"usage":{"prompt_tokens""#))
            #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func aStreamFailingBeforeItsFirstChunkFailsOver() async throws {
        let hang = SimulatorConfiguration(latencyMean: .zero, errorRate: 1, errorKind: .timeout)
        let healthy = SimulatorConfiguration(version: "2025-05-13", latencyMean: .zero, tokensPerSecond: 1000)
        let quick = UpstreamTimeouts(firstToken: .milliseconds(300))
        try await LiveCluster.run(simulators: [hang, healthy], routes: ResilienceTests.pair(quick)) { cluster in
            let reply = try await cluster.post(body: LiveCluster.chat(user: ResilienceTests.primaryUser, stream: true))
            #expect(reply.status == 200)
            #expect(reply.deployment == "backup")
            #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
        }
    }
}
