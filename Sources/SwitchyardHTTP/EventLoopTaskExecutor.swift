public import NIOCore

/// Runs Swift concurrency jobs on one NIO event loop.
///
/// A task that prefers this executor runs where its connection's channel
/// lives, so reading a request, writing a reply and talking to an upstream
/// over a connection on the same loop need no hop between threads. (Tasks
/// on the global executor land on whichever thread is free: on a two-core
/// machine the wake-ups cost more than the proxying itself.)
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
