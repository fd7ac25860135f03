import Foundation
import Synchronization
import SwitchyardControl
import SwitchyardCore
import SwitchyardStore
import Testing
import SwitchyardTesting

/// A real SQLite store whose writes can be made to fail, as a full disk or a
/// lost database would: reads keep working, every write is refused.
final class RefusingStore: StateStore, Sendable {
    let base: SQLiteStateStore
    private let refusing = Mutex(false)
    private let conflicting = Mutex(false)

    init(_ base: SQLiteStateStore) {
        self.base = base
    }

    func refuseWrites(_ on: Bool) { refusing.withLock { $0 = on } }
    func conflictOnWrites(_ on: Bool) { conflicting.withLock { $0 = on } }

    private func write() throws {
        if refusing.withLock({ $0 }) { throw StoreError.unreachable("the disk holding the test store is full") }
        if conflicting.withLock({ $0 }) { throw StoreError.conflict(route: "chat-prod", expected: 1, actual: 2) }
    }

    func load() async throws -> StoredState { try await base.load() }
    func commit(_ commit: StoreCommit) async throws -> [AuditEvent] {
        try write()
        return try await base.commit(commit)
    }
    func auditEvents(route: String?, limit: Int, beforeID: Int64?) async throws -> [AuditEvent] {
        try await base.auditEvents(route: route, limit: limit, beforeID: beforeID)
    }
    func recordFeedback(_ feedback: Feedback) async throws -> Feedback {
        try write()
        return try await base.recordFeedback(feedback)
    }
    func feedback(route: String, sinceMilliseconds: Int64) async throws -> [Feedback] {
        try await base.feedback(route: route, sinceMilliseconds: sinceMilliseconds)
    }
    func saveRollout(_ rollout: StoredRollout) async throws {
        try write()
        try await base.saveRollout(rollout)
    }
    func acquireLease(_ key: String, holder: String, nowMilliseconds: Int64, untilMilliseconds: Int64) async throws -> Bool {
        try await base.acquireLease(key, holder: holder, nowMilliseconds: nowMilliseconds, untilMilliseconds: untilMilliseconds)
    }
    func rollouts(route: String?, activeOnly: Bool, limit: Int) async throws -> [StoredRollout] {
        try await base.rollouts(route: route, activeOnly: activeOnly, limit: limit)
    }
    func appendEvaluation(rolloutID: String, atMilliseconds: Int64, document: String) async throws {
        try await base.appendEvaluation(rolloutID: rolloutID, atMilliseconds: atMilliseconds, document: document)
    }
    func evaluations(rolloutID: String, limit: Int, beforeID: Int64?) async throws -> [StoredEvaluation] {
        try await base.evaluations(rolloutID: rolloutID, limit: limit, beforeID: beforeID)
    }
    func writeRollups(_ rollups: [MetricRollup], pruneBefore: Int64) async throws {
        try await base.writeRollups(rollups, pruneBefore: pruneBefore)
    }
    func rollups(route: String, sinceMinute: Int64) async throws -> [MetricRollup] {
        try await base.rollups(route: route, sinceMinute: sinceMinute)
    }
    func writeReplicaRollups(replica: String, _ rollups: [MetricRollup], pruneBefore: Int64) async throws {
        try await base.writeReplicaRollups(replica: replica, rollups, pruneBefore: pruneBefore)
    }
    func fleetRollups(sinceMinute: Int64) async throws -> [MetricRollup] {
        try await base.fleetRollups(sinceMinute: sinceMinute)
    }
    func setting(_ key: String) async throws -> String? { try await base.setting(key) }
    func setSetting(_ key: String, _ value: String?) async throws {
        try write()
        try await base.setSetting(key, value)
    }
}

@Suite("Every acknowledged write is durable or refused")
struct DurableWritesTests {
    static let canary: JSONValue = [
        "strategy": "canary", "canary": "canary",
        "steps": [["setWeight": 25], ["pause": "1h"], ["setWeight": 100]],
    ]

    static func started() async throws -> (ControlPlane, RefusingStore, TemporaryStore) {
        let folder = TemporaryStore()
        let store = RefusingStore(try folder.open())
        let control = ControlPlane(store: store, install: { _ in })
        try await control.start(config: ([ControlFixtures.route()], "f1", "test.yaml"))
        return (control, store, folder)
    }

    @Test func aRolloutTheStoreRefusesIsNotStartedAtAll() async throws {
        let (control, store, folder) = try await Self.started()
        defer { folder.remove() }
        store.refuseWrites(true)
        let error = await #expect(throws: ControlError.self) { try await control.startRollout("chat-prod", plan: Self.canary, actor: "otto") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("not saved"))
        #expect(await control.rollout("chat-prod") == nil, "nothing in memory that the store does not have")
        #expect(await control.plan("chat-prod")?.route.splitSummary == ControlFixtures.route().splitSummary, "no weight moved")
        // After the store recovers, the same request works — and is there after a restart.
        store.refuseWrites(false)
        let rollout = try await control.startRollout("chat-prod", plan: Self.canary, actor: "otto")
        #expect(rollout.state == .progressing)
        let reopened = ControlPlane(store: try folder.open(), install: { _ in })
        try await reopened.start(config: ([ControlFixtures.route()], "f1", "test.yaml"))
        #expect(await reopened.rollout("chat-prod")?.id == rollout.id)
    }

    @Test func aPauseResumeOrAbortTheStoreRefusesChangesNothing() async throws {
        let (control, store, folder) = try await Self.started()
        defer { folder.remove() }
        _ = try await control.startRollout("chat-prod", plan: Self.canary, actor: "otto")
        store.refuseWrites(true)
        for (event, action) in [(RolloutEvent.pause(actor: "otto"), "pause"), (.abort(actor: "otto", reason: "test"), "abort")] {
            await #expect(throws: ControlError.self) { try await control.operate("chat-prod", event, actor: "otto", action: action) }
            #expect(await control.rollout("chat-prod")?.state == .progressing, "\(action) refused: still progressing")
        }
        store.refuseWrites(false)
        let paused = try await control.operate("chat-prod", .pause(actor: "otto"), actor: "otto", action: "pause")
        #expect(paused.state == .paused)
    }

    @Test func aRollbackOfARolloutIsStoredWithTheRouteOrNotAtAll() async throws {
        let (control, store, folder) = try await Self.started()
        defer { folder.remove() }
        _ = try await control.startRollout("chat-prod", plan: Self.canary, actor: "otto")
        let before = await control.plan("chat-prod")?.route
        store.refuseWrites(true)
        await #expect(throws: ControlError.self) { _ = try await control.change("chat-prod", .rollback, ifMatch: nil, actor: "otto") }
        #expect(await control.rollout("chat-prod")?.state == .progressing, "not rolled back in memory either")
        #expect(await control.plan("chat-prod")?.route == before)
        store.refuseWrites(false)
        _ = try await control.change("chat-prod", .rollback, ifMatch: nil, actor: "otto")
        #expect(await control.rollout("chat-prod")?.state == .rolledBack)
        // What the store holds says the same as what is served.
        let reopened = ControlPlane(store: try folder.open(), install: { _ in })
        try await reopened.start(config: ([ControlFixtures.route()], "f1", "test.yaml"))
        #expect(await reopened.plan("chat-prod")?.route.splitSummary == (await control.plan("chat-prod")?.route.splitSummary))
        let stored = try await folder.open().rollouts(route: "chat-prod", activeOnly: false, limit: 1).first
        #expect(stored?.active == false)
    }

    @Test func aLostWriteRaceIsAConflictNotAnOutage() async throws {
        let (control, store, folder) = try await Self.started()
        defer { folder.remove() }
        store.conflictOnWrites(true)
        let error = await #expect(throws: ControlError.self) {
            _ = try await control.change("chat-prod", .rollback, ifMatch: nil, actor: "otto")
        }
        guard case .stale? = error else {
            Issue.record("a conflict should be reported as stale (412), got \(String(describing: error))")
            return
        }
    }
}
