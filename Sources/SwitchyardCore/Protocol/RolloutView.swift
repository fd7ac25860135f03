/// A rollout as the management API shows it and its clients read it: times
/// in milliseconds since the epoch, durations as text, verdicts in full.
public struct RolloutView: Codable, Hashable, Sendable {
    public struct Evaluation: Codable, Hashable, Sendable {
        public var atMilliseconds: Int64
        /// 1-based.
        public var step: Int
        public var overall: GateVerdict.Result
        public var verdicts: [GateVerdict]

        public init(_ evaluation: Rollout.Evaluation) {
            atMilliseconds = evaluation.at.nanoseconds / 1_000_000
            step = evaluation.step + 1
            overall = evaluation.overall
            verdicts = evaluation.verdicts
        }
    }

    public struct Transition: Codable, Hashable, Sendable {
        public var atMilliseconds: Int64
        public var action: String
        public var state: Rollout.State
        public var step: Int
        public var actor: String
        public var detail: String
    }

    public var id: String
    public var route: String
    public var strategy: String
    public var state: Rollout.State
    public var reason: String
    public var actor: String
    public var stable: String
    public var candidate: String?
    /// "step 3/7", "health check", "switched", "experiment", "mirroring".
    public var progress: String
    /// 1-based current step and the step count (canary).
    public var step: Int
    public var steps: Int
    public var canaryPercent: Double?
    public var startedAtMilliseconds: Int64
    public var updatedAtMilliseconds: Int64
    public var nextStepAtMilliseconds: Int64?
    public var nextEvaluationAtMilliseconds: Int64?
    public var endsAtMilliseconds: Int64?
    public var interval: String
    public var window: String
    public var onInconclusive: String
    public var onNoData: String
    public var gates: [String]
    /// Newest last; in lists and events only the latest.
    public var evaluations: [Evaluation]
    /// Newest last; in lists and events only the latest few.
    public var transitions: [Transition]

    public var lastEvaluation: Evaluation? { evaluations.last }

    /// - Parameter full: every kept evaluation and transition, or only the latest.
    public init(_ rollout: Rollout, full: Bool) {
        func ms(_ moment: Moment?) -> Int64? { moment.map { $0.nanoseconds / 1_000_000 } }
        id = rollout.id
        route = rollout.route
        strategy = rollout.plan.strategy.rawValue
        state = rollout.state
        reason = rollout.reason
        actor = rollout.actor
        stable = rollout.stable
        candidate = rollout.candidate
        progress = rollout.progressLabel
        step = min(rollout.stepIndex + 1, max(1, rollout.plan.steps.count))
        steps = rollout.plan.steps.count
        canaryPercent = rollout.canaryWeight?.percent
        startedAtMilliseconds = rollout.startedAt.nanoseconds / 1_000_000
        updatedAtMilliseconds = rollout.updatedAt.nanoseconds / 1_000_000
        nextStepAtMilliseconds = ms(rollout.nextStepAt)
        nextEvaluationAtMilliseconds = rollout.state.isActive ? ms(rollout.nextEvaluationAt) : nil
        endsAtMilliseconds = ms(rollout.endsAt)
        interval = DurationText.format(rollout.plan.interval)
        window = DurationText.format(rollout.plan.window)
        onInconclusive = rollout.plan.onInconclusive.rawValue
        onNoData = rollout.plan.onNoData.rawValue
        gates = rollout.plan.gates.map(\.metric.rawValue)
        let evaluations = full ? rollout.evaluations : Array(rollout.evaluations.suffix(1))
        self.evaluations = evaluations.map(Evaluation.init)
        let transitions = full ? rollout.transitions : Array(rollout.transitions.suffix(3))
        self.transitions = transitions.map {
            Transition(atMilliseconds: $0.at.nanoseconds / 1_000_000, action: $0.action, state: $0.state, step: $0.step + 1, actor: $0.actor, detail: $0.detail)
        }
    }
}

/// `GET /routes/{route}/rollouts`.
public struct RolloutListView: Codable, Sendable {
    public var rollouts: [RolloutView]

    public init(rollouts: [RolloutView]) {
        self.rollouts = rollouts
    }
}

/// `GET /routes/{route}/rollout/evaluations`: every stored evaluation, newest first.
public struct EvaluationListView: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        /// Pages with `before`.
        public var id: Int64
        public var atMilliseconds: Int64
        public var step: Int
        public var overall: GateVerdict.Result
        public var verdicts: [GateVerdict]

        public init(id: Int64, _ evaluation: RolloutView.Evaluation) {
            self.id = id
            atMilliseconds = evaluation.atMilliseconds
            step = evaluation.step
            overall = evaluation.overall
            verdicts = evaluation.verdicts
        }
    }

    public var rolloutId: String
    public var evaluations: [Entry]

    public init(rolloutId: String, evaluations: [Entry]) {
        self.rolloutId = rolloutId
        self.evaluations = evaluations
    }
}
