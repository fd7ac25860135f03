public import Foundation
public import Logging
public import Prometheus
import Synchronization
public import SwitchyardCore
public import SwitchyardClock

/// The data plane: holds the routing table and serves chat completions.
///
/// The table is an immutable value swapped as a whole, so a change is in
/// effect for the very next request and a request in flight keeps the plan it
/// started with.
public final class Gateway: Sendable {
    public struct Options: Sendable {
        /// Largest request body accepted, in bytes; larger ones get `413`.
        public var maxRequestBytes: Int
        /// Largest non-streamed reply accepted from an upstream.
        public var maxReplyBytes: Int
        public var breakerPolicy: CircuitBreaker.Policy
        /// Connections per upstream host and event loop at most (more requests
        /// wait for one); also the idle connections kept.
        public var connectionsPerHost: Int
        /// Environment consulted for upstream keys (`apiKeyEnv`).
        public var environment: [String: String]

        /// The default request-body cap: room for a vision request with
        /// several large images in base64 (providers take about 50 MB). A body
        /// is held in memory while it is read, so the worst case is this times
        /// the bodies arriving at once; lower it where clients send text only.
        public static let defaultMaxRequestBytes = 64 << 20

        public init(
            maxRequestBytes: Int = Options.defaultMaxRequestBytes,
            maxReplyBytes: Int = 64 << 20,
            breakerPolicy: CircuitBreaker.Policy = .init(),
            connectionsPerHost: Int = 256,
            environment: [String: String] = ProcessInfo.processInfo.environment
        ) {
            self.maxRequestBytes = maxRequestBytes
            self.maxReplyBytes = maxReplyBytes
            self.breakerPolicy = breakerPolicy
            self.connectionsPerHost = connectionsPerHost
            self.environment = environment
        }
    }

    public let options: Options
    /// Access log and traces; both off unless `serve` turns them on.
    public let observability: GatewayObservability
    public let registry: PrometheusCollectorRegistry
    let clock: any MomentClock
    let logger: Logger
    let clients: UpstreamClients
    let access: ClientAccess
    let table = Mutex<[String: InstalledRoute]>([:])
    /// Per route: retired deployments and the deployment replacing each (if any).
    private let retired = Mutex<[String: [String: String?]]>([:])
    private let lastPlans = Mutex<[String: RoutePlan]>([:])
    /// `route/deployment/variable` already warned about, so a weight change does not repeat it.
    private let warnedMissingKeys = Mutex<Set<String>>([])
    /// `switchyard_responses_total` counters by route and status, made once:
    /// building a descriptor and labels on every response would cost more
    /// than counting it.
    private let responseCounters = Mutex<[String: Counter]>([:])
    private let runtimes = Mutex<[String: DeploymentRuntime]>([:])
    private let installed = Atomic<Bool>(false)
    /// Counts requests without a sticky key, to spread them over the buckets.
    let anonymousRequests = Atomic<UInt64>(0)
    /// Shadow mirrors by route, and the reports of those that stopped.
    let shadows = Mutex<[String: ShadowMirror]>([:])
    let finishedShadows = Mutex<[String: ShadowReport]>([:])
    let finishedSamples = Mutex<[String: [ShadowSample]]>([:])
    /// Why the shared state store cannot be reached (fleet mode), for `/readyz`.
    let stateStoreProblem = Mutex<String?>(nil)
    /// When this gateway was made, for `process_start_time_seconds`.
    let startedAt: Moment
    /// Rollout and retirement gauges for alerting, written at scrape time.
    let operationalGauges = OperationalGauges()
    /// Recent request ids → route and deployment, for feedback.
    let ledger = RequestLedger(capacity: 100_000)
    /// Recent response ids → the deployment that created them (Responses API).
    let responseAffinity = ResponseAffinityCache(capacity: 100_000)

    public init(
        options: Options = Options(),
        access: AccessConfig = AccessConfig(),
        clock: any MomentClock = SystemClock(),
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger = Logger(label: "switchyard.gateway"),
        observability: GatewayObservability = GatewayObservability()
    ) {
        self.options = options
        self.observability = observability
        self.registry = registry
        self.clock = clock
        self.startedAt = clock.now()
        self.logger = logger
        self.clients = UpstreamClients(connectionsPerHost: options.connectionsPerHost)
        self.access = ClientAccess(keys: access.clientKeys)
    }

    /// Replaces the routing table. Each route keeps its sticky bucket
    /// ownership from the previous table, so weight changes move only the
    /// users they must.
    public func install(_ routes: [Route]) throws(RouteError) {
        let previous = table.withLock { $0 }
        var plans: [RoutePlan] = []
        for route in routes {
            try route.validate()
            do {
                plans.append(try RoutePlan(route: route, previous: previous[route.name]?.plan.allocation))
            } catch {
                throw .weights(route: route.name, error)
            }
        }
        installPlans(plans)
    }

    func installPlans(_ plans: [RoutePlan]) {
        lastPlans.withLock { $0 = Dictionary(plans.map { ($0.route.name, $0) }, uniquingKeysWith: { _, last in last }) }
        let retiredNow = retired.withLock { $0 }
        let previous = table.withLock { $0 }
        var next: [String: InstalledRoute] = [:]
        next.reserveCapacity(plans.count)
        for plan in plans {
            let route = plan.route
            let retiredHere = retiredNow[route.name] ?? [:]
            let retiredFlags = route.deployments.map { retiredHere[$0.name] != nil }
            // A route whose revision and retirements are unchanged keeps its
            // compiled form: one change to one route of thousands costs one
            // route. (A revision is one declaration: the store refuses a second
            // write of the same revision.)
            if let kept = previous[route.name], kept.plan.route.revision == route.revision, kept.retired == retiredFlags {
                next[route.name] = kept
                continue
            }
            warnAboutMissingKeys(plan)
            next[route.name] = InstalledRoute(
                plan: plan,
                targets: route.deployments.map { UpstreamTarget(deployment: $0, environment: options.environment, clients: clients) },
                runtimes: route.deployments.map { runtime(route: route.name, deployment: $0.name) },
                revisionHeader: String(route.revision),
                retired: retiredFlags,
                replacement: route.deployments.map { deployment in
                    (retiredHere[deployment.name] ?? nil).flatMap { name in route.deployments.firstIndex { $0.name == name } }
                }
            )
        }
        table.withLock { $0 = next }
        installed.store(true, ordering: .releasing)
    }

    /// Replaces one route's plan and leaves every other route as it is.
    func installPlan(_ plan: RoutePlan) {
        lastPlans.withLock { $0[plan.route.name] = plan }
        let retiredHere = retired.withLock { $0[plan.route.name] } ?? [:]
        let route = plan.route
        warnAboutMissingKeys(plan)
        let installedRoute = InstalledRoute(
            plan: plan,
            targets: route.deployments.map { UpstreamTarget(deployment: $0, environment: options.environment, clients: clients) },
            runtimes: route.deployments.map { runtime(route: route.name, deployment: $0.name) },
            revisionHeader: String(route.revision),
            retired: route.deployments.map { retiredHere[$0.name] != nil },
            replacement: route.deployments.map { deployment in
                (retiredHere[deployment.name] ?? nil).flatMap { name in route.deployments.firstIndex { $0.name == name } }
            }
        )
        table.withLock { $0[route.name] = installedRoute }
    }

    /// Says once per deployment when its `apiKeyEnv` names a variable that is
    /// unset, empty or not sendable: its requests would go out without a key.
    private func warnAboutMissingKeys(_ plan: RoutePlan) {
        let route = plan.route
        do {
            for deployment in route.deployments {
                guard let variable = deployment.upstream.apiKeyEnv else { continue }
                let value = options.environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                guard value.isEmpty || !value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { continue }
                let id = "\(route.name)/\(deployment.name)/\(variable)"
                guard warnedMissingKeys.withLock({ $0.insert(id).inserted }) else { continue }
                logger.warning(
                    "deployment \(deployment.name) of route \(route.name) takes its upstream key from \(variable), which is \(value.isEmpty ? "unset or empty" : "not a valid header value"); its requests go out without a key"
                )
            }
        }
    }

    /// Takes the lifecycle's verdicts: retired deployments get no traffic (their
    /// requests go to the replacement, else to the route's other deployments),
    /// and the retirement countdowns become Prometheus gauges.
    public func applyLifecycle(_ state: LifecycleState) {
        retired.withLock { $0 = state.retired }
        installPlans(Array(lastPlans.withLock { $0 }.values))
        noteRetirements(state.report)
        for item in state.report.items {
            guard let timeLeft = item.timeLeft else { continue }
            registry.makeGauge(
                descriptor: MetricNames.retirementCountdown,
                labels: [("provider", item.provider.rawValue), ("model", item.model), ("version", item.version), ("deployment_type", item.deploymentType.rawValue)]
            ).set(timeLeft.secondsDouble)
        }
    }

    /// Fleet mode: client rate limits counted in the shared store, so they
    /// hold across replicas (each replica's own limiter is the fallback).
    public func useSharedRateLimits(_ limits: any SharedRateLimits) {
        access.useShared(limits)
    }

    /// Records whether the shared state store answers; `/readyz` reports it.
    /// The gateway keeps serving its last routes either way.
    public func setStateStoreProblem(_ problem: String?) {
        stateStoreProblem.withLock { $0 = problem }
    }

    /// Whether a routing table has been installed (for `/readyz`).
    public var isReady: Bool { installed.load(ordering: .acquiring) }

    /// The routes currently served, by name.
    public var routes: [Route] {
        table.withLock { $0.values.map(\.plan.route) }.sorted { $0.name < $1.name }
    }

    /// The plan of one route, as currently installed.
    public func plan(route: String) -> RoutePlan? {
        table.withLock { $0[route]?.plan }
    }

    func installedRoute(_ name: String) -> InstalledRoute? {
        table.withLock { $0[name] }
    }

    var routeNames: [String] {
        table.withLock { Array($0.keys) }.sorted()
    }

    /// The runtime (breaker and metrics) of one deployment, created on first use.
    public func runtime(route: String, deployment: String) -> DeploymentRuntime {
        let key = route + "\u{0}" + deployment
        return runtimes.withLock { runtimes in
            if let existing = runtimes[key] { return existing }
            let created = DeploymentRuntime(route: route, deployment: deployment, policy: options.breakerPolicy, registry: registry)
            runtimes[key] = created
            return created
        }
    }

    /// Counts one response to a client.
    func countResponse(route: String, status: Int) {
        let key = route + "\u{0}" + String(status)
        let counter = responseCounters.withLock { counters in
            if let existing = counters[key] { return existing }
            let created = registry.makeCounter(descriptor: MetricNames.responses, labels: [("route", route), ("code", String(status))])
            counters[key] = created
            return created
        }
        counter.increment()
    }

    /// Closes upstream connections. Call after the HTTP server has stopped.
    public func shutdown() async {
        await clients.shutdown()
    }
}
