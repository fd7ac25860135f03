import Foundation
import SwitchyardClient
import SwitchyardCore
import SwitchyardSimulator
import SwitchyardTesting
import Testing

/// The typed client against the server `serve` runs (the same assembly):
/// every endpoint's reply decodes as its wire type, and the event stream
/// arrives as typed values.
@Suite("The typed management client against a whole server")
struct TypedClientTests {
    @Test func everyEndpointAnswersInItsWireType() async throws {
        try await TestServer.run(routes: [TestRoutes.chatProd()]) { server in
            let client = server.client()
            #expect(try await client.whoami().body.role == "admin")
            let list = try await client.routes().body
            #expect(list.routes.map(\.name) == ["chat-prod"])
            let detail = try await client.route("chat-prod").body
            #expect(detail.route.revision == 1 && detail.rollout == nil)
            #expect(try await client.metrics(route: "chat-prod", window: "5m").body.deployments.map(\.name).sorted() == ["canary", "stable"])

            let change = try await client.setWeights(route: "chat-prod", ["stable": 70, "canary": 30], ifMatch: 1).body
            #expect(change.changed && change.revision == 2 && change.route.deployment(named: "canary")?.weight.percent == 30)
            await #expect(throws: ManagementClientError.self, "a stale revision is refused") {
                _ = try await client.setWeights(route: "chat-prod", ["stable": 60, "canary": 40], ifMatch: 1)
            }
            #expect(try await client.rollback(route: "chat-prod").body.revision == 3)
            #expect(try await client.rollback(route: "chat-prod").body.changed == false, "a second rollback changes nothing")

            let plan: JSONValue = ["strategy": "canary", "canary": "canary", "steps": [["setWeight": 10], ["pause": "10m"]]]
            let started = try await client.startRollout(route: "chat-prod", plan: plan).body
            #expect(started.candidate == "canary")
            #expect(try await client.rollout(route: "chat-prod").body.id == started.id)
            #expect(try await client.operate(route: "chat-prod", .pause).body.state == .paused)
            #expect(try await client.operate(route: "chat-prod", .resume).body.state != .paused)
            #expect(try await client.evaluations(route: "chat-prod", limit: 5).body.rolloutId == started.id)
            #expect(try await client.report(route: "chat-prod").body.route == "chat-prod")
            let aborted = try await client.operate(route: "chat-prod", .abort, reason: "testing").body
            #expect(aborted.state == .aborted)
            #expect(try await client.rollouts(route: "chat-prod").body.rollouts.map(\.id) == [started.id])

            let promoted = try await client.setWeights(route: "chat-prod", ["stable": 50, "canary": 50]).body
            #expect(try await client.promote(route: "chat-prod", deployment: "canary").body.route.stable == "canary")
            #expect(promoted.revision > 3)

            let audit = try await client.audit(route: "chat-prod", limit: 50).body.events
            #expect(audit.first?.action == "promote" && audit.last?.action == "create")
            #expect(try await client.lifecycle().body.entries.contains { $0.model == "gpt-4o" })

            let applied = try await client.apply(routesFile: "routes:\n", allowEmpty: true).body
            #expect(applied.deleted == ["chat-prod"])
            await #expect(throws: ManagementClientError.self) { _ = try await client.route("chat-prod") }
        }
    }

    @Test func theEventStreamStartsWithASnapshotAndThenCarriesEachChange() async throws {
        try await TestServer.run(routes: [TestRoutes.chatProd()]) { server in
            let client = server.client()
            var events = client.events().makeAsyncIterator()
            guard case .snapshot(let snapshot) = try await events.next() else {
                Issue.record("the stream does not start with a snapshot")
                return
            }
            #expect(snapshot.routes.map(\.name) == ["chat-prod"])
            _ = try await client.setWeights(route: "chat-prod", ["stable": 80, "canary": 20])
            var sawRoute = false
            var sawAudit = false
            while !(sawRoute && sawAudit), let event = try await events.next() {
                switch event {
                case .route(let route): sawRoute = route.revision == 2
                case .audit(let entry): sawAudit = entry.action == "weights" && entry.toRevision == 2
                default: continue
                }
            }
            #expect(sawRoute && sawAudit)
        }
    }

    @Test func aWrongTokenIsRefusedWithTheServersOwnWords() async throws {
        try await TestServer.run(routes: [TestRoutes.chatProd()]) { server in
            do throws(ManagementClientError) {
                _ = try await server.client(token: "not-a-token").routes()
                Issue.record("a wrong token was accepted")
            } catch {
                guard case .refused(let status, let message) = error else {
                    Issue.record("not a refusal: \(error)")
                    return
                }
                #expect(status == 401 && !message.isEmpty)
            }
        }
    }

    @Test func aSplitBetweenEmbeddingModelsIsAClear422() async throws {
        let route = Route(name: "embed", stable: "small", deployments: [
            Deployment(name: "small", weight: TestRoutes.percent(100), model: "text-embedding-3-small", version: "2024-01-25", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1")),
            Deployment(name: "large", weight: TestRoutes.percent(0), model: "text-embedding-3-large", version: "2024-01-25", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1")),
        ])
        try await TestServer.run(routes: [route]) { server in
            let swapped = try await server.client().setWeights(route: "embed", ["small": 0, "large": 100]).body
            #expect(swapped.changed, "blue-green is fine")
            do throws(ManagementClientError) {
                _ = try await server.client().setWeights(route: "embed", ["small": 90, "large": 10])
                Issue.record("a split between embedding models was accepted")
            } catch {
                guard case .refused(let status, let message) = error else { Issue.record("\(error)"); return }
                #expect(status == 422 && message.contains("cannot be compared or kept in one index"), "\(message)")
            }
        }
    }
}
