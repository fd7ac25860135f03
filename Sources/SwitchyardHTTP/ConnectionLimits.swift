import NIOCore
import Synchronization

/// What a server allows its clients: how many connections at once, how long
/// a connection may sit with no request, and how long a request's head may
/// take to arrive once it has begun.
///
/// The defaults follow nginx's habits (keep-alive connections closed after a
/// minute of silence, a slow header given ten seconds) scaled for a proxy
/// that must never be the reason a caller hangs.
public struct ConnectionLimits: Sendable, Hashable {
    /// The most client connections open at once. At the limit a new client
    /// takes the place of the connection that has been idle longest; when none
    /// is idle, it gets `503` and is closed.
    public var maxConnections: Int
    /// How long a connection may stay open with no request in progress and
    /// no byte of a new one received.
    public var idleTimeout: Duration
    /// How long a request may take from its first byte to the end of its
    /// head, and a request body may go without a byte.
    public var headerTimeout: Duration

    public init(maxConnections: Int = 10_000, idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10)) {
        self.maxConnections = max(1, maxConnections)
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
    }
}

/// Counts a server's open connections against ``ConnectionLimits/maxConnections``
/// and, at the limit, makes room by closing the connection idle the longest —
/// as nginx reuses keep-alive connections when it runs out — so thousands of
/// idle or stalled clients cannot lock out a new one.
final class ConnectionGovernor: Sendable {
    private struct State {
        var open: [ObjectIdentifier: GovernedConnection] = [:]
        var refused = 0
        var evicted = 0
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Connections open now.
    var openConnections: Int { state.withLock { $0.open.count } }
    /// New connections turned away because every slot held a busy connection.
    var refusedConnections: Int { state.withLock { $0.refused } }
    /// Idle connections closed to make room for new ones.
    var evictedConnections: Int { state.withLock { $0.evicted } }

    /// Registers a new connection. At the limit the longest-idle connection is
    /// closed to make room; `false` when none is idle and the new one must go.
    func admit(_ connection: GovernedConnection) -> Bool {
        let victim: GovernedConnection?
        let admitted: Bool
        (victim, admitted) = state.withLock { state in
            guard state.open.count >= limit else {
                state.open[ObjectIdentifier(connection)] = connection
                return (nil, true)
            }
            var oldest: (key: ObjectIdentifier, value: GovernedConnection, since: Int64)?
            for (key, value) in state.open {
                let since = value.idleSince
                guard since != GovernedConnection.busy else { continue }
                if oldest == nil || since < oldest!.since { oldest = (key, value, since) }
            }
            guard let oldest else {
                state.refused += 1
                return (nil, false)
            }
            state.open.removeValue(forKey: oldest.key)
            state.open[ObjectIdentifier(connection)] = connection
            state.evicted += 1
            return (oldest.value, true)
        }
        victim?.channel.close(mode: .all, promise: nil)
        return admitted
    }

    /// Forgets a closed connection.
    func remove(_ connection: GovernedConnection) {
        _ = state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(connection)) }
    }
}

/// One client connection as the governor sees it: its channel and since when
/// it may be recycled — idle, or still receiving a request — (``busy`` while a
/// request is with the responder or its reply is being written).
final class GovernedConnection: Sendable {
    static let busy = Int64.max

    let channel: any Channel
    private let idle = Atomic<Int64>(0)

    init(channel: any Channel, now: NIODeadline) {
        self.channel = channel
        idle.store(Int64(clamping: now.uptimeNanoseconds), ordering: .relaxed)
    }

    /// Uptime nanoseconds when the connection last became idle, or ``busy``.
    var idleSince: Int64 { idle.load(ordering: .relaxed) }

    func markBusy() {
        idle.store(Self.busy, ordering: .relaxed)
    }

    func markIdle(_ now: NIODeadline) {
        idle.store(Int64(clamping: now.uptimeNanoseconds), ordering: .relaxed)
    }
}
