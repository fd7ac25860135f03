#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The source of `Moment`s. The core's state machines never read a clock:
/// the I/O layers read one of these and pass the time in, and tests pass a
/// fixed or stepped one.
public protocol MomentClock: Sendable {
    func now() -> Moment
}

/// Wall-clock time, so metric buckets line up across processes.
public struct SystemClock: MomentClock {
    public init() {}

    public func now() -> Moment {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Moment(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}
