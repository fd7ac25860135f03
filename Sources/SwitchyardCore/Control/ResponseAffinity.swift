/// The deployment that created a stored response (Responses API).
public struct ResponseOwner: Hashable, Sendable, Codable {
    public var route: String
    public var deployment: String
    /// The client key that created it (nil on an open gateway): only that
    /// key may read, delete, cancel or continue it.
    public var clientKey: String?

    public init(route: String, deployment: String, clientKey: String? = nil) {
        self.route = route
        self.deployment = deployment
        self.clientKey = clientKey
    }
}

/// Where the gateway remembers which deployment created each response, so a
/// follow-up (`previous_response_id`, retrieve, delete, cancel, input items)
/// reaches it whatever the weights say now. The state store implements it,
/// so every replica of a fleet knows every response; entries expire with the
/// provider's own retention.
public protocol ResponseAffinityStore: Sendable {
    /// Remembers `id` until `expiresAtMilliseconds`.
    func rememberResponse(_ id: String, owner: ResponseOwner, expiresAtMilliseconds: Int64) async throws
    /// The owner of `id`, unless unknown or expired at `nowMilliseconds`.
    func responseOwner(_ id: String, nowMilliseconds: Int64) async throws -> ResponseOwner?
}

public enum ResponseAffinityPolicy {
    /// How long a response id is remembered: OpenAI keeps stored responses 30 days.
    public static let retention: Duration = .seconds(30 * 86_400)
    /// The longest response id remembered; longer ones are not ids a provider issued.
    public static let maximumIDBytes = 200
}
