import SwitchyardClient
import SwitchyardCore
import Testing

@Suite("Management API paths are built in one place")
struct ManagementPathTests {
    @Test func routeNamesAndQueryValuesAreEncodedOnce() {
        #expect(ManagementPath.weights("chat-prod") == "/routes/chat-prod/weights")
        #expect(ManagementPath.route("a b/c?d") == "/routes/a%20b%2Fc%3Fd", "a name cannot reach another path")
        #expect(ManagementPath.metrics("chat.prod_2", window: "5m") == "/routes/chat.prod_2/metrics?window=5m")
        #expect(ManagementPath.audit(route: "x&y=1", limit: 50) == "/audit?limit=50&route=x%26y%3D1")
        #expect(ManagementPath.audit(limit: 100) == "/audit?limit=100")
        #expect(ManagementPath.evaluations("r", limit: 20) == "/routes/r/rollout/evaluations?limit=20")
        #expect(ManagementPath.operation("r", .pause) == "/routes/r/pause")
        #expect(ManagementPath.apply(allowEmpty: true) == "/routes?allowEmpty=true")
    }
}
