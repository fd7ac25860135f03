/// Splits a server-sent event stream into `(event name, data)` pairs.
public struct EventStreamParser: Sendable {
    private var pending: [UInt8] = []
    private var name = "message"
    private var data: [UInt8] = []

    public init() {}

    /// Feeds bytes; returns the events they complete.
    /// A line or event longer than this is a broken server: it is dropped.
    public static let maximumBytes = 16 << 20

    public mutating func feed(_ bytes: [UInt8]) -> [(name: String, data: [UInt8])] {
        pending += bytes
        if pending.count > Self.maximumBytes, !pending.contains(UInt8(ascii: "\n")) { pending = [] }
        if data.count > Self.maximumBytes { data = [] }
        var events: [(name: String, data: [UInt8])] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty {
                if !data.isEmpty { events.append((name, data)) }
                name = "message"
                data = []
            } else if line.starts(with: Array("event: ".utf8)) {
                name = String(decoding: line.dropFirst(7), as: UTF8.self)
            } else if line.starts(with: Array("data: ".utf8)) {
                if !data.isEmpty { data.append(UInt8(ascii: "\n")) }
                data += line.dropFirst(6)
            }
        }
        return events
    }
}
