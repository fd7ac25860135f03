public import SwitchyardCore

/// A key press, decoded by the terminal backend.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right, shiftLeft, shiftRight, home, end
    case enter, escape, tab, backspace
    case interrupt
}

/// A mouse event in cell coordinates.
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case press, drag, release }
    public var kind: Kind
    public var x: Int
    public var y: Int

    public init(kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// Everything that can happen to the console: input, time, and the answers of
/// the effects it asked for.
public enum ConsoleMessage: Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(width: Int, height: Int)
    case tick(Moment)
    case routesLoaded([Route], at: Moment)
    /// A route's new revision, pushed by the server's event stream.
    case routeChanged(Route, at: Moment)
    case routeDeleted(String, at: Moment)
    case auditAppended(AuditEvent)
    /// A model version in use crossed a retirement reminder (the server's `lifecycle` event).
    case lifecycleNotice(String)
    /// Who the console's token is; a viewer makes the console read-only.
    case identity(name: String, role: String)
    case metricsLoaded(route: String, RouteMetricsView)
    case lifecycleLoaded(LifecycleListView)
    case auditLoaded([AuditEvent])
    case fetchFailed(String, at: Moment)
    /// A panel's own fetch failed: its figures stay, marked stale with their age.
    case panelFetchFailed(ConsolePanel, String)
    case changeDone(ChangeView, action: String)
    case changeRefused(String)
    /// Every route's latest rollout (with a routes load).
    case rolloutsLoaded([String: RolloutView])
    /// A rollout moved, pushed by the event stream.
    case rolloutChanged(RolloutView)
    /// A pause, resume or abort the console asked for was done.
    case rolloutActionDone(RolloutView, action: String)
    /// The per-variant report of a route's A/B experiment or shadow.
    case reportLoaded(route: String, ExperimentReport)
    /// The pairs a route's shadow kept, for the compare screen.
    case samplesLoaded(ShadowSamplesView)
}

/// What the console asks its runtime to do; answers come back as messages.
public enum ConsoleEffect: Hashable, Sendable {
    case refresh(selected: String?)
    /// Measure over this many minutes from now on (5, 15 or 60).
    case watchWindow(minutes: Int)
    /// Switch to a theme by name (`:theme NAME`).
    case theme(String)
    /// Fetch this route's captured shadow pairs with every refresh (nil: stop).
    case watchSamples(route: String?)
    case setWeights(route: String, weights: [String: Double], ifMatch: Int)
    case rollback(route: String)
    case promote(route: String)
    case pause(route: String)
    case resume(route: String)
    case quit
}
