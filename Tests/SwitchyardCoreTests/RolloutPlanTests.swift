import Testing
@testable import SwitchyardCore

@Suite("Rollout plans are validated against their route")
struct RolloutPlanTests {
    let route = Fixtures.route(weights: [("stable", 90), ("canary", 10)])

    func plan(_ text: String) throws -> RolloutPlan {
        try RolloutPlan(json: try JSONText.decode(Array(text.utf8)), route: route)
    }

    func problem(_ text: String) -> String? {
        do {
            _ = try plan(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theProductsExamplePlanIsAccepted() throws {
        let canary = try plan(
            """
            {"strategy": "canary", "canary": "canary",
             "steps": [{"setWeight": 10}, {"pause": "10m"}, {"setWeight": 25},
                       {"analysis": {"interval": "1m", "window": "5m", "runs": 5}}, {"setWeight": 50}, {"pause": {}}, {"setWeight": 100}],
             "gates": [{"metric": "errorRateDelta", "max": 1.0, "minSamples": 200, "confidence": 0.95},
                       {"metric": "p95LatencyRatio", "max": 1.10, "minSamples": 200}, {"metric": "rate429", "countAsFailure": false}],
             "interval": "30s", "window": "5m", "onInconclusive": "wait", "onNoData": "pause", "deadline": "2h"}
            """
        )
        #expect(canary.steps.count == 7)
        #expect(canary.steps[5] == .pause(nil))
        #expect(canary.steps[3] == .analysis(interval: .seconds(60), window: .seconds(300), runs: 5))
        #expect(canary.gates[2].countAsFailure == false)
        #expect(canary.deadline == .seconds(7200))
        let ab = try plan(#"{"strategy": "ab", "variants": ["stable", "canary"], "duration": "1h"}"#)
        #expect(ab.split?["canary"]?.percent == 50)
    }

    @Test func problemsAreNamed() {
        #expect(problem(#"{"strategy": "yolo"}"#)?.contains("'strategy' must be one of canary") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "ghost", "steps": [{"setWeight": 10}]}"#)?.contains("no deployment 'ghost'") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "stable", "steps": [{"setWeight": 10}]}"#)?.contains("stable deployment") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "canary", "steps": []}"#)?.contains("needs 'steps'") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 120}]}"#)?.contains("outside 0…100") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "canary", "steps": [{"jump": 1}]}"#)?.contains("unknown step 'jump'") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "canary", "steps": [{"pause": "soon"}]}"#)?.contains("'pause' must be a duration") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 5}], "gates": [{"metric": "vibes"}]}"#)?.contains("gates[0].metric") == true)
        #expect(problem(#"{"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 5}], "gates": [{"metric": "rate429", "confidence": 2}]}"#)?.contains("confidence") == true)
        #expect(problem(#"{"strategy": "ab", "variants": ["stable"]}"#)?.contains("two or more") == true)
        #expect(problem(#"{"strategy": "ab", "variants": ["stable", "canary"], "split": {"stable": 60, "canary": 30}}"#)?.contains("sum to 90") == true)
        #expect(problem(#"{"strategy": "shadow", "shadow": "canary", "sample": 5, "extra": 1}"#)?.contains("unknown field 'extra'") == true)
        #expect(problem("[]") != nil)
    }
}
