/// Which model versions a provider supports until when: the data behind
/// countdowns, warnings, the deprecated-version policy and retirement routing.
public struct LifecycleCatalog: Hashable, Sendable {
    public var entries: [Entry]
    /// Where the catalog came from (`shipped`, a file, `api`, `demo`), shown with it.
    public var source: String

    public init(entries: [Entry] = [], source: String) {
        self.entries = entries
        self.source = source
    }

    /// The phases of a model version's life.
    public enum Phase: String, Hashable, Sendable, Codable, CaseIterable {
        case generallyAvailable = "generally-available"
        /// No new deployments; existing ones keep working.
        case deprecated
        /// Still answering, but on the way out (OpenAI's "legacy").
        case legacy
        /// Deployments return errors: Switchyard sends their traffic elsewhere.
        case retired
        /// Not in the catalog.
        case unknown
    }

    /// Azure's deployment types retire on different dates.
    public enum DeploymentType: String, Hashable, Sendable, Codable, CaseIterable {
        case standard, provisioned, global, dataZone = "data-zone"
    }

    /// The dates of one model version for one deployment type.
    public struct Dates: Hashable, Sendable {
        public var deprecation: CalendarDay?
        public var legacy: CalendarDay?
        public var retirement: CalendarDay?
        /// The retirement date is only the earliest possible one: the version
        /// is not retired when it passes, but may be from then on.
        public var retirementNoEarlierThan: Bool
        /// When deployments set to auto-update start moving to the replacement.
        public var autoUpgrade: CalendarDay?

        public init(deprecation: CalendarDay? = nil, legacy: CalendarDay? = nil, retirement: CalendarDay? = nil, retirementNoEarlierThan: Bool = false, autoUpgrade: CalendarDay? = nil) {
            self.deprecation = deprecation
            self.legacy = legacy
            self.retirement = retirement
            self.retirementNoEarlierThan = retirementNoEarlierThan
            self.autoUpgrade = autoUpgrade
        }

        /// The phase on `moment`.
        public func phase(at moment: Moment) -> Phase {
            if let retirement, !retirementNoEarlierThan, moment >= retirement.start { return .retired }
            if let legacy, moment >= legacy.start { return .legacy }
            if let deprecation, moment >= deprecation.start { return .deprecated }
            return .generallyAvailable
        }

        /// Time until retirement (negative once past), if a date is known.
        public func timeToRetirement(from moment: Moment) -> Duration? {
            retirement.map { $0.start - moment }
        }
    }

    /// A recorded move of a date, newest last.
    public struct DateChange: Hashable, Sendable, Codable {
        public var announced: CalendarDay?
        public var field: String
        public var from: String?
        public var to: String?
        public var note: String?

        public init(announced: CalendarDay?, field: String, from: String?, to: String?, note: String?) {
            self.announced = announced
            self.field = field
            self.from = from
            self.to = to
            self.note = note
        }
    }

    public struct Entry: Hashable, Sendable {
        public var provider: Upstream.Kind
        public var model: String
        public var version: String
        /// Dates per deployment type; `standard` is used for types not listed.
        public var dates: [DeploymentType: Dates]
        public var replacement: (model: String, version: String)?
        public var source: String
        public var history: [DateChange]

        public init(
            provider: Upstream.Kind, model: String, version: String, dates: [DeploymentType: Dates],
            replacement: (model: String, version: String)? = nil, source: String, history: [DateChange] = []
        ) {
            self.provider = provider
            self.model = model
            self.version = version
            self.dates = dates
            self.replacement = replacement
            self.source = source
            self.history = history
        }

        /// The dates that apply to `type`.
        public func dates(for type: DeploymentType) -> Dates {
            dates[type] ?? dates[.standard] ?? Dates()
        }

        public static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.provider == rhs.provider && lhs.model == rhs.model && lhs.version == rhs.version && lhs.dates == rhs.dates
                && lhs.replacement?.model == rhs.replacement?.model && lhs.replacement?.version == rhs.replacement?.version
                && lhs.source == rhs.source && lhs.history == rhs.history
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(provider)
            hasher.combine(model)
            hasher.combine(version)
        }
    }

    /// The entry for a deployment's provider, model and version.
    public func entry(for deployment: Deployment) -> Entry? {
        entries.first { $0.provider == deployment.upstream.kind && $0.model == deployment.model && $0.version == deployment.version }
    }

    /// The phase of a deployment's version on `moment`.
    public func phase(of deployment: Deployment, at moment: Moment) -> Phase {
        guard let entry = entry(for: deployment) else { return .unknown }
        return entry.dates(for: deployment.upstream.deploymentType).phase(at: moment)
    }

    /// Deployments (by route, then name) whose version is retired on `moment`.
    public func retiredDeployments(in routes: [Route], at moment: Moment) -> [String: Set<String>] {
        var retired: [String: Set<String>] = [:]
        for route in routes {
            for deployment in route.deployments where phase(of: deployment, at: moment) == .retired {
                retired[route.name, default: []].insert(deployment.name)
            }
        }
        return retired
    }
}
