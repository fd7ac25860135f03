import Foundation
import Logging
import SwitchyardCore

/// The rollout engine: the pure `RolloutMachine` decides, the control plane
/// carries out its actions — weight changes through the same path as an
/// operator's, verdicts from the data plane's metrics, every transition
/// audited, announced and saved so a restart resumes at the same step.
extension ControlPlane {
    /// The audit actor of changes the engine makes by itself.
    public static let rolloutActor = "rollout"

    /// Connects the data plane that measures gates, health-checks and mirrors traffic.
    public func attach(dataPlane: any RolloutDataPlane) {
        self.dataPlane = dataPlane
    }

    /// The latest rollout of `route`, active or finished.
    public func rollout(_ route: String) -> Rollout? { rollouts[route] }

    /// Every route's latest rollout.
    public var latestRollouts: [String: Rollout] { rollouts }

    /// Rollouts of `route` from the store, newest first.
    public func rolloutHistory(route: String, limit: Int) async throws(ControlError) -> [Rollout] {
        do {
            return try await store.rollouts(route: route, activeOnly: false, limit: limit).compactMap { try? Self.decode($0.document) }
        } catch {
            throw .storing(error)
        }
    }

    /// Starts a rollout on `route`; one at a time per route.
    public func startRollout(_ name: String, plan body: JSONValue, actor: String) async throws(ControlError) -> Rollout {
        guard let current = plan(name) else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        var body = body
        if case .object(let members) = body, members.count == 1, let named = members["plan"] {
            // A plan declared with the route, by name.
            let known = current.route.plans.keys.sorted()
            guard let name = named.stringValue, let declared = current.route.plans[name] else {
                throw .invalidPlan(
                    "route '\(name)' has no plan named \(named.stringValue.map { "'\($0)'" } ?? "\(named)")"
                        + (known.isEmpty ? "; declare plans under 'plans:' in its routes file, or send the plan itself" : "; it has \(known.joined(separator: ", "))")
                )
            }
            body = declared
        }
        let plan: RolloutPlan
        do {
            plan = try RolloutPlan(json: body, route: current.route)
        } catch {
            throw .invalidPlan("\(error)")
        }
        return try await withRolloutLock { () async throws(ControlError) -> Rollout in
            await syncRollout(name)
            if let active = rollouts[name], active.state.isActive {
                throw .rolloutConflict(
                    "route '\(name)' already has a \(active.plan.strategy.rawValue) rollout \(active.state.rawValue) at \(active.progressLabel); abort it (ctl rollout abort \(name)) or roll back first"
                )
            }
            if plan.strategy == .shadow || plan.strategy == .bluegreen, dataPlane == nil {
                throw .rolloutConflict("this server has no data plane attached to run a \(plan.strategy.rawValue) rollout")
            }
            let now = clock.now()
            rolloutSequence += 1
            let id = "\(name)-\(now.nanoseconds / 1_000_000)-\(rolloutSequence)"
            guard await holdsLease(name) else {
                throw .rolloutConflict("another replica is starting a rollout on route '\(name)'; look again in a moment")
            }
            let (rollout, actions) = RolloutMachine.start(id: id, route: current.route, plan: plan, actor: actor, now: now)
            // Saved before anything is carried out: a rollout the store did not
            // take is refused, and nothing of it has happened.
            try await persist(rollout)
            rollouts[name] = rollout
            await carryOut(name, actions, actor: actor)
            await save(name)
            return rollouts[name] ?? rollout
        }
    }

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
            if rollouts[name]?.plan.strategy == .shadow { dataPlane?.setShadow(route: name, nil) }
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

    /// An operator's pause, resume or abort of the route's rollout.
    public func operate(_ name: String, _ event: RolloutEvent, actor: String, action: String) async throws(ControlError) -> Rollout {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard rollouts[name]?.state.isActive == true else { throw .noRollout(route: name, action: action) }
        try await handleRolloutThrowing(name, event, actor: actor)
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: action) }
        return rollout
    }

    /// The A/B or shadow report of the route's latest rollout.
    public func experimentReport(_ name: String) async throws(ControlError) -> ExperimentReport {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: "report on") }
        let now = clock.now()
        let end = rollout.state.isActive ? now : rollout.updatedAt
        let from = rollout.startedAt
        switch rollout.plan.strategy {
        case .ab, .canary, .bluegreen:
            let names = rollout.plan.split?.deploymentNames ?? [rollout.stable] + [rollout.candidate].compactMap { $0 }
            var figures: [String: MetricsWindow.Bucket] = [:]
            for deployment in names { figures[deployment] = windowFigures(route: name, deployment: deployment, from: from, to: end) }
            let scores = try await scoreSummaries(route: name, since: from, until: end)
            return ExperimentReport(rollout: rollout, variants: names, figures: figures, scores: scores, from: from, to: end)
        case .shadow:
            return ExperimentReport(
                rollout: rollout, primary: rollout.stable, primaryFigures: windowFigures(route: name, deployment: rollout.stable, from: from, to: end),
                report: dataPlane?.shadowReport(route: name), from: from, to: end
            )
        }
    }

    // MARK: Operator paths that go through the rollout

    func rollbackWithRollout(_ name: String, ifMatch: Int?, actor: String) async throws(ControlError) -> ChangeOutcome {
        let started = clock.now()
        if let ifMatch, let current = plan(name), ifMatch != current.route.revision {
            throw .stale(route: name, expected: ifMatch, actual: current.route.revision)
        }
        let before = plan(name)?.route.revision
        try await handleRolloutThrowing(name, .rollback(actor: actor), actor: actor)
        var audit: AuditEvent?
        if rollouts[name]?.plan.strategy != .bluegreen {
            // The machine's rollback already sent traffic to stable unless its
            // change failed; a rollback must be certain, so say it once more.
            audit = try await commitChange(name, .rollback, ifMatch: nil, actor: actor).audit
        }
        guard let route = plan(name)?.route else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        return ChangeOutcome(route: route, changed: route.revision != before, serverTime: clock.now() - started, audit: audit)
    }

    func promoteWithRollout(_ name: String, deployment: String?, ifMatch: Int?, actor: String) async throws(ControlError) -> ChangeOutcome {
        let started = clock.now()
        if let ifMatch, let current = plan(name), ifMatch != current.route.revision {
            throw .stale(route: name, expected: ifMatch, actual: current.route.revision)
        }
        let before = plan(name)?.route.revision
        try await handleRolloutThrowing(name, .promote(actor: actor, deployment: deployment), actor: actor)
        guard let route = plan(name)?.route else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        return ChangeOutcome(route: route, changed: route.revision != before, serverTime: clock.now() - started, audit: nil)
    }

    // MARK: Driving the machine

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
    private func carryOut(_ name: String, _ initial: [RolloutAction], actor: String) async {
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
            case .startShadow(let deployment, let sample, let budget):
                dataPlane?.setShadow(route: name, ShadowSettings(deployment: deployment, sample: sample, budget: budget))
            case .stopShadow:
                dataPlane?.setShadow(route: name, nil)
            case .record(let transition):
                records.append(transition)
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
    private func attempt(_ name: String, _ body: () async throws(ControlError) -> Void) async -> RolloutEvent? {
        do {
            try await body()
            return nil
        } catch {
            logger.error("rollout on \(name) could not change the route: \(error)")
            return .actionFailed("\(error)")
        }
    }

    private func startHealthCheck(_ name: String, deployment: String, check: RolloutPlan.HealthCheck) {
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

    /// The gates of the route's rollout: each candidate against the stable
    /// deployment (A/B: against the control) over everything both served
    /// since the rollout began — one growing sample (`GateSample`, kept with
    /// the rollout), which is what keeps the anytime-valid intervals valid
    /// however often they are looked at. The plan's `window` no longer narrows
    /// it: a sliding window would drop the early data the guarantee is built on.
    private func evaluateGates(_ name: String) async -> [GateVerdict] {
        guard let rollout = rollouts[name], let dataPlane else { return [] }
        let now = clock.now()
        let pairs: [(String, String)]
        let roles: GateEvaluator.Roles
        switch rollout.plan.strategy {
        case .ab:
            let variants = rollout.plan.split?.deploymentNames ?? []
            pairs = variants.dropFirst().map { (variants[0], $0) }
            roles = GateEvaluator.Roles(baseline: "control", candidate: "variant")
        default:
            pairs = [(rollout.stable, rollout.candidate ?? rollout.stable)]
            roles = .canary
        }
        let read = { (deployment: String, from: Int64, to: Int64) in dataPlane.aggregate(route: name, deployment: deployment, fromSecond: from, toSecond: to) }
        var sample = rollout.gateSample ?? GateSample(startedAt: rollout.startedAt)
        sample.fold(Array(Set(pairs.flatMap { [$0.0, $0.1] })).sorted(), now: now, read: read)
        rollouts[name]?.gateSample = sample
        let since = Moment(seconds: sample.since)
        let scores = (try? await scoreSummaries(route: name, since: since, until: now)) ?? [:]
        var verdicts: [GateVerdict] = []
        for (baseline, candidate) in pairs {
            let b = GateSide(figures: sample.figures(of: baseline, now: now, read: read), scores: scores[baseline] ?? ScoreSummary([]))
            var breakerOpen = false
            if case .open = dataPlane.breakerState(route: name, deployment: candidate) { breakerOpen = true }
            let c = GateSide(
                figures: sample.figures(of: candidate, now: now, read: read), scores: scores[candidate] ?? ScoreSummary([]),
                breakerOpen: breakerOpen
            )
            for var verdict in GateEvaluator.evaluate(rollout.plan.gates, baseline: b, candidate: c, roles: roles) {
                verdict.baselineName = baseline
                verdict.candidateName = candidate
                verdicts.append(verdict)
            }
        }
        return verdicts
    }

    private func scoreSummaries(route: String, since: Moment, until: Moment) async throws(ControlError) -> [String: ScoreSummary] {
        let feedback: [Feedback]
        do {
            feedback = try await store.feedback(route: route, sinceMilliseconds: since.nanoseconds / 1_000_000)
        } catch {
            throw .storing(error)
        }
        let limit = until.nanoseconds / 1_000_000
        var scores: [String: [Double]] = [:]
        for entry in feedback where entry.atMilliseconds <= limit {
            guard let deployment = entry.deployment else { continue }
            scores[deployment, default: []].append(entry.score)
        }
        return scores.mapValues { ScoreSummary($0) }
    }

    private func windowFigures(route: String, deployment: String, from: Moment, to: Moment) -> MetricsWindow.Bucket {
        guard let dataPlane else { return MetricsWindow.Bucket(start: 0) }
        let start = from.nanoseconds / 1_000_000_000
        return dataPlane.aggregate(route: route, deployment: deployment, fromSecond: start - start % MetricsWindow.bucketSeconds, toSecond: to.nanoseconds / 1_000_000_000 + 1)
    }

    /// A rollout's gate evaluations from the store, newest first: all of them, not only the latest the rollout keeps.
    public func evaluationHistory(_ name: String, limit: Int, beforeID: Int64?) async throws(ControlError) -> (rollout: Rollout, evaluations: [(id: Int64, RolloutView.Evaluation)]) {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: "list the evaluations of") }
        let stored: [StoredEvaluation]
        do {
            stored = try await store.evaluations(rolloutID: rollout.id, limit: limit, beforeID: beforeID)
        } catch {
            throw .storing(error)
        }
        let decoder = JSONDecoder()
        return (rollout, stored.compactMap { entry in
            (try? decoder.decode(Rollout.Evaluation.self, from: Data(entry.document.utf8))).map { (entry.id, RolloutView.Evaluation($0)) }
        })
    }

    private func keep(_ evaluation: Rollout.Evaluation, of rollout: Rollout) async {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let document = String(decoding: try encoder.encode(evaluation), as: UTF8.self)
            try await store.appendEvaluation(rolloutID: rollout.id, atMilliseconds: evaluation.at.nanoseconds / 1_000_000, document: document)
        } catch {
            logger.error("could not keep an evaluation of the rollout on \(rollout.route): \(error)")
        }
    }

    // MARK: Storage

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
                dataPlane?.setShadow(route: name, ShadowSettings(deployment: candidate, sample: rollout.plan.sample ?? .full, budget: rollout.plan.budget))
            }
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
    private func persist(_ rollout: Rollout) async throws(ControlError) {
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
    private func save(_ name: String) async {
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
