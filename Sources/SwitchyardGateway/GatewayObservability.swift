public import Tracing
import SwitchyardCore

/// What the gateway reports about each request besides its metrics: an
/// access-log line and a trace. Both off by default; with both off no
/// request builds a ``RequestTrail`` at all.
public struct GatewayObservability: Sendable {
    public var accessLog: AccessLog?
    /// OpenTelemetry spans (swift-otel's tracer in `serve --otel-endpoint`).
    public var tracer: (any Tracer)?

    public init(accessLog: AccessLog? = nil, tracer: (any Tracer)? = nil) {
        self.accessLog = accessLog
        self.tracer = tracer
    }

    var isOn: Bool { accessLog != nil || tracer != nil }
}

/// Writes trace-context headers into the header pairs sent upstream, in
/// place of any the client sent (the upstream's parent is the gateway's attempt).
struct HeaderPairsInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(String, String)]) {
        carrier.removeAll { $0.0.lowercased() == key.lowercased() }
        carrier.append((key, value))
    }
}

/// The OpenTelemetry GenAI semantic conventions' names used on spans.
enum GenAIAttribute {
    static let operationName = "gen_ai.operation.name"
    static let providerName = "gen_ai.provider.name"
    static let requestModel = "gen_ai.request.model"
    static let responseModel = "gen_ai.response.model"
    static let inputTokens = "gen_ai.usage.input_tokens"
    static let outputTokens = "gen_ai.usage.output_tokens"

    /// `gen_ai.operation.name` of an OpenAI call.
    static func operation(_ operation: OpenAIOperation) -> String {
        switch operation {
        case .chatCompletions, .responses: "chat"
        case .completions: "text_completion"
        case .embeddings: "embeddings"
        }
    }

    /// `gen_ai.provider.name` of an upstream.
    static func provider(_ kind: Upstream.Kind) -> String {
        switch kind {
        case .openai: "openai"
        case .azure: "azure.ai.openai"
        }
    }
}
