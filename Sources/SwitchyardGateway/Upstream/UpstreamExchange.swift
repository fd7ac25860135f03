import NIOCore
import NIOHTTP1

/// One request's life on an upstream connection: waiting for the head, then
/// handing the body to its reader as it arrives.
///
/// Every method runs on `loop`, the connection's event loop; that confinement
/// is what makes the unchecked `Sendable` sound.
final class UpstreamExchange: @unchecked Sendable {
    /// Past this many unread bytes a streamed body stops reading from the
    /// socket until its reader catches up.
    static let pauseAbove = 256 << 10

    private enum Reader {
        case next(EventLoopPromise<ByteBuffer?>)
        case collect(EventLoopPromise<ByteBuffer>, limit: Int, into: ByteBuffer)
        case push(any UpstreamBodyReceiver)
    }

    let loop: any EventLoop
    let head: EventLoopPromise<HTTPResponseHead>
    /// The connection carrying the exchange, once one is leased.
    var connection: UpstreamConnection?
    private(set) var sawHead = false
    private var chunks = CircularBuffer<ByteBuffer>()
    private var unreadBytes = 0
    private var ended = false
    private var failure: UpstreamError?
    private var reader: Reader?
    private var deadline: Scheduled<Void>?
    /// A pushed body's receiver asked for no more for now.
    private var pushPaused = false

    init(loop: any EventLoop) {
        self.loop = loop
        self.head = loop.makePromise()
    }

    var isFinished: Bool { ended || failure != nil }

    /// Whether the connection should stop reading until the reader catches up.
    var wantsPause: Bool {
        if case .push = reader { return pushPaused }
        return reader == nil && unreadBytes > Self.pauseAbove
    }

    // MARK: From the connection

    func receive(head received: HTTPResponseHead) {
        guard !sawHead, failure == nil else { return }
        sawHead = true
        disarm()
        head.succeed(received)
    }

    func receive(body part: ByteBuffer) {
        guard failure == nil else { return }
        switch reader {
        case .next(let promise)?:
            reader = nil
            disarm()
            promise.succeed(part)
        case .collect(let promise, let limit, var into)?:
            into.writeImmutableBuffer(part)
            if into.readableBytes > limit {
                fail(.tooLarge(limit: limit))
                connection?.close()
            } else {
                reader = .collect(promise, limit: limit, into: into)
            }
        case .push(let receiver)?:
            receiver.upstreamBody(part)
        case nil:
            chunks.append(part)
            unreadBytes += part.readableBytes
        }
    }

    func receiveEnd() {
        guard failure == nil, !ended else { return }
        ended = true
        disarm()
        let finished = reader
        reader = nil
        switch finished {
        case .next(let promise)?: promise.succeed(nil)
        case .collect(let promise, _, let into)?: promise.succeed(into)
        case .push(let receiver)?: receiver.upstreamEnded()
        case nil: break
        }
    }

    /// Ends the exchange with `error`: whoever waits gets it.
    func fail(_ error: UpstreamError) {
        guard failure == nil, !ended else { return }
        failure = error
        disarm()
        if !sawHead { head.fail(error) }
        let failed = reader
        reader = nil
        switch failed {
        case .next(let promise)?: promise.fail(error)
        case .collect(let promise, _, _)?: promise.fail(error)
        case .push(let receiver)?: receiver.upstreamFailed(error)
        case nil: break
        }
    }

    /// Fails the exchange with `.timedOut` at `deadline` unless something arrives first.
    func arm(_ deadline: NIODeadline) {
        disarm()
        self.deadline = loop.scheduleTask(deadline: deadline) { [self] in
            self.deadline = nil
            fail(.timedOut)
            connection?.close()
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    // MARK: From the reader

    func next(deadline: NIODeadline) -> EventLoopFuture<ByteBuffer?> {
        if let ready = nextIfReady() { return loop.makeCompletedFuture(ready.mapError { $0 as any Error }) }
        let promise = loop.makePromise(of: ByteBuffer?.self)
        reader = .next(promise)
        arm(deadline)
        connection?.resumeReadingIfPaused()
        return promise.futureResult
    }

    /// What `next` would answer at once, without a future: a chunk already
    /// read, the end, or the failure; `nil` when the reader must wait.
    func nextIfReady() -> Result<ByteBuffer?, UpstreamError>? {
        if let chunk = chunks.popFirst() {
            unreadBytes -= chunk.readableBytes
            connection?.resumeReadingIfPaused()
            return .success(chunk)
        }
        if let failure { return .failure(failure) }
        if ended { return .success(nil) }
        return nil
    }

    func collect(upTo limit: Int, deadline: NIODeadline) -> EventLoopFuture<ByteBuffer> {
        var into = chunks.count == 1 ? chunks.removeFirst() : ByteBuffer()
        while let chunk = chunks.popFirst() {
            into.writeImmutableBuffer(chunk)
        }
        unreadBytes = 0
        if let failure { return loop.makeFailedFuture(failure) }
        if into.readableBytes > limit {
            fail(.tooLarge(limit: limit))
            connection?.close()
            return loop.makeFailedFuture(UpstreamError.tooLarge(limit: limit))
        }
        if ended { return loop.makeSucceededFuture(into) }
        let promise = loop.makePromise(of: ByteBuffer.self)
        reader = .collect(promise, limit: limit, into: into)
        arm(deadline)
        connection?.resumeReadingIfPaused()
        return promise.futureResult
    }

    /// Hands every later part of the body to `receiver` as it is read, on
    /// this loop, starting with any already read; the end or a failure too.
    /// No deadline is armed: the receiver keeps its own.
    func push(to receiver: any UpstreamBodyReceiver) {
        disarm()
        reader = .push(receiver)
        unreadBytes = 0
        while case .push? = reader, let chunk = chunks.popFirst() {
            receiver.upstreamBody(chunk)
        }
        guard case .push? = reader else { return }
        if let failure {
            reader = nil
            receiver.upstreamFailed(failure)
        } else if ended {
            reader = nil
            receiver.upstreamEnded()
        } else if !pushPaused {
            connection?.resumeReadingIfPaused()
        }
    }

    /// The connection's socket read is done: a pushed body's receiver is told.
    func readComplete() {
        if case .push(let receiver)? = reader { receiver.upstreamReadComplete() }
    }

    /// Stops or resumes reading a pushed body from the socket (the client
    /// it goes to is slower than the upstream).
    func pausePush(_ paused: Bool) {
        pushPaused = paused
        if !paused { connection?.resumeReadingIfPaused() }
    }

    /// The reader is gone (cancelled, or dropped the reply): a connection
    /// with part of a reply still unread cannot be reused.
    func abandon(_ error: UpstreamError) {
        guard !isFinished else { return }
        fail(error)
        connection?.close()
    }
}

/// Takes a pushed reply body (``UpstreamExchange/push(to:)``), on the
/// exchange's event loop.
protocol UpstreamBodyReceiver: AnyObject {
    func upstreamBody(_ part: ByteBuffer)
    /// The parts of one socket read have all been handed over (a moment to flush what they became).
    func upstreamReadComplete()
    /// The body ended cleanly.
    func upstreamEnded()
    /// The body ended with `error` (the exchange abandoned counts).
    func upstreamFailed(_ error: UpstreamError)
}
