/// `GET /api/v1/routes`: every route as stored, each with a summary of its
/// latest rollout under `rollout`. The server encodes it, ctl and the console decode it.
public struct RouteListView: Codable, Sendable {
    public let routes: [Route]
    /// The latest rollout of each route that has had one, by route name.
    public let rollouts: [String: RolloutView]

    public init(routes: [Route], rollouts: [String: RolloutView] = [:]) {
        self.routes = routes
        self.rollouts = rollouts
    }

    private enum CodingKeys: String, CodingKey {
        case routes
    }

    public init(from decoder: any Decoder) throws {
        let entries = try decoder.container(keyedBy: CodingKeys.self).decode([RouteWithRolloutView].self, forKey: .routes)
        routes = entries.map(\.route)
        var rollouts: [String: RolloutView] = [:]
        for entry in entries {
            if let rollout = entry.rollout { rollouts[entry.route.name] = rollout }
        }
        self.rollouts = rollouts
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(routes.map { RouteWithRolloutView(route: $0, rollout: rollouts[$0.name]) }, forKey: .routes)
    }
}

/// `GET /api/v1/routes/{route}`, and each element of `RouteListView`: the
/// route's own fields with a summary of its latest rollout beside them.
public struct RouteWithRolloutView: Codable, Sendable {
    public let route: Route
    public let rollout: RolloutView?

    private enum CodingKeys: String, CodingKey {
        case rollout
    }

    public init(route: Route, rollout: RolloutView?) {
        self.route = route
        self.rollout = rollout
    }

    public init(from decoder: any Decoder) throws {
        route = try Route(from: decoder)
        rollout = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(RolloutView.self, forKey: .rollout)
    }

    public func encode(to encoder: any Encoder) throws {
        try route.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(rollout, forKey: .rollout)
    }
}
