import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore

/// Writes a Hummingbird response to the channel its request came from.
///
/// The head goes out with the first body write, so a reply of one buffer is
/// a single flush. A body of unknown length (a stream) is flushed chunk by
/// chunk, and a write waits for the socket only when the channel is past its
/// high-water mark.
struct ChannelResponseBodyWriter: ResponseBodyWriter {
    typealias Bound = NIOLoopBound<HTTPRequestDispatcher>

    let bound: Bound
    var head: HTTPResponse?
    let keepAlive: Bool
    /// The body's length is known: flush once, at the end.
    let buffered: Bool

    init(bound: Bound, head: HTTPResponse, keepAlive: Bool, buffered: Bool) {
        self.bound = bound
        self.head = head
        self.keepAlive = keepAlive
        self.buffered = buffered
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        let head = self.head
        self.head = nil
        let (keepAlive, buffered) = (self.keepAlive, self.buffered)
        let pending = try await bound.onLoop { dispatcher -> EventLoopFuture<Void>? in
            guard let context = dispatcher.context, context.channel.isActive else { throw ChannelError.ioOnClosedChannel }
            if let head { dispatcher.writeHead(head, keepAlive: keepAlive, context: context) }
            return dispatcher.writeBody(buffer, flush: !buffered, context: context)
        }
        try await pending?.get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let head = self.head
        let keepAlive = self.keepAlive
        try await bound.onLoop { dispatcher in
            guard let context = dispatcher.context, context.channel.isActive else { throw ChannelError.ioOnClosedChannel }
            if let head { dispatcher.writeHead(head, keepAlive: keepAlive, context: context) }
            dispatcher.end(trailers: trailingHeaders, keepAlive: keepAlive, context: context)
        }
    }
}

extension NIOLoopBound {
    /// Runs `body` with the bound value on its event loop: at once when
    /// already there (a task preferring the loop's executor is), else as a
    /// job on the loop.
    func onLoop<Result: Sendable>(_ body: @escaping @Sendable (Value) throws -> Result) async throws -> Result {
        if eventLoop.inEventLoop {
            return try body(value)
        }
        return try await eventLoop.submit { try body(self.value) }.get()
    }
}
