/// Durations as people write them in config files and API bodies:
/// `250ms`, `30s`, `5m`, `2h`, or combinations such as `1m30s`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var total = Duration.zero
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number), value >= 0 else { return nil }
            let rest = text[index...]
            let unit: Duration
            if rest.hasPrefix("ms") {
                unit = .milliseconds(1)
                index = text.index(index, offsetBy: 2)
            } else {
                switch character {
                case "s": unit = .seconds(1)
                case "m": unit = .seconds(60)
                case "h": unit = .seconds(3600)
                case "d": unit = .seconds(86_400)
                default: return nil
                }
                index = text.index(after: index)
            }
            total += unit * value
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return total
    }

    /// `1m30s`, `250ms`: the inverse of `parse` for whole milliseconds.
    public static func format(_ duration: Duration) -> String {
        var milliseconds = duration.nanosecondsClamped / 1_000_000
        if milliseconds == 0 { return "0s" }
        var parts = ""
        for (unit, symbol) in [(Int64(3_600_000), "h"), (60_000, "m"), (1_000, "s"), (1, "ms")] where milliseconds >= unit {
            parts += "\(milliseconds / unit)\(symbol)"
            milliseconds %= unit
        }
        return parts
    }
}
