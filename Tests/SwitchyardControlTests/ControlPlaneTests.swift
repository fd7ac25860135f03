import Foundation
import Synchronization
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore
import SwitchyardStore
import Testing
import SwitchyardTesting

/// Collects what the control plane hands to the data plane.
final class InstalledPlans: Sendable {
    private let plans = Mutex<[String: RoutePlan]>([:])

    func install(_ new: [RoutePlan]) {
        plans.withLock { $0 = Dictionary(uniqueKeysWithValues: new.map { ($0.route.name, $0) }) }
    }

    subscript(route: String) -> RoutePlan? { plans.withLock { $0[route] } }
}

enum ControlFixtures {
    static func route(stable: Double = 90, canary: Double = 10) -> Route {
        TestRoutes.chatProd(stable: stable, canary: canary)
    }

    static func started(_ store: TemporaryStore, routes: [Route] = [route()], fingerprint: String = "f1") async throws -> (ControlPlane, InstalledPlans) {
        let installed = InstalledPlans()
        let control = ControlPlane(store: try store.open()) { installed.install($0) }
        try await control.start(config: (routes, fingerprint, "test.yaml"))
        return (control, installed)
    }
}

@Suite("Control plane and SQLite store")
struct ControlPlaneTests {
    @Test func aChangeIsDurableAndInEffectBeforeItIsAcknowledged() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let (control, installed) = try await ControlFixtures.started(store)
        let outcome = try await control.change("chat-prod", .setWeights(WeightTable(percentages: [("stable", 50), ("canary", 50)])), ifMatch: 1, actor: "alice")
        #expect(outcome.changed)
        #expect(outcome.route.revision == 2)
        #expect(installed["chat-prod"]?.route.revision == 2, "the data plane has the new plan when the call returns")

        // Restart on the same file: the change is there, with its bucket ownership.
        let reopened = try store.open()
        let state = try await reopened.load()
        let plan = try #require(state.plans.first)
        #expect(plan.route.revision == 2)
        #expect(plan.route.deployment(named: "canary")?.weight.percent == 50)
        #expect(plan.allocation.ranges == installed["chat-prod"]?.allocation.ranges)
        #expect(plan.route.deployment(named: "stable")?.prompt?.system == "Be careful.")
        #expect(try await reopened.revisions(of: "chat-prod").map(\.revision) == [1, 2])
        let audit = try await reopened.auditEvents(route: "chat-prod", limit: 10, beforeID: nil)
        #expect(audit.map(\.action) == ["weights", "create"])
        #expect(audit[0].actor == "alice" && audit[0].fromRevision == 1 && audit[0].toRevision == 2)
    }

    @Test func aStaleRevisionIsRefusedAndChangesNothing() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let (control, _) = try await ControlFixtures.started(store)
        _ = try await control.change("chat-prod", .rollback, ifMatch: 1, actor: "alice")
        await #expect(throws: ControlError.self) {
            try await control.change("chat-prod", .setWeights(WeightTable(percentages: [("stable", 0), ("canary", 100)])), ifMatch: 1, actor: "bob")
        }
        #expect(await control.plan("chat-prod")?.route.revision == 2)
        #expect(await control.plan("chat-prod")?.route.deployment(named: "canary")?.weight == .zero)
    }

    @Test func twoOperatorsRacingGetOneWinner() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let (control, _) = try await ControlFixtures.started(store)
        let wins = await withTaskGroup(of: Bool.self) { group in
            for (actor, canary) in [("alice", 30.0), ("bob", 40.0)] {
                group.addTask {
                    let table = try! WeightTable(percentages: [("stable", 100 - canary), ("canary", canary)])
                    return (try? await control.change("chat-prod", .setWeights(table), ifMatch: 1, actor: actor)) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(await control.plan("chat-prod")?.route.revision == 2)
    }

    @Test func rollbackIsIdempotentAndPromoteMovesStable() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let (control, installed) = try await ControlFixtures.started(store)
        let first = try await control.change("chat-prod", .rollback, ifMatch: nil, actor: "alice")
        let again = try await control.change("chat-prod", .rollback, ifMatch: nil, actor: "alice")
        #expect(first.changed && !again.changed)
        #expect(again.route.revision == first.route.revision)
        let plan = try #require(installed["chat-prod"])
        #expect((0..<StickyHash.bucketCount).allSatisfy { plan.route.deployments[plan.primaryDeployment(forBucket: $0)].name == "stable" })

        await #expect(throws: ControlError.self) { try await control.change("chat-prod", .promote(deployment: nil), ifMatch: nil, actor: "alice") }
        _ = try await control.change("chat-prod", .setWeights(WeightTable(percentages: [("stable", 80), ("canary", 20)])), ifMatch: nil, actor: "alice")
        let promoted = try await control.change("chat-prod", .promote(deployment: nil), ifMatch: nil, actor: "alice")
        #expect(promoted.route.stable == "canary")
        #expect(promoted.route.deployment(named: "canary")?.weight == .full)
    }

    @Test func anUnchangedConfigFileKeepsRunTimeChangesAcrossRestarts() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        do {
            let (control, _) = try await ControlFixtures.started(store)
            _ = try await control.change("chat-prod", .rollback, ifMatch: nil, actor: "alice")
        }
        // Same file again: the 3 a.m. rollback stands.
        let (control, _) = try await ControlFixtures.started(store)
        #expect(await control.plan("chat-prod")?.route.revision == 2)
        #expect(await control.plan("chat-prod")?.route.deployment(named: "canary")?.weight == .zero)

        // A changed file is applied again, and the audit log says it overrode run-time weights.
        let (changed, _) = try await ControlFixtures.started(store, routes: [ControlFixtures.route(stable: 80, canary: 20)], fingerprint: "f2")
        #expect(await changed.plan("chat-prod")?.route.revision == 3)
        let audit = try await store.open().auditEvents(route: "chat-prod", limit: 1, beforeID: nil)
        #expect(audit.first?.detail.contains("overrode run-time weights") == true)
    }

    @Test func applyingTheSameRoutesTwiceMakesNoNewRevisionAndUndeclaredRoutesAreDeleted() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let (control, installed) = try await ControlFixtures.started(store)
        let same = try await control.apply(routes: [ControlFixtures.route()], fingerprint: nil, actor: "alice", source: "ctl apply")
        #expect(same.unchanged == ["chat-prod"])
        #expect(await control.plan("chat-prod")?.route.revision == 1)
        var other = ControlFixtures.route()
        other.name = "summarize"
        let replaced = try await control.apply(routes: [other], fingerprint: nil, actor: "alice", source: "ctl apply")
        #expect(replaced.created == ["summarize"] && replaced.deleted == ["chat-prod"])
        #expect(installed["chat-prod"] == nil)
        // Created again later, it continues its revision numbers.
        _ = try await control.apply(routes: [ControlFixtures.route(), other], fingerprint: nil, actor: "alice", source: "ctl apply")
        #expect(await control.plan("chat-prod")?.route.revision == 2)
    }
}

@Suite("Rollouts named in the route's config")
struct NamedPlanTests {
    @Test func aPlanDeclaredWithTheRouteStartsByName() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        var route = ControlFixtures.route(stable: 100, canary: 0)
        route.plans = ["quick": ["strategy": "canary", "canary": "canary", "steps": [["setWeight": 20], ["pause": [:]]]]]
        let (control, installed) = try await ControlFixtures.started(store, routes: [route])
        do {
            _ = try await control.startRollout("chat-prod", plan: ["plan": "slow"], actor: "alice")
            Issue.record("an unknown plan name must be refused")
        } catch {
            #expect("\(error)" == "route 'chat-prod' has no plan named 'slow'; it has quick")
        }
        let rollout = try await control.startRollout("chat-prod", plan: ["plan": "quick"], actor: "alice")
        #expect(rollout.state == .paused)
        #expect(rollout.canaryWeight?.percent == 20)
        #expect(installed["chat-prod"]?.route.deployment(named: "canary")?.weight.percent == 20)
    }
}
