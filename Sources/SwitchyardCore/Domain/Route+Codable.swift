/// Routes as JSON: how the management API shows them and the state store
/// keeps them. Weights are percentages and durations are text (`30s`), as in
/// the config file; inside, they stay exact.
extension Route: Codable {
    enum CodingKeys: String, CodingKey {
        case name, environment, stable, allowPinning, allowMixedEmbeddings, logContent, deployments, revision, plans
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            environment: try container.decodeIfPresent(Environment.self, forKey: .environment) ?? .production,
            stable: try container.decode(String.self, forKey: .stable),
            allowPinning: try container.decodeIfPresent(Bool.self, forKey: .allowPinning) ?? false,
            deployments: try container.decode([Deployment].self, forKey: .deployments),
            revision: try container.decodeIfPresent(Int.self, forKey: .revision) ?? 1,
            plans: try container.decodeIfPresent([String: JSONValue].self, forKey: .plans) ?? [:]
        )
        allowMixedEmbeddings = try container.decodeIfPresent(Bool.self, forKey: .allowMixedEmbeddings) ?? false
        logContent = try container.decodeIfPresent(Bool.self, forKey: .logContent) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(environment, forKey: .environment)
        try container.encode(stable, forKey: .stable)
        try container.encode(allowPinning, forKey: .allowPinning)
        if allowMixedEmbeddings { try container.encode(allowMixedEmbeddings, forKey: .allowMixedEmbeddings) }
        if logContent { try container.encode(logContent, forKey: .logContent) }
        try container.encode(revision, forKey: .revision)
        try container.encode(deployments, forKey: .deployments)
        if !plans.isEmpty { try container.encode(plans, forKey: .plans) }
    }
}

extension Route.Environment: Codable {}
extension Upstream.Kind: Codable {}

extension Deployment: Codable {
    enum CodingKeys: String, CodingKey {
        case name, weight, model, version, upstream, prompt, params, enforce, price, priority, allowDeprecated, timeouts
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let percent = try container.decode(Double.self, forKey: .weight)
        let weight: Weight
        do {
            weight = try Weight(percent: percent)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .weight, in: container, debugDescription: "\(error)")
        }
        self.init(
            name: try container.decode(String.self, forKey: .name),
            weight: weight,
            model: try container.decode(String.self, forKey: .model),
            version: try container.decode(String.self, forKey: .version),
            upstream: try container.decode(Upstream.self, forKey: .upstream),
            prompt: try container.decodeIfPresent(PromptVersion.self, forKey: .prompt),
            params: try container.decodeIfPresent([String: JSONValue].self, forKey: .params) ?? [:],
            price: try container.decodeIfPresent(Price.self, forKey: .price) ?? Price(),
            priority: try container.decodeIfPresent(Int.self, forKey: .priority) ?? 1,
            allowDeprecated: try container.decodeIfPresent(Bool.self, forKey: .allowDeprecated) ?? false,
            timeouts: try container.decodeIfPresent(UpstreamTimeouts.self, forKey: .timeouts) ?? UpstreamTimeouts()
        )
        enforce = try container.decodeIfPresent([String: JSONValue].self, forKey: .enforce) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(weight.percent, forKey: .weight)
        try container.encode(model, forKey: .model)
        try container.encode(version, forKey: .version)
        try container.encode(upstream, forKey: .upstream)
        try container.encodeIfPresent(prompt, forKey: .prompt)
        if !params.isEmpty { try container.encode(params, forKey: .params) }
        if !enforce.isEmpty { try container.encode(enforce, forKey: .enforce) }
        try container.encode(price, forKey: .price)
        try container.encode(priority, forKey: .priority)
        if allowDeprecated { try container.encode(allowDeprecated, forKey: .allowDeprecated) }
        try container.encode(timeouts, forKey: .timeouts)
    }
}

extension Upstream: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, url, apiKeyEnv, deployment, apiVersion, model, deploymentType
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .openai,
            url: try container.decode(String.self, forKey: .url),
            apiKeyEnv: try container.decodeIfPresent(String.self, forKey: .apiKeyEnv),
            deployment: try container.decodeIfPresent(String.self, forKey: .deployment),
            apiVersion: try container.decodeIfPresent(String.self, forKey: .apiVersion),
            modelName: try container.decodeIfPresent(String.self, forKey: .model)
        )
        deploymentType = try container.decodeIfPresent(LifecycleCatalog.DeploymentType.self, forKey: .deploymentType) ?? .standard
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(url, forKey: .url)
        try container.encodeIfPresent(apiKeyEnv, forKey: .apiKeyEnv)
        try container.encodeIfPresent(deployment, forKey: .deployment)
        try container.encodeIfPresent(apiVersion, forKey: .apiVersion)
        try container.encodeIfPresent(modelName, forKey: .model)
        if deploymentType != .standard { try container.encode(deploymentType, forKey: .deploymentType) }
    }
}


extension UpstreamTimeouts: Codable {
    enum CodingKeys: String, CodingKey {
        case connect, firstToken, idle, total
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func duration(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return fallback }
            do {
                return try DurationText.checked(text)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: error.description)
            }
        }
        let defaults = UpstreamTimeouts()
        self.init(
            connect: try duration(.connect, defaults.connect),
            firstToken: try duration(.firstToken, defaults.firstToken),
            idle: try duration(.idle, defaults.idle),
            total: try duration(.total, defaults.total)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(DurationText.format(connect), forKey: .connect)
        try container.encode(DurationText.format(firstToken), forKey: .firstToken)
        try container.encode(DurationText.format(idle), forKey: .idle)
        try container.encode(DurationText.format(total), forKey: .total)
    }
}
