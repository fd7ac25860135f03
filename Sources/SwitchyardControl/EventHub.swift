import Foundation
public import NIOCore
import Synchronization
public import SwitchyardCore

/// Fans control-plane events out to live subscribers (`GET /api/v1/events`).
///
/// Publishing never waits: each subscriber has a bounded buffer, and one that
/// falls `capacity` events behind gets a final `dropped` event and is cut
/// off, so a slow console can never slow the gateway or other subscribers.
/// Metrics ticks are not queued behind one another: a subscriber gets the
/// next tick once it has taken the last.
public final class EventHub: Sendable {
    /// One event as sent on the wire.
    public struct Event: Sendable, Hashable {
        public let id: Int64
        /// `snapshot`, `route`, `route-deleted`, `audit`, `metrics`, `dropped`.
        public let name: String
        /// The JSON payload.
        public let data: [UInt8]
        /// `id: 7\nevent: route\ndata: {…}\n\n`, built once and shared by
        /// every subscriber: a 1,000-route metrics tick is some 340 KiB, and
        /// copying it twice per console was most of the fan-out's cost.
        public let wire: ByteBuffer

        public init(id: Int64, name: String, data: [UInt8]) {
            self.id = id
            self.name = name
            self.data = data
            var wire = ByteBuffer()
            wire.reserveCapacity(data.count + name.utf8.count + 40)
            wire.writeString("id: \(id)\nevent: \(name)\ndata: ")
            wire.writeBytes(data)
            wire.writeString("\n\n")
            self.wire = wire
        }

        public var serverSentEvent: [UInt8] { Array(wire.readableBytesView) }
    }

    private struct Subscriber {
        let continuation: AsyncStream<Event>.Continuation
        /// A metrics tick is queued and not yet taken. Ticks supersede each
        /// other, so a subscriber that has not taken the last one is not
        /// given the next: a stalled console holds one tick (some 340 KiB
        /// with a thousand routes), not its whole queue of them.
        var metricsQueued = false
    }

    private struct State {
        var nextID: Int64 = 1
        var subscribers: [UUID: Subscriber] = [:]
    }

    /// One subscriber's events, in order; taking a metrics tick makes room for the next.
    public struct Subscription: AsyncSequence, Sendable {
        public typealias Element = Event
        let events: AsyncStream<Event>
        let key: UUID
        let hub: EventHub

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncStream<Event>.AsyncIterator
            let key: UUID
            let hub: EventHub

            public mutating func next() async -> Event? {
                let event = await base.next()
                if event?.name == ManagementEventKind.metrics.rawValue { hub.metricsTaken(by: key) }
                return event
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: events.makeAsyncIterator(), key: key, hub: hub)
        }
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = capacity
    }

    /// How many subscribers are connected.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// A new subscription whose first event is `first` (the snapshot).
    public func subscribe(first: (name: String, data: [UInt8])) -> Subscription {
        // One slot more than the capacity, kept for the final `dropped` event.
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingOldest(capacity + 1))
        let key = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: key) }
        }
        state.withLock { state in
            continuation.yield(Event(id: state.nextID, name: first.name, data: first.data))
            state.nextID += 1
            state.subscribers[key] = Subscriber(continuation: continuation)
        }
        return Subscription(events: stream, key: key, hub: self)
    }

    func metricsTaken(by key: UUID) {
        state.withLock { $0.subscribers[key]?.metricsQueued = false }
    }

    /// Sends an event to every subscriber without waiting for any of them.
    /// Sends one event of `kind` to every subscriber.
    public func publish(_ kind: ManagementEventKind, data: [UInt8]) {
        publish(name: kind.rawValue, data: data)
    }

    func publish(name: String, data: [UInt8]) {
        let notice = JSONText.encode([
            "reason": .string("this subscriber fell \(capacity) events behind and was disconnected; reconnect for a fresh snapshot")
        ])
        // Finishing runs the stream's termination handler, which takes the
        // lock: so the laggards are finished after it is released.
        let laggards = state.withLock { state in
            let event = Event(id: state.nextID, name: name, data: data)
            state.nextID += 1
            let isMetrics = name == ManagementEventKind.metrics.rawValue
            var laggards: [AsyncStream<Event>.Continuation] = []
            for (key, subscriber) in state.subscribers {
                if isMetrics {
                    if subscriber.metricsQueued { continue }
                    state.subscribers[key]?.metricsQueued = true
                }
                let continuation = subscriber.continuation
                if case .enqueued(let remaining) = continuation.yield(event), remaining <= 1 {
                    continuation.yield(Event(id: state.nextID, name: ManagementEventKind.dropped.rawValue, data: notice))
                    state.nextID += 1
                    state.subscribers.removeValue(forKey: key)
                    laggards.append(continuation)
                }
            }
            return laggards
        }
        for continuation in laggards { continuation.finish() }
    }

    /// Ends every subscription (on shutdown).
    public func finishAll() {
        let all = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return state.subscribers.values.map(\.continuation)
        }
        for continuation in all { continuation.finish() }
    }
}
