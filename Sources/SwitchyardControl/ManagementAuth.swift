import SwitchyardConfig
public import SwitchyardCore
import SwitchyardSecrets

/// Bearer tokens for the management API, known only by their SHA-256.
public struct ManagementAuth: Sendable {
    private let tokens: [TokenEntry]

    /// - Parameter adminToken: `SWITCHYARD_ADMIN_TOKEN`, if set: adds an admin
    ///   token named `admin`. Only its digest is kept.
    public init(tokens: [TokenEntry], adminToken: String?) {
        var all = tokens
        if let adminToken, !adminToken.isEmpty {
            all.append(TokenEntry(name: "admin", role: .admin, digest: SecretDigest.sha256(adminToken)))
        }
        self.tokens = all
    }

    /// The caller behind an `Authorization` header, if it has at least `role`.
    func authorize(_ header: String?, role: Role) throws(APIError) -> TokenEntry {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw APIError(status: 401, message: "missing token: send 'Authorization: Bearer TOKEN'", type: "authentication_error", code: "missing_token")
        }
        let digest = SecretDigest.sha256(header.dropFirst(7))
        var match: TokenEntry?
        for token in tokens where constantTimeEquals(token.digest, digest) {
            match = token
        }
        guard let match else {
            throw APIError(status: 401, message: "the token is not valid", type: "authentication_error", code: "invalid_token")
        }
        guard match.role >= role else {
            throw APIError(
                status: 403,
                message: "token '\(match.name)' has role \(match.role.rawValue); this needs \(role.rawValue)",
                type: "permission_error",
                code: "insufficient_role"
            )
        }
        return match
    }
}
