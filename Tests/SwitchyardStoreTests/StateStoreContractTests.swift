import Foundation
import SwitchyardCore
import SwitchyardStore
public import Testing
public import SwitchyardTesting

extension StoreKind: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}

/// One suite, both stores: the same semantics whichever holds the state.
@Suite("State store contract (SQLite and PostgreSQL)")
struct StateStoreContractTests {
    static let t0: Int64 = 1_795_300_000_000

    static func plan(_ route: Route) throws -> RoutePlan { try RoutePlan(route: route) }

    static func created(_ route: Route) throws -> StoreCommit { try TestRoutes.created(route, atMilliseconds: t0) }

    @Test(arguments: StoreKind.available)
    func routesRoundTripAndStaleWritesChangeNothing(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            var route = TestRoutes.chatProd()
            route.plans = ["quick": ["strategy": "canary", "canary": "canary", "steps": [["setWeight": 20]]]]
            let stored = try await store.commit(Self.created(route))
            #expect(stored.map(\.id).allSatisfy { $0 > 0 })
            var state = try await store.load()
            #expect(state.plans.map(\.route) == [route])
            #expect(state.configFingerprint == "f1")

            var next = try route.withWeights(WeightTable(percentages: [("stable", 50), ("canary", 50)]))
            next.revision = 2
            var other = TestRoutes.chatProd()
            other.name = "other"
            // One good write and one stale one: the whole commit is refused.
            let mixed = StoreCommit(
                writes: [.init(plan: try Self.plan(other), expectedRevision: nil), .init(plan: try RoutePlan(route: next), expectedRevision: 7)],
                audit: [AuditEvent(atMilliseconds: Self.t0, actor: "a", action: "weights", route: "chat-prod", fromRevision: 7, toRevision: 8, detail: "")]
            )
            await #expect(throws: StoreError.conflict(route: "chat-prod", expected: 7, actual: 1)) { try await store.commit(mixed) }
            state = try await store.load()
            #expect(state.plans.map(\.route.name) == ["chat-prod"], "nothing of a refused commit is written")
            #expect(try await store.auditEvents(route: nil, limit: 10, beforeID: nil).count == 1)

            _ = try await store.commit(StoreCommit(writes: [.init(plan: try RoutePlan(route: next), expectedRevision: 1)], audit: []))
            #expect(try await store.load().plans.first?.route.revision == 2)
            // A route created twice: the second is a conflict, not an overwrite.
            await #expect(throws: StoreError.self) { try await store.commit(Self.created(route)) }

            _ = try await store.commit(StoreCommit(deletions: [("chat-prod", 2)], audit: []))
            state = try await store.load()
            #expect(state.plans.isEmpty)
            #expect(state.deletedRouteRevisions == ["chat-prod": 2])
        }
    }

    @Test(arguments: StoreKind.available)
    func concurrentWritersOfOneRevisionHaveOneWinner(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            _ = try await store.commit(Self.created(TestRoutes.chatProd()))
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        var next = TestRoutes.chatProd(stable: Double(90 - index), canary: Double(10 + index))
                        next.revision = 2
                        let commit = StoreCommit(writes: [.init(plan: try! RoutePlan(route: next), expectedRevision: 1)], audit: [])
                        return (try? await store.commit(commit)) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func auditFeedbackSettingsAndRollups(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            for index in 0..<5 {
                _ = try await store.commit(
                    StoreCommit(audit: [AuditEvent(atMilliseconds: Self.t0 + Int64(index), actor: "a", action: "x", route: index % 2 == 0 ? "r1" : "r2", fromRevision: index, toRevision: nil, detail: "#\(index)")])
                )
            }
            let all = try await store.auditEvents(route: nil, limit: 10, beforeID: nil)
            #expect(all.map(\.detail) == ["#4", "#3", "#2", "#1", "#0"])
            #expect(try await store.auditEvents(route: "r1", limit: 10, beforeID: all[0].id).map(\.detail) == ["#2", "#0"])
            #expect(all.last?.fromRevision == 0 && all.last?.toRevision == nil)

            let kept = try await store.recordFeedback(Feedback(atMilliseconds: Self.t0, requestId: "chatcmpl-1", score: 0.75, source: "judge", route: "r1", deployment: "canary", actor: "otto"))
            #expect(kept.id > 0)
            #expect(try await store.feedback(route: "r1", sinceMilliseconds: Self.t0 - 1).map(\.score) == [0.75])
            #expect(try await store.feedback(route: "r1", sinceMilliseconds: Self.t0 + 1).isEmpty)

            #expect(try await store.setting("k") == nil)
            try await store.setSetting("k", "v1")
            try await store.setSetting("k", "v2")
            #expect(try await store.setting("k") == "v2")
            try await store.setSetting("k", nil)
            #expect(try await store.setting("k") == nil)

            // Two processes add their own figures for the same minute: they add up.
            var figures = MetricsWindow.Bucket(start: 600)
            figures.requests = 10
            figures.outcomes[RequestOutcome.upstream5xx.rawValue] = 2
            figures.latency.record(milliseconds: 120)
            figures.cost = 0.5
            let rollup = MetricRollup(route: "r1", deployment: "canary", minute: 600, figures: figures)
            try await store.writeRollups([rollup], pruneBefore: 0)
            try await store.writeRollups([rollup, MetricRollup(route: "r1", deployment: "canary", minute: 60, figures: figures)], pruneBefore: 120)
            let read = try await store.rollups(route: "r1", sinceMinute: 0)
            #expect(read.count == 1, "minutes before the prune point are forgotten")
            #expect(read.first?.figures.requests == 20)
            #expect(read.first?.figures.count(.upstream5xx) == 4)
            #expect(read.first?.figures.latency.total == 2)
            #expect(read.first?.figures.cost == 1.0)
        }
    }

    @Test(arguments: StoreKind.available)
    func rolloutsAndTheirEvaluations(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await store.saveRollout(StoredRollout(id: "a", route: "r1", active: true, startedMilliseconds: 1, revision: 1, document: "{1}"))
            try await store.saveRollout(StoredRollout(id: "b", route: "r2", active: true, startedMilliseconds: 2, revision: 1, document: "{2}"))
            try await store.saveRollout(StoredRollout(id: "a", route: "r1", active: false, startedMilliseconds: 1, revision: 2, document: "{1 done}"))
            // A save based on an old revision is refused: another process moved the rollout meanwhile.
            await #expect(throws: StoreError.self) {
                try await store.saveRollout(StoredRollout(id: "a", route: "r1", active: true, startedMilliseconds: 1, revision: 2, document: "{stale}"))
            }
            #expect(try await store.rollouts(route: "r1", activeOnly: false, limit: 1).first?.revision == 2)
            #expect(try await store.rollouts(route: nil, activeOnly: true, limit: 10).map(\.id) == ["b"])
            #expect(try await store.rollouts(route: "r1", activeOnly: false, limit: 10).map(\.document) == ["{1 done}"])
            #expect(try await store.rollouts(route: nil, activeOnly: false, limit: 10).map(\.id) == ["b", "a"])
            for index in 0..<5 { try await store.appendEvaluation(rolloutID: "a", atMilliseconds: Int64(index), document: "e\(index)") }
            let first = try await store.evaluations(rolloutID: "a", limit: 2, beforeID: nil)
            #expect(first.map(\.document) == ["e4", "e3"])
            #expect(try await store.evaluations(rolloutID: "a", limit: 10, beforeID: first.last?.id).map(\.document) == ["e2", "e1", "e0"])
        }
    }

    @Test(arguments: StoreKind.available)
    func aRouteChangeAndARolloutLandInOneTransactionOrNeither(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            let route = TestRoutes.chatProd()
            _ = try await store.commit(Self.created(route))
            try await store.saveRollout(StoredRollout(id: "r", route: "chat-prod", active: true, startedMilliseconds: 1, revision: 1, document: "{active}"))
            let rolledBack = try RoutePlan(route: try route.withWeights(try WeightTable([.init(deployment: "stable", weight: .full), .init(deployment: "canary", weight: .zero)])))
            let audit = [AuditEvent(atMilliseconds: Self.t0, actor: "otto", action: "rollback", route: "chat-prod", fromRevision: 1, toRevision: 2, detail: "")]
            // The rollout's revision is stale: nothing of the commit lands, not even the route.
            await #expect(throws: StoreError.self) {
                _ = try await store.commit(StoreCommit(
                    writes: [.init(plan: rolledBack, expectedRevision: 1)], audit: audit,
                    rollouts: [StoredRollout(id: "r", route: "chat-prod", active: false, startedMilliseconds: 1, revision: 5, document: "{ended}")]
                ))
            }
            #expect(try await store.load().plans.first?.route.revision == 1)
            #expect(try await store.rollouts(route: "chat-prod", activeOnly: false, limit: 1).first?.document == "{active}")
            _ = try await store.commit(StoreCommit(
                writes: [.init(plan: rolledBack, expectedRevision: 1)], audit: audit,
                rollouts: [StoredRollout(id: "r", route: "chat-prod", active: false, startedMilliseconds: 1, revision: 2, document: "{ended}")]
            ))
            #expect(try await store.load().plans.first?.route.revision == 2)
            #expect(try await store.rollouts(route: nil, activeOnly: true, limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func aLeaseHasOneHolderUntilItExpires(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            func lease(_ key: String, _ holder: String, at now: Int64) async throws -> Bool {
                try await store.acquireLease(key, holder: holder, nowMilliseconds: now, untilMilliseconds: now + 10_000)
            }
            let first = try await lease("rollout:r1", "a", at: 1000)
            let taken = try await lease("rollout:r1", "b", at: 5000)
            let renewed = try await lease("rollout:r1", "a", at: 9000)
            let stillTaken = try await lease("rollout:r1", "b", at: 18_000)
            let passedOn = try await lease("rollout:r1", "b", at: 19_001)
            let other = try await lease("rollout:r2", "a", at: 19_001)
            #expect(first && !taken)
            #expect(renewed, "the holder renews")
            #expect(!stillTaken)
            #expect(passedOn, "an expired lease passes on")
            #expect(other, "leases are per key")
        }
    }

    @Test(.enabled(if: StoreKind.postgresURL != nil, "needs SWITCHYARD_TEST_POSTGRES (the test script starts a server)"))
    func aCommitIsAnnouncedToOtherProcesses() async throws {
        try await StoreKind.postgres.withStore { store, url in
            let other = try await PostgresStateStore(url: try #require(url), logger: StoreKind.quiet)
            defer { other.shutdown() }
            var changes = other.changes().makeAsyncIterator()
            #expect(await changes.next() == "*", "a (re)connected feed first says: reload everything")
            _ = try await store.commit(Self.created(TestRoutes.chatProd()))
            #expect(await changes.next() == "chat-prod")
        }
    }

    @Test(arguments: StoreKind.available)
    func responseOwnersAreKeptUntilTheyExpire(_ kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            let affinity = try #require(store as? any ResponseAffinityStore)
            let owner = ResponseOwner(route: "chat-prod", deployment: "canary", clientKey: "alice-app")
            try await affinity.rememberResponse("resp_1", owner: owner, expiresAtMilliseconds: Self.t0 + 1000)
            #expect(try await affinity.responseOwner("resp_1", nowMilliseconds: Self.t0) == owner)
            #expect(try await affinity.responseOwner("resp_1", nowMilliseconds: Self.t0 + 1001) == nil, "an expired id is forgotten")
            #expect(try await affinity.responseOwner("resp_other", nowMilliseconds: Self.t0) == nil)
            // Remembering again moves it (a retried create that landed elsewhere).
            try await affinity.rememberResponse("resp_1", owner: ResponseOwner(route: "chat-prod", deployment: "stable"), expiresAtMilliseconds: Self.t0 + 2000)
            #expect(try await affinity.responseOwner("resp_1", nowMilliseconds: Self.t0 + 1500)?.deployment == "stable")
            // Expired rows are pruned by later writes: the table does not grow without bound.
            let retention = ResponseAffinityPolicy.retention.nanosecondsClamped / 1_000_000
            try await affinity.rememberResponse("resp_2", owner: owner, expiresAtMilliseconds: Self.t0 + 5000 + retention)
            #expect(try await affinity.responseOwner("resp_1", nowMilliseconds: Self.t0) == nil, "pruned once past its expiry")
        }
    }

    @Test(.enabled(if: StoreKind.postgresURL != nil, "needs SWITCHYARD_TEST_POSTGRES (the test script starts a server)"))
    func replicasReservingAtOnceAreGrantedNoMoreThanTheLimit() async throws {
        try await StoreKind.postgres.withStore { store, url in
            let limits = try #require(store as? any SharedRateLimits)
            let minute: Int64 = 1_795_300_800
            // Three replicas (two connections to one database) ask for blocks of 4 under a limit of 10.
            let other = try await PostgresStateStore(url: try #require(url), logger: StoreKind.quiet)
            defer { other.shutdown() }
            let stores: [any SharedRateLimits] = [limits, other, limits]
            let grants = await withTaskGroup(of: QuotaLease.Grant?.self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        await store.reserve(key: "alice-app", QuotaLease.Reservation(minute: minute, requests: 4, requestLimit: 10, tokens: 100 * (index + 1)))
                    }
                }
                return await group.reduce(into: [QuotaLease.Grant?]()) { $0.append($1) }
            }
            let granted = grants.compactMap { $0 }
            #expect(granted.count == 3)
            #expect(granted.map(\.requests).reduce(0, +) == 10, "4 + 4 + 2: the last is given what is left")
            #expect(granted.map(\.requests).sorted() == [2, 4, 4])
            #expect(granted.map(\.tokens).max() == 600, "every report is added")
            let exhausted = await limits.reserve(key: "alice-app", QuotaLease.Reservation(minute: minute, requests: 4, requestLimit: 10, tokens: 0))
            #expect(exhausted == QuotaLease.Grant(requests: 0, tokens: 600))
            // Another key, and the next minute, start from nothing.
            #expect(await limits.reserve(key: "bob-app", QuotaLease.Reservation(minute: minute, requests: 4, requestLimit: 10, tokens: 0))?.requests == 4)
            #expect(await limits.reserve(key: "alice-app", QuotaLease.Reservation(minute: minute + 60, requests: 4, requestLimit: 10, tokens: 7)) == QuotaLease.Grant(requests: 4, tokens: 7))
        }
    }
}
