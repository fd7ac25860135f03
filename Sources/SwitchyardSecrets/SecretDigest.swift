import Crypto

/// SHA-256 of secrets presented by callers: the form in which tokens are kept.
public enum SecretDigest {
    public static func sha256(_ secret: some StringProtocol) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }
}
