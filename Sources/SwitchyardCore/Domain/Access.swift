/// Who may call the management API, and which applications may call the gateway.
public struct AccessConfig: Sendable {
    public var tokens: [TokenEntry]
    public var clientKeys: [ClientKey]

    public init(tokens: [TokenEntry] = [], clientKeys: [ClientKey] = []) {
        self.tokens = tokens
        self.clientKeys = clientKeys
    }
}

/// What a management API token may do. Each role includes the ones before it.
public enum Role: String, Hashable, Sendable, CaseIterable, Comparable {
    case viewer
    case operator_ = "operator"
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator_: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// A management API token, known only by the SHA-256 of its secret.
public struct TokenEntry: Hashable, Sendable {
    /// Shown in the audit log.
    public var name: String
    public var role: Role
    /// The SHA-256 digest of the secret (32 bytes).
    public var digest: [UInt8]

    public init(name: String, role: Role, digest: [UInt8]) {
        self.name = name
        self.role = role
        self.digest = digest
    }
}

/// An application allowed to call the gateway, with its limits.
public struct ClientKey: Hashable, Sendable {
    public var name: String
    public var digest: [UInt8]
    public var limits: RateLimiter.Limits

    public init(name: String, digest: [UInt8], limits: RateLimiter.Limits = .init()) {
        self.name = name
        self.digest = digest
        self.limits = limits
    }
}

/// Comparison whose time depends only on the lengths, never on where the
/// inputs first differ.
public func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}

/// Hex text ↔ bytes, for digests in files.
public enum Hex {
    public static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = nibble(characters[index]), let low = nibble(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
