import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
@testable import SwitchyardHTTP
import Testing

/// The data plane's HTTP/1.1 server, spoken to in raw bytes over loopback:
/// what a client library would hide — pipelining, connection close, cut
/// replies, malformed requests — is what these check.
@Suite("Direct HTTP/1.1 server", .serialized)
struct DirectHTTPServerTests {
    static let cap = 1024

    /// A router with the shapes the gateway's handlers have: a fixed reply,
    /// a body read up to a cap, a stream that fails half-way, and a reply
    /// that waits until the test lets it go.
    static func router(gate: Gate) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/name/{name}") { _, context in
            context.parameters.get("name") ?? ""
        }
        router.post("/echo") { request, _ in
            let body = try await request.body.collect(upTo: Self.cap)
            return Response(status: .ok, body: ResponseBody(byteBuffer: body))
        }
        router.get("/broken-stream") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "data: first\n\n"))
                throw CancellationError()
            })
        }
        router.get("/stream") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                for index in 0..<3 { try await writer.write(ByteBuffer(string: "data: \(index)\n\n")) }
                try await writer.finish(nil)
            })
        }
        router.get("/firehose") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                for _ in 0..<(1 << 24) { try await writer.write(chunk) }  // 1 TiB: a reply that does not end while anyone reads it
                try await writer.finish(nil)
            })
        }
        router.get("/slow") { _, _ in
            await gate.arrive()
            return "done"
        }
        return router
    }

    /// Runs a server on a free loopback port inside a service group for `body`.
    static func withServer(limits: ConnectionLimits = ConnectionLimits(), _ body: (Int, Gate, ServiceGroup) async throws -> Void) async throws {
        let gate = Gate()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = DirectHTTPServer(
            responder: JSONErrorResponder(router(gate: gate).buildResponder(), hint: "test"),
            configuration: .init(host: "127.0.0.1", port: 0, serverName: "switchyard-test", maxBodyBytes: cap, limits: limits),
            logger: logger,
            onServerRunning: { continuation.yield($0) }
        )
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port, gate, group)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() async throws {
        try await Self.withServer { port, gate, _ in
            // The first one waits for the test, so the other two arrive while it is in flight.
            async let exchange = RawHTTP.exchange(
                port: port,
                send: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /name/second HTTP/1.1\r\nHost: x\r\n\r\nGET /name/third HTTP/1.1\r\nHost: x\r\n\r\n",
                until: { $0.hasSuffix("third") }
            )
            await gate.waitForArrival()
            await gate.release()
            let text = try await exchange.text
            let order = ["done", "second", "third"].compactMap { text.range(of: $0)?.lowerBound }
            #expect(order.count == 3 && order == order.sorted(), "\(text)")
            #expect(text.components(separatedBy: "HTTP/1.1 200").count == 4)
            #expect(text.lowercased().contains("server: switchyard-test"))
            #expect(text.lowercased().contains("date: "))
        }
    }

    @Test func connectionCloseAndHTTP10AreHonoured() async throws {
        try await Self.withServer { port, _, _ in
            let closing = try await RawHTTP.exchange(port: port, send: "GET /name/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(closing.closed)
            #expect(closing.text.hasPrefix("HTTP/1.1 200"))
            #expect(closing.text.lowercased().contains("connection: close"))
            let old = try await RawHTTP.exchange(port: port, send: "GET /name/b HTTP/1.0\r\n\r\n")
            #expect(old.closed)
            #expect(old.text.hasSuffix("b"))
        }
    }

    @Test func aBodyPastTheCapIsRefusedAndTheConnectionStaysUsable() async throws {
        try await Self.withServer { port, _, _ in
            let big = String(repeating: "x", count: 4 * Self.cap)
            // Declared too long, sent in chunks with no length, then a small one on the same connection.
            let chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(String(big.utf8.count, radix: 16))\r\n\(big)\r\n0\r\n\r\n"
            let exchange = try await RawHTTP.exchange(
                port: port,
                send: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(big.utf8.count)\r\n\r\n\(big)" + chunked
                    + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                until: { $0.hasSuffix("hello") }
            )
            #expect(exchange.text.components(separatedBy: "HTTP/1.1 413").count == 3, "\(exchange.text.prefix(400))")
            #expect(exchange.text.hasSuffix("hello"))
            #expect(!exchange.closed)
        }
    }

    @Test func aStreamIsSentInChunksAndOneThatFailsIsCutNotEnded() async throws {
        try await Self.withServer { port, _, _ in
            let whole = try await RawHTTP.exchange(port: port, send: "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", until: { $0.hasSuffix("0\r\n\r\n") })
            #expect(whole.text.lowercased().contains("transfer-encoding: chunked"))
            #expect(whole.text.contains("data: 2"))
            let cut = try await RawHTTP.exchange(port: port, send: "GET /broken-stream HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(cut.closed)
            #expect(cut.text.contains("data: first"))
            #expect(!cut.text.hasSuffix("0\r\n\r\n"), "a failed stream must not end like a complete one")
        }
    }

    @Test func aClientThatClosesItsSideGetsItsReplyAndTheConnectionCloses() async throws {
        try await Self.withServer { port, _, _ in
            // Sending and then shutting the write side: the reply still comes, then the server closes too.
            let halfClosed = try await RawHTTP.exchange(port: port, send: "GET /name/last HTTP/1.1\r\nHost: x\r\n\r\n", thenCloseOutput: true)
            #expect(halfClosed.text.hasPrefix("HTTP/1.1 200"))
            #expect(halfClosed.text.hasSuffix("last"))
            #expect(halfClosed.closed, "a connection the client has closed must not linger in CLOSE-WAIT")
            let idle = try await RawHTTP.exchange(port: port, send: "", thenCloseOutput: true)
            #expect(idle.closed)
            #expect(idle.text.isEmpty)
        }
    }

    @Test func aMalformedRequestGetsA400AndIsClosed() async throws {
        try await Self.withServer { port, _, _ in
            let exchange = try await RawHTTP.exchange(port: port, send: "NOT HTTP AT ALL\r\n\r\n")
            #expect(exchange.text.hasPrefix("HTTP/1.1 400"))
            #expect(exchange.closed)
        }
    }

    @Test func gracefulShutdownLetsTheRequestInFlightFinish() async throws {
        try await Self.withServer { port, gate, group in
            async let reply = RawHTTP.exchange(port: port, send: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            await gate.waitForArrival()
            await group.triggerGracefulShutdown()
            await gate.release()
            let finished = try await reply
            #expect(finished.text.hasPrefix("HTTP/1.1 200"))
            #expect(finished.text.hasSuffix("done"))
            #expect(finished.closed, "after the last reply the connection closes")
        }
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDateCache.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateCache.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateCache.format(epochSeconds: 1_709_210_096) == "Thu, 29 Feb 2024 12:34:56 GMT")
        #expect(HTTPDateCache.format(epochSeconds: 4_102_444_799) == "Thu, 31 Dec 2099 23:59:59 GMT")
    }
}

/// Lets a handler wait until the test releases it, and the test wait until the handler has arrived.
actor Gate {
    private var arrived = false
    private var arrivalWaiters: [CheckedContinuation<Void, Never>] = []
    private var released = false
    private var releaseWaiters: [CheckedContinuation<Void, Never>] = []

    func arrive() async {
        arrived = true
        arrivalWaiters.forEach { $0.resume() }
        arrivalWaiters = []
        if !released { await withCheckedContinuation { releaseWaiters.append($0) } }
    }

    func waitForArrival() async {
        if !arrived { await withCheckedContinuation { arrivalWaiters.append($0) } }
    }

    func release() {
        released = true
        releaseWaiters.forEach { $0.resume() }
        releaseWaiters = []
    }
}

/// Bytes in, bytes out, over one loopback connection.
enum RawHTTP {
    struct Exchange {
        var text: String
        /// The server closed the connection.
        var closed: Bool
    }

    /// Sends `send`, then reads until `until` holds for what arrived (the
    /// connection stays open) or the server closes it.
    ///
    /// - Parameter thenCloseOutput: shut the connection's write side after sending, as a client that is done does.
    static func exchange(
        port: Int,
        send: String,
        more: [String] = [],
        thenCloseOutput: Bool = false,
        until: @escaping @Sendable (String) -> Bool = { _ in false }
    ) async throws -> Exchange {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true)
                )
            }
        }
        return try await withThrowingTaskGroup(of: Exchange.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    if !send.isEmpty { try await outbound.write(ByteBuffer(string: send)) }
                    // Later writes arrive as separate reads on the server.
                    for piece in more {
                        try await Task.sleep(for: .milliseconds(50))
                        try? await outbound.write(ByteBuffer(string: piece))
                    }
                    if thenCloseOutput { outbound.finish() }
                    var text = ""
                    for try await chunk in inbound {
                        text += String(buffer: chunk)
                        if until(text) { return Exchange(text: text, closed: false) }
                    }
                    return Exchange(text: text, closed: true)
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw CancellationError()
            }
            defer { group.cancelAll() }
            return try #require(try await group.next())
        }
    }
}
