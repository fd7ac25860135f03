import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchyardControl
import SwitchyardCore
import SwitchyardGateway
import SwitchyardHTTP
import SwitchyardSimulator
import SwitchyardStore
import SwitchyardClock
import SwitchyardTesting

/// Simulated upstreams, a gateway on loopback, and a control plane with its
/// rollout engine over a real SQLite file — all on one adjustable clock.
struct RolloutCluster: Sendable {
    let gateway: Gateway
    let gatewayPort: Int
    let simulators: [String: Simulator]
    let control: ControlPlane
    let clock: OffsetClock
    let storePath: String

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Starts one simulator per deployment name, a gateway, and a control plane serving route `chat-prod`
    /// (`names[0]` stable at 100 %, the others at 0).
    static func run(
        _ configurations: [(String, SimulatorConfiguration)],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        body: @Sendable (RolloutCluster) async throws -> Void
    ) async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var simulators: [String: Simulator] = [:]
            var deployments: [Deployment] = []
            for (index, (name, configuration)) in configurations.enumerated() {
                let simulator = Simulator(configuration: configuration)
                let port = try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: logger, onServerRunning: $0) }
                simulators[name] = simulator
                deployments.append(
                    Deployment(
                        name: name, weight: index == 0 ? .full : .zero, model: configuration.model, version: configuration.version,
                        upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(port)/v1"), price: Price(inputPer1k: 0.0025, outputPer1k: 0.01),
                        priority: index + 1, timeouts: timeouts
                    )
                )
            }
            let clock = OffsetClock()
            let gateway = Gateway(options: .init(environment: [:]), clock: clock, logger: logger)
            let control = ControlPlane(store: try store.open(), clock: clock, logger: logger) { gateway.install(plans: $0) }
            await control.attach(dataPlane: gateway)
            let route = Route(name: "chat-prod", stable: configurations[0].0, deployments: deployments)
            try await control.start(config: ([route], "f1", "test.yaml"))
            let gatewayPort = try await startListening(in: &group) { gateway.buildApplication(host: "127.0.0.1", port: 0, onServerRunning: $0) }
            let cluster = RolloutCluster(
                gateway: gateway, gatewayPort: gatewayPort, simulators: simulators, control: control, clock: clock, storePath: store.path
            )
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

    /// Sends `count` chat requests, `concurrency` at a time, as users `prefix0…`; returns each one's status and latency.
    @discardableResult
    func traffic(_ count: Int, prefix: String = "u", concurrency: Int = 16) async throws -> [(status: Int, latency: Duration)] {
        let url = "http://127.0.0.1:\(gatewayPort)/v1/chat/completions"
        return try await withThrowingTaskGroup(of: (Int, Duration).self) { group in
            var results: [(status: Int, latency: Duration)] = []
            var next = 0
            func add() {
                let user = "\(prefix)\(next)"
                next += 1
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"model":"chat-prod","user":"\#(user)","messages":[{"role":"user","content":"Say hello."}]}"#))
                    let started = ContinuousClock.now
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    return (Int(response.status.code), ContinuousClock.now - started)
                }
            }
            for _ in 0..<min(concurrency, count) { add() }
            while let result = try await group.next() {
                results.append(result)
                if next < count { add() }
            }
            return results
        }
    }

    /// Starts a rollout from JSON text.
    @discardableResult
    func start(_ plan: String, actor: String = "alice") async throws -> Rollout {
        try await control.startRollout("chat-prod", plan: try JSONText.decode(Array(plan.utf8)), actor: actor)
    }

    /// Moves time on and lets the engine act.
    func advance(_ duration: Duration) async {
        clock.advance(duration)
        await control.tickRollouts()
    }

    var rollout: Rollout? { get async { await control.rollout("chat-prod") } }

    var weights: [String: Double] {
        get async {
            let route = await control.plan("chat-prod")!.route
            return Dictionary(uniqueKeysWithValues: route.deployments.map { ($0.name, $0.weight.percent) })
        }
    }
}
