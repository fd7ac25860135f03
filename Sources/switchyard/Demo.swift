import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SwitchyardServer
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore
import SwitchyardGateway
import SwitchyardSimulator
import SwitchyardTerminal
import SwitchyardClock

/// Everything in one process on loopback: simulated upstreams, the server
/// with its state in a temporary folder, synthetic traffic, a canary that
/// starts to fail — and the console. Nothing is left behind on exit.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole product on loopback with simulated models and traffic, and open the console."
    )

    @Option(name: .long, help: "Seconds until the canary starts to fail (0 … 86400).")
    var canaryFailsAfter = 150

    func validate() throws {
        guard (0...86_400).contains(canaryFailsAfter) else {
            throw ValidationError("--canary-fails-after \(canaryFailsAfter) must be from 0 to 86400 seconds")
        }
    }

    @Flag(name: .long, help: "Leave the mouse to the terminal (native text selection).")
    var noMouse = false

    @Flag(name: .long, help: "ASCII glyphs only (the default when the locale is not UTF-8).")
    var ascii = false

    @Flag(name: .long, help: "Charts in half blocks instead of braille, for fonts without braille.")
    var noBraille = false

    @Option(name: .long, help: "A shipped theme (default, light, high-contrast, deuteranopia, monochrome) or a theme file.")
    var theme: String?

    func run() async throws {
        let chosenTheme = try Themes.load(theme)
        // The console owns the terminal: the servers log nothing to it.
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let logger = Logger(label: "switchyard.demo")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let stable = Simulator(configuration: .init(model: "gpt-4o", version: "2024-11-20", latencyMean: .milliseconds(180), latencyJitter: .milliseconds(60), tokensPerSecond: 80, errorRate: 0.004))
        let canary = Simulator(configuration: .init(model: "gpt-4o", version: "2025-05-13", latencyMean: .milliseconds(200), latencyJitter: .milliseconds(70), tokensPerSecond: 90, errorRate: 0.006))
        let mini = Simulator(configuration: .init(model: "gpt-4o-mini", version: "2024-07-18", latencyMean: .milliseconds(90), latencyJitter: .milliseconds(30), tokensPerSecond: 150, errorRate: 0.003))
        let token = UUID().uuidString
        let ports = PortBook()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, simulator) in [("stable", stable), ("canary", canary), ("mini", mini)] {
                let app = simulator.buildApplication(host: "127.0.0.1", port: 0, logger: logger) { port in await ports.set(name, port) }
                group.addTask { try await app.run() }
            }
            let upstream = (stable: await ports.wait("stable"), canary: await ports.wait("canary"), mini: await ports.wait("mini"))
            let now = SystemClock().now()
            let server = try await ServerAssembly.assemble(
                .init(
                    listen: ListenAddress(host: "127.0.0.1", port: 0),
                    adminListen: ListenAddress(host: "127.0.0.1", port: 0),
                    state: .sqlite(folder.appendingPathComponent("state.sqlite").path),
                    access: AccessConfig(),
                    adminToken: token,
                    catalog: Self.catalog(now: now),
                    config: (Self.routes(upstream), "demo", "demo")
                ),
                logger: logger,
                onGateway: { port in await ports.set("gateway", port) },
                onAdmin: { port in await ports.set("admin", port) }
            )
            let services = ServiceGroup(configuration: .init(services: server.services, logger: logger))
            let servicesRun = Task { try await services.run() }
            let gatewayPort = await ports.wait("gateway")
            let adminPort = await ports.wait("admin")

            try await Self.startRollouts(server.control)
            let traffic = Task { await Self.traffic(gatewayPort: gatewayPort, adminPort: adminPort, token: token) }
            let trouble = Task {
                // A minute or so in, the canary gets worse — then worse still.
                try? await Task.sleep(for: .seconds(canaryFailsAfter))
                canary.configuration.errorRate = 0.05
                try? await Task.sleep(for: .seconds(30))
                canary.configuration.errorRate = 0.12
            }
            let glyphs = GlyphChoice.glyphs(environment: ProcessInfo.processInfo.environment, ascii: ascii, braille: !noBraille)
            await ConsoleRuntime(apiURL: "http://127.0.0.1:\(adminPort)", token: token, readOnly: false, mouse: !noMouse, theme: chosenTheme, glyphs: glyphs).run()
            traffic.cancel()
            trouble.cancel()
            // The server drains and its upstream connections close before the
            // simulators stop: cancelling a simulator while the gateway still
            // opened connections to it left accepted connections unserved.
            await services.triggerGracefulShutdown()
            _ = await servicesRun.result
            await server.gateway.shutdown()
            group.cancelAll()
        }
    }

    static func routes(_ ports: (stable: Int, canary: Int, mini: Int)) -> [Route] {
        func deployment(_ name: String, _ percent: Double, model: String, version: String, port: Int, priority: Int = 1, system: String) -> Deployment {
            Deployment(
                name: name, weight: try! Weight(percent: percent), model: model, version: version,
                upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(port)/v1"),
                prompt: PromptVersion(version: "p1", system: system), params: ["temperature": 0.2, "max_tokens": 400],
                price: model == "gpt-4o-mini" ? Price(inputPer1k: 0.00015, outputPer1k: 0.0006) : Price(inputPer1k: 0.0025, outputPer1k: 0.01),
                priority: priority,
                // The demo's stable version is deprecated and retires in 23 days: kept on purpose.
                allowDeprecated: version == "2024-11-20"
            )
        }
        return [
            Route(
                name: "chat-prod", stable: "gpt4o-prod-v1120", allowPinning: true,
                deployments: [
                    deployment("gpt4o-prod-v1120", 90, model: "gpt-4o", version: "2024-11-20", port: ports.stable, system: "You are a careful assistant."),
                    deployment("gpt4o-prod-v0513", 10, model: "gpt-4o", version: "2025-05-13", port: ports.canary, priority: 2, system: "You are a careful assistant. Answer briefly."),
                ]
            ),
            Route(
                name: "summarize", stable: "gpt4o-sum",
                deployments: [
                    deployment("gpt4o-sum", 50, model: "gpt-4o", version: "2024-11-20", port: ports.stable, system: "Summarise in three sentences."),
                    deployment("mini-sum", 50, model: "gpt-4o-mini", version: "2024-07-18", port: ports.mini, priority: 2, system: "Summarise in three sentences."),
                ]
            ),
            Route(
                name: "contracts", stable: "gpt4o-contracts",
                deployments: [
                    deployment("gpt4o-contracts", 100, model: "gpt-4o", version: "2024-11-20", port: ports.stable, system: "Quote clauses exactly."),
                    // Compared in the shadow before it takes any traffic: `c` on this route opens the pairs.
                    deployment("gpt4o-contracts-next", 0, model: "gpt-4o", version: "2025-05-13", port: ports.canary, priority: 2, system: "Quote clauses exactly."),
                ]
            ),
        ]
    }

    /// Dates relative to now, so the countdowns tell a story whatever the day.
    static func catalog(now: Moment) -> LifecycleCatalog {
        func day(_ offset: Int) -> CalendarDay { CalendarDay(now + .seconds(Int64(offset) * 86_400)) }
        return LifecycleCatalog(
            entries: [
                .init(
                    provider: .openai, model: "gpt-4o", version: "2024-11-20",
                    dates: [.standard: .init(deprecation: day(-37), retirement: day(23))],
                    replacement: ("gpt-4o", "2025-05-13"), source: "demo data"
                ),
                .init(
                    provider: .openai, model: "gpt-4o-mini", version: "2024-07-18",
                    dates: [.standard: .init(retirement: day(75), retirementNoEarlierThan: false)],
                    source: "demo data"
                ),
            ],
            source: "demo data (dates relative to now)"
        )
    }

    /// A canary with steps and gates on chat-prod — the canary starts to fail
    /// a minute or so in, and the gates roll it back on their own unless
    /// someone gets there first — and an A/B experiment on summarize.
    static func startRollouts(_ control: ControlPlane) async throws {
        let canary: JSONValue = [
            "strategy": "canary", "canary": "gpt4o-prod-v0513",
            "steps": [["setWeight": 10], ["pause": "1m"], ["setWeight": 25], ["pause": "2m"], ["setWeight": 50], ["pause": [:]], ["setWeight": 100]],
            // Margins sized for the demo's trickle of canary traffic (about one
            // request a second at 10 %): the anytime-valid gates pass a step only
            // once the interval is inside the margin, and a 3-point margin gets
            // there in a minute or two; a p95 gate would need minutes more.
            "gates": [
                ["metric": "errorRateDelta", "max": 3.0, "minSamples": 50, "confidence": 0.95],
                ["metric": "rate429", "countAsFailure": false],
            ],
            "interval": "15s", "window": "2m", "onInconclusive": "wait", "onNoData": "wait", "deadline": "30m",
        ]
        _ = try await control.startRollout("chat-prod", plan: canary, actor: "demo")
        let experiment: JSONValue = [
            "strategy": "ab", "variants": ["gpt4o-sum", "mini-sum"], "split": ["gpt4o-sum": 50, "mini-sum": 50], "duration": "30m",
            // A tenth of the summaries are also asked of the other variant, for the compare screen.
            "capture": 20, "sample": 10, "budget": ["tokens": 100_000],
            "gates": [["metric": "errorRateDelta", "max": 2.0, "minSamples": 100]],
        ]
        _ = try await control.startRollout("summarize", plan: experiment, actor: "demo")
        let shadow: JSONValue = [
            "strategy": "shadow", "shadow": "gpt4o-contracts-next", "sample": 50, "capture": 20, "duration": "1h",
            "budget": ["tokens": 200_000],
        ]
        _ = try await control.startRollout("contracts", plan: shadow, actor: "demo")
    }

    /// Steady synthetic clients: about 15 requests a second across the routes;
    /// summaries get a quality score now and then, as a judge would give.
    static func traffic(gatewayPort: Int, adminPort: Int, token: String) async {
        let routes = ["chat-prod", "chat-prod", "chat-prod", "summarize", "contracts"]
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var index = worker
                    while !Task.isCancelled {
                        index += 1
                        let route = routes[index % routes.count]
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(gatewayPort)/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        let user = "demo-user-\(Int.random(in: 0..<500))"
                        let stream = index % 4 == 0
                        request.body = .bytes(ByteBuffer(string: #"{"model":"\#(route)","user":"\#(user)","stream":\#(stream),"messages":[{"role":"user","content":"Tell me about pinned model versions."}]}"#))
                        if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(30)) {
                            let body = try? await response.body.collect(upTo: 1 << 20)
                            if route == "summarize", !stream, let body, let id = ReplyScan.replyID(body.readableBytesView) {
                                let mini = response.headers.first(name: "x-switchyard-deployment") == "mini-sum"
                                await Self.judge(id, score: Double.random(in: mini ? 0.55...0.9 : 0.6...0.95), adminPort: adminPort, token: token)
                            }
                        }
                        try? await Task.sleep(for: .milliseconds(Int.random(in: 250...500)))
                    }
                }
            }
        }
    }
}

extension Demo {
    /// Posts a quality score for one reply, as an LLM judge would.
    static func judge(_ requestId: String, score: Double, adminPort: Int, token: String) async {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)/api/v1/feedback")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        request.body = .bytes(ByteBuffer(bytes: JSONText.encode(["requestId": .string(requestId), "score": .number((score * 100).rounded() / 100), "source": "judge"])))
        _ = try? await HTTPClient.shared.execute(request, timeout: .seconds(5))
    }
}

/// Ports reported by servers as they start.
actor PortBook {
    private var ports: [String: Int] = [:]
    private var waiting: [String: [CheckedContinuation<Int, Never>]] = [:]

    func set(_ name: String, _ port: Int) {
        ports[name] = port
        for continuation in waiting.removeValue(forKey: name) ?? [] { continuation.resume(returning: port) }
    }

    func wait(_ name: String) async -> Int {
        if let port = ports[name] { return port }
        return await withCheckedContinuation { waiting[name, default: []].append($0) }
    }
}
