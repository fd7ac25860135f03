public import SwitchyardCore

/// Routes tests share.
public enum TestRoutes {
    /// `chat-prod`: `stable` (gpt-4o 2024-11-20, with a prompt and params) and
    /// `canary` (2025-05-13), on upstreams nobody listens to.
    public static func chatProd(stable: Double = 90, canary: Double = 10) -> Route {
        Route(
            name: "chat-prod",
            stable: "stable",
            deployments: [
                Deployment(
                    name: "stable", weight: percent(stable), model: "gpt-4o", version: "2024-11-20",
                    upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9001/v1"),
                    prompt: PromptVersion(version: "p7", system: "Be careful."), params: ["temperature": 0.2]
                ),
                Deployment(
                    name: "canary", weight: percent(canary), model: "gpt-4o", version: "2025-05-13",
                    upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9002/v1"), priority: 2
                ),
            ]
        )
    }

    /// A weight the test states; an impossible one is the test's own bug.
    public static func percent(_ value: Double) -> Weight {
        guard let weight = try? Weight(percent: value) else { preconditionFailure("\(value) is not a weight") }
        return weight
    }
}

extension TestRoutes {
    /// The commit that creates `route` at revision 1, as a config file would.
    public static func created(_ route: Route, atMilliseconds: Int64 = 1_795_300_000_000) throws -> StoreCommit {
        StoreCommit(
            writes: [.init(plan: try RoutePlan(route: route), expectedRevision: nil)],
            audit: [AuditEvent(atMilliseconds: atMilliseconds, actor: "config", action: "create", route: route.name, fromRevision: nil, toRevision: 1, detail: "created")],
            configFingerprint: "f1"
        )
    }
}
