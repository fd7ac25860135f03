import ArgumentParser
import Foundation
import Logging
import OTel
import ServiceLifecycle
import SwitchyardCore
import SwitchyardGateway
import Tracing

/// `serve`'s access-log and tracing flags.
struct ObservabilityOptions: ParsableArguments {
    @Option(name: .long, help: "One JSON line per gateway request: stderr, a file path, or off.")
    var accessLog = "off"

    @Option(name: .long, help: "The least severe access-log lines written: info (all), warning (4xx, clients that left), error (5xx, broken streams).")
    var accessLogLevel = "info"

    @Option(name: .long, help: "The share of info lines written, 0 to 1 (warnings and errors are always written).")
    var accessLogSample = 1.0

    @Option(name: .long, help: "Send OpenTelemetry traces over OTLP/HTTP (protobuf) to this base URL, e.g. http://collector:4318 (spans go to /v1/traces). The OTEL_EXPORTER_OTLP_* variables are honoured too; this flag wins over them.")
    var otelEndpoint: String?

    func validate() throws {
        guard AccessLogEntry.Level(rawValue: accessLogLevel) != nil else {
            throw ValidationError("--access-log-level '\(accessLogLevel)' must be info, warning or error")
        }
        guard accessLogSample.isFinite, (0...1).contains(accessLogSample) else {
            throw ValidationError("--access-log-sample \(accessLogSample) must be from 0 to 1")
        }
        guard !accessLog.isEmpty else { throw ValidationError("--access-log must be stderr, a file path or off") }
        if let otelEndpoint {
            guard let url = URL(string: otelEndpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
                throw ValidationError("--otel-endpoint '\(otelEndpoint)' must be an http:// or https:// URL, e.g. http://localhost:4318")
            }
        }
    }

    /// Whether traces are sent: `--otel-endpoint`, or an OTLP endpoint in the
    /// environment (unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`).
    private func tracesWanted(_ environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        if otelEndpoint != nil { return true }
        if environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none" { return false }
        return environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil
    }

    /// Refuses, with the variable and its value, the `OTEL_*` settings this
    /// build cannot honour (swift-otel would stop the process on them), and
    /// drops `baggage` from `OTEL_PROPAGATORS`: the gateway passes a client's
    /// `baggage` header upstream as it is.
    static func checkTracingEnvironment(_ environment: [String: String], logger: Logger) throws {
        for variable in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            guard let value = environment[variable] else { continue }
            guard ["http/protobuf", "http/json"].contains(value.lowercased()) else {
                throw CommandFailure("\(variable)=\(value) is not supported: this build exports traces over OTLP/HTTP only (http/protobuf or http/json); point it at the collector's HTTP port (4318)")
            }
        }
        if let value = environment["OTEL_TRACES_EXPORTER"], !["otlp", "none"].contains(value.lowercased()) {
            throw CommandFailure("OTEL_TRACES_EXPORTER=\(value) is not supported: use otlp (or none to turn traces off)")
        }
        if let value = environment["OTEL_TRACES_SAMPLER"] {
            let supported = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"]
            guard supported.contains(value.lowercased()) else {
                throw CommandFailure("OTEL_TRACES_SAMPLER=\(value) is not supported: use one of \(supported.joined(separator: ", "))")
            }
        }
        if let value = environment["OTEL_PROPAGATORS"] {
            let names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            if let unsupported = names.first(where: { !["tracecontext", "baggage", "none"].contains($0) }) {
                throw CommandFailure("OTEL_PROPAGATORS=\(value): '\(unsupported)' is not supported; the gateway propagates W3C trace context (tracecontext)")
            }
            if names.contains("baggage") {
                let kept = names.filter { $0 != "baggage" }
                setenv("OTEL_PROPAGATORS", kept.isEmpty ? "tracecontext" : kept.joined(separator: ","), 1)
                logger.info("OTEL_PROPAGATORS: baggage is passed upstream as the client sent it, not propagated by the tracer")
            }
        }
    }

    /// The gateway's observability and the services that carry it (the
    /// access log's writer and the span exporter). They go first in the
    /// service group, so they stop last, after the gateway has drained.
    func make(logger: Logger) throws -> (observability: GatewayObservability, services: [any Service]) {
        var observability = GatewayObservability()
        var services: [any Service] = []
        if accessLog != "off" {
            let filter = AccessLogFilter(minimum: AccessLogEntry.Level(rawValue: accessLogLevel) ?? .info, sampleRate: accessLogSample)
            let log = try AccessLog(accessLog == "stderr" ? .standardError : .file(accessLog), filter: filter)
            observability.accessLog = log
            services.append(log)
            logger.notice("access log to \(accessLog) (level \(accessLogLevel), sampling \(accessLogSample))")
        }
        let environment = ProcessInfo.processInfo.environment
        if otelEndpoint != nil, environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" {
            logger.notice("OTEL_SDK_DISABLED=true: no traces, --otel-endpoint notwithstanding")
        }
        if tracesWanted(environment) {
            try Self.checkTracingEnvironment(environment, logger: logger)
            if let otelEndpoint {
                // The per-signal variable, which swift-otel reads last, so the flag wins.
                let base = otelEndpoint.hasSuffix("/") ? String(otelEndpoint.dropLast()) : otelEndpoint
                let traces = base.hasSuffix("/v1/traces") ? base : base + "/v1/traces"
                setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, 1)
            }
            var configuration = OTel.Configuration.default
            configuration.serviceName = environment["OTEL_SERVICE_NAME"] ?? "switchyard"
            configuration.resourceAttributes["service.version"] = SwitchyardVersion.current
            configuration.logs.enabled = false
            configuration.metrics.enabled = false
            configuration.traces.enabled = true
            configuration.traces.exporter = .otlp
            configuration.traces.otlpExporter.protocol = .httpProtobuf
            configuration.diagnosticLogger = .custom(logger)
            configuration.diagnosticLogLevel = .warning
            let backend: (factory: any Tracer, service: any Service)
            do {
                let made = try OTel.makeTracingBackend(configuration: configuration)
                backend = (made.factory, made.service)
            } catch {
                throw CommandFailure("cannot start OpenTelemetry tracing: \(error)")
            }
            observability.tracer = backend.factory
            services.append(backend.service)
            let target = ProcessInfo.processInfo.environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
                ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"].map { $0 + " (/v1/traces)" } ?? "?"
            logger.notice("OpenTelemetry traces over OTLP/HTTP to \(target)")
        }
        return (observability, services)
    }
}
