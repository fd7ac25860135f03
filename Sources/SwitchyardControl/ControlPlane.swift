import Foundation
public import Logging
import Tracing
public import SwitchyardCore
public import SwitchyardClock

/// The single writer of route state in a process. Every change is validated,
/// committed to the store (durable before it is acknowledged), then handed to
/// the data plane as a new set of plans — in effect for the very next request.
public actor ControlPlane {
    let store: any StateStore
    let clock: any MomentClock
    private let install: @Sendable ([RoutePlan]) -> Void
    /// Hands one route's new plan to the data plane, when it can take one
    /// alone: a change to one route of 10,000 then costs one route.
    private let installOne: (@Sendable (RoutePlan) -> Void)?
    let lifecycleSink: @Sendable (LifecycleState) -> Void
    let logger: Logger
    private var plans: [String: RoutePlan] = [:]
    private var deletedRevisions: [String: Int] = [:]
    var observers: [@Sendable (ControlEvent) -> Void] = []
    var catalog: LifecycleCatalog
    /// The stored catalog text in force, to notice another replica's change.
    var appliedCatalogText: String?
    /// Stored routes already reported as unusable (fleet refresh), so each is logged once.
    var refusedRouteWarnings: Set<String> = []
    var warningsGiven: Set<String> = []
    /// The latest rollout of each route, active or finished.
    var rollouts: [String: Rollout] = [:] {
        didSet { dataPlane?.rolloutsChanged(Array(rollouts.values)) }
    }
    /// OpenTelemetry spans for rollout transitions, when `serve` traces.
    var tracer: (any Tracer)?
    var dataPlane: (any RolloutDataPlane)? {
        didSet { dataPlane?.rolloutsChanged(Array(rollouts.values)) }
    }
    var rolloutBusy = false
    var rolloutWaiters: [CheckedContinuation<Void, Never>] = []
    var rolloutSequence = 0
    /// The stored revision of each rollout this process has seen, by rollout id.
    var rolloutRevisions: [String: Int] = [:]
    /// Routes whose rollout this process drives (holds the lease of).
    var drivenHere: Set<String> = []
    /// This process, as a lease holder.
    public nonisolated let replicaID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    /// How long a rollout's lease lasts without renewal: after a replica dies,
    /// another takes its rollouts over within this time.
    var leaseTTL: Duration = .seconds(10)
    /// Why the last refresh from the shared store failed; `nil` while it works.
    public internal(set) var storeProblem: String?

    /// - Parameters:
    ///   - catalog: the lifecycle catalog to start with (shipped or `--catalog`);
    ///     one set through the API and kept in the store takes precedence.
    ///   - install: hands new plans to the data plane.
    ///   - lifecycle: hands retired deployments and countdowns to the data plane.
    public init(
        store: any StateStore,
        clock: any MomentClock = SystemClock(),
        catalog: LifecycleCatalog = LifecycleCatalog(source: "none"),
        logger: Logger = Logger(label: "switchyard.control"),
        lifecycle: @escaping @Sendable (LifecycleState) -> Void = { _ in },
        installOne: (@Sendable (RoutePlan) -> Void)? = nil,
        install: @escaping @Sendable ([RoutePlan]) -> Void
    ) {
        self.store = store
        self.clock = clock
        self.catalog = catalog
        self.logger = logger
        self.lifecycleSink = lifecycle
        self.install = install
        self.installOne = installOne
    }

    /// Loads the stored routes and, when `config` is a file whose content
    /// differs from the one applied last, applies it as the desired state.
    /// An unchanged file changes nothing: run-time changes survive restarts.
    public func start(config: (routes: [Route], fingerprint: String, source: String)?) async throws {
        let state = try await store.load()
        // A route that cannot be read back is not served half-understood: the
        // start stops and names it (a rollout is quarantined instead; a route
        // has no safe state to fall back to).
        if let (name, reason) = state.refusedRoutes.sorted(by: { $0.key < $1.key }).first {
            throw StoreError.corrupt("stored route '\(name)' cannot be used: \(reason)" + (state.refusedRoutes.count > 1 ? " (and \(state.refusedRoutes.count - 1) more)" : ""))
        }
        plans = Dictionary(state.plans.map { ($0.route.name, $0) }, uniquingKeysWith: { first, _ in first })
        deletedRevisions = state.deletedRouteRevisions
        try await loadLifecycleState()
        try await loadRollouts()
        if let config, config.fingerprint != state.configFingerprint {
            let outcome = try await apply(routes: config.routes, fingerprint: config.fingerprint, actor: "config", source: config.source)
            logger.notice("applied \(config.source): \(outcome.summary)")
        } else if config != nil {
            logger.info("config file unchanged since it was last applied; keeping the stored state (\(plans.count) routes)")
        }
        install(Array(plans.values))
        await evaluateLifecycle()
    }

    /// Registers a callback for every committed change (the event stream).
    public func observe(_ observer: @escaping @Sendable (ControlEvent) -> Void) {
        observers.append(observer)
    }

    /// The current plans, sorted by route name.
    public var currentPlans: [RoutePlan] {
        plans.values.sorted { $0.route.name < $1.route.name }
    }

    public func plan(_ route: String) -> RoutePlan? { plans[route] }

    func replacePlan(_ plan: RoutePlan) { plans[plan.route.name] = plan }

    func removePlan(_ name: String) { plans.removeValue(forKey: name) }

    func mergeDeletedRevisions(_ revisions: [String: Int]) {
        deletedRevisions.merge(revisions) { max($0, $1) }
    }

    func installCurrentPlans() { install(Array(plans.values)) }

    /// Applies one operator change to one route.
    ///
    /// - Parameter ifMatch: the revision the caller last saw; a different
    ///   current revision refuses the change (`ControlError.stale`).
    public func change(_ name: String, _ change: RouteChange, ifMatch: Int?, actor: String) async throws(ControlError) -> ChangeOutcome {
        if rollouts[name]?.state.isActive == true {
            switch change {
            case .rollback:
                return try await rollbackWithRollout(name, ifMatch: ifMatch, actor: actor)
            case .promote(let deployment):
                return try await promoteWithRollout(name, deployment: deployment, ifMatch: ifMatch, actor: actor)
            case .setWeights:
                let outcome = try await commitChange(name, change, ifMatch: ifMatch, actor: actor)
                if outcome.changed {
                    await handleRollout(name, .overridden(actor: actor, detail: outcome.route.splitSummary), actor: actor)
                }
                return outcome
            }
        }
        return try await commitChange(name, change, ifMatch: ifMatch, actor: actor)
    }

    /// Commits one change without consulting the route's rollout (the rollout engine's own path).
    /// With `rollout`, that rollout's next revision is stored in the same transaction.
    func commitChange(_ name: String, _ change: RouteChange, ifMatch: Int?, actor: String, rollout: Rollout? = nil) async throws(ControlError) -> ChangeOutcome {
        let started = clock.now()
        guard let plan = plans[name] else { throw .unknownRoute(name, known: plans.keys.sorted()) }
        if let ifMatch, ifMatch != plan.route.revision {
            throw .stale(route: name, expected: ifMatch, actual: plan.route.revision)
        }
        let next: RoutePlan?
        do {
            next = try change.applied(to: plan)
        } catch {
            throw .invalid(error)
        }
        guard let next else {
            return ChangeOutcome(route: plan.route, changed: false, serverTime: clock.now() - started, audit: nil)
        }
        let event = AuditEvent(
            atMilliseconds: started.nanoseconds / 1_000_000,
            actor: actor,
            action: change.action,
            route: name,
            fromRevision: plan.route.revision,
            toRevision: next.route.revision,
            detail: next.route.splitSummary + (next.route.stable != plan.route.stable ? " stable=\(next.route.stable)" : "")
        )
        let storedRollout = try rollout.map { rollout throws(ControlError) in try nextStored(rollout) }
        let stored: [AuditEvent]
        do {
            stored = try await store.commit(
                StoreCommit(writes: [.init(plan: next, expectedRevision: plan.route.revision)], audit: [event], rollouts: storedRollout.map { [$0] } ?? [])
            )
        } catch {
            throw .storing(error)
        }
        if let storedRollout { rolloutRevisions[storedRollout.id] = storedRollout.revision }
        plans[name] = next
        if let installOne { installOne(next) } else { install(Array(plans.values)) }
        notify(.routeChanged(next.route), stored)
        logger.info("\(actor) \(change.action) \(name) r\(plan.route.revision)→r\(next.route.revision): \(next.route.splitSummary)")
        return ChangeOutcome(route: next.route, changed: true, serverTime: clock.now() - started, audit: stored.first)
    }

    /// Makes the declared routes the desired state: creates, updates and
    /// deletes routes so the store matches them, in one commit. Routes whose
    /// declaration is unchanged keep their revision.
    public func apply(routes declared: [Route], fingerprint: String?, actor: String, source: String) async throws(ControlError) -> ApplyView {
        let now = clock.now()
        let milliseconds = now.nanoseconds / 1_000_000
        var writes: [StoreCommit.Write] = []
        var audit: [AuditEvent] = []
        var outcome = ApplyView()
        for var route in declared {
            do {
                try route.validate()
            } catch {
                throw .invalidRoute("\(error)")
            }
            let current = plans[route.name]
            if let current, current.route.sameDeclaration(as: route) {
                outcome.unchanged.append(route.name)
                continue
            }
            audit += try checkDeprecatedVersions(route, against: current?.route, actor: actor, at: now)
            route.revision = (current?.route.revision ?? deletedRevisions[route.name] ?? 0).saturatingAdding(1)
            let plan: RoutePlan
            do {
                plan = try RoutePlan(route: route, previous: current?.allocation)
            } catch {
                throw .invalidRoute("route '\(route.name)': \(error)")
            }
            writes.append(.init(plan: plan, expectedRevision: current?.route.revision))
            var detail = "from \(source): \(route.splitSummary)"
            if let current, (try? current.route.weightTable()) != (try? route.weightTable()) {
                detail += " (overrode run-time weights \(current.route.splitSummary))"
            }
            audit.append(
                AuditEvent(
                    atMilliseconds: milliseconds, actor: actor, action: current == nil ? "create" : "apply", route: route.name,
                    fromRevision: current?.route.revision, toRevision: route.revision, detail: detail
                )
            )
            if current == nil { outcome.created.append(route.name) } else { outcome.updated.append(route.name) }
        }
        let declaredNames = Set(declared.map(\.name))
        var deletions: [(route: String, expectedRevision: Int)] = []
        for (name, plan) in plans where !declaredNames.contains(name) {
            deletions.append((name, plan.route.revision))
            audit.append(
                AuditEvent(
                    atMilliseconds: milliseconds, actor: actor, action: "delete", route: name,
                    fromRevision: plan.route.revision, toRevision: nil, detail: "not declared in \(source)"
                )
            )
            outcome.deleted.append(name)
        }
        guard !writes.isEmpty || !deletions.isEmpty || fingerprint != nil else { return outcome }
        let stored: [AuditEvent]
        do {
            stored = try await store.commit(StoreCommit(writes: writes, deletions: deletions, audit: audit, configFingerprint: fingerprint))
        } catch {
            throw .storing(error)
        }
        for write in writes { plans[write.plan.route.name] = write.plan }
        for deletion in deletions {
            deletedRevisions[deletion.route] = deletion.expectedRevision
            plans.removeValue(forKey: deletion.route)
        }
        install(Array(plans.values))
        for write in writes { notify(.routeChanged(write.plan.route), []) }
        for deletion in deletions { notify(.routeDeleted(deletion.route), []) }
        notify(nil, stored)
        for name in outcome.updated + outcome.deleted where rollouts[name]?.state.isActive == true {
            await handleRollout(name, .abort(actor: actor, reason: "route re-declared by \(source); the rollout stopped and the declared weights stand"), actor: actor, performActions: false)
        }
        await evaluateLifecycle()
        return outcome
    }

    /// Audit entries, newest first.
    public func auditEvents(route: String?, limit: Int, beforeID: Int64?) async throws(ControlError) -> [AuditEvent] {
        do {
            return try await store.auditEvents(route: route, limit: limit, beforeID: beforeID)
        } catch {
            throw .storing(error)
        }
    }

    /// Keeps a quality score.
    public func record(_ feedback: Feedback) async throws(ControlError) -> Feedback {
        do {
            return try await store.recordFeedback(feedback)
        } catch {
            throw .storing(error)
        }
    }

    /// Adds per-minute roll-ups and forgets old ones.
    public func writeRollups(_ rollups: [MetricRollup], pruneBefore: Int64) async throws(ControlError) {
        do {
            try await store.writeRollups(rollups, pruneBefore: pruneBefore)
        } catch {
            throw .storing(error)
        }
    }

    /// One route's stored roll-ups from `sinceMinute` on.
    public func rollups(route: String, sinceMinute: Int64) async throws(ControlError) -> [MetricRollup] {
        do {
            return try await store.rollups(route: route, sinceMinute: sinceMinute)
        } catch {
            throw .storing(error)
        }
    }

    func notify(_ event: ControlEvent?, _ audit: [AuditEvent]) {
        let events = (event.map { [$0] } ?? []) + audit.map(ControlEvent.audit)
        for event in events {
            for observer in observers { observer(event) }
        }
    }
}

/// Something the control plane committed, for live subscribers.
public enum ControlEvent: Sendable {
    case routeChanged(Route)
    case routeDeleted(String)
    case audit(AuditEvent)
    /// A model version in use crossed a countdown threshold (60, 30, 7 days; 0 = retired).
    case lifecycleWarning(days: Int, key: String, message: String)
    /// A rollout started, moved, was judged or ended.
    case rollout(Rollout)
}

/// The result of one change.
public struct ChangeOutcome: Sendable {
    public var route: Route
    /// `false` when the change was already in effect (no new revision).
    public var changed: Bool
    /// How long the change took on the server, commit included.
    public var serverTime: Duration
    public var audit: AuditEvent?
}

/// Why the control plane refused something.
public enum ControlError: Error, Sendable, CustomStringConvertible {
    case unknownRoute(String, known: [String])
    case stale(route: String, expected: Int, actual: Int)
    case invalid(ChangeError)
    case invalidRoute(String)
    case storage(String)
    /// The store refused a write made against an older version (another writer won).
    case conflict(String)
    /// The store did not answer in time after the write was sent: it may or may not have landed.
    case outcomeUnknown(String)
    case invalidPlan(String)
    /// The route already has an active rollout, or the rollout cannot do that now.
    case rolloutConflict(String)
    /// The route has no active rollout.
    case noRollout(route: String, action: String)

    public var description: String {
        switch self {
        case .unknownRoute(let name, let known):
            "no route named '\(name)'" + (known.isEmpty ? "" : "; routes: \(known.joined(separator: ", "))")
        case .stale(let route, let expected, let actual):
            "route '\(route)' is at revision \(actual), not \(expected): someone changed it since you read it; reload and try again"
        case .invalid(let error): "\(error)"
        case .invalidRoute(let reason): reason
        case .storage(let reason): "the change was not saved: \(reason)"
        case .conflict(let reason): "the change was not saved: \(reason); someone else changed it first — reload and try again"
        case .outcomeUnknown(let reason):
            "the change may or may not have been saved: \(reason); read it back (GET the route and compare its revision) before trying again"
        case .invalidPlan(let reason), .rolloutConflict(let reason): reason
        case .noRollout(let route, let action): "route '\(route)' has no rollout in progress to \(action)"
        }
    }
}

extension ControlError {
    /// A store failure as the caller should see it: a lost race is a conflict
    /// (412), an unanswered write is "outcome unknown", the rest unavailable.
    static func storing(_ error: any Error) -> ControlError {
        switch error {
        case StoreError.conflict(let route, let expected?, let actual?):
            .stale(route: route, expected: expected, actual: actual)
        case StoreError.conflict:
            .conflict("\(error)")
        case StoreError.outcomeUnknown(let reason):
            .outcomeUnknown(reason)
        default:
            .storage("\(error)")
        }
    }
}

extension Route {
    /// Equal in everything but the revision number.
    func sameDeclaration(as other: Route) -> Bool {
        var copy = other
        copy.revision = revision
        return copy == self
    }
}
