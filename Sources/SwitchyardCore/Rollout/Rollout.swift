/// A rollout in progress or finished: everything needed to carry on exactly
/// where it was after a restart, and to explain afterwards why it moved or stopped.
public struct Rollout: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable, CaseIterable {
        case progressing, paused, promoted, rolledBack, aborted, completed

        /// Still driving the route.
        public var isActive: Bool { self == .progressing || self == .paused }
    }

    /// One round of gate evaluation.
    public struct Evaluation: Hashable, Sendable, Codable {
        public var at: Moment
        /// The step it ran in (0-based).
        public var step: Int
        public var overall: GateVerdict.Result
        public var verdicts: [GateVerdict]
    }

    /// One change of state or step, in plain words.
    public struct Transition: Hashable, Sendable, Codable {
        public var at: Moment
        public var action: String
        public var state: State
        public var step: Int
        public var actor: String
        public var detail: String
    }

    public var id: String
    public var route: String
    public var plan: RolloutPlan
    /// Who started it.
    public var actor: String
    /// The route's stable deployment when it started.
    public var stable: String
    /// The route's deployments, in order, so weight tables can be built.
    public var deployments: [String]
    public var state: State
    /// Why the rollout is in its state, in one sentence.
    public var reason: String
    public var startedAt: Moment
    public var updatedAt: Moment
    /// The current step (canary), 0-based; equal to the step count when done.
    public var stepIndex: Int = 0
    public var stepStartedAt: Moment
    /// Time spent paused during the current step, which timed steps do not count.
    public var heldFor: Duration = .zero
    public var pausedAt: Moment?
    public var nextEvaluationAt: Moment?
    /// Passing runs in the current analysis step.
    public var analysisPasses: Int = 0
    public var inconclusiveStreak: Int = 0
    /// canary: the weight it was last set to.
    public var canaryWeight: Weight?
    /// bluegreen: when the target passed its check and took all traffic.
    public var switchedAt: Moment?
    public var deadlineHandled = false
    /// What the gates have seen since the rollout began (`nil` until the first evaluation).
    public var gateSample: GateSample?
    /// Newest last; the oldest are forgotten beyond `Rollout.keptEvaluations`.
    public var evaluations: [Evaluation] = []
    public var transitions: [Transition] = []

    public static let keptEvaluations = 200
    public static let keptTransitions = 200

    /// The deployment the rollout brings in (canary, blue-green target, shadow).
    public var candidate: String? { plan.candidate }

    /// The verdicts of the latest evaluation.
    public var lastVerdicts: [GateVerdict] { evaluations.last?.verdicts ?? [] }

    /// When the current timed step ends, if it is a timed pause and the rollout is progressing.
    public var nextStepAt: Moment? {
        guard state == .progressing, plan.strategy == .canary, stepIndex < plan.steps.count else { return nil }
        switch plan.steps[stepIndex] {
        case .pause(let duration?): return stepStartedAt + heldFor + duration
        default: return nil
        }
    }

    /// When blue-green's previous slot is released, A/B or shadow ends, or the deadline passes — whichever the strategy has.
    public var endsAt: Moment? {
        switch plan.strategy {
        case .bluegreen: switchedAt.map { $0 + plan.keepPrevious }
        case .ab, .shadow: plan.duration.map { startedAt + $0 }
        case .canary: plan.deadline.map { startedAt + $0 }
        }
    }

    /// "step 3/7" for a canary; the phase for the others.
    public var progressLabel: String {
        switch plan.strategy {
        case .canary: "step \(min(stepIndex + 1, plan.steps.count))/\(plan.steps.count)"
        case .bluegreen: switchedAt == nil ? "health check" : "switched"
        case .ab: "experiment"
        case .shadow: "mirroring"
        }
    }
}

/// Something that happens to a rollout.
public enum RolloutEvent: Hashable, Sendable {
    /// Time passed; due evaluations and timed steps are handled.
    case tick
    /// The engine measured the gates it was asked to.
    case evaluated([GateVerdict])
    /// Blue-green's synthetic requests to the target finished.
    case healthChecked(passed: Bool, detail: String)
    case pause(actor: String)
    case resume(actor: String)
    case promote(actor: String, deployment: String?)
    /// An operator's rollback of the route: traffic back to stable, rollout stopped.
    case rollback(actor: String)
    case abort(actor: String, reason: String)
    /// Someone changed the route's weights by hand while the rollout ran.
    case overridden(actor: String, detail: String)
    /// Carrying out an action failed (e.g. the store refused a write).
    case actionFailed(String)
}

/// What the engine must do for the rollout; the machine itself does no I/O.
public enum RolloutAction: Hashable, Sendable {
    /// New weights for the route, through the same path as an operator's change.
    case setWeights(WeightTable)
    /// All traffic to the stable deployment, exactly as a manual rollback.
    case rollback(reason: String)
    /// `deployment` becomes stable at 100 %.
    case promote(deployment: String, reason: String)
    /// Measure the gates over everything since the rollout began and answer with `.evaluated`.
    case evaluate
    /// Send real requests to `deployment`'s upstream and answer with `.healthChecked`.
    case healthCheck(deployment: String, RolloutPlan.HealthCheck)
    /// Mirrors `sample` of the route's traffic to `deployment`; with `pairs`
    /// (an A/B experiment's two variants) each sampled request goes to the
    /// variant that did not answer it instead.
    case startShadow(deployment: String, sample: Weight, budget: RolloutPlan.Budget, capture: Int = 0, pairs: [String] = [])
    case stopShadow
    /// Audit and announce a transition.
    case record(Rollout.Transition)
}

/// An operator asked for something the rollout cannot do now.
public enum RolloutError: Error, Hashable, Sendable, CustomStringConvertible {
    case notAllowed(String)

    public var description: String {
        switch self {
        case .notAllowed(let reason): reason
        }
    }
}
