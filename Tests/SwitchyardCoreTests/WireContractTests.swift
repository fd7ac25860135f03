import Foundation
import Testing
@testable import SwitchyardCore

/// The management API's bodies and events are one set of types: what the
/// server encodes is what ctl and the console decode, kind by kind.
@Suite("One wire contract")
struct WireContractTests {
    static let route = Fixtures.route(weights: [("stable", 90), ("canary", 10)])

    func encoded<Body: Encodable>(_ body: Body) throws -> [UInt8] {
        Array(try JSONEncoder().encode(body))
    }

    @Test func everyEventKindTheServerSendsDecodesAsItsKind() throws {
        let t0 = Moment(seconds: 1_800_000_000)
        let plan = try RolloutPlan(json: ["strategy": "canary", "canary": "canary", "steps": [["setWeight": 10]]], route: Self.route)
        let (rollout, _) = RolloutMachine.start(id: "r1", route: Self.route, plan: plan, actor: "alice", now: t0)
        let view = RolloutView(rollout, full: false)
        let audit = AuditEvent(id: 1, atMilliseconds: 1, actor: "alice", action: "weights", route: "chat-prod", fromRevision: 1, toRevision: 2, detail: "stable=90 canary=10")
        let tick = MetricsTick(atMs: 5, routes: [.init(route: "chat-prod", revision: 2, deployments: [.init(name: "stable", weight: 90, requests: 3, errorRatePercent: nil, p95Ms: 120, breaker: "closed")])])
        let sent: [(ManagementEventKind, [UInt8])] = [
            (.snapshot, try encoded(RouteListView(routes: [Self.route], rollouts: ["chat-prod": view]))),
            (.route, try encoded(Self.route)),
            (.routeDeleted, try encoded(RouteDeletedNotice(route: "old"))),
            (.audit, try encoded(audit)),
            (.rollout, try encoded(view)),
            (.lifecycle, try encoded(LifecycleNotice(days: 7, key: "gpt-4o@2024-11-20/7", message: "retires in 7 days"))),
            (.metrics, try encoded(tick)),
            (.dropped, Array(#"{"reason":"slow"}"#.utf8)),
        ]
        #expect(Set(sent.map(\.0)) == Set(ManagementEventKind.allCases), "every kind is covered")
        for (kind, data) in sent {
            let event = try #require(ManagementEvent(name: kind.rawValue, data: data), "\(kind) did not decode")
            #expect(event.kind == kind)
        }
        guard case .snapshot(let list) = ManagementEvent(name: "snapshot", data: sent[0].1) else { Issue.record("no snapshot"); return }
        #expect(list.routes == [Self.route])
        #expect(list.rollouts["chat-prod"]?.id == "r1", "the rollout rides beside its route")
        #expect(ManagementEvent(name: "teleport", data: [])?.kind == nil, "an unknown kind is refused, not guessed")
        #expect(ManagementEvent(name: "route", data: Array("{}".utf8))?.kind == nil, "a body of the wrong shape is refused")
    }

    @Test func bodiesRoundTripThroughTheirOwnCoding() throws {
        let change = ChangeView(route: Self.route, changed: true, serverTimeMs: 1.5)
        let decodedChange = try JSONDecoder().decode(ChangeView.self, from: Data(try encoded(change)))
        #expect(decodedChange.route == Self.route && decodedChange.revision == Self.route.revision && decodedChange.changed)
        let apply = ApplyView(created: ["a"], updated: [], deleted: ["b"], unchanged: ["c"])
        #expect(try JSONDecoder().decode(ApplyView.self, from: Data(try encoded(apply))) == apply)
        #expect(apply.summary == "created 1 (a), updated 0, deleted 1 (b), unchanged 1")
        var window = MetricsWindow()
        window.record(.init(outcome: .success, latency: .milliseconds(120), promptTokens: 10, completionTokens: 30, cost: 0.001), at: Moment(seconds: 1_800_000_000))
        let bucket = window.aggregate(window: .seconds(60), now: Moment(seconds: 1_800_000_000))
        let metrics = RouteMetricsView(
            route: "chat-prod", revision: 3, windowSeconds: 60,
            deployments: [.init(deployment: Self.route.deployments[0], total: bucket, series: [bucket], breaker: .closed)]
        )
        let decoded = try JSONDecoder().decode(RouteMetricsView.self, from: Data(try encoded(metrics)))
        #expect(decoded.deployments.first?.tokensPerRequest == 40)
        #expect(decoded.deployments.first?.series.first?.requests == 1)
    }
}
