/// Maps a sticky key to one of 10 000 buckets, the same way in every process
/// and on every machine (Swift's `Hasher` is seeded per process, so it cannot).
public enum StickyHash {
    /// Buckets per route: one per basis point of weight.
    public static let bucketCount = 10_000

    /// The bucket of `key` on `route`. The route name is mixed in so that the
    /// users who try a canary first on one route are not the same on every route.
    @inlinable
    public static func bucket(route: String, key: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in route.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(finalize(hash) % UInt64(bucketCount))
    }

    /// The bucket of the `number`th request that has no sticky key. Mixing a
    /// counter spreads such requests evenly over the buckets (so the split
    /// holds by weight) without asking the system for randomness per request.
    @inlinable
    public static func bucket(forRequestNumber number: UInt64) -> Int {
        Int(finalize(number) % UInt64(bucketCount))
    }

    /// splitmix64's finaliser: spreads FNV-1a's weak low bits over the whole word.
    @inlinable
    static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Where the sticky key of a request came from, in order of preference.
public enum StickyKeySource: String, Sendable, Hashable {
    case safetyIdentifier = "safety_identifier"
    case user
    case header = "x-switchyard-user"
    case clientKey = "client-key"
    case random
}

/// Picks the sticky key of a request: `safety_identifier`, else `user`, else
/// the `x-switchyard-user` header, else the client key's name; `nil` means the
/// request has no identity and gets a random bucket.
public func stickyKey(
    safetyIdentifier: String?,
    user: String?,
    header: String?,
    clientKey: String?
) -> (key: String, source: StickyKeySource)? {
    if let safetyIdentifier, !safetyIdentifier.isEmpty { return (safetyIdentifier, .safetyIdentifier) }
    if let user, !user.isEmpty { return (user, .user) }
    if let header, !header.isEmpty { return (header, .header) }
    if let clientKey, !clientKey.isEmpty { return (clientKey, .clientKey) }
    return nil
}
