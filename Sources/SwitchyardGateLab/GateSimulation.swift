import SwitchyardCore

/// Replays simulated rollouts through the real `RolloutMachine` and gate
/// evaluators, one request at a time, with the gates looking every
/// `interval`: the false-rollback rate of healthy canaries and the time to
/// catch bad ones, measured rather than assumed.
public enum GateSimulation {
    /// How one deployment behaves.
    public struct Behaviour: Sendable, Hashable {
        public var errorRate: Double
        public var latencyMedianMs: Double
        public var ttftMedianMs: Double
        /// The log-scale spread of latency and TTFT.
        public var sigma: Double

        public init(errorRate: Double, latencyMedianMs: Double = 800, ttftMedianMs: Double = 250, sigma: Double = 0.5) {
            self.errorRate = errorRate
            self.latencyMedianMs = latencyMedianMs
            self.ttftMedianMs = ttftMedianMs
            self.sigma = sigma
        }
    }

    /// Which gates decide.
    public enum Evaluator: String, Sendable, CaseIterable {
        /// Today's anytime-valid gates over everything since the rollout began.
        case anytime
        /// The old fixed-horizon tests, repeated on a sliding window.
        case fixedHorizon
    }

    public struct Scenario: Sendable {
        public var name: String
        public var stable: Behaviour
        public var canary: Behaviour
        /// The gates as a plan writes them (JSON array).
        public var gates: String
        /// Percent of traffic on the canary.
        public var canaryPercent: Int
        public var requestsPerSecond: Int
        public var intervalSeconds: Int
        public var horizonSeconds: Int
        /// The old gates' sliding window.
        public var windowSeconds: Int

        public init(
            name: String, stable: Behaviour, canary: Behaviour, gates: String, canaryPercent: Int = 50, requestsPerSecond: Int = 20,
            intervalSeconds: Int = 1, horizonSeconds: Int = 1800, windowSeconds: Int = 300
        ) {
            self.name = name
            self.stable = stable
            self.canary = canary
            self.gates = gates
            self.canaryPercent = canaryPercent
            self.requestsPerSecond = requestsPerSecond
            self.intervalSeconds = intervalSeconds
            self.horizonSeconds = horizonSeconds
            self.windowSeconds = windowSeconds
        }
    }

    /// How one simulated rollout ended.
    public struct Outcome: Sendable {
        /// Seconds from the start to the rollback, if the gates rolled it back.
        public var rolledBackAfter: Int?
        /// Requests each side had served when the rollout ended.
        public var stableRequests: Int
        public var canaryRequests: Int
        /// Seconds until the gates first said "pass", and the canary's requests then.
        public var firstPassAfter: Int?
        public var canaryRequestsAtFirstPass: Int?
    }

    /// Runs one rollout of `scenario` with `seed`; the same seed gives the same request stream to either evaluator.
    public static func run(_ scenario: Scenario, evaluator: Evaluator, seed: UInt64) throws -> Outcome {
        let route = Route(
            name: "sim", stable: "stable",
            deployments: [
                Deployment(name: "stable", weight: .full, model: "model", version: "1", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1")),
                Deployment(name: "canary", weight: .zero, model: "model", version: "2", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1")),
            ]
        )
        let planText = """
            {"strategy":"canary","canary":"canary","steps":[{"setWeight":\(scenario.canaryPercent)},{"pause":"\(scenario.horizonSeconds * 2)s"},{"setWeight":100}],
             "gates":\(scenario.gates),"interval":"\(scenario.intervalSeconds)s","window":"\(scenario.windowSeconds)s","onInconclusive":"wait"}
            """
        let plan = try RolloutPlan(json: try JSONText.decode(Array(planText.utf8)), route: route)
        let start = Moment(seconds: 1_800_000_000)  // a bucket boundary
        var random = RandomSource(seed: seed)
        var (rollout, _) = RolloutMachine.start(id: "sim", route: route, plan: plan, actor: "sim", now: start)
        var sides = [Side(), Side()]
        var sample = GateSample(startedAt: start)
        let canaryShare = Double(scenario.canaryPercent) / 100
        var firstPass: (second: Int, requests: Int)?
        func outcome(rolledBackAfter: Int?) -> Outcome {
            Outcome(
                rolledBackAfter: rolledBackAfter, stableRequests: sides[0].requests, canaryRequests: sides[1].requests,
                firstPassAfter: firstPass?.second, canaryRequestsAtFirstPass: firstPass?.requests
            )
        }
        for second in 1...scenario.horizonSeconds {
            let now = start + .seconds(Int64(second))
            let during = start + .seconds(Int64(second - 1)) + .milliseconds(500)
            for _ in 0..<scenario.requestsPerSecond {
                let index = random.bernoulli(canaryShare) ? 1 : 0
                let behaviour = index == 1 ? scenario.canary : scenario.stable
                let failed = random.bernoulli(behaviour.errorRate)
                let latency = random.logNormal(median: behaviour.latencyMedianMs, sigma: behaviour.sigma)
                let ttft = random.logNormal(median: behaviour.ttftMedianMs, sigma: behaviour.sigma)
                sides[index].window.record(
                    .init(
                        outcome: failed ? .upstream5xx : .success, latency: failed ? nil : .microseconds(Int64(latency * 1000)),
                        timeToFirstToken: failed ? nil : .microseconds(Int64(ttft * 1000))
                    ),
                    at: during
                )
                sides[index].requests += 1
            }
            var (next, actions) = try RolloutMachine.handle(rollout, .tick, now: now)
            rollout = next
            while let action = actions.first {
                actions.removeFirst()
                switch action {
                case .evaluate:
                    let verdicts: [GateVerdict]
                    switch evaluator {
                    case .anytime:
                        // The control plane's own path: settled minutes folded into the rollout's sample, the rest read.
                        let windows = ["stable": sides[0].window, "canary": sides[1].window]
                        let read = { (deployment: String, from: Int64, to: Int64) in
                            windows[deployment]?.aggregate(fromSecond: from, toSecond: to) ?? MetricsWindow.Bucket(start: from)
                        }
                        sample.fold(["canary", "stable"], now: now, read: read)
                        verdicts = GateEvaluator.evaluate(
                            plan.gates, baseline: GateSide(figures: sample.figures(of: "stable", now: now, read: read)),
                            candidate: GateSide(figures: sample.figures(of: "canary", now: now, read: read))
                        )
                    case .fixedHorizon:
                        let window = Duration.seconds(Int64(scenario.windowSeconds))
                        let stable = sides[0].window.aggregate(window: window, now: now)
                        let canary = sides[1].window.aggregate(window: window, now: now)
                        verdicts = zip(plan.gates, FixedHorizonGates.evaluate(plan.gates, baseline: stable, candidate: canary)).map {
                            GateVerdict(metric: $0.metric, result: $1, reason: "fixed-horizon test", confidence: $0.confidence)
                        }
                    }
                    if firstPass == nil, GateVerdict.overall(verdicts) == .pass { firstPass = (second, sides[1].requests) }
                    (next, actions) = try RolloutMachine.handle(rollout, .evaluated(verdicts), now: now)
                    rollout = next
                case .rollback:
                    return outcome(rolledBackAfter: second)
                default:
                    break
                }
            }
        }
        return outcome(rolledBackAfter: nil)
    }

    /// One deployment's real metrics window and its request count.
    struct Side {
        var window = MetricsWindow()
        var requests = 0
    }
}
