/// The OpenAI calls the gateway routes: each has its own body rules, upstream
/// path, and set of request parameters a deployment's defaults may fill in.
public enum OpenAIOperation: String, Sendable, Hashable, CaseIterable {
    case chatCompletions = "chat/completions"
    case completions
    case embeddings
    case responses

    /// Where the operation's URL ends, under `/v1` (OpenAI) or
    /// `/openai/deployments/{name}` (Azure).
    public var pathSuffix: String { "/" + rawValue }

    /// Generates text (and so has an output-token cap and a system prompt).
    public var generates: Bool { self != .embeddings }

    /// The body member that caps output tokens on this operation.
    public var outputCapKey: String? {
        switch self {
        case .chatCompletions: "max_completion_tokens"
        case .completions: "max_tokens"
        case .responses: "max_output_tokens"
        case .embeddings: nil
        }
    }

    /// The names an output-token cap goes by, on any operation; a deployment's
    /// `max_tokens: 800` applies to every generating call under its own name.
    public static let outputCapKeys: Set<String> = ["max_tokens", "max_completion_tokens", "max_output_tokens"]

    /// The request parameters a deployment's `params` and `enforce` may set on
    /// this operation; others are left out (a `temperature` means nothing to
    /// an embeddings call and would be refused by the provider).
    public func accepts(parameter key: String) -> Bool {
        switch self {
        case .chatCompletions:
            return true
        case .completions:
            return Self.completionParameters.contains(key)
        case .responses:
            return Self.responsesParameters.contains(key)
        case .embeddings:
            return Self.embeddingsParameters.contains(key)
        }
    }

    static let completionParameters: Set<String> = [
        "temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty", "seed", "logit_bias", "logprobs",
        "best_of", "echo", "suffix", "user",
    ]
    static let responsesParameters: Set<String> = [
        "temperature", "top_p", "top_logprobs", "parallel_tool_calls", "tool_choice", "store", "truncation", "reasoning",
        "service_tier", "metadata", "text", "user", "safety_identifier", "prompt_cache_key", "max_tool_calls", "background",
    ]
    static let embeddingsParameters: Set<String> = ["dimensions", "encoding_format", "user"]
}
