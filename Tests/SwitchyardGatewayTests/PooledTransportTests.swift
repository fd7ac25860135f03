import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardHTTP
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardTesting

/// The pooled HTTP/1.1 transport against a simulated upstream on loopback.
@Suite struct PooledTransportTests {
    static func request(stream: Bool = false) -> UpstreamRequest {
        let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":\#(stream)}"#
        return UpstreamRequest(target: "/v1/chat/completions", headers: ["content-type": "application/json"], body: ByteBuffer(string: body))
    }

    static func deadline(_ milliseconds: Int64 = 5_000) -> NIODeadline { .now() + .milliseconds(milliseconds) }

    /// Runs `body` with a transport to one simulator built from `configuration`.
    /// The transport runs on a loop of its own: connections are pooled per
    /// loop, and one loop makes the counts exact.
    static func withUpstream(
        _ configuration: SimulatorConfiguration,
        maxConnections: Int = 256,
        maxWaiting: Int? = nil,
        maxQueueWait: TimeAmount = .seconds(1),
        idleTimeout: TimeAmount = .seconds(55),
        _ body: @Sendable (PooledHTTP1Transport, Simulator) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let simulator = Simulator(configuration: configuration)
            let port = try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: LiveCluster.logger, onServerRunning: $0) }
            let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let transport = PooledHTTP1Transport(
                host: "127.0.0.1", port: port, connectTimeout: .seconds(2), maxConnectionsPerLoop: maxConnections,
                maxWaitingPerLoop: maxWaiting, maxQueueWait: maxQueueWait, idleTimeout: idleTimeout, group: loop
            )
            do {
                try await body(transport, simulator)
            } catch {
                transport.shutdown()
                try await loop.shutdownGracefully()
                throw error
            }
            transport.shutdown()
            try await loop.shutdownGracefully()
            group.cancelAll()
        }
    }

    /// Polls (briefly) until `condition` holds: connection bookkeeping
    /// happens on the event loop, just after the reader is answered.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero)) { transport, simulator in
            for _ in 0..<5 {
                let reply = try await transport.send(Self.request(), headDeadline: Self.deadline())
                #expect(reply.status == 200)
                let body = try await reply.collect(upTo: 1 << 20, deadline: Self.deadline())
                #expect(String(buffer: body).contains("chat.completion"))
            }
            #expect(simulator.requestCount == 5)
            let oneIdle = try await Self.eventually { transport.connectionCounts == (1, 1) }
            #expect(oneIdle, "five requests in a row share one kept-alive connection: \(transport.connectionCounts)")
        }
    }

    /// Sends `count` requests at once and expects every one to succeed.
    static func sendAtOnce(_ count: Int, through transport: PooledHTTP1Transport) async throws {
        try await withThrowingTaskGroup(of: UInt.self) { group in
            for _ in 0..<count {
                group.addTask {
                    let reply = try await transport.send(request(), headDeadline: deadline())
                    _ = try await reply.collect(upTo: 1 << 20, deadline: deadline())
                    return reply.status
                }
            }
            for try await status in group { #expect(status == 200) }
        }
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero), idleTimeout: .milliseconds(200)) { transport, _ in
            // With the default timeout these stay pooled (sequentialRequestsReuseOneConnection);
            // how soon the sweep runs after the requests depends on the machine, so only the end is checked.
            try await Self.sendAtOnce(3, through: transport)
            let closed = try await Self.eventually { transport.connectionCounts == (0, 0) }
            #expect(closed, "idle past the timeout, every connection is closed: \(transport.connectionCounts)")
        }
    }

    @Test func concurrentRequestsOpenTheirOwnConnections() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .milliseconds(50))) { transport, _ in
            try await Self.sendAtOnce(4, through: transport)
            #expect(transport.connectionCounts.open >= 2)
            #expect(transport.connectionCounts.open <= 4)
        }
    }

    @Test func aBurstWaitsForTheConnectionCapInsteadOfOpeningMore() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .milliseconds(30)), maxConnections: 2, maxWaiting: 8) { transport, simulator in
            try await Self.sendAtOnce(8, through: transport)
            #expect(simulator.requestCount == 8)
            #expect(transport.connectionCounts.open <= 2, "eight requests at once, two connections at most")
        }
    }

    @Test func aRequestQueuedPastItsDeadlineTimesOutAndTheQueueMovesOn() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .milliseconds(300)), maxConnections: 1) { transport, _ in
            async let first = transport.send(Self.request(), headDeadline: Self.deadline())
            try await Task.sleep(for: .milliseconds(50))
            await #expect(throws: UpstreamError.timedOut) {
                _ = try await transport.send(Self.request(), headDeadline: Self.deadline(100))
            }
            let reply = try await first
            _ = try await reply.collect(upTo: 1 << 20, deadline: Self.deadline())
            // The one connection is free again, and serves the next request.
            let next = try await transport.send(Self.request(), headDeadline: Self.deadline())
            #expect(next.status == 200)
        }
    }

    @Test func pastTheQueueARequestIsRefusedAtOnceAsSaturated() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .milliseconds(300)), maxConnections: 1, maxWaiting: 1) { transport, simulator in
            async let first = transport.send(Self.request(), headDeadline: Self.deadline())
            try await Task.sleep(for: .milliseconds(50))
            async let queued = transport.send(Self.request(), headDeadline: Self.deadline())
            try await Task.sleep(for: .milliseconds(50))
            let started = ContinuousClock.now
            await #expect(throws: UpstreamError.saturated(origin: "127.0.0.1:\(transport.port)", connections: 1)) {
                _ = try await transport.send(Self.request(), headDeadline: Self.deadline())
            }
            #expect(ContinuousClock.now - started < .milliseconds(200), "a full queue refuses without waiting")
            for reply in [try await first, try await queued] {
                _ = try await reply.collect(upTo: 1 << 20, deadline: Self.deadline())
            }
            #expect(simulator.requestCount == 2)
        }
    }

    @Test func aQueuedRequestWhoseDeadlinePassedGivesUpItsPlace() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .milliseconds(400)), maxConnections: 1, maxWaiting: 1) { transport, _ in
            async let first = transport.send(Self.request(), headDeadline: Self.deadline())
            try await Task.sleep(for: .milliseconds(50))
            await #expect(throws: UpstreamError.timedOut) {
                _ = try await transport.send(Self.request(), headDeadline: Self.deadline(100))
            }
            // The one place in the queue is free again: this one waits and is served.
            let queued = try await transport.send(Self.request(), headDeadline: Self.deadline())
            #expect(queued.status == 200)
            _ = try await first
        }
    }

    @Test func aRequestWaitingLongerThanTheQueueAllowsIsSaturatedNotTimedOut() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .milliseconds(600)), maxConnections: 1, maxQueueWait: .milliseconds(100)) { transport, _ in
            async let first = transport.send(Self.request(), headDeadline: Self.deadline())
            try await Task.sleep(for: .milliseconds(50))
            await #expect(throws: UpstreamError.saturated(origin: "127.0.0.1:\(transport.port)", connections: 1)) {
                _ = try await transport.send(Self.request(), headDeadline: Self.deadline())
            }
            let reply = try await first
            _ = try await reply.collect(upTo: 1 << 20, deadline: Self.deadline())
            // The expired request gave up its place: the queue takes new ones.
            let next = try await transport.send(Self.request(), headDeadline: Self.deadline())
            #expect(next.status == 200)
        }
    }

    @Test func aSilentUpstreamTimesOutAndItsConnectionIsClosed() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero, errorRate: 1, errorKind: .timeout)) { transport, _ in
            let started = ContinuousClock.now
            await #expect(throws: UpstreamError.timedOut) {
                _ = try await transport.send(Self.request(), headDeadline: Self.deadline(200))
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            let closed = try await Self.eventually { transport.connectionCounts.open == 0 }
            #expect(closed, "a connection with a reply still owed is never reused")
        }
    }

    @Test func aRefusedConnectionIsAConnectFailure() async throws {
        // Bind a port, then close it: nothing listens there any more.
        let port = try await withThrowingTaskGroup(of: Void.self) { group in
            let port = try await startListening(in: &group) { Simulator(configuration: SimulatorConfiguration()).buildApplication(host: "127.0.0.1", port: 0, logger: LiveCluster.logger, onServerRunning: $0) }
            group.cancelAll()
            return port
        }
        let transport = PooledHTTP1Transport(host: "127.0.0.1", port: port, connectTimeout: .seconds(2))
        defer { transport.shutdown() }
        await Self.expectConnectFailure(transport)
    }

    static func expectConnectFailure(_ transport: any UpstreamTransport) async {
        do {
            _ = try await transport.send(request(), headDeadline: deadline())
            Issue.record("expected a connect failure")
        } catch {
            if case .connectFailed = error { return }
            Issue.record("expected connectFailed, got \(error)")
        }
    }

    @Test func aBodyOverTheLimitFails() async throws {
        try await Self.withUpstream(SimulatorConfiguration(latencyMean: .zero)) { transport, _ in
            let reply = try await transport.send(Self.request(), headDeadline: Self.deadline())
            await #expect(throws: UpstreamError.tooLarge(limit: 10)) {
                _ = try await reply.collect(upTo: 10, deadline: Self.deadline())
            }
            // Whether that connection was closed or (the reply having ended) reused, the next request is whole.
            let next = try await transport.send(Self.request(), headDeadline: Self.deadline())
            let body = try await next.collect(upTo: 1 << 20, deadline: Self.deadline())
            #expect(String(buffer: body).hasSuffix("}"))
        }
    }

    @Test func aStreamArrivesChunkByChunkAndEndsCleanly() async throws {
        let configuration = SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 2_000, replyTokens: 8)
        try await Self.withUpstream(configuration) { transport, _ in
            let reply = try await transport.send(Self.request(stream: true), headDeadline: Self.deadline())
            #expect(reply.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            var chunks = 0
            var text = ""
            while let chunk = try await reply.next(deadline: Self.deadline()) {
                chunks += 1
                text += String(buffer: chunk)
            }
            #expect(chunks > 1)
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            let reused = try await Self.eventually { transport.connectionCounts == (1, 1) }
            #expect(reused)
        }
    }

    @Test func droppingAReplyHalfReadClosesItsConnection() async throws {
        let configuration = SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 20, replyTokens: 40)
        try await Self.withUpstream(configuration) { transport, _ in
            var reply: (any UpstreamReply)? = try await transport.send(Self.request(stream: true), headDeadline: Self.deadline())
            _ = try await reply?.next(deadline: Self.deadline())
            reply = nil
            let closed = try await Self.eventually { transport.connectionCounts.open == 0 }
            #expect(closed, "the rest of that reply would otherwise be read as the next one's")
        }
    }

    /// An upstream that drops the connection half-way through a stream.
    static let cutting = SimulatorConfiguration(latencyMean: .zero, tokensPerSecond: 2_000, errorRate: 1, errorKind: .cutStream, replyTokens: 10)

    /// Reads a stream to its end, which must be an error (`.broken`), never a clean nil.
    static func expectBroken(_ transport: any UpstreamTransport) async throws {
        let reply = try await transport.send(request(stream: true), headDeadline: deadline())
        do {
            while try await reply.next(deadline: deadline()) != nil {}
            Issue.record("a cut stream must not end cleanly")
        } catch {
            if case .broken = error { return }
            Issue.record("expected broken, got \(error)")
        }
    }

    @Test func aCutStreamIsBrokenNotEnded() async throws {
        try await Self.withUpstream(Self.cutting) { transport, _ in
            try await Self.expectBroken(transport)
        }
    }
}
