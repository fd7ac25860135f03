/// A config or tokens file that was refused: which file, where, which key, and why.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based line, when known.
    public var line: Int?
    /// The key path, e.g. `routes[0].deployments[1].weight`.
    public var key: String
    public var reason: String
    /// The document declares no routes and the caller did not allow that
    /// (applying it would delete every route).
    public var declaresNoRoutes = false
    /// The document is over the size or nesting bounds (well-formed, but refused).
    public var exceedsLimits = false

    public init(file: String, line: Int?, key: String, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    /// `switchyard.yaml:12: routes[0].deployments[1].weight: weight 120 is outside 0…100`
    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(reason)" : "\(location): \(key): \(reason)"
    }
}
