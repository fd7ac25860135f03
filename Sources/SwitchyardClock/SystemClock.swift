#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SwitchyardCore

/// Wall-clock time, so metric buckets line up across processes.
public struct SystemClock: MomentClock {
    public init() {}

    public func now() -> Moment {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Moment(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}
