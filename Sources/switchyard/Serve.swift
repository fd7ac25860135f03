import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import SwitchyardServer
import SwitchyardConfig
import SwitchyardCore
import SwitchyardGateway
import SwitchyardHTTP
import SwitchyardStore
import SwitchyardSecrets

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway: OpenAI and Azure OpenAI chat completions, split by weight across pinned deployments."
    )

    @Option(name: .long, help: "YAML file of routes and deployments, applied at start.")
    var config: String?

    @Option(name: .long, help: "Gateway address, HOST:PORT.")
    var listen = ListenAddress(host: "127.0.0.1", port: 8080)

    @Option(name: .long, help: "Management API address, HOST:PORT (keep it on loopback unless fronted by TLS).")
    var adminListen = ListenAddress(host: "127.0.0.1", port: 8081)

    @Option(name: .customLong("state"), help: "State store: sqlite:PATH (one process) or postgres://USER[:PASSWORD]@HOST:PORT/DB (a fleet of replicas). Default: $SWITCHYARD_STATE, else sqlite:./switchyard.sqlite. A password left out of the URL comes from $PGPASSWORD; keep it off the command line, where every user can read it.")
    var stateOption: String?

    /// `--state`, else `SWITCHYARD_STATE`, else a SQLite file here.
    var state: String {
        stateOption ?? ProcessInfo.processInfo.environment["SWITCHYARD_STATE"].flatMap { $0.isEmpty ? nil : $0 } ?? "sqlite:./switchyard.sqlite"
    }

    @Option(name: .long, help: "YAML file of management tokens and client keys (SHA-256 digests only).")
    var tokens: String?

    @Option(name: .long, help: "Lifecycle catalog YAML (default: the catalog shipped in the binary).")
    var catalog: String?

    @Option(name: .long, help: "Fleet mode: how long a replica's hold on a rollout lasts without renewal; when it dies, another replica takes the rollout over after this.")
    var rolloutLease = "10s"

    @Option(name: .long, help: "Fleet mode: how often each replica publishes its figures to PostgreSQL and reads the whole fleet's.")
    var fleetMetricsEvery = "10s"

    @Option(name: .long, help: "Largest request body accepted, in bytes (default 64 MiB: vision requests with several images). Held in memory while read.")
    var maxBodyBytes = Gateway.Options.defaultMaxRequestBytes

    @Option(name: .long, help: "Most client connections the gateway holds at once (default: what the open-file limit allows, up to 100000). At the limit the longest-idle connection makes room.")
    var maxConnections: Int?

    @Option(name: .long, help: "Most connections to one upstream host at once, streams included (default: what the open-file limit leaves for upstream connections, at least 1024). Past it, requests wait for a free connection within their first-token deadline.")
    var upstreamConnections: Int?

    @Option(name: .long, help: "Close a client connection after this long with no request in progress (both servers).")
    var idleTimeout = "60s"

    @Option(name: .long, help: "Close a client connection whose request head (or body) stalls for this long (both servers).")
    var headerTimeout = "10s"

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        guard maxBodyBytes > 0, maxBodyBytes <= 1 << 30 else { throw ValidationError("--max-body-bytes \(maxBodyBytes) must be from 1 to 1073741824 (1 GiB)") }
        if let upstreamConnections, !(1...1_000_000).contains(upstreamConnections) {
            throw ValidationError("--upstream-connections \(upstreamConnections) must be from 1 to 1000000")
        }
        if let maxConnections, !(1...1_000_000).contains(maxConnections) {
            throw ValidationError("--max-connections \(maxConnections) must be from 1 to 1000000")
        }
        for (flag, text) in [("--idle-timeout", idleTimeout), ("--header-timeout", headerTimeout)] {
            do {
                let duration = try DurationText.checked(text)
                guard duration >= .milliseconds(100) else { throw ValidationError("\(flag) \(text) is shorter than 100ms") }
            } catch let error as DurationText.Invalid {
                throw ValidationError("\(flag) \(error)")
            }
        }
        guard let lease = DurationText.parse(rolloutLease), lease >= .seconds(1) else {
            throw ValidationError("--rollout-lease must be a duration of at least 1s, e.g. 10s")
        }
        guard let every = DurationText.parse(fleetMetricsEvery), every >= .seconds(1) else {
            throw ValidationError("--fleet-metrics-every must be a duration of at least 1s, e.g. 10s")
        }
        _ = try statePath()
    }

    private func statePath() throws -> StateLocation {
        if state.hasPrefix("sqlite:") {
            let path = String(state.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("--state sqlite:PATH needs a path") }
            return .sqlite(path)
        }
        if state.hasPrefix("postgres://") || state.hasPrefix("postgresql://") {
            do {
                _ = try PostgresDSN(state)
            } catch {
                throw ValidationError("--state: \(error)")
            }
            return .postgres(state)
        }
        throw ValidationError("--state must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE")
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "switchyard")
        let budget = DescriptorBudget.raiseAndSplit(requested: maxConnections)
        logger.notice(
            "open-file limit \(budget.limit)\(budget.limit != budget.previousLimit ? " (raised from \(budget.previousLimit))" : ""): the gateway holds up to \(budget.gatewayConnections) client connections, the management API \(budget.adminConnections)"
        )
        if let maxConnections, maxConnections > budget.gatewayConnections {
            logger.warning("--max-connections \(maxConnections) is more than the open-file limit \(budget.limit) leaves room for; using \(budget.gatewayConnections)")
        }
        let idle = DurationText.parse(idleTimeout) ?? .seconds(60)
        let header = DurationText.parse(headerTimeout) ?? .seconds(10)
        let host = listen.host
        let adminHost = adminListen.host
        let observed: (observability: GatewayObservability, services: [any Service])
        do {
            observed = try observability.make(logger: logger)
        } catch let failure as AccessLog.OpenFailure {
            throw CommandFailure(failure.description)
        }
        let server = try await ServerAssembly.assemble(
            .init(
                listen: listen,
                adminListen: adminListen,
                state: try statePath(),
                access: try loadAccess(),
                adminToken: ProcessInfo.processInfo.environment["SWITCHYARD_ADMIN_TOKEN"],
                catalog: try loadCatalog(),
                config: try loadConfig(),
                maxBodyBytes: maxBodyBytes,
                gatewayLimits: ConnectionLimits(maxConnections: budget.gatewayConnections, idleTimeout: idle, headerTimeout: header),
                adminLimits: ConnectionLimits(maxConnections: budget.adminConnections, idleTimeout: idle, headerTimeout: header),
                upstreamConnectionsPerHost: upstreamConnections ?? max(1024, budget.upstreamConnections),
                rolloutLease: DurationText.parse(rolloutLease) ?? .seconds(10),
                fleetMetricsInterval: DurationText.parse(fleetMetricsEvery) ?? .seconds(10),
                observability: observed.observability
            ),
            logger: logger,
            onGateway: { port in logger.notice("gateway listening on http://\(host):\(port)") },
            onAdmin: { port in logger.notice("management API listening on http://\(adminHost):\(port)/api/v1") }
        )
        let group = ServiceGroup(
            configuration: .init(services: observed.services + server.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    private func loadCatalog() throws -> LifecycleCatalog {
        guard let catalog else { return try CatalogFile.shipped() }
        return try CatalogFile.parse(try TextFile.read(catalog), file: catalog)
    }

    /// The config file's routes and fingerprint (SHA-256 of its bytes).
    private func loadConfig() throws -> (routes: [Route], fingerprint: String, source: String)? {
        guard let config else { return nil }
        let text = try TextFile.read(config)
        let routes: [Route]
        do {
            routes = try RoutesFile.parse(text, file: config)
        } catch {
            guard error.declaresNoRoutes else { throw error }
            var refusal = error
            refusal.reason = "the file declares no routes; serve --config needs at least one (to start with none, leave out --config; to delete every route, use ctl apply --prune-all)"
            throw refusal
        }
        return (routes, Hex.encode(SecretDigest.sha256(text)), config)
    }

    /// A refused file ends the process with status 1 and `Error: FILE:LINE: KEY: REASON`.
    private func loadAccess() throws -> AccessConfig {
        guard let tokens else { return AccessConfig() }
        return try TokensFile.parse(try TextFile.read(tokens), file: tokens)
    }
}

/// A failure to report in one line and exit with status 1 (not a usage error).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
