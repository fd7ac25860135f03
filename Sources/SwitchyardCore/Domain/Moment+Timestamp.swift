extension Moment {
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-29T18:04:17.123Z`:
    /// the time stamp of log lines.
    public var timestamp: String {
        let day = CalendarDay(self)
        let perDay: Int64 = 86_400_000
        let remainder = (nanoseconds / 1_000_000) % perDay
        let milliseconds = remainder < 0 ? remainder + perDay : remainder
        let seconds = milliseconds / 1000
        func padded(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(day)T\(padded(seconds / 3600, 2)):\(padded(seconds % 3600 / 60, 2)):\(padded(seconds % 60, 2)).\(padded(milliseconds % 1000, 3))Z"
    }
}
