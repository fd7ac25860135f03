/// Every model version in use, with its phase, dates, time left and what
/// depends on it: what `GET /api/v1/lifecycle`, `ctl lifecycle` and the
/// console's retirements panel show.
public struct LifecycleReport: Sendable {
    public struct Use: Hashable, Sendable, Codable {
        public var route: String
        public var deployment: String
        public var weight: Double
    }

    public struct Item: Sendable {
        public var provider: Upstream.Kind
        public var model: String
        public var version: String
        public var deploymentType: LifecycleCatalog.DeploymentType
        public var phase: LifecycleCatalog.Phase
        public var dates: LifecycleCatalog.Dates?
        /// Until the retirement date (negative once past); `nil` without a date.
        public var timeLeft: Duration?
        public var replacement: (model: String, version: String)?
        public var source: String?
        public var history: [LifecycleCatalog.DateChange]
        public var uses: [Use]

        /// `provider/model/version/type`: names the item in warnings.
        public var key: String { Self.key(provider: provider, model: model, version: version, deploymentType: deploymentType) }

        static func key(provider: Upstream.Kind, model: String, version: String, deploymentType: LifecycleCatalog.DeploymentType) -> String {
            "\(provider.rawValue)/\(model)/\(version)/\(deploymentType.rawValue)"
        }
    }

    public var catalogSource: String
    public var items: [Item]

    public init(catalog: LifecycleCatalog, routes: [Route], now: Moment) {
        catalogSource = catalog.source
        var items: [String: Item] = [:]
        // Uses are gathered apart and appended in place: appending to a copy
        // of each item made a report over 10,000 routes quadratic.
        var uses: [String: [Use]] = [:]
        var order: [String] = []
        for route in routes {
            for deployment in route.deployments {
                let type = deployment.upstream.deploymentType
                let key = Item.key(provider: deployment.upstream.kind, model: deployment.model, version: deployment.version, deploymentType: type)
                if items[key] == nil {
                    let entry = catalog.entry(for: deployment)
                    let dates = entry?.dates(for: type)
                    items[key] = Item(
                        provider: deployment.upstream.kind, model: deployment.model, version: deployment.version, deploymentType: type,
                        phase: dates?.phase(at: now) ?? .unknown, dates: dates, timeLeft: dates?.timeToRetirement(from: now),
                        replacement: entry?.replacement, source: entry?.source, history: entry?.history ?? [], uses: []
                    )
                    order.append(key)
                }
                uses[key, default: []].append(Use(route: route.name, deployment: deployment.name, weight: deployment.weight.percent))
            }
        }
        // Soonest retirement first; versions without a date last.
        self.items = order.compactMap { key in
            items[key].map { item in
                var item = item
                item.uses = uses[key] ?? []
                return item
            }
        }.sorted { lhs, rhs in
            switch (lhs.timeLeft, rhs.timeLeft) {
            case (let l?, let r?): return l < r
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return lhs.key < rhs.key
            }
        }
    }

    /// A countdown crossing that the team should hear about.
    public struct Warning: Hashable, Sendable {
        /// 60, 30, 7 — or 0 when the version has retired.
        public var days: Int
        public var key: String
        public var message: String

        /// Identifies the warning so it is given once.
        public var id: String { "\(key)@\(days)" }
    }

    /// Days before a firm retirement date at which to warn.
    public static let warningDays = [60, 30, 7, 0]

    /// Warnings now due that are not in `given`: for each version in use with
    /// a firm retirement date, the tightest threshold it has crossed.
    public func warnings(excluding given: Set<String>) -> [Warning] {
        var due: [Warning] = []
        for item in items {
            guard let dates = item.dates, let retirement = dates.retirement, !dates.retirementNoEarlierThan, let timeLeft = item.timeLeft,
                !item.uses.isEmpty
            else { continue }
            guard let days = Self.warningDays.reversed().first(where: { timeLeft <= .seconds(Int64($0) * 86_400) }) else { continue }
            let warning = Warning(
                days: days,
                key: item.key,
                message: days == 0
                    ? "\(item.model) \(item.version) (\(item.provider.rawValue), \(item.deploymentType.rawValue)) retired on \(retirement); its traffic goes to the catalog's replacement where the route has it, otherwise to the route's other deployments, those at weight 0 included (\(item.uses.map { "\($0.route)/\($0.deployment)" }.joined(separator: ", ")))"
                    : "\(item.model) \(item.version) (\(item.provider.rawValue), \(item.deploymentType.rawValue)) retires on \(retirement), in less than \(days) days; used by \(item.uses.map { "\($0.route)/\($0.deployment)" }.joined(separator: ", "))"
            )
            if !given.contains(warning.id) { due.append(warning) }
        }
        return due
    }
}
