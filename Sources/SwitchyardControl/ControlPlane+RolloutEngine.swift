import Foundation
import Logging
import Tracing
import SwitchyardCore

/// Driving the machine: one event at a time under the rollout lock, each decision durable before it takes effect, its actions carried out and their results fed back.
extension ControlPlane {
    /// Feeds one event to the route's rollout and carries out what it decides.
    func handleRollout(_ name: String, _ event: RolloutEvent, actor: String, performActions: Bool = true) async {
        do {
            try await handleRolloutThrowing(name, event, actor: actor, performActions: performActions, durable: false)
        } catch {
            logger.debug("rollout on \(name) ignored \(event): \(error)")
        }
    }

    /// Feeds one event to the route's rollout. A `durable` event (a person's
    /// pause, resume, abort, promote or rollback) is saved before it takes
    /// effect — together with the route change it makes, when it makes one —
    /// so once acknowledged it is in the store, or it is refused with nothing
    /// done. The engine's own events are saved after, best effort.
    func handleRolloutThrowing(
        _ name: String, _ event: RolloutEvent, actor: String, performActions: Bool = true, durable: Bool = true
    ) async throws(ControlError) {
        try await withRolloutLock { () async throws(ControlError) in
            if event != .tick { await syncRollout(name) }
            guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: "change") }
            let next: Rollout
            let actions: [RolloutAction]
            do {
                (next, actions) = try RolloutMachine.handle(rollout, event, now: clock.now())
            } catch {
                throw .rolloutConflict("\(error)")
            }
            guard next != rollout || !actions.isEmpty else { return }
            var pending = performActions ? actions : actions.filter(\.isBookkeeping)
            if durable, let index = pending.firstIndex(where: { $0.routeChange != nil }), let change = pending[index].routeChange {
                // The person's change and the rollout's new state land in one
                // transaction: stored "promoted" or "rolled back" exactly when
                // the route is, or neither and the caller hears why.
                // A step's weights are the rollout's doing; a rollback or promotion is the person's.
                let changeActor = if case .setWeights = pending[index] { Self.rolloutActor } else { actor }
                let outcome = try await commitChange(name, change, ifMatch: nil, actor: changeActor, rollout: next)
                if !outcome.changed { try await persist(next) }
                pending.remove(at: index)
            } else if durable, next != rollout {
                try await persist(next)
            }
            rollouts[name] = next
            await carryOut(name, pending, actor: actor)
            await save(name)
        }
    }

    /// Carries out actions in order; results (verdicts, failures) go back into the machine.
    func carryOut(_ name: String, _ initial: [RolloutAction], actor: String) async {
        var pending = initial[...]
        var records: [Rollout.Transition] = []
        while let action = pending.popFirst() {
            var event: RolloutEvent?
            switch action {
            case .setWeights(let table):
                event = await attempt(name) { () async throws(ControlError) in
                    _ = try await self.commitChange(name, .setWeights(table), ifMatch: nil, actor: Self.rolloutActor)
                }
            case .rollback:
                event = await attempt(name) { () async throws(ControlError) in
                    _ = try await self.commitChange(name, .rollback, ifMatch: nil, actor: actor == Self.rolloutActor ? Self.rolloutActor : actor)
                }
            case .promote(let deployment, _):
                event = await attempt(name) { () async throws(ControlError) in
                    _ = try await self.commitChange(name, .promote(deployment: deployment), ifMatch: nil, actor: actor == Self.rolloutActor ? Self.rolloutActor : actor)
                }
            case .evaluate:
                event = .evaluated(await evaluateGates(name))
            case .healthCheck(let deployment, let check):
                startHealthCheck(name, deployment: deployment, check: check)
            case .startShadow(let deployment, let sample, let budget, let capture, let pairs):
                dataPlane?.setShadow(route: name, ShadowSettings(deployment: deployment, sample: sample, budget: budget, capture: capture, pairs: pairs))
            case .stopShadow:
                dataPlane?.setShadow(route: name, nil)
            case .record(let transition):
                records.append(transition)
                traceTransition(name, transition)
            }
            if let event, let rollout = rollouts[name], let (next, more) = try? RolloutMachine.handle(rollout, event, now: clock.now()) {
                rollouts[name] = next
                pending.append(contentsOf: more)
                if case .evaluated = event, let evaluation = next.evaluations.last {
                    await keep(evaluation, of: next)
                }
            }
        }
        guard !records.isEmpty else { return }
        let audit = records.map { transition in
            AuditEvent(
                atMilliseconds: transition.at.nanoseconds / 1_000_000, actor: transition.actor, action: transition.action, route: name,
                fromRevision: nil, toRevision: nil, detail: transition.detail
            )
        }
        do {
            let stored = try await store.commit(StoreCommit(audit: audit))
            notify(nil, stored)
        } catch {
            logger.error("could not audit rollout transitions on \(name): \(error)")
        }
    }

    /// Runs a change for the rollout; a failure becomes an `actionFailed` event.
    func attempt(_ name: String, _ body: () async throws(ControlError) -> Void) async -> RolloutEvent? {
        do {
            try await body()
            return nil
        } catch {
            logger.error("rollout on \(name) could not change the route: \(error)")
            return .actionFailed("\(error)")
        }
    }

    func startHealthCheck(_ name: String, deployment: String, check: RolloutPlan.HealthCheck) {
        guard let dataPlane, let route = plan(name)?.route, let id = rollouts[name]?.id else { return }
        Task {
            let result = await dataPlane.healthCheck(route: route, deployment: deployment, check: check)
            await self.deliverHealthCheck(name, id: id, result)
        }
    }

    func deliverHealthCheck(_ name: String, id: String, _ result: HealthCheckResult) async {
        guard rollouts[name]?.id == id else { return }
        await handleRollout(name, .healthChecked(passed: result.passed, detail: result.detail), actor: Self.rolloutActor)
    }

    /// Runs `body` with no other rollout handling interleaved (the actor is re-entrant across awaits).
    func withRolloutLock<T>(_ body: () async throws(ControlError) -> T) async throws(ControlError) -> T {
        while rolloutBusy {
            await withCheckedContinuation { rolloutWaiters.append($0) }
        }
        rolloutBusy = true
        defer {
            rolloutBusy = false
            if !rolloutWaiters.isEmpty { rolloutWaiters.removeFirst().resume() }
        }
        return try await body()
    }
}
