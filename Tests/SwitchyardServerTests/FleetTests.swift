import SwitchyardClient
import SwitchyardCore
import SwitchyardTesting
import Testing

/// Replicas booted exactly as `serve` boots them, on one PostgreSQL.
@Suite("A fleet of whole servers", .enabled(if: StoreKind.postgresURL != nil, "needs SWITCHYARD_TEST_POSTGRES (the test script starts a server)"))
struct FleetTests {
    @Test func aChangeMadeOnOneReplicaReachesTheOthersThroughTheStore() async throws {
        let url = try await StoreKind.freshDatabase()
        try await TestFleet.run(replicas: 2, routes: [TestRoutes.chatProd()], postgresURL: url) { fleet in
            let change = try await fleet[0].client().setWeights(route: "chat-prod", ["stable": 60, "canary": 40], ifMatch: 1).body
            #expect(change.revision == 2)
            let other = fleet[1].client()
            var seen = 0
            for _ in 0..<100 {
                seen = try await other.route("chat-prod").body.route.revision
                if seen == 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(seen == 2, "the second replica serves revision 2 within 5 s")
            // And it refuses a write against the revision it has been told is stale.
            await #expect(throws: ManagementClientError.self) {
                _ = try await other.setWeights(route: "chat-prod", ["stable": 50, "canary": 50], ifMatch: 1)
            }
        }
    }
}
