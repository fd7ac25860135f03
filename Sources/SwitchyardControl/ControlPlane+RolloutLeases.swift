import Foundation
import Logging
import SwitchyardCore

/// Who drives each rollout in a fleet: the lease one replica holds, and the others following the store.
extension ControlPlane {
    /// Advances every active rollout to the current time. `RolloutDriver` calls this every second; tests call it directly.
    public func tickRollouts() async {
        for name in rollouts.keys.sorted() where rollouts[name]?.state.isActive == true {
            // In a fleet, one replica at a time drives a rollout: the one holding its lease.
            guard await holdsLease(name) else { continue }
            await handleRollout(name, .tick, actor: Self.rolloutActor)
        }
    }

    /// Sets how long a rollout lease lasts without renewal (fleet mode).
    public func setLeaseTTL(_ ttl: Duration) {
        leaseTTL = ttl
    }

    /// Whether this process drives `route`'s rollout: always with a store of
    /// its own; in a fleet, while it holds (and keeps renewing) the lease.
    /// Taking a lease over re-issues what lived only in the old holder's memory.
    func holdsLease(_ name: String) async -> Bool {
        guard store is any SharedStateStore else { return true }
        let now = clock.now()
        let held: Bool
        do {
            held = try await store.acquireLease(
                "rollout:\(name)", holder: replicaID, nowMilliseconds: now.nanoseconds / 1_000_000, untilMilliseconds: (now + leaseTTL).nanoseconds / 1_000_000
            )
        } catch {
            logger.warning("cannot renew the lease of the rollout on \(name): \(error)")
            held = false
        }
        if held, !drivenHere.contains(name) {
            drivenHere.insert(name)
            await syncRollout(name)
            if let rollout = rollouts[name], rollout.state.isActive { resumeSideEffects(name, rollout) }
            logger.notice("driving the rollout on \(name) (replica \(replicaID))")
        } else if !held, drivenHere.contains(name) {
            drivenHere.remove(name)
            if rollouts[name]?.plan.strategy == .shadow || rollouts[name]?.plan.capture != nil { dataPlane?.setShadow(route: name, nil) }
            logger.notice("another replica drives the rollout on \(name) now")
        }
        return held
    }

    /// In a fleet, takes the stored version of `route`'s latest rollout when it is newer than this process's.
    @discardableResult
    func syncRollout(_ name: String) async -> Bool {
        guard store is any SharedStateStore, let latest = try? await store.rollouts(route: name, activeOnly: false, limit: 1).first else { return false }
        return adopt(latest)
    }

    /// Replaces the in-memory rollout with a stored one that is newer; announces it.
    @discardableResult
    func adopt(_ stored: StoredRollout) -> Bool {
        let known = rollouts[stored.route]
        if let known, known.id == stored.id, (rolloutRevisions[stored.id] ?? 0) >= stored.revision { return false }
        if let known, known.id != stored.id, known.startedAt.nanoseconds / 1_000_000 > stored.startedMilliseconds { return false }
        guard let rollout = try? Self.decode(stored.document) else { return false }
        if let problem = rollout.storedStateProblem ?? routeProblem(of: rollout) {
            logger.error("ignoring the stored rollout \(stored.id) on \(stored.route): \(problem)")
            return false
        }
        rollouts[stored.route] = rollout
        rolloutRevisions[stored.id] = stored.revision
        notify(.rollout(rollout), [])
        return true
    }

    /// Takes every rollout other replicas saved since this process last looked.
    func refreshRollouts() async {
        guard store is any SharedStateStore else { return }
        var stored = (try? await store.rollouts(route: nil, activeOnly: true, limit: 1000)) ?? []
        let activeIDs = Set(stored.map(\.id))
        // Rollouts this process thinks active but the store does not: they ended elsewhere.
        for (name, rollout) in rollouts where rollout.state.isActive && !activeIDs.contains(rollout.id) {
            if let latest = try? await store.rollouts(route: name, activeOnly: false, limit: 1).first { stored.append(latest) }
        }
        for entry in stored {
            adopt(entry)  // only when newer than what this process has
        }
    }
}
