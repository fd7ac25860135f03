/// How long an upstream asks to be left alone after a `429`, read from its
/// `retry-after-ms` (milliseconds, as OpenAI and Azure send it) or
/// `Retry-After` (delay-seconds) header.
///
/// Only plain decimal numbers from 0 up to ``maximum`` are honoured. Larger,
/// negative, non-finite (`inf`, `NaN`), exponent-form (`1e20`) or otherwise
/// unparsable values are treated as absent — one hostile header must not hold
/// a deployment back for centuries, and it is never echoed to clients raw.
public enum RetryAfter {
    /// The longest wait an upstream's header is honoured for: 10 minutes.
    public static let maximum = Duration.seconds(600)

    /// The wait the headers ask for, or `nil` when neither holds a valid one.
    /// `retry-after-ms` wins when both are valid.
    public static func parse(milliseconds: String?, seconds: String?) -> Duration? {
        if let milliseconds, let value = decimal(milliseconds), value <= maximum.millisecondsDouble {
            return .microseconds(Int64((value * 1000).rounded()))
        }
        if let seconds, let value = decimal(seconds), value <= maximum.secondsDouble {
            return .milliseconds(Int64((value * 1000).rounded()))
        }
        return nil
    }

    /// `123`, `1.5`: ASCII digits with at most one fraction, at most 16
    /// characters, surrounding spaces ignored. No sign, exponent or words.
    static func decimal(_ text: String) -> Double? {
        let trimmed = text.utf8.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let bytes = trimmed.reversed().drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }.reversed()
        guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
        var sawDigit = false
        var sawPoint = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: ".") where !sawPoint: sawPoint = true
            default: return nil
            }
        }
        guard sawDigit, let value = Double(String(decoding: bytes, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }
}
