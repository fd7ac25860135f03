// Micro-benchmarks, run on purpose (never as tests):
//   swift run -c release switchyard-bench
// Prints nanoseconds per operation; docs/performance.md records the figures.
import Foundation
import SwitchyardConsole
import SwitchyardCore
import SwitchyardTUI

func measure(_ name: String, iterations: Int, _ body: () -> Void) {
    for _ in 0..<max(1, iterations / 10) { body() }  // warm up
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for _ in 0..<iterations { body() }
    }
    let perOperation = Double(elapsed.components.seconds) * 1e9 / Double(iterations) + Double(elapsed.components.attoseconds) / 1e9 / Double(iterations)
    let text = perOperation >= 1e6 ? String(format: "%10.3f ms", perOperation / 1e6) : perOperation >= 1e3 ? String(format: "%10.3f µs", perOperation / 1e3) : String(format: "%10.1f ns", perOperation)
    print("\(name.padding(toLength: 58, withPad: " ", startingAt: 0)) \(text)   (\(iterations) runs)")
}

func route(_ index: Int, deployments: Int = 4) -> Route {
    let share = 100.0 / Double(deployments)
    return Route(
        name: "route-\(index)",
        stable: "d0",
        deployments: (0..<deployments).map { d in
            Deployment(
                name: "d\(d)", weight: try! Weight(percent: d == 0 ? 100 - share * Double(deployments - 1) : share),
                model: "gpt-4o", version: "2024-11-\(10 + d)", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1")
            )
        }
    )
}

// Routing: the sticky hash and the bucket lookup of one request.
let plan = try! RoutePlan(route: route(0))
var sink = 0
var userIndex = 0
let users = (0..<1024).map { "user-\($0)-\(UUID().uuidString)" }
measure("routing decision (hash + bucket owner)", iterations: 2_000_000) {
    userIndex = (userIndex + 1) & 1023
    sink &+= plan.primaryDeployment(forBucket: StickyHash.bucket(route: "route-0", key: users[userIndex]))
}

// Recording one request's figures into its deployment's window.
var window = MetricsWindow()
var moment = Moment(seconds: 1_800_000_000)
measure("record one request in the metrics window", iterations: 2_000_000) {
    moment = moment + .microseconds(50)
    window.record(.init(outcome: .success, latency: .milliseconds(120), timeToFirstToken: .milliseconds(40), promptTokens: 12, completionTokens: 40, cost: 0.0004), at: moment)
}

// A circuit breaker's permit and record.
var breaker = CircuitBreaker()
measure("circuit breaker acquire + record", iterations: 2_000_000) {
    moment = moment + .microseconds(50)
    _ = breaker.acquire(now: moment)
    breaker.record(.success, now: moment)
}

// A window aggregate as the gates and the console read it: 5 minutes of buckets.
measure("aggregate 5 minutes of one deployment's window", iterations: 20_000) {
    sink &+= window.aggregate(window: .seconds(300), now: moment).requests
}

// One gate evaluation as the rollout engine runs it every interval: all seven
// gates over 5 minutes of two busy deployments (intervals included).
var canaryWindow = MetricsWindow()
var gateMoment = Moment(seconds: 1_800_000_000)
for index in 0..<30_000 {
    gateMoment = gateMoment + .milliseconds(10)
    canaryWindow.record(
        .init(outcome: index % 40 == 0 ? .upstream5xx : .success, latency: .milliseconds(Int64(300 + index % 500)),
              timeToFirstToken: .milliseconds(Int64(100 + index % 200)), promptTokens: 40, completionTokens: 120, cost: 0.0013),
        at: gateMoment
    )
}
let gates = RolloutPlan.Gate.Metric.allCases.map { RolloutPlan.Gate(metric: $0, max: nil, min: nil, minSamples: 100, confidence: 0.95, countAsFailure: false) }
let scores = ScoreSummary((0..<500).map { Double($0 % 10) / 10 })
measure("gate evaluation: 7 gates, two 5-minute windows, anytime intervals", iterations: 5_000) {
    let baseline = GateSide(figures: window.aggregate(window: .seconds(300), now: moment), scores: scores)
    let candidate = GateSide(figures: canaryWindow.aggregate(window: .seconds(300), now: gateMoment), scores: scores)
    sink &+= GateEvaluator.evaluate(gates, baseline: baseline, candidate: candidate).count
}

// One console frame for 50 routes × 4 deployments: state → buffer → diff.
var state = ConsoleState(apiURL: "http://127.0.0.1:8081", readOnly: false, now: Moment(seconds: 1_800_000_000), width: 200, height: 60)
_ = state.update(.routesLoaded((0..<50).map { route($0) }, at: Moment(seconds: 1_800_000_000)))
var previous = state.view()
var tick = 0
measure("console frame, 50 routes × 4 deployments, 200×60 (view + diff)", iterations: 2_000) {
    tick += 1
    _ = state.update(.tick(Moment(seconds: 1_800_000_000 + Int64(tick))))
    _ = state.update(.key(tick % 2 == 0 ? .down : .right))
    let frame = state.view()
    sink &+= frame.changes(since: previous).count
    previous = frame
}
// 1,000 routes: scrolling through the table, and typing a
// filter, at 120×40 — each iteration one key and one whole frame.
var large = ConsoleState(apiURL: "http://127.0.0.1:8081", readOnly: false, now: Moment(seconds: 1_800_000_000), width: 120, height: 40)
_ = large.update(.routesLoaded((0..<1_000).map { route($0) }, at: Moment(seconds: 1_800_000_000)))
var largePrevious = large.view()
var step = 0
measure("console frame, 1,000 routes, 120×40, scrolling (key + view + diff)", iterations: 1_000) {
    step += 1
    _ = large.update(.key(step % 200 < 100 ? .down : .up))
    let frame = large.view()
    sink &+= frame.changes(since: largePrevious).count
    largePrevious = frame
}
let filterKeys: [Key] = [.character("/"), .character("r"), .character("o"), .character("u"), .character("t"), .character("e"), .character("-"), .character("9"), .backspace, .backspace, .escape]
measure("console frame, 1,000 routes, 120×40, typing a filter (key + view + diff)", iterations: 1_100) {
    step += 1
    _ = large.update(.key(filterKeys[step % filterKeys.count]))
    let frame = large.view()
    sink &+= frame.changes(since: largePrevious).count
    largePrevious = frame
}
print("(checksum \(sink))")
