/// What the data plane needs to know about model lifecycles: for each route,
/// the retired deployments and, for each, the deployment that replaces it (if
/// the route has the catalog's replacement version); and the countdowns.
public struct LifecycleState: Sendable {
    public var retired: [String: [String: String?]]
    public var report: LifecycleReport

    public init(retired: [String: [String: String?]], report: LifecycleReport) {
        self.retired = retired
        self.report = report
    }
}
