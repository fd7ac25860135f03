import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardClock

/// Streams relayed from the event loop (``LoopStreamRelay``): the upstream
/// connection's lifecycle, a client that leaves or reads slowly, an upstream
/// that falls silent.
@Suite("Streams relayed from the event loop")
struct LoopRelayTests {
    @Test func aFinishedStreamGivesItsUpstreamConnectionBackForTheNext() async throws {
        let quick = SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 2_000, replyTokens: 8)
        try await LiveCluster.run(simulators: [quick], routes: ResilienceTests.single()) { cluster in
            for _ in 0..<3 {
                let reply = try await cluster.post(body: LiveCluster.chat(route: "solo", stream: true))
                #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
                let parked = try await PooledTransportTests.eventually { cluster.gateway.clients.pooledConnectionCounts == (1, 1) }
                #expect(parked, "open and idle: \(cluster.gateway.clients.pooledConnectionCounts)")
            }
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.count(.success) == 3)
        }
    }

    @Test func aClientLeavingMidStreamClosesTheUpstreamConnectionAndIsNotTheDeploymentsFault() async throws {
        let slow = SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 20, replyTokens: 200)
        try await LiveCluster.run(simulators: [slow], routes: ResilienceTests.single()) { cluster in
            var request = HTTPClientRequest(url: cluster.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: LiveCluster.chat(route: "solo", stream: true)))
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                var iterator = response.body.makeAsyncIterator()
                let first = try await iterator.next()
                #expect(first.map { String(buffer: $0).hasPrefix("data: ") } == true)
                #expect(cluster.gateway.clients.pooledConnectionCounts.open == 1)
            }
            // Its connection goes with the client.
            try await client.shutdown()
            let closed = try await PooledTransportTests.eventually { cluster.gateway.clients.pooledConnectionCounts.open == 0 }
            #expect(closed, "open and idle: \(cluster.gateway.clients.pooledConnectionCounts)")
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.requests == 0, "a client leaving records no outcome against the deployment")
        }
    }

    @Test func aSlowReaderGetsEveryEventOfALongStreamAndIsNotTakenForAnIdleUpstream() async throws {
        // A client with a 4 KiB receive buffer that reads nothing for 2.5 s:
        // the gateway's socket to it fills, and the upstream's reads are held
        // until it drains. That wait is the client's: with a 1 s idle timeout
        // the stream still ends whole.
        let flood = SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 1_000_000, replyTokens: 15_000)
        let impatient = UpstreamTimeouts(idle: .seconds(1))
        try await LiveCluster.run(simulators: [flood], routes: ResilienceTests.single(impatient)) { cluster in
            let text = try await SlowReader.fetch(
                port: cluster.gatewayPort, body: LiveCluster.chat(route: "solo", stream: true), waitingFirst: .milliseconds(2_500)
            )
            // The last event, then the end of the chunked body.
            let endedWithDone = text.hasSuffix("data: [DONE]\n\n\r\n0\r\n\r\n")
            #expect(endedWithDone, "ended with: \(text.suffix(300))")
            let events = text.components(separatedBy: "data: ").count - 1
            // One event per token, the finish event and [DONE].
            #expect(events >= 15_000)
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.count(.success) == 1)
            #expect(window.count(.timeout) == 0)
            #expect(window.completionTokens == 15_000)
        }
    }

    @Test func anUpstreamFallingSilentMidStreamEndsWithATimeoutEvent() async throws {
        let upstream = try await ScriptedUpstream.start(
            reply: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                + ScriptedUpstream.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hello"}}]}"# + "\n\n")
        )
        let quick = UpstreamTimeouts(idle: .milliseconds(300))
        try await LiveCluster.run(simulators: [], routes: { _ in ResilienceTests.single(quick)([upstream.port]) }) { cluster in
            let reply = try await cluster.post(body: LiveCluster.chat(route: "solo", stream: true))
            #expect(reply.status == 200)
            #expect(reply.body.contains(#""content":"hello""#))
            #expect(reply.body.contains(#""code":"upstream_timeout""#))
            #expect(reply.body.contains("idle between chunks"))
            #expect(!reply.body.contains("[DONE]"))
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.count(.timeout) == 1)
            // A connection stalled mid-body cannot carry another request.
            let closed = try await PooledTransportTests.eventually { cluster.gateway.clients.pooledConnectionCounts.open == 0 }
            #expect(closed)
        }
        try await upstream.stop()
    }
}

/// An upstream on loopback that answers every request with the same bytes
/// and then says nothing more, keeping the connection open.
struct ScriptedUpstream {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    static func chunk(_ text: String) -> String {
        String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n"
    }

    static func start(reply: String) async throws -> ScriptedUpstream {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer(reply: reply)) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedUpstream(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }

    private final class Answer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let reply: String
        var answered = false

        init(reply: String) { self.reply = reply }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            answered = true
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: reply)), promise: nil)
        }
    }
}

/// A client that sends one request with `connection: close`, reads nothing
/// for a while with a small receive buffer, then reads the whole reply.
enum SlowReader {
    static func fetch(port: Int, body: String, waitingFirst pause: Duration) async throws -> String {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            + "connection: close\r\ncontent-length: \(body.utf8.count)\r\n\r\n" + body
        try await channel.writeAndFlush(channel.allocator.buffer(string: request))
        try await Task.sleep(for: pause)
        try await channel.setOption(.autoRead, value: true).get()
        channel.read()
        try await channel.closeFuture.get()
        return try await collector.text.futureResult.get()
    }

    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private var received = ByteBuffer()
        let text = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: String.self)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var part = unwrapInboundIn(data)
            received.writeBuffer(&part)
        }

        func channelInactive(context: ChannelHandlerContext) {
            text.succeed(String(buffer: received))
        }
    }
}
