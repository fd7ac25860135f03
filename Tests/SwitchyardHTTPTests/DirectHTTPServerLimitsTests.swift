import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
@testable import SwitchyardHTTP
import Testing

/// The server's defences against clients that hold connections without
/// using them, trickle their headers, flood it, or follow a good request
/// with garbage — checked over real loopback sockets with short limits.
@Suite("Direct HTTP/1.1 server: connection limits and timeouts", .serialized)
struct DirectHTTPServerLimitsTests {
    /// A client connection that only watches for the server closing it.
    final class IdleClient: Sendable {
        let channel: any Channel

        init(port: Int, send: String = "", reads: Bool = true) async throws {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(ChannelOptions.autoRead, value: reads)
                .connect(host: "127.0.0.1", port: port).get()
            if !send.isEmpty { try await channel.writeAndFlush(ByteBuffer(string: send)).get() }
        }

        /// Whether the server closes the connection within `limit` (never waits longer).
        func closedByServer(within limit: Duration) async -> Bool {
            let answered = Mutex(false)
            return await withCheckedContinuation { continuation in
                let finish: @Sendable (Bool) -> Void = { closed in
                    let first = answered.withLock { done in
                        defer { done = true }
                        return !done
                    }
                    if first { continuation.resume(returning: closed) }
                }
                channel.closeFuture.whenComplete { _ in finish(true) }
                Task {
                    try? await Task.sleep(for: limit)
                    finish(false)
                }
            }
        }

        /// Starts reading, so a close the server made is noticed.
        func startReading() {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in self.channel.read() }
        }

        var isOpen: Bool { channel.isActive }

        func close() { channel.close(promise: nil) }
    }

    @Test func aPipelinedGoodRequestIsAnsweredBeforeThe400ForGarbageAfterIt() async throws {
        try await DirectHTTPServerTests.withServer { port, gate, _ in
            let quick = try await RawHTTP.exchange(port: port, send: "GET /name/first HTTP/1.1\r\nHost: x\r\n\r\n\u{1}\u{2}GARBAGE\r\n\r\n")
            #expect(quick.text.hasPrefix("HTTP/1.1 200"), "\(quick.text)")
            #expect(quick.text.contains("first"))
            #expect(quick.text.contains("HTTP/1.1 400"), "\(quick.text)")
            #expect(quick.text.range(of: "first")!.lowerBound < quick.text.range(of: "HTTP/1.1 400")!.lowerBound)
            #expect(quick.closed)
            // The same with the good request still in flight when the garbage arrives.
            async let slow = RawHTTP.exchange(port: port, send: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /name/second HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n")
            await gate.waitForArrival()
            await gate.release()
            let text = try await slow.text
            let order = ["done", "second", "HTTP/1.1 400"].compactMap { text.range(of: $0)?.lowerBound }
            #expect(order.count == 3 && order == order.sorted(), "\(text)")
        }
    }

    @Test func garbageArrivingInSeveralReadsStillLetsTheReplyBeforeItOut() async throws {
        try await DirectHTTPServerTests.withServer { port, gate, _ in
            async let exchange = RawHTTP.exchange(
                port: port, send: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n", more: ["more garbage\r\n", "and more\r\n\r\n"]
            )
            await gate.waitForArrival()
            try await Task.sleep(for: .milliseconds(300))  // every garbage write has arrived while the request is in flight
            await gate.release()
            let text = try await exchange.text
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(text)")
            #expect(text.contains("done") && text.contains("HTTP/1.1 400"), "\(text)")
        }
    }

    @Test func aRefusedBodyThatStallsDoesNotHoldItsConnection() async throws {
        let limits = ConnectionLimits(idleTimeout: .seconds(30), headerTimeout: .milliseconds(300))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, _, _ in
            // Declared past the cap: 413 at once; the rest of the body never comes.
            let exchange = try await RawHTTP.exchange(port: port, send: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
            #expect(exchange.text.hasPrefix("HTTP/1.1 413"), "\(exchange.text)")
            #expect(exchange.closed, "closed after the header timeout, not held as busy")
        }
    }

    @Test func aClientThatStopsReadingItsReplyIsLetGoAfterTheIdleTimeout() async throws {
        let limits = ConnectionLimits(idleTimeout: .milliseconds(500), headerTimeout: .seconds(30))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, _, _ in
            let stalled = try await IdleClient(port: port, send: "GET /firehose HTTP/1.1\r\nHost: x\r\n\r\n", reads: false)
            defer { stalled.close() }
            try await Task.sleep(for: .seconds(2))  // well past the idle time with the reply stuck
            stalled.startReading()  // drains what was sent, then sees the server's close
            #expect(await stalled.closedByServer(within: .seconds(10)), "a reply nobody reads does not hold its connection for ever")
        }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        let limits = ConnectionLimits(idleTimeout: .milliseconds(300), headerTimeout: .seconds(30))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, _, _ in
            let silent = try await IdleClient(port: port)
            #expect(await silent.closedByServer(within: .seconds(5)), "a connection that never sends is closed")
            // A keep-alive connection is closed after its last reply plus the idle time.
            let kept = try await RawHTTP.exchange(port: port, send: "GET /name/a HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(kept.text.hasSuffix("a"))
            #expect(kept.closed, "closed by the server once idle")
        }
    }

    @Test func aTricklingHeaderIsClosedAfterTheHeaderTimeout() async throws {
        let limits = ConnectionLimits(idleTimeout: .seconds(30), headerTimeout: .milliseconds(300))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, _, _ in
            let slowloris = try await IdleClient(port: port, send: "GET /name/a HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            #expect(await slowloris.closedByServer(within: .seconds(5)), "half a head is not held open")
            // A stalled body is treated the same way.
            let stalled = try await IdleClient(port: port, send: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            #expect(await stalled.closedByServer(within: .seconds(5)))
        }
    }

    @Test func atTheConnectionCapANewClientTakesTheLongestIdleOnesPlace() async throws {
        let limits = ConnectionLimits(maxConnections: 4, idleTimeout: .seconds(60), headerTimeout: .seconds(60))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, _, _ in
            var idle: [IdleClient] = []
            for _ in 0..<4 {
                idle.append(try await IdleClient(port: port))
                try await Task.sleep(for: .milliseconds(20))  // a distinct idle age each
            }
            for round in 0..<6 {
                let reply = try await RawHTTP.exchange(port: port, send: "GET /name/new\(round) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(reply.text.hasPrefix("HTTP/1.1 200"), "round \(round): \(reply.text)")
            }
            #expect(await idle[0].closedByServer(within: .seconds(5)), "the oldest idle connection made room")
            for client in idle { client.close() }
        }
    }

    @Test func connectionsStillReceivingABodyCanBeRecycledAtTheCap() async throws {
        let limits = ConnectionLimits(maxConnections: 3, idleTimeout: .seconds(60), headerTimeout: .seconds(60))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, _, _ in
            // Cap-many uploads that never finish: they are not with the responder yet.
            var uploads: [IdleClient] = []
            for _ in 0..<3 {
                uploads.append(try await IdleClient(port: port, send: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"))
                try await Task.sleep(for: .milliseconds(20))
            }
            let reply = try await RawHTTP.exchange(port: port, send: "GET /name/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(reply.text.hasPrefix("HTTP/1.1 200"), "\(reply.text)")
            #expect(await uploads[0].closedByServer(within: .seconds(5)), "the oldest stalled upload made room")
            for upload in uploads { upload.close() }
        }
    }

    @Test func whenEverySlotIsBusyANewClientGetsA503() async throws {
        let limits = ConnectionLimits(maxConnections: 1, idleTimeout: .seconds(60), headerTimeout: .seconds(60))
        try await DirectHTTPServerTests.withServer(limits: limits) { port, gate, _ in
            async let busy = RawHTTP.exchange(port: port, send: "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await gate.waitForArrival()
            // The refusal comes at once, before the client says anything.
            let refused = try await RawHTTP.exchange(port: port, send: "")
            #expect(refused.text.hasPrefix("HTTP/1.1 503"), "\(refused.text)")
            #expect(refused.text.contains("too_many_connections"))
            #expect(refused.closed)
            await gate.release()
            #expect(try await busy.text.hasSuffix("done"), "the busy connection was not the one sacrificed")
        }
    }

    @Test func theGovernorEvictsOnlyIdleConnections() throws {
        let governor = ConnectionGovernor(limit: 2)
        let channels = (0..<3).map { _ in EmbeddedChannel() }
        defer { for channel in channels { _ = try? channel.finish() } }
        let now = NIODeadline.now()
        let first = GovernedConnection(channel: channels[0], now: now)
        let second = GovernedConnection(channel: channels[1], now: now + .milliseconds(5))
        #expect(governor.admit(first) && governor.admit(second))
        first.markBusy()
        second.markBusy()
        #expect(!governor.admit(GovernedConnection(channel: channels[2], now: now)), "all busy: refused")
        second.markIdle(now + .milliseconds(10))
        #expect(governor.admit(GovernedConnection(channel: channels[2], now: now)), "an idle one makes room")
        #expect(governor.evictedConnections == 1 && governor.refusedConnections == 1)
        #expect(governor.openConnections == 2)
    }
}
