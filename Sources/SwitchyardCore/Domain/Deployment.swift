/// One pinned model version behind a route: where it lives, exactly which
/// version it is, and the prompt and parameters written for that version.
public struct Deployment: Hashable, Sendable {
    /// Unique within its route, e.g. `gpt4o-prod-v1120`.
    public var name: String
    /// The share of the route's traffic this deployment receives.
    public var weight: Weight
    /// The model family, e.g. `gpt-4o`.
    public var model: String
    /// The exact pinned version, e.g. `2024-11-20`.
    public var version: String
    public var upstream: Upstream
    public var prompt: PromptVersion?
    /// Request parameters written for this model version (`temperature`,
    /// `max_tokens`, …): defaults, filled in where the client sent nothing.
    public var params: [String: JSONValue]
    /// The few values the operator must impose whatever the client sent (a cap
    /// on output tokens, a fixed `service_tier`); a cap on output tokens keeps
    /// a client's smaller value. Replies say which were applied
    /// (`x-switchyard-enforced`).
    public var enforce: [String: JSONValue] = [:]
    public var price: Price
    /// Failover order: lower is tried first.
    public var priority: Int
    /// Set when an operator deliberately deploys a deprecated or retired version.
    public var allowDeprecated: Bool
    public var timeouts: UpstreamTimeouts

    public init(
        name: String,
        weight: Weight,
        model: String,
        version: String,
        upstream: Upstream,
        prompt: PromptVersion? = nil,
        params: [String: JSONValue] = [:],
        price: Price = Price(),
        priority: Int = 1,
        allowDeprecated: Bool = false,
        timeouts: UpstreamTimeouts = UpstreamTimeouts()
    ) {
        self.name = name
        self.weight = weight
        self.model = model
        self.version = version
        self.upstream = upstream
        self.prompt = prompt
        self.params = params
        self.price = price
        self.priority = priority
        self.allowDeprecated = allowDeprecated
        self.timeouts = timeouts
    }

    /// `gpt-4o@2024-11-20`: how the console and headers name the model version.
    public var modelVersion: String { "\(model)@\(version)" }
}

/// Where a deployment's requests go and how to authenticate there.
public struct Upstream: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case openai
        case azure
    }

    public var kind: Kind
    /// openai: the base URL including `/v1`; azure: the resource endpoint.
    public var url: String
    /// The environment variable holding the upstream API key, if any.
    public var apiKeyEnv: String?
    /// azure only: the provider-side deployment name.
    public var deployment: String?
    /// azure only: the `api-version` query parameter.
    public var apiVersion: String?
    /// openai only: the exact `model` the upstream expects (e.g. a vLLM served
    /// name); by default `model-version`, OpenAI's pinned-snapshot form.
    public var modelName: String?
    /// azure: standard, provisioned, global or data-zone — they retire on
    /// different dates. OpenAI deployments are `standard`.
    public var deploymentType: LifecycleCatalog.DeploymentType = .standard

    public init(
        kind: Kind,
        url: String,
        apiKeyEnv: String? = nil,
        deployment: String? = nil,
        apiVersion: String? = nil,
        modelName: String? = nil
    ) {
        self.modelName = modelName
        self.kind = kind
        self.url = url
        self.apiKeyEnv = apiKeyEnv
        self.deployment = deployment
        self.apiVersion = apiVersion
    }

    /// The Azure `api-version` used when the config names none.
    public static let defaultAzureAPIVersion = "2024-10-21"

    /// The full URL of the chat-completions endpoint for this upstream.
    public func chatCompletionsURL(model: String) -> String {
        url(for: .chatCompletions, model: model)
    }

    /// The full URL of `operation` on this upstream. Azure's Responses API
    /// lives at the resource level (`/openai/responses?api-version=`), the
    /// other calls under the deployment.
    public func url(for operation: OpenAIOperation, model: String) -> String {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        switch kind {
        case .openai:
            return base + operation.pathSuffix
        case .azure:
            let version = "?api-version=\(apiVersion ?? Self.defaultAzureAPIVersion)"
            if operation == .responses { return base + "/openai/responses" + version }
            return base + "/openai/deployments/\(deployment ?? model)" + operation.pathSuffix + version
        }
    }
}

/// The prompt written for a model version.
public struct PromptVersion: Hashable, Sendable {
    public var version: String
    /// The system prompt (chat and completions-style calls: a first `system`
    /// message; the Responses API: `instructions`).
    public var system: String?
    /// What happens when the client brings its own system or developer message.
    public var placement: PromptPlacement

    public init(version: String, system: String? = nil, placement: PromptPlacement = .prepend) {
        self.version = version
        self.system = system
        self.placement = placement
    }
}

/// Where a deployment's system prompt goes relative to the client's own.
public enum PromptPlacement: String, Hashable, Sendable, Codable, CaseIterable {
    /// First, the client's messages (its own system message too) after it: the default.
    case prepend
    /// Only when the client sent no system or developer message (an
    /// application that states its own instructions keeps them alone).
    case ifAbsent
    /// Instead of the client's system and developer messages.
    case replace
}

extension PromptVersion: Codable {
    enum CodingKeys: String, CodingKey {
        case version, system, placement
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            version: try container.decode(String.self, forKey: .version),
            system: try container.decodeIfPresent(String.self, forKey: .system),
            placement: try container.decodeIfPresent(PromptPlacement.self, forKey: .placement) ?? .prepend
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encodeIfPresent(system, forKey: .system)
        try container.encode(placement, forKey: .placement)
    }
}

/// The provider's price, per 1 000 tokens.
public struct Price: Hashable, Sendable, Codable {
    public var inputPer1k: Double
    public var outputPer1k: Double

    public init(inputPer1k: Double = 0, outputPer1k: Double = 0) {
        self.inputPer1k = inputPer1k
        self.outputPer1k = outputPer1k
    }

    /// The cost of one request with the given token counts.
    public func cost(promptTokens: Int, completionTokens: Int) -> Double {
        Double(promptTokens) / 1000 * inputPer1k + Double(completionTokens) / 1000 * outputPer1k
    }
}

/// How long the gateway waits on an upstream at each stage of a request.
public struct UpstreamTimeouts: Hashable, Sendable {
    /// Establishing the TCP connection.
    public var connect: Duration
    /// From sending the request to the first byte of the reply (the first
    /// streamed chunk, for streams).
    public var firstToken: Duration
    /// Silence allowed between two chunks of a streamed reply.
    public var idle: Duration
    /// The whole exchange, start to end.
    public var total: Duration

    public init(
        connect: Duration = .seconds(5),
        firstToken: Duration = .seconds(60),
        idle: Duration = .seconds(30),
        total: Duration = .seconds(600)
    ) {
        self.connect = connect
        self.firstToken = firstToken
        self.idle = idle
        self.total = total
    }
}

extension Upstream {
    /// What is wrong with the upstream's URL, or `nil`: an `http`/`https` URL
    /// with a host and, when given, a port from 1 to 65535.
    public static func urlProblem(_ url: String) -> String? {
        let shown = url.count <= 200 ? url : String(url.prefix(200)) + "…"
        let scheme: String
        if url.hasPrefix("http://") {
            scheme = "http://"
        } else if url.hasPrefix("https://") {
            scheme = "https://"
        } else {
            return "'\(shown)' is not an http:// or https:// URL"
        }
        let rest = url.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else { return "'\(shown)': put credentials in apiKeyEnv, not in the URL" }
        var host = Substring(authority)
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:8080
            guard let close = authority.firstIndex(of: "]") else { return "'\(shown)' has an unterminated IPv6 address" }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "'\(shown)' has text after its IPv6 address" }
                if let problem = portProblem(after.dropFirst(), shown) { return problem }
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            if let problem = portProblem(authority[authority.index(after: colon)...], shown) { return problem }
        }
        guard !host.isEmpty else { return "'\(shown)' has no host" }
        return nil
    }

    private static func portProblem(_ port: Substring, _ shown: String) -> String? {
        guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port), (1...65_535).contains(number) else {
            return "'\(shown)': port '\(port.prefix(20))' is not a number from 1 to 65535"
        }
        return nil
    }
}
