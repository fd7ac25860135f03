import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardClient
import SwitchyardCore
import SwitchyardSecrets
import SwitchyardServer
import SwitchyardSimulator
import SwitchyardStore
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

extension FleetTests {
    /// A conversation whose turns land on different replicas still reaches
    /// the one deployment that holds it: the replicas share response ownership
    /// through the store.
    @Test func aResponseChainAcrossReplicasStaysOnItsDeployment() async throws {
        let url = try await StoreKind.freshDatabase()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var ports: [Int] = []
            for version in ["2024-11-20", "2025-05-13"] {
                let simulator = Simulator(configuration: SimulatorConfiguration(version: version, latencyMean: .milliseconds(1)))
                ports.append(try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: TestServer.quiet, onServerRunning: $0) })
            }
            let route = Route(name: "chat-prod", stable: "a", deployments: [
                Deployment(name: "a", weight: TestRoutes.percent(50), model: "gpt-4o", version: "2024-11-20", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(ports[0])/v1")),
                Deployment(name: "b", weight: TestRoutes.percent(50), model: "gpt-4o", version: "2025-05-13", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(ports[1])/v1")),
            ])
            try await TestFleet.run(replicas: 2, routes: [route], postgresURL: url) { fleet in
                var previous: String?
                var owners: Set<String> = []
                for turn in 0..<10 {
                    let replica = fleet[turn % 2]
                    let previousField = previous.map { #","previous_response_id":"\#($0)""# } ?? ""
                    var request = HTTPClientRequest(url: replica.gatewayURL + "/v1/responses")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"model":"chat-prod","input":"turn \#(turn)"\#(previousField)}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    #expect(response.status.code == 200, "turn \(turn) on replica \(turn % 2): \(String(buffer: body))")
                    previous = (try? JSONText.decode(Array(buffer: body)))?["id"]?.stringValue
                    owners.insert(response.headers.first(name: "x-switchyard-deployment") ?? "?")
                }
                #expect(owners.count == 1, "every turn, on either replica, on one deployment: \(owners)")
            }
            group.cancelAll()
        }
    }

    @Test func sharedClientLimitsAreReservedInBlocksNotARoundTripPerRequest() async throws {
        let url = try await StoreKind.freshDatabase()
        // Within one minute: the counters are per key and minute.
        let second = Int(Date().timeIntervalSince1970) % 60
        if second > 50 { try await Task.sleep(for: .seconds(61 - second)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let simulator = Simulator(configuration: SimulatorConfiguration(latencyMean: .milliseconds(1)))
            let port = try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: TestServer.quiet, onServerRunning: $0) }
            let route = Route(name: "chat-prod", stable: "a", deployments: [
                Deployment(name: "a", weight: TestRoutes.percent(100), model: "gpt-4o", version: "2024-11-20", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(port)/v1"))
            ])
            let key = ClientKey(name: "metered", digest: SecretDigest.sha256("metered-key"), limits: .init(requestsPerMinute: 6_400))
            try await TestFleet.run(replicas: 2, routes: [route], postgresURL: url, adjust: { $0.access = AccessConfig(clientKeys: [key]) }) { fleet in
                for index in 0..<60 {
                    var request = HTTPClientRequest(url: fleet[index % 2].gatewayURL + "/v1/chat/completions")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.headers.add(name: "authorization", value: "Bearer metered-key")
                    request.body = .bytes(ByteBuffer(string: #"{"model":"chat-prod","messages":[{"role":"user","content":"hi"}]}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    #expect(response.status.code == 200)
                }
                // Each replica reserved one block of 100 (a 64th of the limit) for its 30 requests:
                // what is left for a third party is the limit less two blocks.
                let store = try await PostgresStateStore(url: url, logger: StoreKind.quiet)
                defer { store.shutdown() }
                let minute = QuotaLease.minute(of: Moment(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9)))
                let rest = await store.reserve(key: "metered", QuotaLease.Reservation(minute: minute, requests: 6_400, requestLimit: 6_400, tokens: 0))
                #expect(rest?.requests == 6_200)
            }
            group.cancelAll()
        }
    }
}
