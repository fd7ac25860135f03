/// A point in time, in nanoseconds since the Unix epoch.
///
/// The core never reads a clock: every state machine is handed the current
/// `Moment` by its caller, so tests drive time explicitly and never sleep.
public struct Moment: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// A moment a whole number of seconds after the epoch.
    public init(seconds: Int64) {
        self.nanoseconds = seconds * 1_000_000_000
    }

    /// Seconds since the epoch, as a floating-point value.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (lhs: Moment, rhs: Moment) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Moment, rhs: Duration) -> Moment {
        Moment(nanoseconds: lhs.nanoseconds + rhs.nanosecondsClamped)
    }

    public static func - (lhs: Moment, rhs: Duration) -> Moment {
        Moment(nanoseconds: lhs.nanoseconds - rhs.nanosecondsClamped)
    }

    /// The time from `rhs` to `lhs`.
    public static func - (lhs: Moment, rhs: Moment) -> Duration {
        .nanoseconds(lhs.nanoseconds - rhs.nanoseconds)
    }

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating rather than trapping on overflow.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }

    /// The duration in seconds, as a floating-point value.
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in milliseconds, as a floating-point value.
    public var millisecondsDouble: Double { secondsDouble * 1000 }
}
