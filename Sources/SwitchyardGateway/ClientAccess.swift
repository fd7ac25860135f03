import SwitchyardCore
import Synchronization
import SwitchyardSecrets

/// Which applications may call the gateway, and their rate limits.
/// With no client keys configured, any caller is accepted.
final class ClientAccess: Sendable {
    private let keys: [ClientKey]
    private let limiters: Mutex<[String: RateLimiter]>

    init(keys: [ClientKey]) {
        self.keys = keys
        self.limiters = Mutex([:])
    }

    var isOpen: Bool { keys.isEmpty }

    /// The client key whose digest matches `secret`, compared in constant time
    /// against every configured key so timing reveals nothing.
    func authenticate(_ secret: String?) -> ClientKey? {
        guard let secret, !secret.isEmpty else { return nil }
        let digest = SecretDigest.sha256(secret)
        var match: ClientKey?
        for key in keys where constantTimeEquals(key.digest, digest) {
            match = key
        }
        return match
    }

    /// Fleet mode: limits every replica shares, reserved from the store in blocks.
    private let fleet = Mutex<FleetQuota?>(nil)

    func useShared(_ limits: any SharedRateLimits) {
        fleet.withLock { $0 = FleetQuota(store: limits) }
    }

    func admit(_ key: ClientKey, now: Moment) async -> RateLimiter.Decision {
        guard key.limits.requestsPerMinute != nil || key.limits.tokensPerMinute != nil else { return .allowed }
        if let fleet = fleet.withLock({ $0 }), let decision = await fleet.admit(key, now: now) {
            return decision
        }
        return limiters.withLock { limiters in
            var limiter = limiters[key.name] ?? RateLimiter(limits: key.limits, now: now)
            let decision = limiter.acquire(now: now)
            limiters[key.name] = limiter
            return decision
        }
    }

    func charge(_ key: ClientKey, tokens: Int, now: Moment) {
        guard key.limits.tokensPerMinute != nil, tokens > 0 else { return }
        fleet.withLock { $0 }?.charge(key, tokens: tokens, now: now)
        limiters.withLock { limiters in
            limiters[key.name]?.consume(tokens: tokens, now: now)
        }
    }
}
