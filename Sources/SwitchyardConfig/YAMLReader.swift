import SwitchyardCore
public import Yams

/// Walks a composed YAML document with typed accessors that refuse unknown
/// keys and wrong types, naming the file, line and key path in every error.
/// Public so that other modules' files (the console's themes) read YAML with
/// the same bounds and the same messages.
public struct YAMLReader {
    public let file: String

    public init(file: String) {
        self.file = file
    }

    /// The most nodes a document may expand to, aliases counted at every use —
    /// or as many as it has bytes, if more: every node takes at least a byte
    /// of text, so only alias expansion can go past that (10,000 routes are
    /// 400,000 plain nodes; a "billion laughs" is a kilobyte).
    static let maximumNodes = 100_000
    /// The deepest nesting of collections a document may have.
    static let maximumDepth = 64

    /// Parses `text` into a node tree, or a `ConfigError` with the parser's position.
    ///
    /// A document is refused before anything walks it when its collections nest
    /// deeper than ``maximumDepth`` or when it expands — each alias counted as
    /// many times as it is used — to more than ``maximumNodes`` nodes: a "billion
    /// laughs" of nine alias levels fits in under a kilobyte. (libyaml itself
    /// refuses nesting past 1000 levels before the composer recurses.)
    public func compose(_ text: String) throws(ConfigError) -> Node? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(file: file, line: Self.line(of: error), key: "", reason: "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw ConfigError(file: file, line: nil, key: "", reason: "not valid YAML: \(error)")
        }
        if let node {
            let limit = max(Self.maximumNodes, text.utf8.count)
            var budget = limit
            guard Self.fits(node, depth: 0, budget: &budget) else {
                var error = ConfigError(
                    file: file, line: nil, key: "",
                    reason: "the document expands to more than \(limit) nodes or nests deeper than \(Self.maximumDepth) levels (aliases count at every use)"
                )
                error.exceedsLimits = true
                throw error
            }
        }
        return node
    }

    /// Whether `node` has at most `budget` nodes and `maximumDepth` levels; stops
    /// counting as soon as either is exceeded, so a huge expansion costs nothing.
    private static func fits(_ node: Node, depth: Int, budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0, depth <= maximumDepth else { return false }
        switch node {
        case .scalar, .alias:
            return true
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard fits(key, depth: depth + 1, budget: &budget), fits(value, depth: depth + 1, budget: &budget) else { return false }
            }
            return true
        case .sequence(let sequence):
            for element in sequence {
                guard fits(element, depth: depth + 1, budget: &budget) else { return false }
            }
            return true
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicate keys \(duplicates.joined(separator: ", "))"
        default:
            return "\(error)"
        }
    }

    public func fail(_ node: Node?, _ key: String, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, key: key, reason: reason)
    }

    /// A mapping's members by key, refusing keys outside `allowed` and duplicates.
    /// A mapping's members by key; `allowed: nil` accepts any key (a palette).
    public func mapping(_ node: Node, at path: String, allowed: Set<String>?) throws(ConfigError) -> Members {
        guard case .mapping(let mapping) = node else {
            throw fail(node, path, "expected a mapping of keys to values, found \(Self.kind(node))")
        }
        var members: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw fail(keyNode, path, "keys must be plain strings")
            }
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if let allowed, !allowed.contains(key) {
                let known = allowed.sorted().joined(separator: ", ")
                throw fail(keyNode, keyPath, "unknown key '\(key)' (known keys: \(known))")
            }
            guard members[key] == nil else { throw fail(keyNode, keyPath, "key '\(key)' appears twice") }
            members[key] = value
        }
        return Members(reader: self, node: node, path: path, members: members)
    }

    func sequence(_ node: Node, at path: String) throws(ConfigError) -> [Node] {
        guard case .sequence(let sequence) = node else {
            throw fail(node, path, "expected a list, found \(Self.kind(node))")
        }
        return Array(sequence)
    }

    /// A plain scalar that is a whole number: decimal, `0x` hex or `0o`
    /// octal, within `Int`. Read here rather than by Yams, whose YAML 1.1
    /// base-60 integers (`1:0:0:0:…`) overflow with unchecked arithmetic.
    static func integer(_ node: Node) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return nil }
        var text = Substring(scalar.string)
        guard text.utf8.count <= 40 else { return nil }
        var negative = false
        if let sign = text.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            text = text.dropFirst()
        }
        // Only digits after the prefix: `Int(_:radix:)` would take a second sign.
        let radix: Int
        if text.hasPrefix("0x") {
            radix = 16
            text = text.dropFirst(2)
        } else if text.hasPrefix("0o") {
            radix = 8
            text = text.dropFirst(2)
        } else {
            radix = 10
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.hexDigitValue.map { $0 < radix } == true }) else { return nil }
        // Parsed with its sign in one go, so Int.min is reachable and nothing is negated.
        return Int((negative ? "-" : "") + text, radix: radix)
    }

    /// A plain scalar that is a finite number (`12`, `-0.5`, `1e3`, `0x1f`);
    /// `.inf`, `.nan`, base-60 and words are not numbers here.
    static func number(_ node: Node) -> Double? {
        if let integer = integer(node) { return Double(integer) }
        guard case .scalar(let scalar) = node, scalar.style == .plain, scalar.string.utf8.count <= 64,
            scalar.string.utf8.allSatisfy({ byte in
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "-"), UInt8(ascii: "+")].contains(byte)
            }),
            let double = Double(scalar.string), double.isFinite
        else { return nil }
        return double
    }

    public static func kind(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.string.isEmpty ? "nothing" : "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The members of one mapping, with typed getters that know their key path.
    public struct Members {
        let reader: YAMLReader
        let node: Node
        public let path: String
        public let members: [String: Node]

        public func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        public subscript(key: String) -> Node? { members[key] }

        public func string(_ key: String) throws(ConfigError) -> String? {
            guard let value = members[key] else { return nil }
            guard case .scalar(let scalar) = value, !scalar.string.isEmpty else {
                throw reader.fail(value, path(key), "expected text, found \(YAMLReader.kind(value))")
            }
            return scalar.string
        }

        func requiredString(_ key: String) throws(ConfigError) -> String {
            guard let value = try string(key) else {
                throw reader.fail(node, path(key), "'\(key)' is required")
            }
            return value
        }

        public func bool(_ key: String) throws(ConfigError) -> Bool? {
            guard let value = members[key] else { return nil }
            guard case .scalar = value, let bool = value.bool else {
                throw reader.fail(value, path(key), "expected true or false, found \(YAMLReader.kind(value))")
            }
            return bool
        }

        func int(_ key: String) throws(ConfigError) -> Int? {
            guard let value = members[key] else { return nil }
            guard let int = YAMLReader.integer(value) else {
                throw reader.fail(value, path(key), "expected a whole number, found \(YAMLReader.kind(value))")
            }
            return int
        }

        func double(_ key: String) throws(ConfigError) -> Double? {
            guard let value = members[key] else { return nil }
            guard let double = YAMLReader.number(value) else {
                throw reader.fail(value, path(key), "expected a number, found \(YAMLReader.kind(value))")
            }
            return double
        }

        func duration(_ key: String) throws(ConfigError) -> Duration? {
            guard let text = try string(key) else { return nil }
            do {
                return try DurationText.checked(text)
            } catch {
                throw reader.fail(members[key], path(key), error.description)
            }
        }
    }

    /// Any YAML value as JSON, for free-form `params`.
    func json(_ node: Node, at path: String) throws(ConfigError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.string == "null" || scalar.string == "~" { return .null }
                if let bool = node.bool { return .bool(bool) }
                if let double = Self.number(node) { return .number(double) }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            var values: [JSONValue] = []
            for (index, element) in sequence.enumerated() {
                values.append(try json(element, at: "\(path)[\(index)]"))
            }
            return .array(values)
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw fail(key, path, "keys must be plain strings") }
                members[name] = try json(value, at: "\(path).\(name)")
            }
            return .object(members)
        case .alias:
            throw fail(node, path, "YAML aliases are not supported here")
        }
    }
}
