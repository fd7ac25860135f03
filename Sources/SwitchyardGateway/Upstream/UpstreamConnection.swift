import NIOCore
import NIOHTTP1

/// One kept-alive HTTP/1.1 connection to an upstream: it carries one
/// exchange at a time and goes back to its pool when a reply ends cleanly.
///
/// Lives in its channel's pipeline; every method runs on that channel's
/// event loop, which is what makes the unchecked `Sendable` sound.
final class UpstreamConnection: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var context: ChannelHandlerContext?
    private var exchange: UpstreamExchange?
    private var keepAlive = true
    private var closed = false
    /// A read the pipeline asked for while the exchange's reader lagged behind.
    private var heldRead = false
    /// Called when a reply ended cleanly and the connection can carry another.
    private let onReusable: @Sendable (UpstreamConnection) -> Void
    private let onClosed: @Sendable (UpstreamConnection) -> Void
    /// When the connection last went idle (for the pool's sweep).
    var idleSince = NIODeadline.now()

    let eventLoop: any EventLoop

    init(
        eventLoop: any EventLoop,
        onReusable: @escaping @Sendable (UpstreamConnection) -> Void,
        onClosed: @escaping @Sendable (UpstreamConnection) -> Void
    ) {
        self.eventLoop = eventLoop
        self.onReusable = onReusable
        self.onClosed = onClosed
    }

    var isUsable: Bool { !closed && exchange == nil && context?.channel.isActive == true }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Writes the request in one flush (the exchange's head deadline is already armed).
    func start(_ exchange: UpstreamExchange, request: UpstreamRequest, host: String) {
        guard let context, !closed else {
            exchange.fail(.closedBeforeReply)
            return
        }
        self.exchange = exchange
        exchange.connection = self
        keepAlive = true
        var headers = request.headers
        headers.replaceOrAdd(name: "host", value: host)
        headers.replaceOrAdd(name: "content-length", value: String(request.body.readableBytes))
        let head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            exchange?.receive(head: head)
        case .body(let part):
            exchange?.receive(body: part)
        case .end:
            let finished = exchange
            exchange = nil
            finished?.connection = nil
            finished?.receiveEnd()
            if keepAlive, !closed {
                idleSince = .now()
                onReusable(self)
            } else {
                close()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.readComplete()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if exchange?.wantsPause == true {
            heldRead = true
        } else {
            context.read()
        }
    }

    func resumeReadingIfPaused() {
        guard heldRead, let context else { return }
        heldRead = false
        context.read()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failExchange(with: error)
        close()
    }

    func channelInactive(context: ChannelHandlerContext) {
        failExchange(with: nil)
        markClosed()
        context.fireChannelInactive()
    }

    func close() {
        guard !closed else { return }
        markClosed()
        context?.close(promise: nil)
    }

    private func markClosed() {
        guard !closed else { return }
        closed = true
        onClosed(self)
    }

    private func failExchange(with error: (any Error)?) {
        guard let exchange else { return }
        self.exchange = nil
        exchange.connection = nil
        let reason = error.map { "\($0)" } ?? "the upstream closed the connection"
        if exchange.sawHead {
            exchange.fail(.broken(reason))
        } else if let error, error is HTTPParserError {
            exchange.fail(.malformedReply("\(error)"))
        } else {
            exchange.fail(.closedBeforeReply)
        }
    }
}
