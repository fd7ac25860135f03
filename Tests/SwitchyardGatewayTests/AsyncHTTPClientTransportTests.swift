import AsyncHTTPClient
import NIOCore
import NIOPosix
import SwitchyardHTTP
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardTesting

/// The transport HTTPS upstreams use, against a plain-HTTP simulator (TLS is
/// AsyncHTTPClient's own): the same contract as the pooled transport —
/// deadlines, limits, streams chunk by chunk, and a cut stream as an error.
@Suite struct AsyncHTTPClientTransportTests {
    typealias Pooled = PooledTransportTests

    /// The client as the gateway sets it up.
    static func client() -> HTTPClient {
        HTTPClient(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            configuration: UpstreamClients.clientConfiguration(connectTimeout: .seconds(2), connectionsPerHost: 8)
        )
    }

    static func withUpstream(
        _ configuration: SimulatorConfiguration,
        _ body: @Sendable (AsyncHTTPClientTransport) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let simulator = Simulator(configuration: configuration)
            let port = try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: LiveCluster.logger, onServerRunning: $0) }
            let client = Self.client()
            let transport = AsyncHTTPClientTransport(origin: "http://127.0.0.1:\(port)", client: client)
            do {
                try await body(transport)
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
    }

    @Test func aReplyIsCollectedWhole() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero)) { transport in
            let reply = try await transport.send(Pooled.request(), headDeadline: Pooled.deadline())
            #expect(reply.status == 200)
            let body = try await reply.collect(upTo: 1 << 20, deadline: Pooled.deadline())
            #expect(String(buffer: body).contains("chat.completion"))
        }
    }

    @Test func aSilentUpstreamTimesOut() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero, errorRate: 1, errorKind: .timeout)) { transport in
            await #expect(throws: UpstreamError.timedOut) {
                _ = try await transport.send(Pooled.request(), headDeadline: Pooled.deadline(200))
            }
        }
    }

    @Test func aBodyOverTheLimitFails() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero)) { transport in
            let reply = try await transport.send(Pooled.request(), headDeadline: Pooled.deadline())
            await #expect(throws: UpstreamError.tooLarge(limit: 10)) {
                _ = try await reply.collect(upTo: 10, deadline: Pooled.deadline())
            }
        }
    }

    @Test func aStreamArrivesChunkByChunkAndACutOneIsBroken() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 2_000, replyTokens: 8)) { transport in
            let reply = try await transport.send(Pooled.request(stream: true), headDeadline: Pooled.deadline())
            var text = ""
            var chunks = 0
            while let chunk = try await reply.next(deadline: Pooled.deadline()) {
                chunks += 1
                text += String(buffer: chunk)
            }
            #expect(chunks > 1)
            #expect(text.hasSuffix("data: [DONE]\n\n"))
        }
        try await Self.withUpstream(Pooled.cutting) { transport in
            try await Pooled.expectBroken(transport)
        }
    }

    @Test func aRefusedConnectionIsAConnectFailure() async throws {
        let client = Self.client()
        await Pooled.expectConnectFailure(AsyncHTTPClientTransport(origin: "http://127.0.0.1:1", client: client))
        try await client.shutdown()
    }
}
