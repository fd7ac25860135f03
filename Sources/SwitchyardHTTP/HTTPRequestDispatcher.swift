import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import SwitchyardCore

/// Gathers one request at a time from NIO's HTTP/1.1 decoder, runs the
/// responder for it in a task on the connection's event loop, and writes the
/// reply to the channel.
///
/// There is at most one request in flight per connection. A client that
/// pipelines has its next requests held here until the reply before them
/// has ended, and reading stops while any are held. (NIO's own pipelining
/// handler does this by stopping reads during every request, which costs
/// two `epoll_ctl` calls per request on a keep-alive connection that never
/// pipelines.)
///
/// Not generic over the responder: it gets one as a closure, so nothing on
/// the hot path looks up generic type metadata at run time.
final class HTTPRequestDispatcher: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    /// Answers a request that arrived on a channel.
    typealias Respond = @Sendable (Request, any Channel, Logger) async throws -> Response

    private let respond: Respond
    private let maxBodyBytes: Int
    private let serverName: String?
    private let logger: Logger
    private var dates = HTTPDateCache()

    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// The request went to the responder before its end: the rest of its body is dropped.
    private var dispatched = false
    /// Between a request's head and its end.
    private var readingRequest = false
    /// A request is with the responder and its reply has not ended.
    private var inFlight = false
    /// Parts of pipelined requests that arrived while one was in flight.
    private var backlog = CircularBuffer<HTTPServerRequestPart>()
    /// A read the channel asked for, held while there is a backlog.
    private var readHeld = false
    /// The server is shutting down, or the client has closed its side: close
    /// after the reply in flight.
    private var quiescing = false
    private var executor: EventLoopTaskExecutor?
    /// This handler's place in its pipeline (set when added; the writer uses it from the loop).
    private(set) var context: ChannelHandlerContext?
    /// Requests handed to the responder on this connection, and how many of
    /// their replies have ended. Kept as counts, not a flag: ending a reply
    /// can hand the next pipelined request over before the call returns.
    private var requestsDispatched = 0
    private var repliesEnded = 0
    /// The decoder failed on bytes after requests still being answered: the
    /// `400` goes out after their replies, in order.
    private var pendingProtocolError: (any Error)?
    /// The 400 for malformed bytes has gone out: input is drained until the close.
    private var lingering = false
    /// The connection's clock against its idle and header timeouts.
    private let activity: ConnectionActivity?
    /// The source writing the reply in flight from the event loop, once its
    /// writer handed it over (``LoopReplyHandOff``), and that request's number.
    private var loopReply: (any LoopReplySource)?
    private var loopReplyNumber = 0

    init(respond: @escaping Respond, maxBodyBytes: Int, serverName: String?, logger: Logger, activity: ConnectionActivity? = nil) {
        self.respond = respond
        self.maxBodyBytes = maxBodyBytes
        self.serverName = serverName
        self.logger = logger
        self.activity = activity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        executor = EventLoopTaskExecutor(context.eventLoop)
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        clientWentAway()
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientWentAway()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { loopReply?.clientCanTakeMore() }
        context.fireChannelWritabilityChanged()
    }

    /// This handler's context while its channel is open.
    var liveContext: ChannelHandlerContext? {
        guard let context, context.channel.isActive else { return nil }
        return context
    }

    /// The reply in flight is written by `source` from now on.
    func adoptLoopReply(_ source: any LoopReplySource) {
        loopReply = source
        loopReplyNumber = requestsDispatched
    }

    /// The loop-written reply has ended.
    func endLoopReply(keepAlive: Bool) {
        guard loopReply != nil else { return }
        loopReply = nil
        guard let context = liveContext else { return }
        end(trailers: nil, keepAlive: keepAlive, context: context)
    }

    private func clientWentAway() {
        guard let source = loopReply else { return }
        loopReply = nil
        source.clientWentAway()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if lingering { return }
        let part = unwrapInboundIn(data)
        if inFlight && !readingRequest || !backlog.isEmpty {
            backlog.append(part)
        } else {
            process(part, context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if lingering {
            context.read()
        } else if pendingProtocolError != nil {
            // The decoder has failed; nothing more is read before the 400 goes out.
            readHeld = true
        } else if backlog.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Hummingbird's server allows half-closed connections, so a client's
        // close arrives as an event, not as a close of the channel.
        let clientClosed = event as? ChannelEvent == .inputClosed
        if lingering {
            if clientClosed { context.close(promise: nil) }
            return
        }
        guard event is ChannelShouldQuiesceEvent || clientClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // A client that closes its side during a stream has left (as nginx
        // takes it, unless told to ignore client aborts): the source stops
        // reading its upstream now, not at the stream's end.
        if clientClosed, loopReply != nil {
            clientWentAway()
            context.close(promise: nil)
            return
        }
        // A request half-read when the client closes will never end.
        if inFlight || readingRequest && !clientClosed {
            quiescing = true
        } else {
            context.close(promise: nil)
        }
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            self.head = head
            body = nil
            dispatched = false
            readingRequest = true
            activity?.requestBegan()
            // A declared length past the cap is refused before any of the body is read.
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                dispatch(context: context, overCap: true)
            }
        case .body(var chunk):
            guard readingRequest, !dispatched else { return }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if body!.readableBytes > maxBodyBytes {
                dispatch(context: context, overCap: true)
            }
        case .end:
            guard readingRequest else { return }
            readingRequest = false
            if !dispatched {
                dispatch(context: context, overCap: false)
            } else if !inFlight {
                // Its reply (a 413) ended before its body did: only now is the connection free.
                settle(context: context)
            }
        }
    }

    /// Hands over held requests once nothing is in flight, then lets reading go on.
    private func drainBacklog(context: ChannelHandlerContext) {
        while !inFlight, !quiescing, let part = backlog.popFirst() {
            process(part, context: context)
        }
        if backlog.isEmpty, readHeld, pendingProtocolError == nil {
            readHeld = false
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // After its first failure the decoder reports every later byte as an
        // error too; the 400 for the first is already due (or sent).
        if pendingProtocolError != nil || lingering { return }
        guard error is HTTPParserError else {
            context.close(promise: nil)
            return
        }
        // Bytes that are not HTTP. Requests received before them are answered
        // first, in order; then the 400, then the connection closes.
        if inFlight || !backlog.isEmpty {
            pendingProtocolError = error
            readingRequest = false
        } else {
            refuseMalformed(error, context: context)
        }
    }

    /// Answers bytes the decoder could not read with `400` and closes.
    private func refuseMalformed(_ error: any Error, context: ChannelHandlerContext) {
        pendingProtocolError = nil
        backlog.removeAll()
        readingRequest = false
        let refusal = APIError.badRequest("the request is not valid HTTP/1.1 (\(error)); the connection is closed", code: "malformed_request")
        writeHead(HTTPResponse(status: .badRequest, headerFields: refusal.response.headers), keepAlive: false, context: context)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: refusal.body)))), promise: nil)
        repliesEnded = requestsDispatched
        inFlight = false
        // A lingering close: our FIN after the 400, then what the client still
        // sends is read and dropped until it closes too (or a second passes).
        // Closing with its bytes unread would send a reset, and the client
        // could lose the replies before the 400.
        lingering = true
        readHeld = false
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.closeLingering() }
        context.read()
    }

    /// Hands the request to the responder: at its end, or as soon as its body
    /// is known to be over the cap (the rest of it is then read and dropped).
    private func dispatch(context: ChannelHandlerContext, overCap: Bool) {
        guard let head, let executor else { return }
        dispatched = true
        inFlight = true
        activity?.requestDispatched()
        let keepAlive = head.isKeepAlive
        let request: Request
        do {
            // Over the cap, the responder's own read of the body fails, as Hummingbird's would.
            let requestBody = overCap
                ? RequestBody(asyncSequence: RefusedBody())
                : RequestBody(buffer: body ?? ByteBuffer())
            request = Request(head: try HTTPRequest(head, secure: false, splitCookie: false), body: requestBody)
        } catch {
            let refusal = APIError.badRequest("the request line is not one this server can read: \(error)")
            writeHead(HTTPResponse(status: .badRequest, headerFields: refusal.response.headers), keepAlive: false, context: context)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: refusal.body)))), promise: nil)
            end(trailers: nil, keepAlive: false, context: context)
            return
        }
        body = nil
        requestsDispatched += 1
        let number = requestsDispatched
        let channel = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Task(executorPreference: executor) { [respond, logger] in
            await HTTPRequestDispatcher.answer(
                request, channel: channel, respond: respond, executor: executor, bound: bound, keepAlive: keepAlive, number: number, logger: logger
            )
        }
    }

    /// Runs the responder and writes its reply. A streamed reply may last
    /// minutes, and a task keeps the high-water mark of its async frames
    /// allocated until it ends (about 12 KB after the gateway's way in), so a
    /// stream is written by a task of its own, which needs only the relay's.
    private static func answer(
        _ request: Request, channel: any Channel, respond: Respond, executor: EventLoopTaskExecutor,
        bound: NIOLoopBound<HTTPRequestDispatcher>, keepAlive: Bool, number: Int, logger: Logger
    ) async {
        let response = await response(to: request, channel: channel, logger: logger, respond: respond)
        if response.body.contentLength == nil {
            writeInTaskOfItsOwn(response, executor: executor, bound: bound, keepAlive: keepAlive, number: number, logger: logger)
        } else {
            await write(response, bound: bound, keepAlive: keepAlive, number: number, logger: logger)
        }
    }

    private static func writeInTaskOfItsOwn(
        _ response: Response, executor: EventLoopTaskExecutor, bound: NIOLoopBound<HTTPRequestDispatcher>, keepAlive: Bool, number: Int, logger: Logger
    ) {
        Task(executorPreference: executor) {
            await write(response, bound: bound, keepAlive: keepAlive, number: number, logger: logger)
        }
    }

    private static func response(to request: Request, channel: any Channel, logger: Logger, respond: Respond) async -> Response {
        do {
            return try await respond(request, channel, logger)
        } catch {
            logger.error("responder failed: \(error)")
            return APIError(status: 500, message: "the server failed to answer this request: \(error)", type: "server_error").response
        }
    }

    private static func write(_ response: Response, bound: NIOLoopBound<HTTPRequestDispatcher>, keepAlive: Bool, number: Int, logger: Logger) async {
        let writer = ChannelResponseBodyWriter(
            bound: bound,
            head: HTTPResponse(status: response.status, headerFields: response.headers),
            keepAlive: keepAlive,
            buffered: response.body.contentLength != nil
        )
        do {
            try await response.body.write(writer)
        } catch {
            logger.debug("reply cut short: \(error)")
        }
        // A reply that could not end cleanly must not look complete to the client.
        try? await bound.onLoop { dispatcher in
            let handedOver = dispatcher.loopReplyNumber == number
            if dispatcher.repliesEnded < number, !handedOver { dispatcher.context?.close(promise: nil) }
        }
    }

    /// Writes the reply's head, with the date, the server's name and, when
    /// the client asked for it, `connection: close`. Not flushed.
    func writeHead(_ response: HTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var head = HTTPResponseHead(response)
        head.headers.replaceOrAdd(name: "date", value: dates.now())
        if let serverName {
            head.headers.replaceOrAdd(name: "server", value: serverName)
        }
        if !keepAlive || quiescing {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    /// Ends the reply and flushes it; then closes the connection when it is
    /// not kept alive, or hands over the next pipelined request.
    func end(trailers: HTTPFields?, keepAlive: Bool, context: ChannelHandlerContext) {
        repliesEnded = requestsDispatched
        inFlight = false
        let closing = !keepAlive || quiescing
        let promise: EventLoopPromise<Void>? = closing ? context.eventLoop.makePromise() : nil
        context.writeAndFlush(wrapOutboundOut(.end(trailers.map { HTTPHeaders($0) })), promise: promise)
        if let promise {
            let channel = context.channel
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            settle(context: context)
        }
    }

    /// After a reply: the next pipelined request, the pending 400, or a
    /// connection that is idle again (or still receiving a refused body).
    private func settle(context: ChannelHandlerContext) {
        drainBacklog(context: context)
        guard !inFlight, backlog.isEmpty else { return }
        if let error = pendingProtocolError {
            refuseMalformed(error, context: context)
        } else if readingRequest {
            activity?.bodyStillArriving()
        } else {
            activity?.becameIdle()
        }
    }

    func writeBody(_ buffer: ByteBuffer, flush: Bool, context: ChannelHandlerContext) -> EventLoopFuture<Void>? {
        let part = wrapOutboundOut(.body(.byteBuffer(buffer)))
        guard !context.channel.isWritable else {
            // The usual case, once per streamed chunk: no promise to make or complete.
            if flush { context.writeAndFlush(part, promise: nil) } else { context.write(part, promise: nil) }
            return nil
        }
        // Past the channel's high-water mark: the writer waits for the socket.
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(part, promise: promise)
        return promise.futureResult
    }
}

/// The body of a request past the size cap: reading it fails with 413.
struct RefusedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    struct AsyncIterator: AsyncIteratorProtocol {
        mutating func next() async throws -> ByteBuffer? {
            throw HTTPError(.contentTooLarge)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}
