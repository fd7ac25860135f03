import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardHTTP
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardTesting

/// Simulated upstreams and a gateway on loopback, each on a port the OS picked,
/// for the duration of one test.
struct LiveCluster: Sendable {
    let gateway: Gateway
    let gatewayPort: Int
    let simulators: [Simulator]
    let simulatorPorts: [Int]

    var baseURL: String { "http://127.0.0.1:\(gatewayPort)" }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Starts one simulator per configuration, then a gateway serving the
    /// routes `routes(ports)` builds, runs `body`, and stops everything.
    static func run(
        simulators configurations: [SimulatorConfiguration],
        options: Gateway.Options = Gateway.Options(environment: [:]),
        access: AccessConfig = AccessConfig(),
        observability: GatewayObservability = GatewayObservability(),
        routes: @escaping @Sendable ([Int]) throws -> [Route],
        body: @Sendable (LiveCluster) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var simulators: [Simulator] = []
            var ports: [Int] = []
            for configuration in configurations {
                let simulator = Simulator(configuration: configuration)
                let port = try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: logger, onServerRunning: $0) }
                simulators.append(simulator)
                ports.append(port)
            }
            let gateway = Gateway(options: options, access: access, logger: logger, observability: observability)
            try gateway.install(try routes(ports))
            let gatewayPort = try await startListening(in: &group) { gateway.buildApplication(host: "127.0.0.1", port: 0, onServerRunning: $0) }
            let cluster = LiveCluster(gateway: gateway, gatewayPort: gatewayPort, simulators: simulators, simulatorPorts: ports)
            do {
                try await body(cluster)
            } catch {
                group.cancelAll()
                await gateway.shutdown()
                throw error
            }
            group.cancelAll()
            await gateway.shutdown()
        }
    }

    /// A finished exchange with the gateway.
    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: String

        var json: JSONValue? { try? JSONText.decode(Array(body.utf8)) }
        var deployment: String? { headers.first(name: "x-switchyard-deployment") }
        var errorMessage: String? { json?["error"]?["message"]?.stringValue }
        var errorCode: String? { json?["error"]?["code"]?.stringValue }
    }

    func post(_ path: String = "/v1/chat/completions", body: String, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    func delete(_ path: String) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .DELETE
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// A chat request body for `route`, as a given user.
    static func chat(route: String = "chat-prod", user: String? = nil, stream: Bool = false, extra: String = "") -> String {
        var fields = [#""model":"\#(route)""#, #""messages":[{"role":"user","content":"Say hello."}]"#]
        if let user { fields.append(#""user":"\#(user)""#) }
        if stream { fields.append(#""stream":true"#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A deployment on the simulator listening on `port`.
    static func deployment(
        _ name: String,
        percent: Double,
        port: Int,
        version: String = "2024-11-20",
        priority: Int = 1,
        timeouts: UpstreamTimeouts = UpstreamTimeouts()
    ) -> Deployment {
        Deployment(
            name: name,
            weight: try! Weight(percent: percent),
            model: "gpt-4o",
            version: version,
            upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(port)/v1"),
            priority: priority,
            timeouts: timeouts
        )
    }
}
