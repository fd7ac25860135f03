import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What every stream sends.
struct StreamRequest: Sendable {
    let host: String
    let port: Int
    let target: String
    let headers: [(String, String)]
    let body: String
}

/// One streaming request on its own connection: it times each server-sent
/// event (an event ends with a blank line) as it is read, and reports to the
/// tally when the stream ends.
final class StreamClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: StreamRequest
    private let tally: StreamTally
    private var sentAt = NIODeadline.now()
    private var lastEvent: NIODeadline?
    private var firstChunk: Int64?
    private var gaps: [UInt32] = []
    private var status: UInt = 0
    private var previousByte: UInt8 = 0
    private var sawDone = false
    private var reported = false

    init(request: StreamRequest, tally: StreamTally) {
        self.request = request
        self.tally = tally
    }

    static func open(_ request: StreamRequest, on loop: any EventLoop, tally: StreamTally) {
        let client = StreamClient(request: request, tally: tally)
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(client)
                }
            }
            .connect(host: request.host, port: request.port)
            .whenFailure { error in client.finish(.failure("connect: \(error)")) }
    }

    func channelActive(context: ChannelHandlerContext) {
        tally.opened()
        var headers = HTTPHeaders([("host", "\(request.host):\(request.port)"), ("content-type", "application/json"), ("accept", "text/event-stream")])
        headers.add(contentsOf: request.headers)
        headers.add(name: "content-length", value: String(request.body.utf8.count))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: request.target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: request.body)))), promise: nil)
        sentAt = .now()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status.code
        case .body(let buffer):
            let now = NIODeadline.now()
            var events = 0
            var previous = previousByte
            for byte in buffer.readableBytesView {
                if byte == UInt8(ascii: "\n"), previous == UInt8(ascii: "\n") { events += 1 }
                previous = byte
            }
            previousByte = previous
            if !sawDone, buffer.readableBytesView.count >= 6, Self.containsDone(buffer) { sawDone = true }
            guard events > 0 else { return }
            if firstChunk == nil {
                firstChunk = (now - sentAt).nanoseconds
            } else if let lastEvent {
                gaps.append(UInt32(clamping: (now - lastEvent).nanoseconds / 1000))
            }
            // Events read together arrived together: the ones after the first had no gap.
            if events > 1 { gaps.append(contentsOf: repeatElement(0, count: events - 1)) }
            lastEvent = now
        case .end:
            if status != 200 {
                finish(.failure("status \(status)"))
            } else if !sawDone {
                finish(.failure("ended without [DONE]"))
            } else {
                finish(.success)
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(status == 0 ? "closed before a reply" : "closed mid-stream"))
        tally.closed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure("\(error)"))
        context.close(promise: nil)
    }

    private static func containsDone(_ buffer: ByteBuffer) -> Bool {
        let view = buffer.readableBytesView
        let needle = Array("[DONE]".utf8)
        guard view.count >= needle.count else { return false }
        var index = view.startIndex
        while index <= view.endIndex - needle.count {
            if view[index] == needle[0], view[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    enum Outcome {
        case success
        case failure(String)
    }

    private func finish(_ outcome: Outcome) {
        guard !reported else { return }
        reported = true
        tally.record(outcome, firstChunk: firstChunk, gaps: gaps)
        gaps = []
    }
}

/// Every stream's figures, merged as each one ends.
final class StreamTally: Sendable {
    private struct Figures {
        var open = 0
        var peakOpen = 0
        var finished = 0
        var succeeded = 0
        var errors: [String: Int] = [:]
        var firstChunks: [Int64] = []
        var gaps: [UInt32] = []
    }

    private let figures = Mutex(Figures())

    var finished: Int { figures.withLock { $0.finished } }
    var open: Int { figures.withLock { $0.open } }

    func opened() {
        figures.withLock { figures in
            figures.open += 1
            figures.peakOpen = max(figures.peakOpen, figures.open)
        }
    }

    func closed() {
        figures.withLock { $0.open -= 1 }
    }

    func record(_ outcome: StreamClient.Outcome, firstChunk: Int64?, gaps: [UInt32]) {
        figures.withLock { figures in
            figures.finished += 1
            switch outcome {
            case .success: figures.succeeded += 1
            case .failure(let reason): figures.errors[String(reason.prefix(80)), default: 0] += 1
            }
            if let firstChunk { figures.firstChunks.append(firstChunk) }
            figures.gaps.append(contentsOf: gaps)
        }
    }

    /// The run as JSON-ready values: milliseconds for every time.
    func summary(count: Int, rampSeconds: Double, elapsedSeconds: Double) -> [String: Any] {
        figures.withLock { figures in
            let firstChunks = figures.firstChunks.sorted().map { Double($0) / 1e6 }
            let gaps = figures.gaps.sorted().map { Double($0) / 1e3 }
            return [
                "count": count,
                "succeeded": figures.succeeded,
                "unfinished": count - figures.finished,
                "errors": figures.errors,
                "peak_open": figures.peakOpen,
                "ramp_s": rampSeconds,
                "elapsed_s": elapsedSeconds,
                "events": gaps.count + firstChunks.count,
                "first_chunk_ms": Self.percentiles(firstChunks),
                "gap_ms": Self.percentiles(gaps),
            ]
        }
    }

    private static func percentiles(_ sorted: [Double]) -> [String: Double] {
        guard !sorted.isEmpty else { return [:] }
        func at(_ fraction: Double) -> Double {
            sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
        }
        return ["p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999), "max": sorted[sorted.count - 1]]
    }
}
