import SwitchyardCore

extension RolloutAction {
    /// Actions that only keep records or stop mirroring, carried out even when a re-declared route's weights must stand.
    var isBookkeeping: Bool {
        switch self {
        case .record, .stopShadow: true
        default: false
        }
    }
}

extension RolloutAction {
    /// The route change this action makes, if it makes one.
    var routeChange: RouteChange? {
        switch self {
        case .setWeights(let table): .setWeights(table)
        case .rollback: .rollback
        case .promote(let deployment, _): .promote(deployment: deployment)
        default: nil
        }
    }
}
