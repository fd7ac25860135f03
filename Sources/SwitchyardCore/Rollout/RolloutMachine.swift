/// The rollout engine's decisions as a pure function:
/// `(rollout, event, now) → (rollout, actions)`. The control plane carries
/// the actions out and feeds results back as events.
public enum RolloutMachine {
    /// Begins a rollout of `plan` on `route`.
    public static func start(id: String, route: Route, plan: RolloutPlan, actor: String, now: Moment) -> (Rollout, [RolloutAction]) {
        var rollout = Rollout(
            id: id, route: route.name, plan: plan, actor: actor, stable: route.stable, deployments: route.deployments.map(\.name),
            state: .progressing, reason: "started", startedAt: now, updatedAt: now, stepStartedAt: now
        )
        var run = Run(rollout: rollout, now: now)
        run.record("rollout.start", actor: actor, detail: startSummary(plan))
        switch plan.strategy {
        case .canary:
            if !plan.gates.isEmpty { run.rollout.nextEvaluationAt = now + plan.interval }
            run.advance()
        case .bluegreen:
            let target = plan.candidate ?? route.stable
            if let weight = route.deployment(named: target)?.weight, weight > .zero {
                run.actions.append(.setWeights(run.table { $0 == route.stable ? .full : .zero }))
            }
            run.rollout.reason = "checking \(target) with \(plan.healthCheck.requests) synthetic requests before any traffic"
            run.actions.append(.healthCheck(deployment: target, plan.healthCheck))
        case .ab:
            if let split = plan.split { run.actions.append(.setWeights(run.table { split[$0] ?? .zero })) }
            if let capture = plan.capture, let split = plan.split {
                let variants = split.entries.filter { $0.weight > .zero }.map(\.deployment)
                run.actions.append(.startShadow(deployment: "", sample: plan.sample ?? Weight(unchecked: 1_000), budget: plan.budget, capture: capture, pairs: variants))
            }
            if !plan.gates.isEmpty { run.rollout.nextEvaluationAt = now + plan.interval }
            run.rollout.reason = "experiment running" + (plan.duration.map { " for \(DurationText.format($0))" } ?? " until stopped")
        case .shadow:
            let shadow = plan.candidate ?? route.stable
            run.actions.append(.startShadow(deployment: shadow, sample: plan.sample ?? .full, budget: plan.budget, capture: plan.capture ?? 0))
            run.rollout.reason = "mirroring \(plan.sample ?? .full) of traffic to \(shadow)"
        }
        rollout = run.rollout
        return (rollout, run.actions)
    }

    /// Applies one event. Operator events that make no sense now throw, naming why.
    public static func handle(_ rollout: Rollout, _ event: RolloutEvent, now: Moment) throws(RolloutError) -> (Rollout, [RolloutAction]) {
        var run = Run(rollout: rollout, now: now)
        try run.handle(event)
        if run.rollout != rollout { run.rollout.updatedAt = now }
        return (run.rollout, run.actions)
    }

    static func startSummary(_ plan: RolloutPlan) -> String {
        var parts = [plan.strategy.rawValue]
        if let candidate = plan.candidate { parts.append(candidate) }
        if plan.strategy == .canary { parts.append("\(plan.steps.count) steps") }
        if !plan.gates.isEmpty { parts.append("gates \(plan.gates.map(\.metric.rawValue).joined(separator: ","))") }
        if let deadline = plan.deadline { parts.append("deadline \(DurationText.format(deadline))") }
        return parts.joined(separator: " ")
    }
}

/// One pass of the machine: the rollout being changed and the actions so far.
private struct Run {
    var rollout: Rollout
    let now: Moment
    var actions: [RolloutAction] = []

    init(rollout: Rollout, now: Moment) {
        self.rollout = rollout
        self.now = now
    }

    var plan: RolloutPlan { rollout.plan }

    func table(_ weight: (String) -> Weight) -> WeightTable {
        // The deployments are the route's own and the callers give 100 % in all.
        try! WeightTable(rollout.deployments.map { .init(deployment: $0, weight: weight($0)) })
    }

    mutating func record(_ action: String, actor: String = "rollout", detail: String) {
        let transition = Rollout.Transition(at: now, action: action, state: rollout.state, step: rollout.stepIndex, actor: actor, detail: detail)
        rollout.transitions.append(transition)
        if rollout.transitions.count > Rollout.keptTransitions { rollout.transitions.removeFirst(rollout.transitions.count - Rollout.keptTransitions) }
        actions.append(.record(transition))
    }

    mutating func finish(_ state: Rollout.State, _ action: String, actor: String, reason: String) {
        rollout.state = state
        rollout.reason = reason
        rollout.pausedAt = nil
        rollout.nextEvaluationAt = nil
        record(action, actor: actor, detail: reason)
    }

    /// Traffic back to stable (or, after a blue-green switch, back to the previous slot) and the rollout ends in `state`.
    mutating func stop(_ state: Rollout.State, _ action: String, actor: String, reason: String) {
        switch plan.strategy {
        case .canary, .ab:
            actions.append(.rollback(reason: reason))
            if plan.strategy == .ab, plan.capture != nil { actions.append(.stopShadow) }
        case .bluegreen:
            if rollout.switchedAt != nil { actions.append(.promote(deployment: rollout.stable, reason: reason)) }
        case .shadow:
            actions.append(.stopShadow)
        }
        finish(state, action, actor: actor, reason: reason)
    }

    mutating func pause(actor: String, reason: String) {
        guard rollout.state == .progressing else { return }
        rollout.state = .paused
        rollout.pausedAt = now
        rollout.reason = reason
        record("rollout.pause", actor: actor, detail: reason)
    }

    mutating func handle(_ event: RolloutEvent) throws(RolloutError) {
        guard rollout.state.isActive else {
            switch event {
            case .actionFailed(let detail) where rollout.state == .promoted || rollout.state == .rolledBack:
                // The ending's own change failed: say so rather than report a promotion
                // or rollback that did not happen.
                let what = rollout.state == .promoted ? "promotion" : "rollback"
                finish(
                    .aborted, "rollout.failed", actor: "rollout",
                    reason: "the \(what) could not be carried out: \(detail); the route's weights are as they were — check them and act by hand"
                )
                return
            case .tick, .evaluated, .healthChecked, .overridden, .actionFailed: return
            default: throw .notAllowed("the \(plan.strategy.rawValue) rollout on '\(rollout.route)' has already ended (\(rollout.state.rawValue)): \(rollout.reason)")
            }
        }
        switch event {
        case .tick:
            tick()
        case .evaluated(let verdicts):
            evaluated(verdicts)
        case .healthChecked(let passed, let detail):
            healthChecked(passed: passed, detail: detail)
        case .pause(let actor):
            guard plan.strategy == .canary || plan.strategy == .ab else {
                throw .notAllowed("a \(plan.strategy.rawValue) rollout cannot be paused; abort it or let it finish")
            }
            guard rollout.state == .progressing else { throw .notAllowed("the rollout on '\(rollout.route)' is already paused: \(rollout.reason)") }
            pause(actor: actor, reason: "paused by \(actor)")
        case .resume(let actor):
            guard rollout.state == .paused else { throw .notAllowed("the rollout on '\(rollout.route)' is not paused; it is \(rollout.state.rawValue)") }
            resume(actor: actor)
        case .promote(let actor, let deployment):
            try promote(actor: actor, deployment: deployment)
        case .rollback(let actor):
            stop(.rolledBack, "rollout.rollback", actor: actor, reason: "rolled back by \(actor)")
        case .abort(let actor, let reason):
            stop(.aborted, "rollout.abort", actor: actor, reason: reason.isEmpty ? "aborted by \(actor)" : reason)
        case .overridden(let actor, let detail):
            guard plan.strategy == .canary || plan.strategy == .ab else { return }
            pause(actor: actor, reason: "\(actor) changed the weights by hand (\(detail)); resume to continue the plan")
        case .actionFailed(let detail):
            if rollout.state == .progressing {
                pause(actor: "rollout", reason: "could not carry out a step: \(detail); resume to try again")
            } else {
                rollout.reason = "could not carry out a step: \(detail)"
            }
        }
    }

    // MARK: Time

    mutating func tick() {
        if let deadline = plan.deadline, !rollout.deadlineHandled, now >= rollout.startedAt + deadline {
            rollout.deadlineHandled = true
            let reason = "the deadline of \(DurationText.format(deadline)) passed at \(rollout.progressLabel)"
            switch plan.onDeadline {
            case .abort:
                stop(.aborted, "rollout.deadline", actor: "rollout", reason: reason + "; aborted")
                return
            case .pause:
                pause(actor: "rollout", reason: reason + "; paused for a human")
            case .promote:
                if let candidate = plan.candidate, plan.strategy == .canary {
                    actions.append(.promote(deployment: candidate, reason: reason))
                    finish(.promoted, "rollout.deadline", actor: "rollout", reason: reason + "; promoted as the plan says")
                    return
                }
                pause(actor: "rollout", reason: reason + "; nothing to promote, paused")
            }
        }
        if let due = rollout.nextEvaluationAt, now >= due {
            rollout.nextEvaluationAt = now + evaluationInterval
            actions.append(.evaluate)
        }
        guard rollout.state == .progressing else { return }
        switch plan.strategy {
        case .canary:
            if let ends = rollout.nextStepAt, now >= ends, !blockedByGates {
                rollout.stepIndex += 1
                advance()
            }
        case .bluegreen:
            if let switched = rollout.switchedAt, now >= switched + plan.keepPrevious {
                finish(.promoted, "rollout.complete", actor: "rollout", reason: "\(plan.candidate ?? "") serves all traffic; \(rollout.stable) released after \(DurationText.format(plan.keepPrevious))")
            }
        case .ab, .shadow:
            if let duration = plan.duration, now >= rollout.startedAt + duration {
                if plan.strategy == .shadow || plan.capture != nil { actions.append(.stopShadow) }
                finish(.completed, "rollout.complete", actor: "rollout", reason: "\(plan.strategy == .ab ? "experiment" : "shadow") ran its \(DurationText.format(duration)); see the report")
            }
        }
    }

    /// How often the gates look now: an analysis step's own interval, else the plan's.
    var evaluationInterval: Duration {
        if plan.strategy == .canary, rollout.stepIndex < plan.steps.count, case .analysis(let interval, _, _) = plan.steps[rollout.stepIndex] {
            return interval
        }
        return plan.interval
    }

    /// With a `wait` policy, a timed step does not end while the gates cannot say the canary is fine.
    var blockedByGates: Bool {
        guard let last = rollout.evaluations.last else { return false }
        switch last.overall {
        case .inconclusive: return plan.onInconclusive == .wait
        case .noData: return plan.onNoData == .wait
        case .pass, .fail: return false
        }
    }

    // MARK: Steps

    /// Runs steps from the current one until one has to wait; promotes after the last.
    mutating func advance() {
        let steps = plan.steps
        while rollout.state == .progressing, rollout.stepIndex < steps.count {
            let position = "step \(rollout.stepIndex + 1)/\(steps.count)"
            rollout.stepStartedAt = now
            rollout.heldFor = .zero
            switch steps[rollout.stepIndex] {
            case .setWeight(let weight):
                let canary = plan.candidate ?? rollout.stable
                actions.append(.setWeights(table { $0 == canary ? weight : ($0 == rollout.stable ? Weight(unchecked: Weight.full.basisPoints - weight.basisPoints) : .zero) }))
                rollout.canaryWeight = weight
                rollout.reason = "\(position): \(canary) at \(weight)%"
                record("rollout.step", detail: rollout.reason)
                rollout.stepIndex += 1
            case .pause(let duration?):
                rollout.reason = "\(position): holding for \(DurationText.format(duration))"
                record("rollout.step", detail: rollout.reason)
                return
            case .pause(nil):
                rollout.state = .paused
                rollout.pausedAt = now
                rollout.reason = "\(position): waiting for resume or promote"
                record("rollout.step", detail: rollout.reason)
                return
            case .analysis(let interval, _, let runs):
                rollout.analysisPasses = 0
                rollout.nextEvaluationAt = now + interval
                rollout.reason = "\(position): analysis, needs \(runs) passing run\(runs == 1 ? "" : "s")"
                record("rollout.step", detail: rollout.reason)
                return
            }
        }
        guard rollout.state == .progressing, rollout.stepIndex >= steps.count else { return }
        let canary = plan.candidate ?? rollout.stable
        actions.append(.promote(deployment: canary, reason: "all \(steps.count) steps done"))
        finish(.promoted, "rollout.promote", actor: "rollout", reason: "all \(steps.count) steps passed; \(canary) is stable at 100 %")
    }

    mutating func resume(actor: String) {
        if let pausedAt = rollout.pausedAt { rollout.heldFor += now - pausedAt }
        rollout.pausedAt = nil
        rollout.state = .progressing
        rollout.inconclusiveStreak = 0
        rollout.reason = "resumed by \(actor)"
        record("rollout.resume", actor: actor, detail: rollout.reason)
        if plan.strategy == .canary, rollout.stepIndex < plan.steps.count, case .pause(nil) = plan.steps[rollout.stepIndex] {
            rollout.stepIndex += 1
            advance()
        }
        if let due = rollout.nextEvaluationAt, due < now { rollout.nextEvaluationAt = now }
    }

    mutating func promote(actor: String, deployment: String?) throws(RolloutError) {
        switch plan.strategy {
        case .canary:
            let canary = plan.candidate ?? rollout.stable
            if let deployment, deployment != canary {
                throw .notAllowed("this rollout's canary is '\(canary)', not '\(deployment)'")
            }
            actions.append(.promote(deployment: canary, reason: "promoted by \(actor)"))
            finish(.promoted, "rollout.promote", actor: actor, reason: "promoted by \(actor) at \(rollout.progressLabel)")
        case .ab:
            let variants = plan.split?.deploymentNames ?? []
            let others = variants.filter { $0 != rollout.stable }
            guard let winner = deployment ?? (others.count == 1 ? others[0] : nil) else {
                throw .notAllowed("name the variant to promote: one of \(variants.joined(separator: ", "))")
            }
            guard variants.contains(winner) else { throw .notAllowed("'\(winner)' is not a variant of this experiment (\(variants.joined(separator: ", ")))") }
            actions.append(.promote(deployment: winner, reason: "experiment winner chosen by \(actor)"))
            finish(.promoted, "rollout.promote", actor: actor, reason: "\(winner) promoted by \(actor)")
        case .bluegreen:
            guard rollout.switchedAt != nil else {
                throw .notAllowed("the target has not passed its health check yet; it cannot take traffic")
            }
            finish(.promoted, "rollout.promote", actor: actor, reason: "\(actor) released \(rollout.stable) early")
        case .shadow:
            throw .notAllowed("a shadow deployment never serves traffic; start a canary or blue-green rollout with it")
        }
    }

    // MARK: Gates

    mutating func evaluated(_ verdicts: [GateVerdict]) {
        let overall = GateVerdict.overall(verdicts)
        rollout.evaluations.append(Rollout.Evaluation(at: now, step: rollout.stepIndex, overall: overall, verdicts: verdicts))
        if rollout.evaluations.count > Rollout.keptEvaluations {
            rollout.evaluations.removeFirst(rollout.evaluations.count - Rollout.keptEvaluations)
        }
        switch overall {
        case .fail:
            let failed = verdicts.filter { $0.result == .fail }
            let reason = failed.map { verdict in
                "gate \(verdict.metric.rawValue) failed" + (verdict.candidateName.map { " on \($0)" } ?? "") + ": \(verdict.reason)"
            }.joined(separator: "; ")
            stop(.rolledBack, "rollout.gate", actor: "rollout", reason: reason)
        case .noData:
            apply(plan.onNoData, what: "no data", verdicts: verdicts)
        case .inconclusive:
            rollout.inconclusiveStreak += 1
            apply(plan.onInconclusive, what: "inconclusive", verdicts: verdicts)
        case .pass:
            rollout.inconclusiveStreak = 0
            guard rollout.state == .progressing, plan.strategy == .canary, rollout.stepIndex < plan.steps.count,
                case .analysis(_, _, let runs) = plan.steps[rollout.stepIndex]
            else { return }
            rollout.analysisPasses += 1
            if rollout.analysisPasses >= runs {
                record("rollout.analysis", detail: "step \(rollout.stepIndex + 1)/\(plan.steps.count): \(runs) passing run\(runs == 1 ? "" : "s")")
                rollout.stepIndex += 1
                advance()
            }
        }
    }

    mutating func apply(_ policy: RolloutPlan.Policy, what: String, verdicts: [GateVerdict]) {
        guard rollout.state == .progressing else { return }
        let detail = verdicts.filter { $0.result != .pass }.map { "\($0.metric.rawValue): \($0.reason)" }.joined(separator: "; ")
        switch policy {
        case .wait:
            return
        case .pause:
            pause(actor: "rollout", reason: "gates \(what) (\(detail)); paused for a human")
        case .abort:
            if what == "no data" || rollout.inconclusiveStreak >= plan.maxInconclusive {
                let count = what == "no data" ? "" : " \(rollout.inconclusiveStreak) times in a row"
                stop(.aborted, "rollout.gate", actor: "rollout", reason: "gates \(what)\(count) (\(detail)); aborted")
            }
        }
    }

    mutating func healthChecked(passed: Bool, detail: String) {
        guard plan.strategy == .bluegreen, rollout.switchedAt == nil else { return }
        let target = plan.candidate ?? rollout.stable
        if passed {
            actions.append(.promote(deployment: target, reason: "health check passed: \(detail)"))
            rollout.switchedAt = now
            rollout.reason = "\(target) passed its health check (\(detail)) and took all traffic; \(rollout.stable) kept for \(DurationText.format(plan.keepPrevious))"
            record("rollout.switch", detail: rollout.reason)
        } else {
            finish(.aborted, "rollout.healthcheck", actor: "rollout", reason: "\(target) failed its health check: \(detail); it received no traffic")
        }
    }
}
