import NIOCore
import SwitchyardCore

/// One connection's clock against ``ConnectionLimits``: when it last became
/// idle, when the bytes of the next request began, and one timer that closes
/// the connection when it has waited too long. Lives on the connection's
/// event loop; the byte watcher and the dispatcher share it.
///
/// The timer is not re-armed per request: it wakes every quarter of the
/// shorter timeout, works out from the timestamps whether the connection has
/// run out of time, and sleeps again (as NIO's idle-state handler does). A
/// busy keep-alive connection costs a few clock reads per request and no
/// timer churn; a timeout is enforced within a quarter of its length.
final class ConnectionActivity {
    private enum Phase {
        /// No request in progress; `started` is when the first byte of the next one came.
        case idle(since: NIODeadline, started: NIODeadline?)
        /// A request's head has arrived and its body is still coming.
        case reading
        /// A request is with the responder or its reply is being written.
        case answering
    }

    let limits: ConnectionLimits
    let governed: GovernedConnection
    private var phase: Phase
    private var lastByte: NIODeadline
    /// Since when the client has not been taking the reply (the socket's
    /// buffer is full); `nil` while it reads.
    private var writeStalledSince: NIODeadline?
    private var timer: Scheduled<Void>?
    private weak var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, governed: GovernedConnection, now: NIODeadline) {
        self.limits = limits
        self.governed = governed
        self.phase = .idle(since: now, started: nil)
        self.lastByte = now
    }

    /// Starts the timer; the connection is closed through `context`.
    func start(context: ChannelHandlerContext) {
        self.context = context
        schedule(at: .now() + checkInterval, on: context.eventLoop)
    }

    /// How often the timer looks: a quarter of the shorter timeout.
    private var checkInterval: TimeAmount {
        .nanoseconds(max(1_000_000, Self.nanoseconds(min(limits.idleTimeout, limits.headerTimeout)) / 4))
    }

    func stop() {
        timer?.cancel()
        timer = nil
        context = nil
    }

    /// Raw bytes arrived from the client.
    func bytesArrived() {
        let now = NIODeadline.now()
        lastByte = now
        if case .idle(let since, nil) = phase {
            phase = .idle(since: since, started: now)
        }
    }

    /// A request's head arrived. Until its body is complete the connection
    /// can still be recycled at the cap (oldest first): a client that trickles
    /// a body must not be able to hold a slot that nothing can take back.
    func requestBegan() {
        bodyStillArriving()
    }

    /// The request's body is still coming: each gap between its bytes may be
    /// at most the header timeout, and the connection may be recycled.
    func bodyStillArriving() {
        let now = NIODeadline.now()
        phase = .reading
        lastByte = now
        governed.markIdle(now)
    }

    /// The request went to the responder (its body is complete or refused):
    /// from now on the connection is busy and kept.
    func requestDispatched() {
        phase = .answering
        governed.markBusy()
    }

    /// The socket stopped taking bytes (`false`) or took them again (`true`).
    func writabilityChanged(_ writable: Bool) {
        writeStalledSince = writable ? nil : (writeStalledSince ?? .now())
    }

    /// The last reply ended and nothing more is waiting.
    func becameIdle() {
        let now = NIODeadline.now()
        phase = .idle(since: now, started: nil)
        governed.markIdle(now)
    }

    /// When the connection runs out of time in its current phase; `nil` while
    /// a reply is being answered and the client takes it.
    private func expiry() -> NIODeadline? {
        switch phase {
        case .idle(let since, nil): since + .nanoseconds(Self.nanoseconds(limits.idleTimeout))
        case .idle(_, let started?): started + .nanoseconds(Self.nanoseconds(limits.headerTimeout))
        case .reading: lastByte + .nanoseconds(Self.nanoseconds(limits.headerTimeout))
        // A client that stops reading its reply is let go after the idle time,
        // as nginx's send_timeout does: it would hold its slot and an upstream
        // connection for ever.
        case .answering: writeStalledSince.map { $0 + .nanoseconds(Self.nanoseconds(limits.idleTimeout)) }
        }
    }

    private func fire() {
        timer = nil
        guard let context else { return }
        let now = NIODeadline.now()
        if let expiry = expiry(), now >= expiry {
            context.close(promise: nil)
            return
        }
        // A slow header may begin at any moment, so never sleep past the next look.
        schedule(at: min(expiry() ?? .distantFuture, now + checkInterval), on: context.eventLoop)
    }

    private func schedule(at deadline: NIODeadline, on loop: any EventLoop) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        timer = loop.scheduleTask(deadline: deadline) { bound.value.fire() }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        min(max(1_000_000, duration.nanosecondsClamped), DurationText.maximum.nanosecondsClamped)
    }
}

/// Sits before the HTTP decoder and tells the connection's clock when bytes
/// arrive and when the client stops or starts taking the reply.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let activity: ConnectionActivity

    init(activity: ConnectionActivity) {
        self.activity = activity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        activity.start(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        activity.stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity.bytesArrived()
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        activity.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }
}
