import Foundation
public import Logging
public import ServiceLifecycle
import SwitchyardConfig
public import SwitchyardControl
public import SwitchyardCore
public import SwitchyardGateway
public import SwitchyardHTTP
import SwitchyardStore

/// Where `serve` keeps its state.
public enum StateLocation: Sendable {
    case sqlite(String)
    case postgres(String)
}

/// Everything `serve` runs — gateway, control plane, management API, event
/// ticker, roll-ups, lifecycle monitor — wired once, so `demo` runs the very
/// same server, and so do the tests (`SwitchyardTesting.TestServer`).
public struct ServerAssembly: Sendable {
    public let gateway: Gateway
    public let control: ControlPlane
    /// In shutdown order reversed: the gateway drains first, then the ticker
    /// ends the event streams so the management API can drain too.
    public let services: [any Service]

    /// What `serve`'s flags decide.
    public struct Settings: Sendable {
        public var listen: ListenAddress
        public var adminListen: ListenAddress
        public var state: StateLocation
        public var access: AccessConfig
        public var adminToken: String?
        public var catalog: LifecycleCatalog
        public var config: (routes: [Route], fingerprint: String, source: String)?
        public var maxBodyBytes = Gateway.Options.defaultMaxRequestBytes
        /// Client connection caps and timeouts of the gateway and the management API.
        public var gatewayLimits = ConnectionLimits()
        public var adminLimits = ConnectionLimits(maxConnections: 256)
        /// The most connections to one upstream host, across the event loops
        /// (streams hold theirs for their whole length).
        public var upstreamConnectionsPerHost = 4096
        public var rolloutLease: Duration = .seconds(10)
        /// Fleet mode: how often each replica publishes its figures and reads the fleet's.
        public var fleetMetricsInterval: Duration = .seconds(10)
        /// The access log and the tracer, if `serve` turned them on.
        public var observability = GatewayObservability()

        public init(
            listen: ListenAddress,
            adminListen: ListenAddress,
            state: StateLocation,
            access: AccessConfig,
            adminToken: String?,
            catalog: LifecycleCatalog,
            config: (routes: [Route], fingerprint: String, source: String)?,
            maxBodyBytes: Int = Gateway.Options.defaultMaxRequestBytes,
            gatewayLimits: ConnectionLimits = ConnectionLimits(),
            adminLimits: ConnectionLimits = ConnectionLimits(maxConnections: 256),
            upstreamConnectionsPerHost: Int = 4096,
            rolloutLease: Duration = .seconds(10),
            fleetMetricsInterval: Duration = .seconds(10),
            observability: GatewayObservability = GatewayObservability()
        ) {
            self.observability = observability
            self.listen = listen
            self.adminListen = adminListen
            self.state = state
            self.access = access
            self.adminToken = adminToken
            self.catalog = catalog
            self.config = config
            self.maxBodyBytes = maxBodyBytes
            self.gatewayLimits = gatewayLimits
            self.adminLimits = adminLimits
            self.upstreamConnectionsPerHost = upstreamConnectionsPerHost
            self.rolloutLease = rolloutLease
            self.fleetMetricsInterval = fleetMetricsInterval
        }
    }

    /// Opens the state store, starts the control plane from it (and the
    /// config, if any) and builds every service; nothing listens until the
    /// services run. `onGateway` and `onAdmin` hear the ports bound.
    public static func assemble(
        _ settings: Settings,
        logger: Logger,
        onGateway: @escaping @Sendable (Int) async -> Void,
        onAdmin: @escaping @Sendable (Int) async -> Void
    ) async throws -> ServerAssembly {
        // The pool's cap is per event loop; requests spread over the loops.
        let loops = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let perLoop = max(1, settings.upstreamConnectionsPerHost / loops)
        let gateway = Gateway(
            options: .init(maxRequestBytes: settings.maxBodyBytes, connectionsPerHost: perLoop), access: settings.access, logger: logger,
            observability: settings.observability
        )
        let store: any StateStore
        switch settings.state {
        case .sqlite(let path):
            store = try SQLiteStateStore(path: path)
        case .postgres(let url):
            let shared = try await PostgresStateStore(url: url, logger: logger)
            logger.notice("state in PostgreSQL at \(shared.location): fleet mode, changes from other replicas apply as they land")
            gateway.useSharedRateLimits(shared)
            store = shared
        }
        // Response ids → the deployment holding them: in the store, so every
        // replica (and the next start) finds them.
        if let affinity = store as? any ResponseAffinityStore { gateway.useResponseAffinityStore(affinity) }
        let control = ControlPlane(
            store: store,
            catalog: settings.catalog,
            logger: logger,
            lifecycle: { state in gateway.applyLifecycle(state) },
            installOne: { plan in gateway.install(plan: plan) },
            install: { plans in gateway.install(plans: plans) }
        )
        // In a fleet the API and the gates see every replica's traffic; alone, this gateway's.
        let fleetMetrics: FleetMetrics? = store is any SharedStateStore ? FleetMetrics(local: gateway) : nil
        let metrics: any RolloutDataPlane = fleetMetrics ?? gateway
        await control.attach(dataPlane: metrics)
        if let tracer = settings.observability.tracer { await control.attach(tracer: tracer) }
        await control.setLeaseTTL(settings.rolloutLease)
        try await control.start(config: settings.config)
        for plan in await control.currentPlans {
            logger.info("route \(plan.route.name) r\(plan.route.revision): \(plan.route.splitSummary)")
        }
        let hub = EventHub()
        let management = ManagementAPI(
            control: control,
            auth: ManagementAuth(tokens: settings.access.tokens, adminToken: settings.adminToken),
            metrics: metrics,
            hub: hub,
            tracer: settings.observability.tracer
        )
        await management.connectEvents()
        if settings.access.tokens.isEmpty, settings.adminToken?.isEmpty ?? true {
            logger.warning("no management tokens: set SWITCHYARD_ADMIN_TOKEN or pass --tokens; the management API refuses every call until then")
        }
        let adminApp = DirectHTTPServer(
            responder: management.buildResponder(),
            configuration: .init(
                host: settings.adminListen.host, port: settings.adminListen.port, serverName: "switchyard-admin",
                maxBodyBytes: management.maxBodyBytes, limits: settings.adminLimits
            ),
            logger: logger,
            onServerRunning: onAdmin
        )
        let app = gateway.buildApplication(
            host: settings.listen.host, port: settings.listen.port, limits: settings.gatewayLimits, onServerRunning: onGateway
        )
        // In a fleet, changes other replicas make arrive through the shared store.
        var fleet: [any Service] = (store as? any SharedStateStore).map {
            [FleetSync(control: control, store: $0, report: { problem in gateway.setStateStoreProblem(problem) })]
        } ?? []
        if let fleetMetrics {
            fleet.append(FleetMetricsSync(control: control, local: gateway, fleet: fleetMetrics, interval: settings.fleetMetricsInterval, logger: logger))
        }
        return ServerAssembly(
            gateway: gateway,
            control: control,
            services: [
                GatewayConnections(gateway: gateway), MetricsRollupWriter(control: control, metrics: gateway, logger: logger),
                LifecycleMonitor(control: control), RolloutDriver(control: control),
            ] + fleet + [adminApp, MetricsTicker(hub: hub, control: control, metrics: metrics), app]
        )
    }
}

/// Closes upstream connections once the HTTP server in front of it has drained.
struct GatewayConnections: Service {
    let gateway: Gateway

    func run() async throws {
        try? await gracefulShutdown()
        await gateway.shutdown()
    }
}
