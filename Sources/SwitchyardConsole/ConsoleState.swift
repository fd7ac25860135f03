import Foundation
public import SwitchyardCore
public import SwitchyardTUI

/// Everything the console shows, and nothing it has to ask the network for:
/// `update` changes it, `view` draws it.
public struct ConsoleState: Sendable {
    public enum ScreenKind: Hashable, Sendable { case routes, audit, lifecycle, help, compare }

    /// Whether the data on screen is current.
    public enum Connection: Hashable, Sendable {
        case connecting
        case live
        /// The last refresh failed; the data is from `lastUpdate`.
        case reconnecting(String)
    }

    /// The canary slider while an operator moves it.
    public struct Slider: Hashable, Sendable {
        public var route: String
        public var canary: String
        public var stable: String
        /// The percentage being set.
        public var value: Double
        /// Sent, waiting for the server's new revision.
        public var pending: Bool
        public var dragging: Bool
        /// The revision the change was based on.
        public var baseRevision: Int
    }

    public struct Flash: Hashable, Sendable {
        public var text: String
        public var role: StyleRole
        public var until: Moment
    }

    /// A question before a change that is not the safe direction.
    public struct Confirmation: Hashable, Sendable {
        public var question: String
        public var effect: ConsoleEffect
    }

    public enum InputMode: Hashable, Sendable { case normal, filter, command, exactWeight }

    public var apiURL: String
    public var readOnly: Bool
    /// The token's name and role, once the server has said.
    public var identity: (name: String, role: String)?
    public var screen: ScreenKind = .routes
    public var connection: Connection = .connecting
    public var routes: [Route] = [] {
        didSet { visibleRoutes = Self.matching(routes, filter) }
    }
    public var metrics: [String: RouteMetricsView] = [:]
    /// Each route's latest rollout, active or finished.
    public var rollouts: [String: RolloutView] = [:]
    /// A/B and shadow reports, by route.
    public var reports: [String: ExperimentReport] = [:]
    public var lifecycle: LifecycleListView?
    /// A shadow's captured pairs, for the compare screen (fetched only while it is open).
    public var samples: ShadowSamplesView?
    /// The pair selected on the compare screen, and whether it is open side by side.
    public var sampleIndex = 0
    public var sampleOpen = false
    public var audit: [AuditEvent] = []
    public var selectedRoute: String?
    public var slider: Slider?
    public var flash: Flash?
    public var confirmation: Confirmation?
    public var mode: InputMode = .normal
    public var input = ""
    public var filter = "" {
        didSet { visibleRoutes = Self.matching(routes, filter) }
    }
    /// The measurement window of the figures and graphs, in minutes.
    public var windowMinutes = 5
    public var lastUpdate: Moment?
    /// When each separately fetched panel last arrived, and why its last fetch failed.
    public var panelLoadedAt: [ConsolePanel: Moment] = [:]
    public var metricsLoadedAt: [String: Moment] = [:]
    public var panelFailures: [ConsolePanel: String] = [:]
    public var now: Moment
    public var width: Int
    public var height: Int
    public var glyphs: Glyphs
    /// Where the slider's track was drawn in the last frame, for mouse hits.
    public var sliderTrack: Rect?

    public init(apiURL: String, readOnly: Bool, now: Moment, width: Int = 120, height: Int = 40, glyphs: Glyphs = .unicode) {
        self.apiURL = apiURL
        self.readOnly = readOnly
        self.now = now
        self.width = width
        self.height = height
        self.glyphs = glyphs
    }

    /// Data older than this is drawn as stale.
    public static let staleAfter: Duration = .seconds(5)

    public var isStale: Bool {
        guard let lastUpdate else { return true }
        return now - lastUpdate > Self.staleAfter
    }

    /// The routes shown, after the filter: worked out when either changes,
    /// not on every read (a frame reads it many times; with 1,000 routes that
    /// was most of a frame's time).
    public private(set) var visibleRoutes: [Route] = []

    static func matching(_ routes: [Route], _ filter: String) -> [Route] {
        guard !filter.isEmpty else { return routes }
        let needle = filter.lowercased()
        return routes.filter { $0.name.lowercased().contains(needle) }
    }

    public var selected: Route? {
        visibleRoutes.first { $0.name == selectedRoute } ?? visibleRoutes.first
    }

    /// The deployment the slider moves: the heaviest one that is not stable.
    public static func canary(of route: Route) -> Deployment? {
        route.deployments.filter { $0.name != route.stable }.max { lhs, rhs in
            lhs.weight == rhs.weight ? lhs.name > rhs.name : lhs.weight < rhs.weight
        }
    }
}
