/// Time left until a moment, as an operator reads it at a glance — the same
/// in the console and in `ctl`.
public enum Countdown {
    /// `3d 04h`, `1h 05m`, `4m 12s`, `12s`; `now` when due.
    public static func short(_ seconds: Int64) -> String {
        guard seconds > 0 else { return "now" }
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if seconds >= 86_400 { return "\(seconds / 86_400)d \(two(seconds % 86_400 / 3600))h" }
        if seconds >= 3600 { return "\(seconds / 3600)h \(two(seconds % 3600 / 60))m" }
        if seconds >= 60 { return "\(seconds / 60)m \(two(seconds % 60))s" }
        return "\(seconds)s"
    }

    /// From now to `milliseconds` (both since the epoch), whole seconds rounded up.
    public static func short(untilMilliseconds milliseconds: Int64, nowMilliseconds now: Int64) -> String {
        short(milliseconds.saturatingSubtracting(now).saturatingAdding(999) / 1000)
    }
}
