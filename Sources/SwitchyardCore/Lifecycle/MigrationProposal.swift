/// A proposed move off a model version that is on its way out: the
/// replacement deployment (prompt, parameters and price copied from the one it
/// replaces, for review) and a canary plan to roll it out.
public struct MigrationProposal: Sendable {
    public var route: String
    /// The deployment being replaced.
    public var replacing: String
    public var reason: String
    /// The new deployment, at weight 0.
    public var deployment: Deployment
    /// A canary plan for `POST /routes/{route}/rollouts`.
    public var plan: JSONValue

    /// Proposes replacing the route's deployment that retires soonest and has
    /// a named replacement in the catalog.
    public init(route: Route, catalog: LifecycleCatalog, now: Moment) throws(MigrationError) {
        let candidates = route.deployments.compactMap { deployment -> (Deployment, LifecycleCatalog.Entry, Duration?)? in
            guard let entry = catalog.entry(for: deployment), entry.replacement != nil else { return nil }
            let dates = entry.dates(for: deployment.upstream.deploymentType)
            return (deployment, entry, dates.timeToRetirement(from: now))
        }
        guard let (old, entry, timeLeft) = candidates.min(by: { ($0.2 ?? .seconds(Int64.max / 2_000_000_000)) < ($1.2 ?? .seconds(Int64.max / 2_000_000_000)) }),
            let replacement = entry.replacement
        else {
            throw .nothingToMigrate(route: route.name)
        }
        if route.deployments.contains(where: { $0.model == replacement.model && $0.version == replacement.version }) {
            throw .alreadyThere(route: route.name, model: replacement.model, version: replacement.version)
        }
        var proposed = old
        proposed.name = Self.name(model: replacement.model, version: replacement.version, taken: route.deployments.map(\.name))
        proposed.model = replacement.model
        proposed.version = replacement.version
        proposed.weight = .zero
        proposed.allowDeprecated = false
        proposed.priority = old.priority.saturatingAdding(1)
        if proposed.upstream.kind == .azure {
            proposed.upstream.deployment = "\(replacement.model)-\(replacement.version)"  // review: the provider-side deployment name
        } else if proposed.upstream.modelName != nil {
            proposed.upstream.modelName = "\(replacement.model)-\(replacement.version)"
        }
        self.route = route.name
        self.replacing = old.name
        let phase = entry.dates(for: old.upstream.deploymentType).phase(at: now)
        let when = entry.dates(for: old.upstream.deploymentType).retirement.map { " (retirement \($0))" } ?? ""
        self.reason = "\(old.model) \(old.version) is \(phase.rawValue)\(when)"
            + (timeLeft.map { $0 > .zero ? ", \(Int($0.secondsDouble / 86_400)) days left" : "" } ?? "")
            + "; the catalog names \(replacement.model) \(replacement.version) as its replacement. Review the copied prompt, params and price."
        self.deployment = proposed
        self.plan = [
            "strategy": "canary",
            "canary": .string(proposed.name),
            "steps": [["setWeight": 5], ["pause": "10m"], ["setWeight": 25], ["pause": "10m"], ["setWeight": 50], ["pause": "20m"], ["setWeight": 100]],
            "gates": [
                ["metric": "errorRateDelta", "max": 1.0, "minSamples": 200, "confidence": 0.95],
                ["metric": "p95LatencyRatio", "max": 1.2, "minSamples": 200],
                ["metric": "costPerRequestRatio", "max": 1.5],
            ],
            "interval": "30s",
            "window": "5m",
            "onInconclusive": "wait",
            // A young canary at 5 % may see no traffic for a while: wait for data rather than stop.
            "onNoData": "wait",
            "deadline": "6h",
        ]
    }

    static func name(model: String, version: String, taken: [String]) -> String {
        let base = "\(model)-\(version)".map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "-" }
        var candidate = String(base)
        var suffix = 2
        while taken.contains(candidate) {
            candidate = "\(String(base))-\(suffix)"
            suffix += 1
        }
        return candidate
    }
}

public enum MigrationError: Error, Hashable, Sendable, CustomStringConvertible {
    case nothingToMigrate(route: String)
    case alreadyThere(route: String, model: String, version: String)

    public var description: String {
        switch self {
        case .nothingToMigrate(let route): "no deployment of route '\(route)' runs a version the catalog names a replacement for"
        case .alreadyThere(let route, let model, let version): "route '\(route)' already has a deployment on \(model) \(version); move traffic with ctl weights or a rollout"
        }
    }
}
