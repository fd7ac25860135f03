/// A rollout request, validated against the route it is for. The engine that
/// runs plans is separate; this is the contract of `POST /routes/{route}/rollouts`.
public struct RolloutPlan: Hashable, Sendable, Codable {
    public enum Strategy: String, Hashable, Sendable, Codable, CaseIterable {
        case canary, bluegreen, ab, shadow
    }

    public enum Step: Hashable, Sendable, Codable {
        case setWeight(Weight)
        /// `nil`: wait for `resume` or `promote`.
        case pause(Duration?)
        case analysis(interval: Duration, window: Duration, runs: Int)
    }

    public enum Policy: String, Hashable, Sendable, Codable, CaseIterable {
        case wait, pause, abort
    }

    /// What happens when the overall deadline passes.
    public enum DeadlineAction: String, Hashable, Sendable, Codable, CaseIterable {
        case abort, pause, promote
    }

    /// Blue-green's check of the idle slot before any traffic: real requests sent straight to its upstream.
    public struct HealthCheck: Hashable, Sendable, Codable {
        /// How many synthetic requests; all must succeed.
        public var requests: Int
        /// The prompt they send.
        public var prompt: String
        /// The longest any one of them may take.
        public var timeout: Duration

        public init(requests: Int = 3, prompt: String = "Reply with the single word: ok", timeout: Duration = .seconds(30)) {
            self.requests = requests
            self.prompt = prompt
            self.timeout = timeout
        }
    }

    /// Shadow's spending limit; a spent budget drops shadow work and counts it.
    public struct Budget: Hashable, Sendable, Codable {
        public var tokens: Int?
        public var cost: Double?

        public init(tokens: Int? = nil, cost: Double? = nil) {
            self.tokens = tokens
            self.cost = cost
        }
    }

    public struct Gate: Hashable, Sendable, Codable {
        public enum Metric: String, Hashable, Sendable, Codable, CaseIterable {
            case errorRateDelta, p95LatencyRatio, ttftP95Ratio, costPerRequestRatio, rate429, contentFilterRate, qualityScore
            /// The candidate's circuit breaker: open fails at once. Checked with every evaluation of a plan that has gates.
            case circuitBreaker
        }

        public var metric: Metric
        public var max: Double?
        public var min: Double?
        public var minSamples: Int
        public var confidence: Double
        public var countAsFailure: Bool

        public init(metric: Metric, max: Double? = nil, min: Double? = nil, minSamples: Int = 100, confidence: Double = 0.95, countAsFailure: Bool = true) {
            self.metric = metric
            self.max = max
            self.min = min
            self.minSamples = minSamples
            self.confidence = confidence
            self.countAsFailure = countAsFailure
        }
    }

    public var strategy: Strategy
    /// canary: the deployment being rolled out; bluegreen: the target; shadow: the shadow.
    public var candidate: String?
    public var steps: [Step]
    public var gates: [Gate]
    public var interval: Duration
    public var window: Duration
    public var deadline: Duration?
    public var onInconclusive: Policy
    public var onNoData: Policy
    /// With `onInconclusive: abort`: how many inconclusive evaluations in a row abort.
    public var maxInconclusive: Int
    public var onDeadline: DeadlineAction
    /// bluegreen: the synthetic check of the target.
    public var healthCheck: HealthCheck
    /// bluegreen: how long the previous slot stays configured for an instant switch back.
    public var keepPrevious: Duration
    /// shadow: the spending limit of mirrored traffic.
    public var budget: Budget
    /// ab: the variants and their split.
    public var split: WeightTable?
    public var duration: Duration?
    /// shadow: percent of traffic mirrored; ab with `capture`: percent of
    /// requests also sent to the other variant to make a pair.
    public var sample: Weight?
    /// shadow, ab: keep up to this many sampled request/reply pairs (the
    /// newest) for the compare screen. Off unless asked for: it holds user
    /// content. On an A/B plan each paired request is also answered by the
    /// other variant (off the request path, within `budget`).
    public var capture: Int?

    /// Validates a plan for `route`, naming the first problem found.
    public init(json: JSONValue, route: Route) throws(RolloutPlanError) {
        guard case .object(let body) = json else { throw .invalid("a rollout plan must be a JSON object") }
        let reader = PlanReader(body: body, route: route)
        try reader.onlyKnownKeys([
            "strategy", "canary", "target", "healthCheck", "shadow", "steps", "gates", "interval", "window", "deadline",
            "onInconclusive", "onNoData", "variants", "split", "duration", "sample", "budget", "maxInconclusive", "onDeadline",
            "keepPrevious", "capture",
        ])
        guard let strategyText = body["strategy"]?.stringValue, let strategy = Strategy(rawValue: strategyText) else {
            throw .invalid("'strategy' must be one of \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.strategy = strategy
        interval = try reader.duration("interval") ?? .seconds(30)
        window = try reader.duration("window") ?? .seconds(300)
        deadline = try reader.duration("deadline")
        onInconclusive = try reader.policy("onInconclusive") ?? .wait
        onNoData = try reader.policy("onNoData") ?? .pause
        gates = try reader.gates()
        maxInconclusive = try reader.wholeNumber("maxInconclusive", range: 1...1000) ?? 3
        guard let onDeadline = RolloutPlan.DeadlineAction(rawValue: body["onDeadline"]?.stringValue ?? "abort") else {
            throw .invalid("'onDeadline' must be one of abort, pause, promote")
        }
        self.onDeadline = onDeadline
        healthCheck = HealthCheck()
        keepPrevious = .seconds(600)
        budget = Budget()
        steps = []
        candidate = nil
        split = nil
        duration = nil
        sample = nil
        capture = nil
        if body["capture"] != nil, strategy != .shadow, strategy != .ab {
            throw .invalid("'capture' keeps pairs of one request's two replies, so it is for shadow and ab plans")
        }
        switch strategy {
        case .canary:
            candidate = try reader.deployment("canary", notStable: true)
            steps = try reader.steps()
            guard !steps.isEmpty else { throw .invalid("a canary plan needs 'steps', e.g. [{\"setWeight\": 10}, {\"pause\": \"10m\"}, {\"setWeight\": 100}]") }
        case .bluegreen:
            candidate = try reader.deployment("target", notStable: true)
            healthCheck = try reader.healthCheck()
            keepPrevious = try reader.duration("keepPrevious") ?? .seconds(600)
        case .shadow:
            candidate = try reader.deployment("shadow", notStable: true)
            sample = try reader.percent("sample") ?? Weight(unchecked: 10_000)
            budget = try reader.budget()
            duration = try reader.duration("duration")
            capture = try reader.wholeNumber("capture", range: 0...1000).flatMap { $0 == 0 ? nil : $0 }
        case .ab:
            split = try reader.split()
            duration = try reader.duration("duration")
            capture = try reader.wholeNumber("capture", range: 0...1000).flatMap { $0 == 0 ? nil : $0 }
            if capture != nil {
                guard (split?.entries.filter { $0.weight > .zero }.count ?? 0) == 2 else {
                    throw .invalid("'capture' on an ab plan pairs each sampled request with the other variant's reply, so it needs exactly two variants with traffic")
                }
                sample = try reader.percent("sample") ?? Weight(unchecked: 1_000)
                budget = try reader.budget()
            } else if body["sample"] != nil || body["budget"] != nil {
                throw .invalid("'sample' and 'budget' on an ab plan go with 'capture' (they bound the pairing calls)")
            }
        }
    }
}

/// Why a rollout plan was refused.
public enum RolloutPlanError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}

/// Typed reads of a plan's fields with messages that name the field.
struct PlanReader {
    let body: [String: JSONValue]
    let route: Route

    func onlyKnownKeys(_ known: Set<String>) throws(RolloutPlanError) {
        for key in body.keys.sorted() where !known.contains(key) {
            throw .invalid("unknown field '\(key)'")
        }
    }

    func duration(_ key: String, in object: [String: JSONValue]? = nil) throws(RolloutPlanError) -> Duration? {
        guard let value = (object ?? body)[key] else { return nil }
        guard let text = value.stringValue else {
            throw .invalid("'\(key)' must be a duration such as \"30s\", \"5m\" or \"2h\"")
        }
        do {
            return try DurationText.checked(text)
        } catch where error.isMalformed {
            throw .invalid("'\(key)' must be a duration such as \"30s\", \"5m\" or \"2h\", not '\(DurationText.Invalid.shortened(text))'")
        } catch {
            throw .invalid("'\(key)': \(error)")
        }
    }

    func wholeNumber(_ key: String, in object: [String: JSONValue]? = nil, range: ClosedRange<Int>) throws(RolloutPlanError) -> Int? {
        guard let value = (object ?? body)[key] else { return nil }
        guard case .number(let number) = value, number == number.rounded(), number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw .invalid("'\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(number)
    }

    func healthCheck() throws(RolloutPlanError) -> RolloutPlan.HealthCheck {
        guard let value = body["healthCheck"] else { return RolloutPlan.HealthCheck() }
        guard case .object(let check) = value else { throw .invalid("'healthCheck' must be an object such as {\"requests\": 3, \"timeout\": \"30s\"}") }
        for key in check.keys.sorted() where !["requests", "prompt", "timeout"].contains(key) {
            throw .invalid("healthCheck: unknown field '\(key)'; use requests, prompt, timeout")
        }
        var result = RolloutPlan.HealthCheck()
        result.requests = try wholeNumber("requests", in: check, range: 1...100) ?? result.requests
        if let prompt = check["prompt"] {
            guard let text = prompt.stringValue, !text.isEmpty, text.utf8.count <= 4000 else { throw .invalid("healthCheck.prompt must be a non-empty string") }
            result.prompt = text
        }
        result.timeout = try duration("timeout", in: check) ?? result.timeout
        return result
    }

    func budget() throws(RolloutPlanError) -> RolloutPlan.Budget {
        guard let value = body["budget"] else { return RolloutPlan.Budget() }
        guard case .object(let budget) = value else { throw .invalid("'budget' must be an object such as {\"tokens\": 100000} or {\"cost\": 5.0}") }
        for key in budget.keys.sorted() where !["tokens", "cost"].contains(key) {
            throw .invalid("budget: unknown field '\(key)'; use tokens or cost")
        }
        var result = RolloutPlan.Budget()
        result.tokens = try wholeNumber("tokens", in: budget, range: 1...1_000_000_000_000)
        if let cost = budget["cost"] {
            guard case .number(let number) = cost, number.isFinite, number > 0 else { throw .invalid("budget.cost must be a positive amount") }
            result.cost = number
        }
        return result
    }

    func policy(_ key: String) throws(RolloutPlanError) -> RolloutPlan.Policy? {
        guard let value = body[key] else { return nil }
        guard let text = value.stringValue, let policy = RolloutPlan.Policy(rawValue: text) else {
            throw .invalid("'\(key)' must be one of wait, pause, abort")
        }
        return policy
    }

    func percent(_ key: String, in object: [String: JSONValue]? = nil) throws(RolloutPlanError) -> Weight? {
        guard let value = (object ?? body)[key] else { return nil }
        guard case .number(let number) = value else { throw .invalid("'\(key)' must be a percentage from 0 to 100") }
        do {
            return try Weight(percent: number)
        } catch {
            throw .invalid("'\(key)': \(error)")
        }
    }

    func deployment(_ key: String, notStable: Bool) throws(RolloutPlanError) -> String {
        guard let name = body[key]?.stringValue else {
            throw .invalid("'\(key)' must name a deployment of route '\(route.name)' (\(route.deployments.map(\.name).joined(separator: ", ")))")
        }
        guard route.deployment(named: name) != nil else {
            throw .invalid("route '\(route.name)' has no deployment '\(name)'; it has \(route.deployments.map(\.name).joined(separator: ", "))")
        }
        if notStable, name == route.stable {
            throw .invalid("'\(name)' is the route's stable deployment; '\(key)' must be another one")
        }
        return name
    }

    func steps() throws(RolloutPlanError) -> [RolloutPlan.Step] {
        guard let value = body["steps"] else { return [] }
        guard case .array(let items) = value else { throw .invalid("'steps' must be a list") }
        var steps: [RolloutPlan.Step] = []
        for (index, item) in items.enumerated() {
            guard case .object(let step) = item, step.count == 1, let (kind, argument) = step.first else {
                throw .invalid("steps[\(index)] must be one of {\"setWeight\": N}, {\"pause\": \"10m\" or {}}, {\"analysis\": {…}}")
            }
            switch kind {
            case "setWeight":
                guard let weight = try percent("setWeight", in: step) else { throw .invalid("steps[\(index)].setWeight is missing") }
                steps.append(.setWeight(weight))
            case "pause":
                if case .object(let members) = argument, members.isEmpty {
                    steps.append(.pause(nil))
                } else {
                    steps.append(.pause(try duration("pause", in: step)))
                }
            case "analysis":
                guard case .object(let analysis) = argument else { throw .invalid("steps[\(index)].analysis must be an object") }
                let runs = analysis["runs"]?.doubleValue ?? 1
                guard runs >= 1, runs == runs.rounded(), runs <= 1000 else { throw .invalid("steps[\(index)].analysis.runs must be a whole number from 1 to 1000") }
                steps.append(
                    .analysis(
                        interval: try duration("interval", in: analysis) ?? .seconds(60),
                        window: try duration("window", in: analysis) ?? .seconds(300),
                        runs: Int(runs)
                    )
                )
            default:
                throw .invalid("steps[\(index)]: unknown step '\(kind)'; use setWeight, pause or analysis")
            }
        }
        return steps
    }

    func gates() throws(RolloutPlanError) -> [RolloutPlan.Gate] {
        guard let value = body["gates"] else { return [] }
        guard case .array(let items) = value else { throw .invalid("'gates' must be a list") }
        var gates: [RolloutPlan.Gate] = []
        for (index, item) in items.enumerated() {
            guard case .object(let gate) = item else { throw .invalid("gates[\(index)] must be an object") }
            for key in gate.keys.sorted() where !["metric", "max", "min", "minSamples", "confidence", "countAsFailure"].contains(key) {
                throw .invalid("gates[\(index)]: unknown field '\(key)'")
            }
            guard let text = gate["metric"]?.stringValue, let metric = RolloutPlan.Gate.Metric(rawValue: text) else {
                throw .invalid("gates[\(index)].metric must be one of \(RolloutPlan.Gate.Metric.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            func number(_ key: String) throws(RolloutPlanError) -> Double? {
                guard let value = gate[key] else { return nil }
                guard case .number(let number) = value, number.isFinite else { throw .invalid("gates[\(index)].\(key) must be a number") }
                return number
            }
            let minSamples = try number("minSamples") ?? 100
            guard minSamples >= 1, minSamples == minSamples.rounded(), minSamples <= 10_000_000 else {
                throw .invalid("gates[\(index)].minSamples must be a whole number of at least 1")
            }
            let confidence = try number("confidence") ?? 0.95
            guard confidence > 0, confidence < 1 else { throw .invalid("gates[\(index)].confidence must be between 0 and 1, e.g. 0.95") }
            if let flag = gate["countAsFailure"], flag.boolValue == nil { throw .invalid("gates[\(index)].countAsFailure must be true or false") }
            gates.append(
                RolloutPlan.Gate(
                    metric: metric, max: try number("max"), min: try number("min"), minSamples: Int(minSamples),
                    confidence: confidence, countAsFailure: gate["countAsFailure"]?.boolValue ?? (metric != .rate429)
                )
            )
        }
        return gates
    }

    func split() throws(RolloutPlanError) -> WeightTable {
        guard case .array(let variants)? = body["variants"], variants.count >= 2 else {
            throw .invalid("an A/B plan needs 'variants': two or more deployment names")
        }
        var names: [String] = []
        for variant in variants {
            guard let name = variant.stringValue, route.deployment(named: name) != nil else {
                throw .invalid("'variants' must name deployments of route '\(route.name)' (\(route.deployments.map(\.name).joined(separator: ", ")))")
            }
            names.append(name)
        }
        var entries: [WeightTable.Entry] = []
        if case .object(let split)? = body["split"] {
            for name in names {
                guard let weight = try percent(name, in: split) else { throw .invalid("'split' has no share for variant '\(name)'") }
                entries.append(.init(deployment: name, weight: weight))
            }
        } else {
            let share = 10_000 / names.count
            for (index, name) in names.enumerated() {
                let points = index == 0 ? 10_000 - share * (names.count - 1) : share
                entries.append(.init(deployment: name, weight: Weight(unchecked: points)))
            }
        }
        do {
            return try WeightTable(entries)
        } catch {
            throw .invalid("'split': \(error)")
        }
    }
}
