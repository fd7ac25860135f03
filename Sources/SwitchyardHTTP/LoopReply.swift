public import Hummingbird
public import NIOCore

/// A reply body written from the connection's event loop as its bytes
/// arrive, with no task behind it: what a stream that lasts minutes needs.
///
/// A task per stream costs its frames for as long as it lives, and a
/// promise, a continuation and a resumption per chunk; a source is an object
/// called back on the loop. It writes through the ``LoopReplySink`` it is
/// started with and ends the reply (``LoopReplySink/finish()``) unless the
/// client has gone first.
public protocol LoopReplySource: AnyObject, Sendable {
    /// The reply's head is written: from now on the source writes the body.
    func start(writingTo sink: LoopReplySink)
    /// The client's socket takes bytes again after a write left it full.
    func clientCanTakeMore()
    /// The client closed the connection before the reply ended; the sink
    /// writes nothing from now on.
    func clientWentAway()
}

/// Where a ``LoopReplySource`` writes the reply. Use it only on
/// ``eventLoop``.
public struct LoopReplySink {
    private let dispatcher: HTTPRequestDispatcher
    private let keepAlive: Bool
    /// The client connection's event loop.
    public let eventLoop: any EventLoop

    init(dispatcher: HTTPRequestDispatcher, keepAlive: Bool, eventLoop: any EventLoop) {
        self.dispatcher = dispatcher
        self.keepAlive = keepAlive
        self.eventLoop = eventLoop
    }

    /// Writes `buffer`, and flushes it unless `flush` is false (then
    /// ``flush()`` sends it, with whatever else was written meanwhile, in one
    /// system call). Returns false when the socket is past its high-water
    /// mark (stop producing until ``LoopReplySource/clientCanTakeMore()``)
    /// or the client has gone.
    @discardableResult
    public func write(_ buffer: ByteBuffer, flush: Bool = true) -> Bool {
        guard let context = dispatcher.liveContext else { return false }
        _ = dispatcher.writeBody(buffer, flush: flush, context: context)
        return context.channel.isWritable
    }

    /// Sends what was written without a flush.
    public func flush() {
        dispatcher.liveContext?.flush()
    }

    /// Ends the reply; the connection carries the client's next request.
    public func finish() {
        dispatcher.endLoopReply(keepAlive: keepAlive)
    }
}

/// A response-body writer that can hand the rest of the reply to a
/// ``LoopReplySource``. The gateway's writer conforms; a writer wrapped by
/// middleware does not, and the body is then written by its task as usual.
public protocol LoopReplyHandOff: ResponseBodyWriter {
    /// The client connection's event loop: a source whose own events arrive
    /// on another loop must not be handed the reply.
    var eventLoop: any EventLoop { get }

    /// Writes the reply's head, then starts `source` on the event loop with
    /// the sink it writes to. Throws, without starting it, when the client
    /// has already gone.
    func handOff(to source: any LoopReplySource) async throws
}

extension ChannelResponseBodyWriter: LoopReplyHandOff {
    var eventLoop: any EventLoop { bound.eventLoop }

    func handOff(to source: any LoopReplySource) async throws {
        let (head, keepAlive) = (self.head, self.keepAlive)
        try await bound.onLoop { dispatcher in
            guard let context = dispatcher.liveContext else { throw ChannelError.ioOnClosedChannel }
            if let head { dispatcher.writeHead(head, keepAlive: keepAlive, context: context) }
            // Adopted first: the source may end the reply within `start`.
            dispatcher.adoptLoopReply(source)
            source.start(writingTo: LoopReplySink(dispatcher: dispatcher, keepAlive: keepAlive, eventLoop: context.eventLoop))
        }
    }
}
