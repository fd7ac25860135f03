public import SwitchyardCore

/// The parts of the screen that are fetched separately, and so can each be
/// out of date on their own.
public enum ConsolePanel: String, CaseIterable, Hashable, Sendable {
    case routes, metrics, lifecycle, audit, reports, samples
}

extension ConsoleState {
    /// When `panel`'s data last arrived; for metrics, the selected route's.
    public func loadedAt(_ panel: ConsolePanel) -> Moment? {
        switch panel {
        case .routes: lastUpdate
        case .metrics: selected.flatMap { metricsLoadedAt[$0.name] }
        default: panelLoadedAt[panel]
        }
    }

    /// How old `panel`'s data is, if there is any.
    public func age(_ panel: ConsolePanel) -> Duration? {
        loadedAt(panel).map { now - $0 }
    }

    /// Older than `staleAfter`, or its last fetch failed: drawn dim, with its age.
    public func isStale(_ panel: ConsolePanel) -> Bool {
        if panelFailures[panel] != nil { return true }
        guard let age = age(panel) else { return false }
        return age > Self.staleAfter
    }

    /// The stale panels (routes aside: the header's own status covers them), most out of date first.
    public var stalePanels: [(panel: ConsolePanel, age: Duration?)] {
        ConsolePanel.allCases.filter { $0 != .routes && isStale($0) }
            .map { ($0, age($0)) }
            .sorted { ($0.age ?? .zero) > ($1.age ?? .zero) }
    }

    /// `metrics 42 s old`, or `lifecycle: fetch failed` when it never arrived.
    public func freshnessText(_ panel: ConsolePanel) -> String {
        if let age = age(panel) { return "\(panel.rawValue) \(Self.shortAge(age)) old" }
        return "\(panel.rawValue): " + (panelFailures[panel] == nil ? "loading" : "fetch failed")
    }

    mutating func loaded(_ panel: ConsolePanel) {
        panelLoadedAt[panel] = now
        panelFailures[panel] = nil
    }
}
