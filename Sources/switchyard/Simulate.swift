import ArgumentParser
import Hummingbird
import Logging
import SwitchyardServer
import SwitchyardCore
import SwitchyardSimulator

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a simulated OpenAI-compatible model upstream: chat, completions, embeddings and the Responses API, OpenAI and Azure paths, streaming and not."
    )

    @Option(name: .long, help: "Address, HOST:PORT (port 0 picks a free one).")
    var listen = ListenAddress(host: "127.0.0.1", port: 9001)

    @Option(name: .long, help: "Model name.")
    var model = "gpt-4o"

    @Option(name: .long, help: "Model version; replies say MODEL-VERSION.")
    var version = "2024-11-20"

    @Option(name: .long, help: "Latency in ms, MEAN[:JITTER].")
    var latencyMs = "20"

    @Option(name: .long, help: "Time to first streamed token in ms (default: the latency).")
    var ttftMs: Double?

    @Option(name: .long, help: "Streaming pace.")
    var tokensPerSecond: Double = 200

    @Option(name: .long, help: "Fraction of requests that fail, 0…1.")
    var errorRate: Double = 0

    @Option(name: .long, help: "500, 429, timeout, content-filter or cut-stream.")
    var errorKind = "500"

    @Option(name: .long, help: "Words in each reply.")
    var replyTokens = 12

    @Option(name: .long, help: "Require this API key (Bearer on OpenAI paths, api-key on Azure paths).")
    var requireKey: String?

    @OptionGroup var logging: LoggingOptions

    func makeConfiguration() throws -> SimulatorConfiguration {
        guard let latency = parseLatency(latencyMs) else {
            throw ValidationError("--latency-ms takes MEAN or MEAN:JITTER in milliseconds, e.g. 120:30")
        }
        guard (0...1).contains(errorRate) else { throw ValidationError("--error-rate must be between 0 and 1") }
        guard let kind = SimulatorConfiguration.ErrorKind(rawValue: errorKind) else {
            throw ValidationError("--error-kind must be one of \(SimulatorConfiguration.ErrorKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard tokensPerSecond > 0 else { throw ValidationError("--tokens-per-second must be positive") }
        guard replyTokens >= 1 else { throw ValidationError("--reply-tokens must be at least 1") }
        if let ttftMs, ttftMs < 0 { throw ValidationError("--ttft-ms cannot be negative") }
        return SimulatorConfiguration(
            model: model,
            version: version,
            latencyMean: latency.mean,
            latencyJitter: latency.jitter,
            timeToFirstToken: ttftMs.map { .microseconds(Int64($0 * 1000)) },
            tokensPerSecond: tokensPerSecond,
            errorRate: errorRate,
            errorKind: kind,
            replyTokens: replyTokens,
            requiredKey: requireKey
        )
    }

    func validate() throws {
        _ = try makeConfiguration()
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "switchyard.simulate")
        let simulator = Simulator(configuration: try makeConfiguration())
        let model = model, version = version, host = listen.host
        let app = simulator.buildApplication(host: listen.host, port: listen.port, logger: logger) { port in
            logger.notice("simulated \(model)-\(version) listening on http://\(host):\(port)/v1")
        }
        try await app.runService()
    }
}
