import SwitchyardSecrets
public import SwitchyardCore

/// The tokens file (`serve --tokens`): management API tokens with roles, and
/// the client keys the gateway accepts, each known only by its SHA-256.
public enum TokensFile {
    public static func parse(_ text: String, file: String) throws(ConfigError) -> AccessConfig {
        let reader = YAMLReader(file: file)
        guard let root = try reader.compose(text) else { return AccessConfig() }
        let top = try reader.mapping(root, at: "", allowed: ["tokens", "clientKeys"])
        var config = AccessConfig()
        var names = Set<String>()
        if let tokensNode = top["tokens"] {
            for (index, node) in try reader.sequence(tokensNode, at: "tokens").enumerated() {
                let members = try reader.mapping(node, at: "tokens[\(index)]", allowed: ["name", "role", "sha256"])
                let name = try members.requiredString("name")
                guard names.insert("token:" + name).inserted else {
                    throw reader.fail(node, members.path("name"), "token '\(name)' is declared twice")
                }
                let roleText = try members.requiredString("role")
                guard let role = Role(rawValue: roleText) else {
                    throw reader.fail(members["role"], members.path("role"), "'\(roleText)' is not one of viewer, operator, admin")
                }
                config.tokens.append(TokenEntry(name: name, role: role, digest: try digest(members, reader: reader)))
            }
        }
        if let keysNode = top["clientKeys"] {
            for (index, node) in try reader.sequence(keysNode, at: "clientKeys").enumerated() {
                let members = try reader.mapping(node, at: "clientKeys[\(index)]", allowed: ["name", "sha256", "limits"])
                let name = try members.requiredString("name")
                guard names.insert("key:" + name).inserted else {
                    throw reader.fail(node, members.path("name"), "client key '\(name)' is declared twice")
                }
                var limits = RateLimiter.Limits()
                if let limitsNode = members["limits"] {
                    let limitMembers = try reader.mapping(limitsNode, at: members.path("limits"), allowed: ["requestsPerMinute", "tokensPerMinute"])
                    limits.requestsPerMinute = try limitMembers.int("requestsPerMinute")
                    limits.tokensPerMinute = try limitMembers.int("tokensPerMinute")
                    for (key, value) in [("requestsPerMinute", limits.requestsPerMinute), ("tokensPerMinute", limits.tokensPerMinute)] {
                        if let value, value < 1 {
                            throw reader.fail(limitMembers[key], limitMembers.path(key), "must be at least 1 (leave it out for no limit)")
                        }
                    }
                }
                config.clientKeys.append(ClientKey(name: name, digest: try digest(members, reader: reader), limits: limits))
            }
        }
        return config
    }

    private static func digest(_ members: YAMLReader.Members, reader: YAMLReader) throws(ConfigError) -> [UInt8] {
        let text = try members.requiredString("sha256")
        guard text.utf8.count == 64, let bytes = Hex.decode(text) else {
            throw reader.fail(members["sha256"], members.path("sha256"), "expected the 64 hex digits of a SHA-256 digest (e.g. from `printf %s SECRET | sha256sum`)")
        }
        return bytes
    }
}
