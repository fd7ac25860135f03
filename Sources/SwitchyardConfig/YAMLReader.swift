import SwitchyardCore
import Yams

/// Walks a composed YAML document with typed accessors that refuse unknown
/// keys and wrong types, naming the file, line and key path in every error.
struct YAMLReader {
    let file: String

    /// Parses `text` into a node tree, or a `ConfigError` with the parser's position.
    func compose(_ text: String) throws(ConfigError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(file: file, line: Self.line(of: error), key: "", reason: "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw ConfigError(file: file, line: nil, key: "", reason: "not valid YAML: \(error)")
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

    func fail(_ node: Node?, _ key: String, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, key: key, reason: reason)
    }

    /// A mapping's members by key, refusing keys outside `allowed` and duplicates.
    /// A mapping's members by key; `allowed: nil` accepts any key (a palette).
    func mapping(_ node: Node, at path: String, allowed: Set<String>?) throws(ConfigError) -> Members {
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

    static func kind(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.string.isEmpty ? "nothing" : "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The members of one mapping, with typed getters that know their key path.
    struct Members {
        let reader: YAMLReader
        let node: Node
        let path: String
        let members: [String: Node]

        func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        subscript(key: String) -> Node? { members[key] }

        func string(_ key: String) throws(ConfigError) -> String? {
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

        func bool(_ key: String) throws(ConfigError) -> Bool? {
            guard let value = members[key] else { return nil }
            guard case .scalar = value, let bool = value.bool else {
                throw reader.fail(value, path(key), "expected true or false, found \(YAMLReader.kind(value))")
            }
            return bool
        }

        func int(_ key: String) throws(ConfigError) -> Int? {
            guard let value = members[key] else { return nil }
            guard case .scalar = value, let int = value.int else {
                throw reader.fail(value, path(key), "expected a whole number, found \(YAMLReader.kind(value))")
            }
            return int
        }

        func double(_ key: String) throws(ConfigError) -> Double? {
            guard let value = members[key] else { return nil }
            guard case .scalar = value, let double = value.float ?? value.int.map(Double.init), double.isFinite else {
                throw reader.fail(value, path(key), "expected a number, found \(YAMLReader.kind(value))")
            }
            return double
        }

        func duration(_ key: String) throws(ConfigError) -> Duration? {
            guard let text = try string(key) else { return nil }
            guard let duration = DurationText.parse(text), duration > .zero else {
                throw reader.fail(members[key], path(key), "'\(text)' is not a duration such as 500ms, 30s, 5m or 2h")
            }
            return duration
        }
    }

    /// Any YAML value as JSON, for free-form `params`.
    func json(_ node: Node, at path: String) throws(ConfigError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.string == "null" || scalar.string == "~" { return .null }
                if let bool = node.bool { return .bool(bool) }
                if let int = node.int { return .number(Double(int)) }
                if let double = node.float, double.isFinite { return .number(double) }
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
