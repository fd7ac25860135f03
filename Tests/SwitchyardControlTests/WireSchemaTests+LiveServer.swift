import Foundation
import SwitchyardClient
import SwitchyardControl
import SwitchyardCore
import SwitchyardTesting
import Testing

extension WireSchemaTests {
    static func check(bytes: [UInt8], against schema: String) throws {
        let value = try JSONText.decode(bytes)
        let found = problems(value, ["$ref": .string("#/components/schemas/\(schema)")], at: schema, schemas: try schemas())
        #expect(found.isEmpty, "\(schema): \(found.joined(separator: "\n"))")
    }

    /// gpt-4o 2024-11-20 retires in 40 days and has a replacement, so the
    /// lifecycle and migration endpoints have something to say.
    static func catalog(now: Moment) -> LifecycleCatalog {
        let retirement = CalendarDay(now + .seconds(40 * 86_400))
        return LifecycleCatalog(
            entries: [
                LifecycleCatalog.Entry(
                    provider: .openai, model: "gpt-4o", version: "2024-11-20",
                    dates: [.standard: .init(retirement: retirement)], replacement: ("gpt-4o", "2025-08-06"), source: "test"
                )
            ],
            source: "test"
        )
    }

    /// Every reply of a whole server (the assembly `serve` runs), taken as the
    /// bytes on the wire — not re-encoded — against its schema.
    @Test func everyReplyOfARunningServerMatchesItsSchema() async throws {
        let catalog = Self.catalog(now: Moment(seconds: Int64(Date().timeIntervalSince1970)))
        try await TestServer.run(routes: [ControlFixtures.route()], catalog: catalog) { server in
            let client = server.client()
            try Self.check(bytes: try await client.whoami().bytes, against: "Identity")
            try Self.check(bytes: try await client.routes().bytes, against: "RouteList")
            try Self.check(bytes: try await client.metrics(route: "chat-prod", window: "5m").bytes, against: "RouteMetrics")
            try Self.check(bytes: try await client.lifecycle().bytes, against: "Lifecycle")
            try Self.check(bytes: try await client.migration(route: "chat-prod").bytes, against: "Migration")
            try Self.check(bytes: try await client.setWeights(route: "chat-prod", ["stable": 80, "canary": 20]).bytes, against: "ChangeReply")
            let plan: JSONValue = ["strategy": "canary", "canary": "canary", "steps": [["setWeight": 10], ["pause": "10m"]], "gates": [["metric": "errorRateDelta", "max": 2]]]
            try Self.check(bytes: try await client.startRollout(route: "chat-prod", plan: plan).bytes, against: "Rollout")
            try Self.check(bytes: try await client.rollout(route: "chat-prod").bytes, against: "Rollout")
            try Self.check(bytes: try await client.samples(route: "chat-prod").bytes, against: "ShadowSamples")
            try Self.check(bytes: try await client.operate(route: "chat-prod", .pause).bytes, against: "Rollout")
            try Self.check(bytes: try await client.evaluations(route: "chat-prod", limit: 10).bytes, against: "EvaluationList")
            try Self.check(bytes: try await client.report(route: "chat-prod").bytes, against: "ExperimentReport")
            try Self.check(bytes: try await client.operate(route: "chat-prod", .abort, reason: "schema test").bytes, against: "Rollout")
            try Self.check(bytes: try await client.rollouts(route: "chat-prod").bytes, against: "RolloutList")
            try Self.check(bytes: try await client.audit(limit: 20).bytes, against: "AuditList")
            try Self.check(bytes: try await client.apply(routesFile: "routes: []\n", allowEmpty: true).bytes, against: "ApplyOutcome")
        }
    }

    /// What the clients send is what the document asks for.
    @Test func requestBodiesMatchTheirSchemas() throws {
        try Self.check(WeightsRequest(weights: ["stable": 90, "canary": 10]), against: "WeightsRequest")
        try Self.check(PromoteRequest(deployment: "canary"), against: "PromoteRequest")
        try Self.check(RolloutOperationRequest(reason: "bad canary"), against: "RolloutOperationRequest")
        try Self.check(IdentityView(name: "alice", role: "operator"), against: "Identity")
    }
}
