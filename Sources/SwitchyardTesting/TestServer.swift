import Foundation
public import Logging
import ServiceLifecycle
public import SwitchyardClient
import SwitchyardConfig
import SwitchyardControl
public import SwitchyardCore
import SwitchyardGateway
public import SwitchyardServer

/// A whole `serve` on loopback for one test: the same `ServerAssembly`
/// (gateway, control plane, management API, ticker, roll-ups, lifecycle
/// monitor, rollout driver), on ports the OS picks, with its state in a fresh
/// SQLite file unless the test names a store.
public struct TestServer: Sendable {
    public let assembly: ServerAssembly
    public let gatewayPort: Int
    public let adminPort: Int
    /// The admin token the management API accepts.
    public let adminToken: String

    public var gatewayURL: String { "http://127.0.0.1:\(gatewayPort)" }
    public var adminURL: String { "http://127.0.0.1:\(adminPort)" }

    /// A management client with the admin token (or another).
    public func client(token: String? = nil) -> ManagementClient {
        ManagementClient(baseURL: adminURL, token: token ?? adminToken)
    }

    public static let quiet: Logger = {
        var logger = Logger(label: "test.server")
        logger.logLevel = .critical
        return logger
    }()

    /// Boots the server with `routes` as its config file, runs `body`, then
    /// shuts it down as SIGTERM would (the gateway drains first).
    /// - Parameter state: where the state lives; `nil` is a fresh SQLite file.
    /// - Parameter adjust: changes any other setting `serve` has a flag for.
    public static func run(
        routes: [Route]?,
        state: StateLocation? = nil,
        access: AccessConfig = AccessConfig(),
        catalog: LifecycleCatalog? = nil,
        adjust: (inout ServerAssembly.Settings) -> Void = { _ in },
        body: (TestServer) async throws -> Void
    ) async throws {
        let folder = TemporaryStore()
        defer { folder.remove() }
        let token = UUID().uuidString
        var settings = ServerAssembly.Settings(
            listen: .loopbackAnyPort,
            adminListen: .loopbackAnyPort,
            state: state ?? .sqlite(folder.path),
            access: access,
            adminToken: token,
            catalog: try catalog ?? CatalogFile.shipped(),
            config: routes.map { ($0, "test", "test.yaml") }
        )
        adjust(&settings)
        let (gatewayPorts, gatewayPort) = AsyncStream<Int>.makeStream()
        let (adminPorts, adminPort) = AsyncStream<Int>.makeStream()
        let assembly = try await ServerAssembly.assemble(
            settings, logger: quiet,
            onGateway: { port in gatewayPort.yield(port); gatewayPort.finish() },
            onAdmin: { port in adminPort.yield(port); adminPort.finish() }
        )
        let services = ServiceGroup(configuration: .init(services: assembly.services, logger: quiet))
        let running = Task { try await services.run() }
        var gatewayIterator = gatewayPorts.makeAsyncIterator()
        var adminIterator = adminPorts.makeAsyncIterator()
        guard let gateway = await gatewayIterator.next(), let admin = await adminIterator.next() else {
            await services.triggerGracefulShutdown()
            _ = await running.result
            throw TestSetupError("the server did not start listening")
        }
        let server = TestServer(assembly: assembly, gatewayPort: gateway, adminPort: admin, adminToken: token)
        let outcome: Result<Void, any Error>
        do {
            try await body(server)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await services.triggerGracefulShutdown()
        _ = await running.result
        try outcome.get()
    }
}
