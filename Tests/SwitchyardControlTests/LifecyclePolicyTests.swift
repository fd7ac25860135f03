import Foundation
import Synchronization
import SwitchyardConfig
import SwitchyardCore
import SwitchyardStore
import Testing
@testable import SwitchyardControl
import SwitchyardTesting

/// Collects what the control plane hands the data plane about lifecycles.
final class LifecycleSink: Sendable {
    private let last = Mutex<LifecycleState?>(nil)

    func take(_ state: LifecycleState) { last.withLock { $0 = state } }

    var retired: [String: [String: String?]] { last.withLock { $0?.retired ?? [:] } }
}

@Suite("Lifecycle policy, warnings and retirement")
struct LifecyclePolicyTests {
    static let catalog = LifecycleCatalog(
        entries: [
            LifecycleCatalog.Entry(
                provider: .openai, model: "gpt-4o", version: "2024-05-13",
                dates: [.standard: .init(deprecation: CalendarDay("2026-01-01"), retirement: CalendarDay("2026-06-30"))],
                replacement: ("gpt-4o", "2024-11-20"), source: "test"
            )
        ],
        source: "test"
    )

    static func route(oldWeight: Double = 100, allowDeprecated: Bool = false, withReplacement: Bool = false) -> Route {
        var old = Deployment(name: "old", weight: try! Weight(percent: oldWeight), model: "gpt-4o", version: "2024-05-13", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1"))
        old.allowDeprecated = allowDeprecated
        var deployments = [old]
        if withReplacement {
            deployments.append(Deployment(name: "new", weight: try! Weight(percent: 100 - oldWeight), model: "gpt-4o", version: "2024-11-20", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1")))
        }
        return Route(name: "chat", stable: "old", deployments: deployments)
    }

    static func start(_ store: TemporaryStore, clock: SteppedClock, sink: LifecycleSink = LifecycleSink()) -> ControlPlane {
        ControlPlane(store: try! store.open(), clock: clock, catalog: catalog, lifecycle: { sink.take($0) }, install: { _ in })
    }

    @Test func aNewDeploymentOnADeprecatedVersionIsRefusedUnlessForcedAndTheForcedOneIsAudited() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let clock = SteppedClock(day: "2025-12-31")
        let control = Self.start(store, clock: clock)
        try await control.start(config: nil)
        // Still generally available: created without ceremony.
        _ = try await control.apply(routes: [Self.route()], fingerprint: nil, actor: "alice", source: "test")
        clock.set(day: "2026-01-01")
        var other = Self.route()
        other.name = "chat-2"
        do {
            _ = try await control.apply(routes: [Self.route(), other], fingerprint: nil, actor: "alice", source: "test")
            Issue.record("a new deployment on a deprecated version was accepted")
        } catch {
            #expect("\(error)".contains("deprecated (deprecated 2026-01-01, retires 2026-06-30)"))
            #expect("\(error)".contains("use gpt-4o 2024-11-20"))
            #expect("\(error)".contains("allowDeprecated: true"))
        }
        #expect(await control.plan("chat-2") == nil, "nothing of the refused file was applied")
        // The existing deployment is not new: re-applying it is fine.
        _ = try await control.apply(routes: [Self.route()], fingerprint: nil, actor: "alice", source: "test")
        var forced = Self.route(allowDeprecated: true)
        forced.name = "chat-2"
        _ = try await control.apply(routes: [Self.route(), forced], fingerprint: nil, actor: "alice", source: "test")
        let audit = try await store.open().auditEvents(route: "chat-2", limit: 10, beforeID: nil)
        #expect(audit.contains { $0.action == "allow-deprecated" && $0.actor == "alice" })
    }

    @Test func warningsAreGivenOnceAt60_30_7DaysAndAtRetirementAcrossRestarts() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let clock = SteppedClock(day: "2026-04-01")
        let sink = LifecycleSink()
        var control = Self.start(store, clock: clock, sink: sink)
        try await control.start(config: ([Self.route(oldWeight: 50, allowDeprecated: true, withReplacement: true)], "f", "test"))
        func warnings() async throws -> [String] {
            try await store.open().auditEvents(route: nil, limit: 100, beforeID: nil)
                .filter { $0.actor == "lifecycle" }.map { "\($0.action): \($0.detail.prefix(60))" }
        }
        #expect(try await warnings().isEmpty, "90 days out: nothing yet")
        for (day, expected) in [("2026-05-01", 1), ("2026-05-02", 1), ("2026-05-31", 2), ("2026-06-23", 3), ("2026-06-29", 3)] {
            clock.set(day: day)
            await control.evaluateLifecycle()
            #expect(try await warnings().count == expected, "on \(day)")
        }
        #expect(sink.retired.isEmpty)
        // A restart does not repeat them.
        control = Self.start(store, clock: clock, sink: sink)
        try await control.start(config: ([Self.route(oldWeight: 50, allowDeprecated: true, withReplacement: true)], "f", "test"))
        #expect(try await warnings().count == 3)
        // Retirement day: one more entry, and the data plane learns where the traffic goes.
        clock.set(day: "2026-06-30")
        await control.evaluateLifecycle()
        let all = try await warnings()
        #expect(all.count == 4)
        #expect(all[0].hasPrefix("retired:"))
        #expect(sink.retired == ["chat": ["old": "new"]])
    }

    @Test func theCatalogCanBeReplacedThroughTheControlPlaneAndSurvivesRestart() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let clock = SteppedClock(day: "2026-04-01")
        let control = Self.start(store, clock: clock)
        try await control.start(config: ([Self.route(oldWeight: 50, allowDeprecated: true, withReplacement: true)], "f", "test"))
        await #expect(throws: ControlError.self) { try await control.setCatalog(yaml: "entries: [ {provider: nope} ]", actor: "alice") }
        // The provider postponed the retirement.
        _ = try await control.setCatalog(
            yaml: """
                entries:
                  - provider: openai
                    model: gpt-4o
                    version: "2024-05-13"
                    source: test
                    dates: { standard: { deprecation: "2026-01-01", retirement: "2027-01-31" } }
                    history: [ { announced: "2026-03-15", field: standard.retirement, from: "2026-06-30", to: "2027-01-31" } ]
                """,
            actor: "alice"
        )
        let restarted = Self.start(store, clock: clock)
        try await restarted.start(config: nil)
        let report = await restarted.lifecycleReport()
        let item = try #require(report.items.first { $0.version == "2024-05-13" })
        #expect(item.dates?.retirement == CalendarDay("2027-01-31"))
        #expect(item.history.first?.from == "2026-06-30")
        #expect(report.catalogSource.hasPrefix("api"))
    }

    @Test func aMigrationProposalCopiesThePromptAndParamsAndPlansACanary() throws {
        var route = Self.route()
        route.deployments[0].prompt = PromptVersion(version: "p3", system: "Be exact.")
        route.deployments[0].params = ["temperature": 0.1]
        let proposal = try MigrationProposal(route: route, catalog: Self.catalog, now: CalendarDay("2026-05-01")!.start)
        #expect(proposal.replacing == "old")
        #expect(proposal.deployment.name == "gpt-4o-2024-11-20")
        #expect(proposal.deployment.version == "2024-11-20")
        #expect(proposal.deployment.prompt?.system == "Be exact.")
        #expect(proposal.deployment.params["temperature"] == 0.1)
        #expect(proposal.deployment.weight == .zero)
        #expect(proposal.reason.contains("60 days left"))
        var withReplacement = route
        withReplacement.deployments.append(proposal.deployment)
        #expect(throws: MigrationError.self) { try MigrationProposal(route: withReplacement, catalog: Self.catalog, now: CalendarDay("2026-05-01")!.start) }
        // The plan is one the API accepts for the route with the new deployment.
        _ = try RolloutPlan(json: proposal.plan, route: withReplacement)
    }
}
