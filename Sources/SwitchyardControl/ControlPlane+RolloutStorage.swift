import Foundation
import Logging
import SwitchyardCore

/// Rollouts in the store: loaded and checked at start, resumed where they were, saved after each step.
extension ControlPlane {
    func loadRollouts() async throws {
        for stored in try await store.rollouts(route: nil, activeOnly: true, limit: 10_000) {
            let rollout: Rollout
            do {
                rollout = try Self.decode(stored.document)
            } catch {
                logger.error("rollout \(stored.id) on \(stored.route) cannot be read back (\(error)); it is marked stopped and left as it was")
                var stopped = stored
                stopped.active = false
                stopped.revision = stored.revision.saturatingAdding(1)
                try? await store.saveRollout(stopped)
                continue
            }
            if let problem = rollout.storedStateProblem ?? routeProblem(of: rollout) {
                let quarantined = rollout.quarantined(because: problem, at: clock.now())
                logger.error("the rollout on \(rollout.route) is quarantined: \(quarantined.reason)")
                rollouts[rollout.route] = quarantined
                rolloutRevisions[rollout.id] = stored.revision
                await save(rollout.route)
                continue
            }
            rollouts[rollout.route] = rollout
            rolloutRevisions[rollout.id] = stored.revision
            logger.notice("resuming the \(rollout.plan.strategy.rawValue) rollout on \(rollout.route) at \(rollout.progressLabel) (\(rollout.state.rawValue))")
        }
    }

    /// Whether an active stored rollout still fits its route: the route exists
    /// and has every deployment the rollout names.
    func routeProblem(of rollout: Rollout) -> String? {
        guard rollout.state.isActive else { return nil }
        guard let route = plan(rollout.route)?.route else { return "its route '\(rollout.route)' no longer exists" }
        let names = Set(route.deployments.map(\.name))
        if let missing = rollout.deployments.first(where: { !names.contains($0) }) {
            return "it names deployment '\(missing)', which route '\(rollout.route)' does not have"
        }
        return nil
    }

    /// Re-issues what lives only in memory (shadow mirroring, an unfinished
    /// health check) after a restart — for the rollouts this process drives.
    public func resumeRollouts() async {
        for (name, rollout) in rollouts where rollout.state.isActive {
            if store is any SharedStateStore {
                _ = await holdsLease(name)  // a lease taken re-issues the side effects
            } else {
                resumeSideEffects(name, rollout)
            }
        }
    }

    func resumeSideEffects(_ name: String, _ rollout: Rollout) {
        switch rollout.plan.strategy {
        case .shadow:
            if let candidate = rollout.candidate {
                dataPlane?.setShadow(route: name, ShadowSettings(deployment: candidate, sample: rollout.plan.sample ?? .full, budget: rollout.plan.budget, capture: rollout.plan.capture ?? 0))
            }
        case .ab where rollout.plan.capture != nil:
            let variants = rollout.plan.split?.entries.filter { $0.weight > .zero }.map(\.deployment) ?? []
            dataPlane?.setShadow(
                route: name,
                ShadowSettings(deployment: "", sample: rollout.plan.sample ?? .zero, budget: rollout.plan.budget, capture: rollout.plan.capture ?? 0, pairs: variants)
            )
        case .bluegreen where rollout.switchedAt == nil:
            if let candidate = rollout.candidate { startHealthCheck(name, deployment: candidate, check: rollout.plan.healthCheck) }
        default:
            break
        }
    }

    /// `rollout` encoded as its next stored revision.
    func nextStored(_ rollout: Rollout) throws(ControlError) -> StoredRollout {
        let document: String
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            document = String(decoding: try encoder.encode(rollout), as: UTF8.self)
        } catch {
            throw .storage("the rollout could not be encoded: \(error)")
        }
        return StoredRollout(
            id: rollout.id, route: rollout.route, active: rollout.state.isActive,
            startedMilliseconds: rollout.startedAt.nanoseconds / 1_000_000,
            revision: (rolloutRevisions[rollout.id] ?? 0).saturatingAdding(1), document: document
        )
    }

    /// Writes `rollout` to the store as its next revision, or throws and writes nothing.
    func persist(_ rollout: Rollout) async throws(ControlError) {
        let stored = try nextStored(rollout)
        do {
            try await store.saveRollout(stored)
        } catch {
            throw .storing(error)
        }
        rolloutRevisions[rollout.id] = stored.revision
    }

    /// Saves the route's rollout as it is now; a failure is logged (the
    /// engine's own progress is re-derived from the store after a restart).
    func save(_ name: String) async {
        guard let rollout = rollouts[name] else { return }
        do {
            try await persist(rollout)
        } catch .conflict, .stale {
            // Another replica moved this rollout meanwhile: its version stands.
            logger.warning("the rollout on \(name) was changed by another replica; taking its version")
            await syncRollout(name)
            return
        } catch {
            logger.error("could not save the rollout on \(name): \(error)")
        }
        notify(.rollout(rollout), [])
    }

    static func decode(_ document: String) throws -> Rollout {
        try JSONDecoder().decode(Rollout.self, from: Data(document.utf8))
    }
}
