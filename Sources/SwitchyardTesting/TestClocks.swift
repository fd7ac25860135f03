import Synchronization
import SwitchyardClock
public import SwitchyardCore

/// A clock that stands still until the test moves it.
public final class SteppedClock: MomentClock, Sendable {
    private let current: Mutex<Moment>

    public init(_ start: Moment) {
        current = Mutex(start)
    }

    /// Midnight UTC of `day` (`YYYY-MM-DD`); a malformed day is the test's own bug.
    public convenience init(day: String) {
        guard let start = CalendarDay(day)?.start else { preconditionFailure("'\(day)' is not YYYY-MM-DD") }
        self.init(start)
    }

    public func now() -> Moment { current.withLock { $0 } }

    public func set(_ moment: Moment) { current.withLock { $0 = moment } }

    public func set(day: String) {
        guard let start = CalendarDay(day)?.start else { preconditionFailure("'\(day)' is not YYYY-MM-DD") }
        set(start)
    }

    public func advance(_ duration: Duration) { current.withLock { $0 = $0 + duration } }
}

/// Real time plus an offset the test moves forward: requests keep their real
/// latencies while minutes of rollout pass in an instant.
public final class OffsetClock: MomentClock, Sendable {
    private let offset = Atomic<Int64>(0)

    public init() {}

    public func now() -> Moment { SystemClock().now() + .nanoseconds(offset.load(ordering: .relaxed)) }

    public func advance(_ duration: Duration) { offset.add(duration.nanosecondsClamped, ordering: .relaxed) }
}
