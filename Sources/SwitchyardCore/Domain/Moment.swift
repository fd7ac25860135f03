/// A point in time, in nanoseconds since the Unix epoch.
///
/// The core never reads a clock: every state machine is handed the current
/// `Moment` by its caller, so tests drive time explicitly and never sleep.
///
/// Arithmetic on moments saturates: a moment plus an absurd duration is the
/// far end of the representable range (about the year 2262), never a trap.
/// Durations and dates from outside are bounded where they are parsed
/// (``DurationText``, ``CalendarDay``); saturation is the last line of defence.
public struct Moment: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    /// The earliest and latest representable moments (1677 and 2262).
    public static let distantPast = Moment(nanoseconds: .min)
    public static let distantFuture = Moment(nanoseconds: .max)

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// A moment a whole number of seconds after the epoch (saturating).
    public init(seconds: Int64) {
        self.nanoseconds = seconds.saturatingMultiplied(by: 1_000_000_000)
    }

    /// Seconds since the epoch, as a floating-point value.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (lhs: Moment, rhs: Moment) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Moment, rhs: Duration) -> Moment {
        Moment(nanoseconds: lhs.nanoseconds.saturatingAdding(rhs.nanosecondsClamped))
    }

    public static func - (lhs: Moment, rhs: Duration) -> Moment {
        Moment(nanoseconds: lhs.nanoseconds.saturatingSubtracting(rhs.nanosecondsClamped))
    }

    /// The time from `rhs` to `lhs` (saturating).
    public static func - (lhs: Moment, rhs: Moment) -> Duration {
        .nanoseconds(lhs.nanoseconds.saturatingSubtracting(rhs.nanoseconds))
    }

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating rather than trapping on overflow.
    ///
    /// Computed from the full 128-bit count: `components` itself traps for
    /// durations past 2^63 seconds, which a damaged stored value can hold.
    public var nanosecondsClamped: Int64 {
        if Self.componentsSafe.contains(self) {
            let (seconds, attoseconds) = components
            return seconds.saturatingMultiplied(by: 1_000_000_000).saturatingAdding(attoseconds / 1_000_000_000)
        }
        return Int64(clamping: attoseconds / 1_000_000_000)
    }

    /// The duration in seconds, as a floating-point value (never traps).
    public var secondsDouble: Double {
        if Self.componentsSafe.contains(self) {
            // The common case, on every request's latency: the generic
            // 128-bit conversions below cost more than the rest of recording one.
            let (seconds, attoseconds) = components
            return Double(seconds) + Double(attoseconds) * 1e-18
        }
        let whole = attoseconds / 1_000_000_000_000_000_000
        let fraction = attoseconds % 1_000_000_000_000_000_000
        return Double(whole) + Double(fraction) / 1e18
    }

    /// Durations whose `components` cannot trap: whole seconds well inside `Int64`.
    private static let componentsSafe = Duration.seconds(-(Int64(1) << 62))...Duration.seconds(Int64(1) << 62)

    /// The duration in milliseconds, as a floating-point value.
    public var millisecondsDouble: Double { secondsDouble * 1000 }
}

extension FixedWidthInteger {
    /// `self + other`, or the nearest bound when that overflows.
    @inlinable public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, or the nearest bound when that overflows.
    @inlinable public func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }

    /// `self * other`, or the nearest bound when that overflows.
    @inlinable public func saturatingMultiplied(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}
