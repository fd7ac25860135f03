/// Checks of a rollout read back from the state store.
///
/// A stored rollout was valid when it was saved, but stores outlive builds:
/// bounds tighten, rows are edited by hand, a disk flips a bit. Whatever is
/// read back is checked here before the engine drives it, and a rollout that
/// fails is quarantined — aborted with the reason, the route's weights left
/// as they are — instead of being resumed into arithmetic it cannot survive.
extension Rollout {
    /// The first reason this stored rollout cannot be driven, or `nil`.
    public var storedStateProblem: String? {
        if let problem = plan.boundsProblem { return problem }
        guard !deployments.isEmpty else { return "it names no deployments" }
        guard Set(deployments).count == deployments.count else { return "it names a deployment twice" }
        guard deployments.contains(stable) else { return "its stable deployment '\(stable)' is not one of its deployments" }
        if let candidate, !deployments.contains(candidate) {
            return "its candidate '\(candidate)' is not one of its deployments"
        }
        if let split = plan.split, !split.deploymentNames.allSatisfy(deployments.contains) {
            return "its split names deployments it does not have"
        }
        guard (0...plan.steps.count).contains(stepIndex) else {
            return "its step \(stepIndex) is outside the plan's \(plan.steps.count) steps"
        }
        guard analysisPasses >= 0, inconclusiveStreak >= 0 else { return "its run counters are negative" }
        guard heldFor >= .zero else { return "its paused time is negative" }
        return nil
    }

    /// This rollout stopped because its stored state is invalid.
    public func quarantined(because problem: String, at now: Moment) -> Rollout {
        var rollout = self
        rollout.state = .aborted
        rollout.reason = "quarantined when it was read back: \(problem); the route's weights were left as they were"
        rollout.updatedAt = now
        rollout.nextEvaluationAt = nil
        rollout.transitions.append(
            Transition(at: now, action: "rollout.quarantined", state: .aborted, step: max(0, stepIndex), actor: "switchyard", detail: rollout.reason)
        )
        return rollout
    }
}

extension RolloutPlan {
    /// The first field outside the bounds the plan parser enforces, or `nil`.
    public var boundsProblem: String? {
        func check(_ name: String, _ duration: Duration?) -> String? {
            guard let duration else { return nil }
            guard duration >= DurationText.minimum, duration <= DurationText.maximum else {
                return "'\(name)' of \(DurationText.format(duration)) is outside 1ms…366d"
            }
            return nil
        }
        var problems = [
            check("interval", interval), check("window", window), check("deadline", deadline), check("keepPrevious", keepPrevious),
            check("duration", duration), check("healthCheck.timeout", healthCheck.timeout),
        ]
        for (index, step) in steps.enumerated() {
            switch step {
            case .setWeight, .pause(nil): break
            case .pause(let duration?): problems.append(check("steps[\(index)].pause", duration))
            case .analysis(let interval, let window, let runs):
                problems.append(check("steps[\(index)].analysis.interval", interval))
                problems.append(check("steps[\(index)].analysis.window", window))
                if !(1...1000).contains(runs) { problems.append("steps[\(index)].analysis.runs \(runs) is outside 1…1000") }
            }
        }
        for (index, gate) in gates.enumerated() {
            if let max = gate.max, !max.isFinite { problems.append("gates[\(index)].max is not a finite number") }
            if let min = gate.min, !min.isFinite { problems.append("gates[\(index)].min is not a finite number") }
            if !(gate.confidence > 0 && gate.confidence < 1) { problems.append("gates[\(index)].confidence \(gate.confidence) is outside (0, 1)") }
            if gate.minSamples < 0 { problems.append("gates[\(index)].minSamples is negative") }
        }
        if !(1...1000).contains(maxInconclusive) { problems.append("maxInconclusive \(maxInconclusive) is outside 1…1000") }
        if !(1...100).contains(healthCheck.requests) { problems.append("healthCheck.requests \(healthCheck.requests) is outside 1…100") }
        if let tokens = budget.tokens, tokens < 1 { problems.append("budget.tokens \(tokens) is not positive") }
        if let cost = budget.cost, !(cost.isFinite && cost > 0) { problems.append("budget.cost is not a positive amount") }
        return problems.compactMap { $0 }.first
    }
}
