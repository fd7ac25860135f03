/// `GET /api/v1/lifecycle`: every model version in use, soonest retirement first.
public struct LifecycleListView: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public let provider: String
        public let model: String
        public let version: String
        public let deploymentType: String
        public let phase: String
        public let deprecation: String?
        public let legacy: String?
        public let retirement: String?
        public let retirementNoEarlierThan: Bool
        public let autoUpgrade: String?
        /// Seconds until the retirement date; negative once past.
        public let secondsLeft: Int64?
        /// `model@version`.
        public let replacement: String?
        public let source: String?
        public let history: [LifecycleCatalog.DateChange]
        public let deployments: [LifecycleReport.Use]
    }

    public let catalog: String
    public let entries: [Entry]

    public init(_ report: LifecycleReport) {
        catalog = report.catalogSource
        entries = report.items.map { item in
            Entry(
                provider: item.provider.rawValue, model: item.model, version: item.version, deploymentType: item.deploymentType.rawValue,
                phase: item.phase.rawValue, deprecation: item.dates?.deprecation?.description, legacy: item.dates?.legacy?.description,
                retirement: item.dates?.retirement?.description, retirementNoEarlierThan: item.dates?.retirementNoEarlierThan ?? false,
                autoUpgrade: item.dates?.autoUpgrade?.description,
                secondsLeft: item.timeLeft.map { $0.nanosecondsClamped / 1_000_000_000 },
                replacement: item.replacement.map { "\($0.model)@\($0.version)" }, source: item.source, history: item.history,
                deployments: item.uses
            )
        }
    }
}
