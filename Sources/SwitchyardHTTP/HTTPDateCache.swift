import Foundation
import SwitchyardCore

/// The `Date` header's value (RFC 9110 IMF-fixdate), formatted at most once a second.
struct HTTPDateCache {
    private var second = -1
    private var text = ""

    /// The current time as an HTTP date.
    mutating func now() -> String {
        var moment = timespec()
        clock_gettime(CLOCK_REALTIME, &moment)
        let second = Int(moment.tv_sec)
        if second != self.second {
            self.second = second
            text = Self.format(epochSeconds: second)
        }
        return text
    }

    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats seconds since 1970-01-01T00:00:00Z, e.g. "Sun, 22 Nov 2026 11:00:00 GMT".
    static func format(epochSeconds: Int) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secondOfDay = epochSeconds - days * 86_400
        let date = CalendarDay(Moment(seconds: Int64(epochSeconds)))
        let (day, month, year) = (date.day, date.month, date.year)
        let weekday = weekdays[((days % 7) + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
