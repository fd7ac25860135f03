import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardHTTP
import Synchronization

/// The transport for plain-HTTP upstreams: kept-alive HTTP/1.1 connections
/// pooled per event loop, each request written in one flush, and the reply
/// handed to its reader without a task or an async sequence per chunk.
///
/// A request is sent from the event loop its caller runs on (the gateway
/// serves each client connection on its own loop), so the client connection,
/// the upstream connection and the task between them share one thread.
/// AsyncHTTPClient spent about three times the CPU per proxied request here
/// (docs/performance.md); it still carries HTTPS upstreams, which need TLS
/// and HTTP/2.
final class PooledHTTP1Transport: UpstreamTransport {
    private struct State {
        /// Per event loop: connections free for the next request.
        var idle: [ObjectIdentifier: [UpstreamConnection]] = [:]
        /// Per event loop: connections open or being opened (held under the cap).
        var counted: [ObjectIdentifier: Int] = [:]
        /// Per event loop: requests waiting for a connection while the loop is at its cap.
        var waiting: [ObjectIdentifier: CircularBuffer<Waiter>] = [:]
        var open: [ObjectIdentifier: UpstreamConnection] = [:]
        var sweeping: Set<ObjectIdentifier> = []
        var shutDown = false
    }

    /// A request not yet written to a connection.
    private struct Waiter {
        let exchange: UpstreamExchange
        let request: UpstreamRequest
        let headDeadline: NIODeadline
        /// Ends its wait in the queue (set only while it is queued).
        var expiry: Scheduled<Void>? = nil
    }

    let host: String
    let port: Int
    let connectTimeout: TimeAmount
    /// Connections per event loop at most; further requests wait for one to
    /// free up, so a burst of clients does not become a burst of connections
    /// to the upstream.
    let maxConnectionsPerLoop: Int
    /// Requests that may wait per event loop; past it a request is refused
    /// at once as `.saturated` (Envoy's `max_pending_requests`).
    let maxWaitingPerLoop: Int
    /// How long a request waits for a connection before it is refused as
    /// `.saturated`: LLM streams hold their connections for many seconds,
    /// so a longer wait would mostly end in a timeout the client cannot read.
    let maxQueueWait: TimeAmount
    /// The cap over every event loop, and the origin, for the refusal's message.
    private let totalConnections: Int
    /// Idle connections kept per event loop; more are closed as they free up.
    let maxIdlePerLoop: Int
    /// A connection idle this long is closed (below common servers' keep-alive
    /// timeouts, so the upstream rarely closes one just as it is reused).
    let idleTimeout: TimeAmount
    private let hostHeader: String
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(State())

    init(
        host: String,
        port: Int,
        connectTimeout: TimeAmount,
        maxConnectionsPerLoop: Int = 256,
        maxWaitingPerLoop: Int? = nil,
        maxQueueWait: TimeAmount = .seconds(1),
        maxIdlePerLoop: Int = 256,
        idleTimeout: TimeAmount = .seconds(55),
        group: MultiThreadedEventLoopGroup = .singleton
    ) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.maxConnectionsPerLoop = maxConnectionsPerLoop
        self.maxWaitingPerLoop = max(1, maxWaitingPerLoop ?? maxConnectionsPerLoop)
        self.maxQueueWait = maxQueueWait
        let loops = group.makeIterator().reduce(0) { count, _ in count + 1 }
        self.totalConnections = maxConnectionsPerLoop.multipliedReportingOverflow(by: max(1, loops)).partialValue
        self.maxIdlePerLoop = maxIdlePerLoop
        self.idleTimeout = idleTimeout
        let bracketed = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = port == 80 ? bracketed : "\(bracketed):\(port)"
        self.group = group
    }

    func send(_ request: UpstreamRequest, headDeadline: NIODeadline) async throws(UpstreamError) -> any UpstreamReply {
        let loop = group.any()
        let exchange = UpstreamExchange(loop: loop)
        loop.runHere { self.begin(exchange, request: request, headDeadline: headDeadline) }
        let head = try await PooledReply.await(exchange) { $0.head.futureResult }
        return PooledReply(exchange: exchange, head: head)
    }

    /// Connections open now, and those among them idle in the pool.
    var connectionCounts: (open: Int, idle: Int) {
        state.withLock { state in (state.open.count, state.idle.values.reduce(0) { $0 + $1.count }) }
    }

    /// Closes every connection; requests still in flight fail.
    func shutdown() {
        let (all, waiting) = state.withLock { state in
            state.shutDown = true
            state.idle = [:]
            defer { state.waiting = [:] }
            return (Array(state.open.values), state.waiting.values.flatMap { $0 })
        }
        for connection in all {
            connection.eventLoop.execute { connection.close() }
        }
        for waiter in waiting {
            waiter.expiry?.cancel()
            waiter.exchange.loop.execute { waiter.exchange.fail(.connectFailed("the gateway is shutting down")) }
        }
    }

    // MARK: On the event loop

    private func begin(_ exchange: UpstreamExchange, request: UpstreamRequest, headDeadline: NIODeadline) {
        // One deadline for waiting, connecting and the head.
        exchange.arm(headDeadline)
        assign(Waiter(exchange: exchange, request: request, headDeadline: headDeadline), on: exchange.loop)
    }

    private var saturated: UpstreamError {
        .saturated(origin: hostHeader, connections: totalConnections)
    }

    /// Gives a request a connection: an idle one, a new one while the loop is
    /// under its cap, or else a place in the loop's queue.
    private func assign(_ waiter: Waiter, on loop: any EventLoop) {
        enum Next {
            case reuse(UpstreamConnection)
            case connect
            case wait
            case refuse
            case full
        }
        let key = ObjectIdentifier(loop)
        while true {
            let next = state.withLock { state -> Next in
                if state.shutDown { return .refuse }
                if let connection = state.idle[key]?.popLast() { return .reuse(connection) }
                if state.counted[key, default: 0] < maxConnectionsPerLoop {
                    state.counted[key, default: 0] += 1
                    return .connect
                }
                if state.waiting[key, default: CircularBuffer()].count >= maxWaitingPerLoop {
                    // Requests whose clients left or whose deadline passed give up their places first.
                    state.waiting[key]?.removeAll { waiting in
                        guard waiting.exchange.isFinished else { return false }
                        waiting.expiry?.cancel()
                        return true
                    }
                    if state.waiting[key, default: CircularBuffer()].count >= maxWaitingPerLoop { return .full }
                }
                var queued = waiter
                queued.expiry = expire(waiter.exchange, headDeadline: waiter.headDeadline, on: loop)
                state.waiting[key, default: CircularBuffer()].append(queued)
                return .wait
            }
            switch next {
            case .reuse(let connection):
                // A closed one is on its way out of the pool (and the count): try the next.
                guard connection.isUsable else { continue }
                start(waiter, on: connection)
            case .connect:
                connect(on: loop).whenComplete { result in
                    switch result {
                    case .success(let connection):
                        self.start(waiter, on: connection)
                    case .failure(let error):
                        waiter.exchange.fail(Self.connectError(error))
                        self.release(key, loop: loop)
                    }
                }
            case .wait:
                break
            case .refuse:
                waiter.exchange.fail(.connectFailed("the gateway is shutting down"))
            case .full:
                waiter.exchange.fail(saturated)
            }
            return
        }
    }

    /// Ends a queued request's wait: by its head deadline as `.timedOut`,
    /// else after `maxQueueWait` as `.saturated`. Its place in the queue is
    /// given up at once, so expired requests do not fill the queue.
    private func expire(_ exchange: UpstreamExchange, headDeadline: NIODeadline, on loop: any EventLoop) -> Scheduled<Void> {
        let queueDeadline = NIODeadline.now() + maxQueueWait
        let failure = headDeadline <= queueDeadline ? UpstreamError.timedOut : saturated
        let key = ObjectIdentifier(loop)
        return loop.scheduleTask(deadline: min(headDeadline, queueDeadline)) { [weak self] in
            guard let self else { return }
            let removed = self.state.withLock { state -> Bool in
                guard let index = state.waiting[key]?.firstIndex(where: { $0.exchange === exchange }) else { return false }
                state.waiting[key]?.remove(at: index)
                return true
            }
            if removed { exchange.fail(failure) }
        }
    }

    private func start(_ waiter: Waiter, on connection: UpstreamConnection) {
        waiter.expiry?.cancel()
        if waiter.exchange.isFinished {
            // Its deadline passed (or its client left) while it waited.
            park(connection)
        } else {
            connection.start(waiter.exchange, request: waiter.request, host: hostHeader)
        }
    }

    /// The next queued request on `key` whose deadline has not passed.
    private func nextWaiter(_ key: ObjectIdentifier) -> Waiter? {
        while let waiter = state.withLock({ $0.waiting[key]?.popFirst() }) {
            if !waiter.exchange.isFinished { return waiter }
            waiter.expiry?.cancel()
        }
        return nil
    }

    /// A counted connection is gone (closed, or never opened): its place goes
    /// to the next queued request, if any.
    private func release(_ key: ObjectIdentifier, loop: any EventLoop) {
        state.withLock { $0.counted[key, default: 1] -= 1 }
        if let waiter = nextWaiter(key) { assign(waiter, on: loop) }
    }

    private func connect(on loop: any EventLoop) -> EventLoopFuture<UpstreamConnection> {
        let connection = UpstreamConnection(
            eventLoop: loop,
            onReusable: { [weak self] connection in self?.park(connection) },
            onClosed: { [weak self] connection in self?.forget(connection) }
        )
        return ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // One small receive buffer kept per connection, not the largest read it ever made.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(.recvAllocator, value: SmallKeptRecvAllocator())
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // NIO's outbound header validation is left out: every header sent
                    // comes from the route's configuration, checked when it is installed.
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(HTTPRequestEncoder())
                    try pipeline.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                    try pipeline.addHandler(connection)
                }
            }
            .connect(host: host, port: port)
            .flatMapThrowing { channel in
                let admitted = self.state.withLock { state in
                    guard !state.shutDown else { return false }
                    state.open[ObjectIdentifier(connection)] = connection
                    return true
                }
                guard admitted else {
                    channel.close(promise: nil)
                    throw UpstreamError.connectFailed("the gateway is shutting down")
                }
                return connection
            }
    }

    /// A connection free again: to the next queued request, else to the pool.
    private func park(_ connection: UpstreamConnection) {
        guard connection.isUsable else { return connection.close() }
        let key = ObjectIdentifier(connection.eventLoop)
        if let waiter = nextWaiter(key) { return start(waiter, on: connection) }
        let (kept, startSweep) = state.withLock { state -> (Bool, Bool) in
            guard !state.shutDown, state.idle[key, default: []].count < maxIdlePerLoop else { return (false, false) }
            state.idle[key, default: []].append(connection)
            return (true, state.sweeping.insert(key).inserted)
        }
        if !kept { return connection.close() }
        if startSweep { scheduleSweep(on: connection.eventLoop) }
    }

    private func forget(_ connection: UpstreamConnection) {
        let key = ObjectIdentifier(connection.eventLoop)
        let id = ObjectIdentifier(connection)
        let wasOpen = state.withLock { state in
            state.idle[key]?.removeAll { $0 === connection }
            return state.open.removeValue(forKey: id) != nil
        }
        // One refused at shutdown was never admitted: its failed connect releases it.
        if wasOpen { release(key, loop: connection.eventLoop) }
    }

    /// Closes connections idle longer than `idleTimeout`, every half of it,
    /// while the loop has idle connections.
    private func scheduleSweep(on loop: any EventLoop) {
        let key = ObjectIdentifier(loop)
        loop.scheduleTask(in: .nanoseconds(idleTimeout.nanoseconds / 2)) { [weak self] in
            guard let self else { return }
            let cutoff = NIODeadline.now() - self.idleTimeout
            let (stale, more) = self.state.withLock { state -> (ArraySlice<UpstreamConnection>, Bool) in
                var idle = state.idle[key] ?? []
                let firstStale = idle.partition { $0.idleSince < cutoff }
                state.idle[key] = Array(idle[..<firstStale])
                let more = firstStale > 0 && !state.shutDown
                if !more { state.sweeping.remove(key) }
                return (idle[firstStale...], more)
            }
            for connection in stale { connection.close() }
            if more { self.scheduleSweep(on: loop) }
        }
    }

    static func connectError(_ error: any Error) -> UpstreamError {
        if let error = error as? UpstreamError { return error }
        if case ChannelError.connectTimeout = error { return .connectTimeout }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return .connectFailed("\(first.error)") }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return .connectFailed("cannot resolve '\(error.host)': \(dns)") }
        }
        return .connectFailed("\(error)")
    }
}

/// A reply read from a pooled connection.
final class PooledReply: UpstreamReply {
    let status: UInt
    let headers: HTTPHeaders
    /// Dropping the reply abandons the exchange: whoever reads it keeps the reply.
    let exchange: UpstreamExchange

    init(exchange: UpstreamExchange, head: HTTPResponseHead) {
        self.exchange = exchange
        self.status = head.status.code
        self.headers = head.headers
    }

    deinit {
        let exchange = exchange
        exchange.loop.runHere { exchange.abandon(.cancelled) }
    }

    func collect(upTo limit: Int, deadline: NIODeadline) async throws(UpstreamError) -> ByteBuffer {
        try await Self.await(exchange) { $0.collect(upTo: limit, deadline: deadline) }
    }

    func next(deadline: NIODeadline) async throws(UpstreamError) -> ByteBuffer? {
        // A busy stream often has its next chunk read already: no future, no suspension.
        if exchange.loop.inEventLoop, let ready = exchange.nextIfReady() { return try ready.get() }
        return try await Self.await(exchange) { $0.next(deadline: deadline) }
    }

    /// Starts `operation` on the exchange's loop and waits for its result;
    /// cancelling the waiting task abandons the exchange (and its connection).
    static func await<T: Sendable>(
        _ exchange: UpstreamExchange,
        _ operation: @escaping @Sendable (UpstreamExchange) -> EventLoopFuture<T>
    ) async throws(UpstreamError) -> T {
        let loop = exchange.loop
        let future = loop.inEventLoop ? operation(exchange) : loop.flatSubmit { operation(exchange) }
        do {
            return try await withTaskCancellationHandler {
                try await future.get()
            } onCancel: {
                loop.execute { exchange.abandon(.cancelled) }
            }
        } catch let error as UpstreamError {
            throw error
        } catch {
            throw .broken("\(error)")
        }
    }
}

extension EventLoop {
    /// Runs `task` at once when called on this loop, else enqueues it there:
    /// the gateway's own requests are already on the right loop, and should
    /// not wait a turn of it.
    func runHere(_ task: @escaping @Sendable () -> Void) {
        if inEventLoop { task() } else { execute(task) }
    }
}
