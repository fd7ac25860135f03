/// Durations as people write them in config files and API bodies:
/// `250ms`, `30s`, `5m`, `2h`, `7d`, or combinations such as `1m30s`.
///
/// Every duration from outside is bounded: from ``minimum`` (1 ms) to
/// ``maximum`` (366 days). Anything else — zero, more digits than a duration
/// needs, `100000d` — is refused with the value and the bound, so no later
/// arithmetic on it can overflow.
public enum DurationText {
    /// The shortest duration accepted from outside.
    public static let minimum = Duration.milliseconds(1)
    /// The longest duration accepted from outside: 366 days.
    public static let maximum = Duration.seconds(366 * 86_400)

    /// Why a duration was refused; its description names the value and the rule.
    public struct Invalid: Error, Hashable, Sendable, CustomStringConvertible {
        public let text: String
        public let reason: String
        /// Not a duration at all (as opposed to one outside the bounds).
        public var isMalformed: Bool { reason.hasPrefix("is not a duration") }
        public var description: String { "'\(Self.shortened(text))' \(reason)" }

        static func shortened(_ text: String) -> String {
            text.count <= 40 ? text : String(text.prefix(40)) + "…"
        }
    }

    /// The duration `text` means, or `nil` when it is malformed or outside
    /// ``minimum`` … ``maximum``.
    public static func parse(_ text: String) -> Duration? {
        try? checked(text)
    }

    /// The duration `text` means, or an ``Invalid`` that says what is wrong.
    public static func checked(_ text: String) throws(Invalid) -> Duration {
        let malformed = Invalid(text: text, reason: "is not a duration such as 250ms, 30s, 5m, 2h or 1d")
        var totalSeconds = 0.0
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let character = text[index]
            if character.isASCII, character.isNumber || character == "." {
                // 20 characters are more than any duration up to a year needs; longer
                // runs of digits are refused before they are converted.
                guard number.count < 20 else { throw tooLong(text) }
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number), value.isFinite, value >= 0 else { throw malformed }
            let unitSeconds: Double
            if text[index...].hasPrefix("ms") {
                unitSeconds = 0.001
                index = text.index(index, offsetBy: 2)
            } else {
                switch character {
                case "s": unitSeconds = 1
                case "m": unitSeconds = 60
                case "h": unitSeconds = 3600
                case "d": unitSeconds = 86_400
                default: throw malformed
                }
                index = text.index(after: index)
            }
            totalSeconds += value * unitSeconds
            guard totalSeconds <= maximum.secondsDouble else { throw tooLong(text) }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { throw malformed }
        let duration = Duration.nanoseconds(Int64((totalSeconds * 1e9).rounded()))
        guard duration >= minimum else {
            throw Invalid(text: text, reason: "is shorter than the minimum of \(format(minimum))")
        }
        return duration
    }

    private static func tooLong(_ text: String) -> Invalid {
        Invalid(text: text, reason: "is longer than the maximum of 366d")
    }

    /// `1m30s`, `250ms`: the inverse of `parse` for whole milliseconds.
    public static func format(_ duration: Duration) -> String {
        var milliseconds = duration.nanosecondsClamped / 1_000_000
        if milliseconds <= 0 { return milliseconds == 0 ? "0s" : "-" + format(.zero - duration) }
        var parts = ""
        for (unit, symbol) in [(Int64(3_600_000), "h"), (60_000, "m"), (1_000, "s"), (1, "ms")] where milliseconds >= unit {
            parts += "\(milliseconds / unit)\(symbol)"
            milliseconds %= unit
        }
        return parts
    }
}
