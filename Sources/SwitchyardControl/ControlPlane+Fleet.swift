import Logging
public import SwitchyardCore

extension ControlPlane {
    /// Brings this replica up to date with what other replicas committed to
    /// the shared store: changed routes are installed (with their stored
    /// bucket ownership, so every replica routes a user the same way),
    /// deleted ones removed, and each change announced to this replica's
    /// event stream. Returns whether anything changed.
    @discardableResult
    public func refreshFromStore() async -> Bool {
        let state: StoredState
        do {
            state = try await store.load()
            if storeProblem != nil { logger.notice("the state store is back") }
            storeProblem = nil
        } catch {
            if storeProblem == nil { logger.warning("cannot refresh from the state store; serving the last known routes: \(error)") }
            storeProblem = "\(error)"
            return false
        }
        let stored = Dictionary(state.plans.map { ($0.route.name, $0) }, uniquingKeysWith: { first, _ in first })
        var changed: [Route] = []
        var deleted: [String] = []
        for (name, plan) in stored where (self.plan(name)?.route.revision ?? 0) < plan.route.revision {
            changed.append(plan.route)
            replacePlan(plan)
        }
        // A row this replica cannot use (another build wrote it, or it is damaged):
        // keep serving the last version read, and say so once.
        for (name, reason) in state.refusedRoutes where !refusedRouteWarnings.contains(name) {
            refusedRouteWarnings.insert(name)
            logger.error("the stored route '\(name)' cannot be used (\(reason)); serving its last version read")
        }
        refusedRouteWarnings.formIntersection(state.refusedRoutes.keys)
        for name in currentPlans.map(\.route.name) where stored[name] == nil && state.refusedRoutes[name] == nil {
            deleted.append(name)
            removePlan(name)
        }
        mergeDeletedRevisions(state.deletedRouteRevisions)
        await refreshRollouts()
        await refreshCatalog()
        guard !changed.isEmpty || !deleted.isEmpty else { return false }
        installCurrentPlans()
        for route in changed.sorted(by: { $0.name < $1.name }) { notify(.routeChanged(route), []) }
        for name in deleted.sorted() { notify(.routeDeleted(name), []) }
        logger.info("took \(changed.count + deleted.count) route change(s) from other replicas")
        return true
    }
}

extension ControlPlane {
    /// Credits feedback that another replica received for a request this one
    /// served: the replica that served a request is the only one whose ledger
    /// knows it, so each replica looks through the unattributed feedback now
    /// and then and fills in what it knows.
    @discardableResult
    public func attributeFleetFeedback(lookup: (String) -> (route: String, deployment: String)?) async -> Int {
        guard let shared = store as? any SharedStateStore else { return 0 }
        let since = (clock.now() - .seconds(3600)).nanoseconds / 1_000_000
        do {
            let pending = try await shared.unattributedFeedback(sinceMilliseconds: since, limit: 1000)
            let found = pending.compactMap { feedback -> FeedbackAttribution? in
                guard let place = lookup(feedback.requestId), feedback.route == nil || feedback.route == place.route else { return nil }
                return FeedbackAttribution(feedbackID: feedback.id, route: place.route, deployment: place.deployment)
            }
            try await shared.attributeFeedback(found)
            if !found.isEmpty { logger.info("credited \(found.count) feedback score(s) received by other replicas") }
            return found.count
        } catch {
            logger.warning("cannot credit feedback received by other replicas: \(error)")
            return 0
        }
    }

    /// Replaces this replica's live figures in the shared store.
    public func publishReplicaRollups(_ rollups: [MetricRollup], pruneBefore: Int64) async throws(ControlError) {
        do {
            try await store.writeReplicaRollups(replica: replicaID, rollups, pruneBefore: pruneBefore)
        } catch {
            throw .storing(error)
        }
    }

    /// The whole fleet's live figures from `sinceMinute` on.
    public func fleetRollups(sinceMinute: Int64) async throws(ControlError) -> [MetricRollup] {
        do {
            return try await store.fleetRollups(sinceMinute: sinceMinute)
        } catch {
            throw .storing(error)
        }
    }
}
