import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Runs Swift concurrency jobs on one NIO event loop.
///
/// A task that prefers this executor runs where its connection's channel
/// lives, so reading a request, writing a reply and talking to an upstream
/// over a connection on the same loop need no hop between threads.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

/// Hummingbird's HTTP/1.1 child channel, with each connection's task pinned
/// to its channel's event loop.
///
/// Hummingbird runs every connection as a task on the global executor, which
/// hands jobs to whichever loop thread is free: each read and write of a
/// request then crossed threads several times, and on a two-core machine the
/// wake-ups cost more than the proxying itself.
public struct LoopAffineHTTP1Channel: ServerChildChannel {
    public typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel

    public init(responder: @escaping HTTPChannelHandler.Responder, configuration: HTTP1Channel.Configuration = .init()) {
        inner = HTTP1Channel(responder: responder, configuration: configuration)
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger)
    }

    public func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with each connection served on its own event loop
    /// (see ``LoopAffineHTTP1Channel``).
    public static func loopAffineHTTP1(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in
            LoopAffineHTTP1Channel(responder: responder, configuration: configuration)
        }
    }
}
