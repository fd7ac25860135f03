import Foundation
import Logging
import SwitchyardCore
import SwitchyardControl
import SwitchyardStore
import Testing
import SwitchyardClock
import SwitchyardTesting

/// What a fleet of replicas sharing one PostgreSQL must get right: TLS as
/// the URL says, no password in any message, roll-ups from several replicas
/// that add up, feedback credited whichever replica receives it, and a
/// catalog change that reaches every replica.
@Suite("Fleet correctness on PostgreSQL", .enabled(if: StoreKind.postgresURL != nil, "needs SWITCHYARD_TEST_POSTGRES (the test script starts a server)"))
struct FleetCorrectnessTests {
    static let caFile = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES_CA"].flatMap { $0.isEmpty ? nil : $0 }

    /// `url` with a password and a query added.
    static func variant(_ url: String, password: String? = nil, query: String) throws -> String {
        var components = try #require(URLComponents(string: url))
        if let password { components.password = password }
        components.percentEncodedQuery = query
        return try #require(components.string)
    }

    @Test(.enabled(if: Self.caFile != nil, "needs SWITCHYARD_TEST_POSTGRES_CA (the test script's server has TLS on)"))
    func tlsFollowsTheURLsSSLMode() async throws {
        let url = try await StoreKind.freshDatabase()
        let ca = try #require(Self.caFile)
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full&sslrootcert=\(ca)"] {
            let query = mode.hasPrefix("verify-ca") ? "sslmode=verify-ca&sslrootcert=\(ca)" : "sslmode=\(mode)"
            let store = try await PostgresStateStore(url: try Self.variant(url, query: query), logger: StoreKind.quiet)
            #expect(try await store.load().plans.isEmpty, "sslmode \(mode) connects")
            store.shutdown()
        }
        // A server whose certificate the given CA did not sign is refused under verify-full.
        let strangerCA = URL(fileURLWithPath: ca).deletingLastPathComponent().appendingPathComponent("stranger-ca.crt")
        let refused = await #expect(throws: (any Error).self) {
            let store = try await PostgresStateStore(
                url: try Self.variant(url, password: "hunter2-secret", query: "sslmode=verify-full&sslrootcert=\(strangerCA.path)"), logger: StoreKind.quiet
            )
            store.shutdown()
        }
        #expect(!"\(refused.map { "\($0)" } ?? "")".contains("hunter2-secret"), "no password in the message")
    }

    @Test func aDSNNeverShowsItsPasswordAndRefusesUnknownModes() throws {
        #expect(PostgresDSN.redacted("postgres://app:hunter2@db:5432/sw") == "postgres://app:***@db:5432/sw")
        #expect(PostgresDSN.redacted("postgres://app@db/sw") == "postgres://app@db/sw")
        let dsn = try PostgresDSN("postgres://app:hunter2@db:6543/sw?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(dsn.sslMode == .verifyFull && dsn.sslRootCertificate == "/etc/ca.pem" && dsn.port == 6543)
        #expect(!dsn.location.contains("hunter2"))
        for bad in ["postgres://app:hunter2@db/sw?sslmode=sometimes", "postgres://app:hunter2@db:99999/sw", "postgres://app:hunter2@db/sw?ssl=1", "mysql://app:hunter2@db/sw"] {
            let error = try #require(throws: StoreError.self) { try PostgresDSN(bad) }
            #expect(!"\(error)".contains("hunter2"), "\(error)")
        }
    }

    @Test func aURLWithoutAPasswordTakesPGPASSWORDAndOneInTheURLWins() throws {
        let environment = ["PGPASSWORD": "from-env"]
        #expect(try PostgresDSN("postgres://app@db/sw", environment: environment).password == "from-env")
        #expect(try PostgresDSN("postgres://app:in%40url@db/sw", environment: environment).password == "in@url")
        #expect(try PostgresDSN("postgres://app@db/sw", environment: ["PGPASSWORD": ""]).password == nil)
        #expect(try PostgresDSN("postgres://app@db/sw", environment: [:]).password == nil)
    }

    /// Two stores on one fresh database, as two replicas have.
    static func withTwoReplicas(_ body: (PostgresStateStore, PostgresStateStore) async throws -> Void) async throws {
        let url = try await StoreKind.freshDatabase()
        let first = try await PostgresStateStore(url: url, logger: StoreKind.quiet)
        let second = try await PostgresStateStore(url: url, logger: StoreKind.quiet)
        defer {
            first.shutdown()
            second.shutdown()
        }
        try await body(first, second)
    }

    @Test func rollupsWrittenByTwoReplicasAtOnceAddUp() async throws {
        try await Self.withTwoReplicas { first, second in
            let minute: Int64 = 29_000_000
            func rollup(requests: Int) -> MetricRollup {
                var figures = MetricsWindow.Bucket(start: minute)
                figures.requests = requests
                figures.promptTokens = requests * 10
                return MetricRollup(route: "chat-prod", deployment: "stable", minute: minute, figures: figures)
            }
            // Many rounds of both replicas writing the same, new minute at the same moment.
            for round in 0..<20 {
                let rolled = MetricRollup(route: "chat-prod", deployment: "r\(round)", minute: minute, figures: rollup(requests: 0).figures)
                async let a: Void = first.writeRollups([rollup(requests: 3), rolled], pruneBefore: 0)
                async let b: Void = second.writeRollups([rollup(requests: 4)], pruneBefore: 0)
                _ = try await (a, b)
            }
            let stored = try await first.rollups(route: "chat-prod", sinceMinute: minute).filter { $0.deployment == "stable" }
            #expect(stored.first?.figures.requests == 20 * 7, "every replica's requests counted once")
            #expect(stored.first?.figures.promptTokens == 20 * 70)
        }
    }

    @Test func feedbackReceivedByAnotherReplicaIsCreditedToTheDeploymentThatServed() async throws {
        try await Self.withTwoReplicas { receiving, serving in
            _ = try await serving.commit(TestRoutes.created(ControlFixtures.route()))
            let now = SystemClock().now().nanoseconds / 1_000_000
            // Received by a replica that never saw the request: stored without a deployment.
            _ = try await receiving.recordFeedback(Feedback(atMilliseconds: now, requestId: "chatcmpl-seen-elsewhere", score: 0.9, source: "judge", route: nil, deployment: nil, actor: "judge"))
            _ = try await receiving.recordFeedback(Feedback(atMilliseconds: now, requestId: "chatcmpl-unknown", score: 0.1, source: "judge", route: nil, deployment: nil, actor: "judge"))
            let control = ControlPlane(store: serving, catalog: LifecycleCatalog(source: "test"), logger: StoreKind.quiet, install: { _ in })
            try await control.start(config: nil)
            let credited = await control.attributeFleetFeedback { id in
                id == "chatcmpl-seen-elsewhere" ? (route: "chat-prod", deployment: "canary") : nil
            }
            #expect(credited == 1)
            let scores = try await receiving.feedback(route: "chat-prod", sinceMilliseconds: now - 1000)
            #expect(scores.map(\.deployment) == ["canary"])
            #expect(try await receiving.unattributedFeedback(sinceMilliseconds: now - 1000, limit: 10).map(\.requestId) == ["chatcmpl-unknown"])
        }
    }

    @Test func aCatalogStoredThroughOneReplicaIsTakenByAnother() async throws {
        try await Self.withTwoReplicas { storeA, storeB in
            let a = ControlPlane(store: storeA, catalog: LifecycleCatalog(source: "shipped"), logger: StoreKind.quiet, install: { _ in })
            let b = ControlPlane(store: storeB, catalog: LifecycleCatalog(source: "shipped"), logger: StoreKind.quiet, install: { _ in })
            try await a.start(config: nil)
            try await b.start(config: nil)
            var feed = storeB.changes().makeAsyncIterator()
            #expect(await feed.next() == "*")
            let yaml = """
                entries:
                  - provider: azure
                    model: gpt-4o
                    version: "2024-11-20"
                    source: https://example.com/notice
                    dates:
                      standard: { retirement: "2300-01-01" }
                """
            _ = try await a.setCatalog(yaml: yaml, actor: "alice")
            #expect(await feed.next() == "@lifecycle_catalog", "the change is announced")
            await b.refreshFromStore()
            #expect(await b.lifecycleCatalog.entries.count == 1, "the other replica took it")
        }
    }
}
