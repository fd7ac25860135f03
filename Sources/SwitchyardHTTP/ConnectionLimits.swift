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
    /// Connections the kernel may hold waiting to be accepted (capped by
    /// `net.core.somaxconn`): deep enough for thousands of clients opening
    /// streams at once, where Hummingbird's 256 refused the burst.
    public var listenBacklog: Int

    public init(maxConnections: Int = 10_000, idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10), listenBacklog: Int = 4096) {
        self.maxConnections = max(1, maxConnections)
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.listenBacklog = max(1, listenBacklog)
    }
}

/// Counts a server's open connections against ``ConnectionLimits/maxConnections``
/// and, at the limit, makes room by closing an idle connection — as nginx
/// reuses keep-alive connections when it runs out — so thousands of idle or
/// stalled clients cannot lock out a new one.
///
/// At the limit the victim is the longest-idle of a sample of 64 connections
/// (approximate LRU, as Redis evicts), so an accept costs the same with a
/// hundred connections or a hundred thousand. Only when the sample holds no
/// idle one is every connection looked at, and a fruitless full look is not
/// repeated for 100 ms: a flood against a server whose every slot is busy
/// costs each refused accept almost nothing.
final class ConnectionGovernor: Sendable {
    private struct State {
        var open: [GovernedConnection] = []
        var position: [ObjectIdentifier: Int] = [:]
        var refused = 0
        var evicted = 0
        var sampler: UInt64 = 0x9E37_79B9_7F4A_7C15
        /// When a look at every connection last found none idle.
        var noneIdleAt: UInt64?

        mutating func add(_ connection: GovernedConnection) {
            position[ObjectIdentifier(connection)] = open.count
            open.append(connection)
        }

        mutating func remove(at index: Int) -> GovernedConnection {
            let removed = open[index]
            position.removeValue(forKey: ObjectIdentifier(removed))
            let last = open.removeLast()
            if index < open.count {
                open[index] = last
                position[ObjectIdentifier(last)] = index
            }
            return removed
        }

        mutating func nextSample() -> Int {
            sampler &+= 0x9E37_79B9_7F4A_7C15
            var z = sampler
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) % UInt64(open.count))
        }

        /// The index of the longest-idle connection among `indices`, if any is idle.
        func oldestIdle(_ indices: some Sequence<Int>) -> Int? {
            var best: (index: Int, since: Int64)?
            for index in indices {
                let since = open[index].idleSince
                guard since != GovernedConnection.busy else { continue }
                if best == nil || since < best!.since { best = (index, since) }
            }
            return best?.index
        }
    }

    static let sampleSize = 64
    static let fullLookPause: UInt64 = 100_000_000

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

    /// Registers a new connection. At the limit an idle connection is closed
    /// to make room; `false` when none is idle and the new one must go.
    func admit(_ connection: GovernedConnection, now: NIODeadline = .now()) -> Bool {
        let victim: GovernedConnection?
        let admitted: Bool
        (victim, admitted) = state.withLock { state in
            guard state.open.count >= limit else {
                state.add(connection)
                return (nil, true)
            }
            var found: Int?
            if state.open.count <= Self.sampleSize {
                found = state.oldestIdle(state.open.indices)
            } else {
                var sample: [Int] = []
                sample.reserveCapacity(Self.sampleSize)
                for _ in 0..<Self.sampleSize { sample.append(state.nextSample()) }
                found = state.oldestIdle(sample)
                let recentlyNone = state.noneIdleAt.map { now.uptimeNanoseconds &- $0 < Self.fullLookPause } ?? false
                if found == nil, !recentlyNone {
                    found = state.oldestIdle(state.open.indices)
                    if found == nil { state.noneIdleAt = now.uptimeNanoseconds }
                }
            }
            guard let found else {
                state.refused += 1
                return (nil, false)
            }
            let evicted = state.remove(at: found)
            state.add(connection)
            state.evicted += 1
            state.noneIdleAt = nil
            return (evicted, true)
        }
        victim?.channel.close(mode: .all, promise: nil)
        return admitted
    }

    /// Closes every connection now, replies in flight or not.
    func closeAll() {
        let open = state.withLock { $0.open }
        for connection in open { connection.channel.close(mode: .all, promise: nil) }
    }

    /// Forgets a closed connection.
    func remove(_ connection: GovernedConnection) {
        state.withLock { state in
            guard let index = state.position[ObjectIdentifier(connection)] else { return }
            _ = state.remove(at: index)
        }
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
