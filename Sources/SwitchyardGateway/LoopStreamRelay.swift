import NIOCore
import SwitchyardCore
import SwitchyardHTTP

/// Relays one upstream event stream to its client from the event loop both
/// connections live on: each chunk the upstream connection reads is scanned
/// and written to the client within the same call — no task, future or
/// continuation per chunk, and no task frames held for the stream's life.
///
/// The contract is ``StreamRelay``'s: original bytes event by event, the
/// usage chunk dropped unless asked for, a broken or stalled stream ended
/// with an error event, the outcome recorded once. A client slower than
/// its upstream stops the upstream connection's reads until its socket
/// drains. Everything runs on ``loop``, which makes the unchecked
/// `Sendable` sound.
final class LoopStreamRelay: LoopReplySource, UpstreamBodyReceiver, @unchecked Sendable {
    private enum Phase {
        /// Events go to the client.
        case relaying
        /// The client has its whole reply; the upstream's end is awaited so its connection can be reused.
        case draining
        /// Nothing more to do.
        case done
    }

    let loop: any EventLoop
    private let gateway: Gateway
    /// Holds the exchange: dropping the reply would abandon it.
    private let reply: PooledReply
    private let account: AttemptAccount
    private let operation: OpenAIOperation
    private let started: Moment
    private let firstChunkAt: Moment
    /// The first chunk, until it is relayed: a slice of the upstream
    /// connection's receive buffer, which NIO reuses only once it is free.
    private var first: ByteBuffer?
    private let idleLimit: TimeAmount
    private let totalDeadline: NIODeadline
    private var state: StreamRelay.State
    private var sink: LoopReplySink?
    private var phase = Phase.relaying
    private var upstreamFinished = false
    private var lastChunkAt = NIODeadline.now()
    private var timer: Scheduled<Void>?
    /// Events written to the client since the last flush.
    private var unflushed = false
    /// The client's socket is full and the upstream's reads are held: the
    /// silence is the client's, not the upstream's, and is not timed as idle.
    private var clientFull = false
    /// The stream as sent, kept for the shadow (or the other A/B variant) while it fits.
    private var kept: ByteBuffer?
    private let mirror: (mirror: ShadowMirror, shadow: String, chat: ClientRequest)?
    /// What the client was sent, for a `logContent` route's access-log line.
    private var logged: [UInt8]?

    /// Nil when this reply cannot be relayed from the loop: a transport other
    /// than the pooled one, or an upstream connection on another loop than
    /// the client's.
    init?(
        gateway: Gateway, context: AttemptContext, reply: any UpstreamReply, clientLoop: any EventLoop, first: ByteBuffer,
        started: Moment, firstChunkAt: Moment, mirror: (mirror: ShadowMirror, shadow: String)?
    ) {
        guard let pooled = reply as? PooledReply, ObjectIdentifier(pooled.exchange.loop) == ObjectIdentifier(clientLoop) else { return nil }
        self.loop = clientLoop
        self.gateway = gateway
        self.reply = pooled
        self.account = AttemptAccount(context)
        self.operation = context.chat.operation
        self.started = started
        self.firstChunkAt = firstChunkAt
        self.first = first
        let timeouts = context.deployment.timeouts
        idleLimit = .nanoseconds(timeouts.idle.nanosecondsForNIO)
        totalDeadline = .after(timeouts.total - (firstChunkAt - started))
        state = StreamRelay.State(forwardUsage: context.chat.clientWantsStreamUsage)
        self.mirror = mirror.map { ($0.mirror, $0.shadow, context.chat) }
        kept = mirror == nil ? nil : ByteBuffer()
        logged = context.trail?.logsContent == true ? [] : nil
    }

    /// The client left before the reply's head went out.
    func notStarted() {
        account.runtime.abandon(probe: account.probe, now: gateway.clock.now())
        account.trail?.finish(status: 200, error: "client_closed")
    }

    // MARK: LoopReplySource

    func start(writingTo sink: LoopReplySink) {
        self.sink = sink
        lastChunkAt = .now()
        if let first {
            self.first = nil
            relay(first)
        }
        // A short reply is often read whole already: `push` relays the rest
        // at once, and no timer is ever armed for it.
        if phase != .done { reply.exchange.push(to: self) }
        flushToClient()
        if phase != .done { armTimer() }
    }

    func clientCanTakeMore() {
        guard clientFull else { return }
        clientFull = false
        lastChunkAt = .now()
        reply.exchange.pausePush(false)
    }

    func clientWentAway() {
        guard phase == .relaying else { return }
        // Nothing more to send, and not the deployment's fault.
        account.runtime.abandon(probe: account.probe, now: gateway.clock.now())
        account.trail?.finish(status: 200, error: "client_closed")
        close(abandoning: .cancelled)
    }

    // MARK: UpstreamBodyReceiver

    func upstreamBody(_ part: ByteBuffer) {
        lastChunkAt = .now()
        relay(part)
    }

    func upstreamReadComplete() {
        flushToClient()
    }

    func upstreamEnded() {
        upstreamFinished = true
        switch phase {
        case .relaying:
            let expected = operation == .responses ? "a response.completed event" : "[DONE]"
            end(failure: (state.sawError ? .upstream5xx : .cutStream, "the upstream stream ended without \(expected)"))
        case .draining:
            close(abandoning: nil)
        case .done:
            break
        }
    }

    func upstreamFailed(_ error: UpstreamError) {
        upstreamFinished = true
        switch phase {
        case .relaying:
            end(failure: (.cutStream, "the upstream stream broke off"))
        case .draining:
            close(abandoning: nil)
        case .done:
            break
        }
    }

    // MARK: Relaying

    private func relay(_ buffer: ByteBuffer) {
        guard phase == .relaying, let sink else { return }
        ShadowMirror.keep(buffer, in: &kept)
        let output: ByteBuffer?
        do {
            output = try state.consume(buffer)
        } catch {
            return end(failure: (.cutStream, "the upstream sent an event larger than \(ServerSentEventSplitter.maximumEventBytes) bytes"))
        }
        if let output, output.readableBytes > 0 {
            RequestTrail.log(output, into: &logged)
            // Flushed once the upstream's socket read is done: the events of one read go out in one write.
            unflushed = true
            if !sink.write(output, flush: false) {
                // Past the client socket's high-water mark: the upstream waits for it.
                clientFull = true
                reply.exchange.pausePush(true)
            }
        }
        if state.sawDone { end(failure: nil) }
    }

    private func flushToClient() {
        guard unflushed, let sink else { return }
        unflushed = false
        sink.flush()
    }

    /// Fires at the idle or the total deadline, whichever is first; a chunk
    /// that arrived meanwhile moves the idle one on (one timer per idle
    /// period, not one per chunk). Draining, the same limits bound the wait
    /// for the upstream's end.
    private func armTimer() {
        timer = loop.scheduleTask(deadline: min(lastChunkAt + idleLimit, totalDeadline)) { [self] in
            self.timer = nil
            self.timerFired()
        }
    }

    private func timerFired() {
        switch phase {
        case .relaying:
            let now = NIODeadline.now()
            if now >= totalDeadline {
                end(failure: (.timeout, "the upstream stream timed out (\(TimeoutStage.total.rawValue))"))
            } else if clientFull {
                lastChunkAt = now
                armTimer()
            } else if now >= lastChunkAt + idleLimit {
                end(failure: (.timeout, "the upstream stream timed out (\(TimeoutStage.idle.rawValue))"))
            } else {
                armTimer()
            }
        case .draining:
            close(abandoning: .timedOut)
        case .done:
            break
        }
    }

    /// Ends the client's reply: records the outcome, writes the error event
    /// for a broken stream, and finishes.
    private func end(failure: (outcome: RequestOutcome, message: String)?) {
        guard phase == .relaying else { return }
        phase = .draining
        let ending = StreamEnding(gateway: gateway, account: account, operation: operation, started: started, firstChunkAt: firstChunkAt)
        let now = gateway.clock.now()
        if let errorEvent = ending.record(failure, state: state, now: now) {
            sink?.write(errorEvent)
        }
        sink?.finish()
        unflushed = false
        if clientFull {
            // The upstream's last bytes (its body's end) are still to be read, whatever the client's socket holds.
            clientFull = false
            reply.exchange.pausePush(false)
        }
        // The client has its whole reply; only now is the shadow's copy queued.
        ending.afterReply(failure, logged: logged, mirror: mirror, kept: kept, now: now)
        kept = nil
        if upstreamFinished {
            close(abandoning: nil)
        } else if failure != nil {
            // A stalled or broken body leaves the connection unusable.
            close(abandoning: failure?.outcome == .timeout ? .timedOut : .broken("relay ended"))
        }
        // Otherwise the upstream's end (usually in the same read as `[DONE]`)
        // returns its connection to the pool; the timer bounds the wait.
    }

    /// Done: stops the timer and, unless the upstream finished, abandons its
    /// exchange (closing the connection).
    private func close(abandoning error: UpstreamError?) {
        phase = .done
        timer?.cancel()
        timer = nil
        sink = nil
        if let error, !upstreamFinished { reply.exchange.abandon(error) }
    }
}
