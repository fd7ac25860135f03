// The gates' error rates, measured: replays thousands of simulated rollouts
// through the real RolloutMachine and gate evaluators, the gates looking
// every interval, and prints the tables docs/rollouts.md records.
//   swift run -c release --scratch-path .build-release switchyard-gatesim [--runs N] [--power-runs N]
// Deterministic: run i of every scenario uses seed i, for both evaluators.
import Foundation
import SwitchyardCore
import SwitchyardGateLab

var healthyRuns = 1000
var powerRuns = 200
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--runs": healthyRuns = arguments.popFirst().flatMap(Int.init) ?? healthyRuns
    case "--power-runs": powerRuns = arguments.popFirst().flatMap(Int.init) ?? powerRuns
    default:
        print("usage: switchyard-gatesim [--runs N] [--power-runs N]")
        exit(2)
    }
}

typealias Behaviour = GateSimulation.Behaviour
func errorGate(max: Double, minSamples: Int = 100, confidence: Double = 0.95) -> String {
    #"[{"metric":"errorRateDelta","max":\#(max),"minSamples":\#(minSamples),"confidence":\#(confidence)}]"#
}
func ratioGate(_ metric: String, max: Double) -> String {
    #"[{"metric":"\#(metric)","max":\#(max),"minSamples":100,"confidence":0.95}]"#
}

let healthy: [GateSimulation.Scenario] = [
    .init(name: "2 % errors both, margin 1 pp, 20 % canary", stable: Behaviour(errorRate: 0.02), canary: Behaviour(errorRate: 0.02), gates: errorGate(max: 1), canaryPercent: 20),
    .init(name: "2 % errors both, margin 2 pp, 20 % canary", stable: Behaviour(errorRate: 0.02), canary: Behaviour(errorRate: 0.02), gates: errorGate(max: 2), canaryPercent: 20),
    .init(name: "5 % errors both, margin 0, 50 % canary", stable: Behaviour(errorRate: 0.05), canary: Behaviour(errorRate: 0.05), gates: errorGate(max: 0)),
    .init(name: "5 % errors both, margin 1 pp, 50 % canary", stable: Behaviour(errorRate: 0.05), canary: Behaviour(errorRate: 0.05), gates: errorGate(max: 1)),
    .init(name: "1 % errors both, margin 0, 10 % canary", stable: Behaviour(errorRate: 0.01), canary: Behaviour(errorRate: 0.01), gates: errorGate(max: 0), canaryPercent: 10),
    .init(name: "0.5 % errors both, margin 0, 50 % canary", stable: Behaviour(errorRate: 0.005), canary: Behaviour(errorRate: 0.005), gates: errorGate(max: 0)),
    .init(name: "20 % errors both, margin 0, 50 % canary", stable: Behaviour(errorRate: 0.2), canary: Behaviour(errorRate: 0.2), gates: errorGate(max: 0)),
    .init(name: "5 % errors both, margin 0, confidence 0.99", stable: Behaviour(errorRate: 0.05), canary: Behaviour(errorRate: 0.05), gates: errorGate(max: 0, confidence: 0.99)),
    .init(name: "same latency, p95 ratio ≤ 1.2", stable: Behaviour(errorRate: 0.01), canary: Behaviour(errorRate: 0.01), gates: ratioGate("p95LatencyRatio", max: 1.2)),
    .init(name: "same latency, p95 ratio ≤ 1.0", stable: Behaviour(errorRate: 0.01), canary: Behaviour(errorRate: 0.01), gates: ratioGate("p95LatencyRatio", max: 1.0)),
    .init(name: "same TTFT, TTFT p95 ratio ≤ 1.0", stable: Behaviour(errorRate: 0.01), canary: Behaviour(errorRate: 0.01), gates: ratioGate("ttftP95Ratio", max: 1.0)),
]

let bad: [GateSimulation.Scenario] = [
    .init(name: "2× errors (2 % → 4 %), limit 1 pp", stable: Behaviour(errorRate: 0.02), canary: Behaviour(errorRate: 0.04), gates: errorGate(max: 1), canaryPercent: 20),
    .init(name: "5× errors (2 % → 10 %), limit 1 pp", stable: Behaviour(errorRate: 0.02), canary: Behaviour(errorRate: 0.10), gates: errorGate(max: 1), canaryPercent: 20),
    .init(
        name: "p95 latency +30 %, limit 1.1", stable: Behaviour(errorRate: 0.01), canary: Behaviour(errorRate: 0.01, latencyMedianMs: 1040),
        gates: ratioGate("p95LatencyRatio", max: 1.1), canaryPercent: 20
    ),
    .init(
        name: "TTFT +50 %, limit 1.2", stable: Behaviour(errorRate: 0.01), canary: Behaviour(errorRate: 0.01, ttftMedianMs: 375),
        gates: ratioGate("ttftP95Ratio", max: 1.2), canaryPercent: 20
    ),
]

func outcomes(_ scenario: GateSimulation.Scenario, _ evaluator: GateSimulation.Evaluator, runs: Int) -> [GateSimulation.Outcome] {
    (0..<runs).map { seed in
        do {
            return try GateSimulation.run(scenario, evaluator: evaluator, seed: UInt64(seed) &* 7919 &+ 1)
        } catch {
            fatalError("scenario '\(scenario.name)' is not a valid plan: \(error)")
        }
    }
}

func percent(_ count: Int, of total: Int) -> String {
    String(format: "%.1f %%", Double(count) / Double(max(1, total)) * 100)
}

func quantile(_ values: [Int], _ q: Double) -> String {
    guard !values.isEmpty else { return "—" }
    let sorted = values.sorted()
    return String(sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))])
}

let started = Date()
print("## Healthy canaries (A/A): false rollbacks, \(healthyRuns) rollouts each, gates looking every second, 20 requests/s")
print()
print("| scenario | anytime: rolled back in 30 min | fixed-horizon: in 2 min | fixed-horizon: in 30 min | anytime: passed in 30 min | median canary requests to pass |")
print("|---|---|---|---|---|---|")
for scenario in healthy {
    let anytime = outcomes(scenario, .anytime, runs: healthyRuns)
    let fixed = outcomes(scenario, .fixedHorizon, runs: healthyRuns)
    let anytimeCount = anytime.filter { $0.rolledBackAfter != nil }.count
    let fixedEarly = fixed.filter { ($0.rolledBackAfter ?? .max) <= 120 }.count
    let fixedCount = fixed.filter { $0.rolledBackAfter != nil }.count
    let passed = anytime.compactMap(\.canaryRequestsAtFirstPass)
    print(
        "| \(scenario.name) | \(percent(anytimeCount, of: healthyRuns)) | \(percent(fixedEarly, of: healthyRuns)) | \(percent(fixedCount, of: healthyRuns)) "
            + "| \(percent(passed.count, of: healthyRuns)) | \(quantile(passed, 0.5)) |"
    )
}
print()
print("## Bad canaries: time to roll back, \(powerRuns) rollouts each, 20 % canary of 20 requests/s, gates looking every second")
print()
print("| scenario | anytime: caught | median s (p90) | canary requests, median | fixed-horizon: caught | median s (p90) | canary requests, median |")
print("|---|---|---|---|---|---|---|")
for scenario in bad {
    var cells = ["\(scenario.name)"]
    for evaluator in GateSimulation.Evaluator.allCases {
        let results = outcomes(scenario, evaluator, runs: powerRuns)
        let caught = results.filter { $0.rolledBackAfter != nil }
        cells.append(percent(caught.count, of: powerRuns))
        cells.append("\(quantile(caught.compactMap(\.rolledBackAfter), 0.5)) (\(quantile(caught.compactMap(\.rolledBackAfter), 0.9)))")
        cells.append(quantile(caught.map(\.canaryRequests), 0.5))
    }
    print("| " + cells.joined(separator: " | ") + " |")
}
print()
print("simulated in \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
