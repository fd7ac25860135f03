import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import SwitchyardConfig
import SwitchyardCore
import SwitchyardGateway

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway: OpenAI and Azure OpenAI chat completions, split by weight across pinned deployments."
    )

    @Option(name: .long, help: "YAML file of routes and deployments, applied at start.")
    var config: String?

    @Option(name: .long, help: "Gateway address, HOST:PORT.")
    var listen = ListenAddress(host: "127.0.0.1", port: 8080)

    @Option(name: .long, help: "YAML file of management tokens and client keys (SHA-256 digests only).")
    var tokens: String?

    @Option(name: .long, help: "Largest request body accepted, in bytes.")
    var maxBodyBytes = 8 << 20

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "switchyard")
        let routes = try loadRoutes()
        let access = try loadAccess()
        let gateway = Gateway(
            options: .init(maxRequestBytes: maxBodyBytes),
            access: access,
            logger: logger
        )
        try gateway.install(routes)
        for route in routes {
            let split = route.deployments.map { "\($0.name)=\($0.weight)%" }.joined(separator: " ")
            logger.info("route \(route.name) r\(route.revision): \(split)")
        }
        let app = gateway.buildApplication(host: listen.host, port: listen.port) { port in
            logger.notice("gateway listening on http://\(listen.host):\(port)")
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [GatewayConnections(gateway: gateway), app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// A refused file ends the process with status 1 and `Error: FILE:LINE: KEY: REASON`.
    private func loadRoutes() throws -> [Route] {
        guard let config else { return [] }
        return try RoutesFile.parse(try readText(config), file: config)
    }

    private func loadAccess() throws -> AccessConfig {
        guard let tokens else { return AccessConfig() }
        return try TokensFile.parse(try readText(tokens), file: tokens)
    }
}

/// Reads a whole text file, or fails with a message naming it.
func readText(_ path: String) throws -> String {
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw CommandFailure("cannot read \(path): \((error as NSError).localizedDescription)")
    }
}

/// A failure to report in one line and exit with status 1 (not a usage error).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
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
