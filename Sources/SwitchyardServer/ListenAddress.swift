/// `HOST:PORT` as given to `--listen` and `--admin-listen`; port 0 lets the OS choose.
public struct ListenAddress: CustomStringConvertible, Sendable {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:8080`, `[::1]:8080`; `nil` without a host or with a port outside 0…65535.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// An address on loopback whose port the OS picks: for tests and `demo`.
    public static let loopbackAnyPort = ListenAddress(host: "127.0.0.1", port: 0)
}
