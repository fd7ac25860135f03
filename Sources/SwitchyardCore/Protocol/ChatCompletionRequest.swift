/// A client's chat-completions request, validated, and what the gateway needs
/// to know about it before choosing a deployment.
public struct ChatCompletionRequest: Sendable {
    /// The request body as the client sent it.
    public let body: [String: JSONValue]

    /// Parses and validates a body. `requireModel` is true on the OpenAI path,
    /// where `model` names the route; on Azure paths the route is in the URL.
    public init(bytes: some Collection<UInt8>, requireModel: Bool) throws(APIError) {
        guard !bytes.isEmpty else {
            throw .badRequest("request body is empty; send a JSON object with 'messages'", code: "invalid_json")
        }
        guard case .object(let body) = try JSONText.decode(bytes) else {
            throw .badRequest("request body must be a JSON object", code: "invalid_json")
        }
        try self.init(body: body, requireModel: requireModel)
    }

    public init(body: [String: JSONValue], requireModel: Bool) throws(APIError) {
        guard let messages = body["messages"] else {
            throw .badRequest("'messages' is required", code: "missing_required_parameter")
        }
        guard case .array(let list) = messages, !list.isEmpty else {
            throw .badRequest("'messages' must be a non-empty array of message objects", code: "invalid_type")
        }
        for (index, message) in list.enumerated() {
            guard case .object(let members) = message, members["role"]?.stringValue != nil else {
                throw .badRequest("messages[\(index)] must be an object with a string 'role'", code: "invalid_type")
            }
        }
        if requireModel {
            guard let model = body["model"] else {
                throw .badRequest("'model' is required: set it to the route name, e.g. \"chat-prod\"", code: "missing_required_parameter")
            }
            guard model.stringValue != nil else {
                throw .badRequest("'model' must be a string, not \(model.typeName)", code: "invalid_type")
            }
        }
        if let stream = body["stream"], stream != .null, stream.boolValue == nil {
            throw .badRequest("'stream' must be a boolean, not \(stream.typeName)", code: "invalid_type")
        }
        for key in ["user", "safety_identifier"] {
            if let value = body[key], value != .null, value.stringValue == nil {
                throw .badRequest("'\(key)' must be a string, not \(value.typeName)", code: "invalid_type")
            }
        }
        self.body = body
    }

    /// The route named by `model`, if any.
    public var model: String? { body["model"]?.stringValue }
    public var isStream: Bool { body["stream"]?.boolValue ?? false }
    public var user: String? { body["user"]?.stringValue }
    public var safetyIdentifier: String? { body["safety_identifier"]?.stringValue }

    /// Whether the client asked for the final usage chunk of a stream.
    public var clientWantsStreamUsage: Bool {
        body["stream_options"]?["include_usage"]?.boolValue ?? false
    }

    /// The body to send to `deployment`: its model, its system prompt first,
    /// its parameters over the client's, and — for streams — usage always on,
    /// so the gateway can count tokens whether or not the client wants them.
    public func upstreamBody(for deployment: Deployment) -> [UInt8] {
        var body = self.body
        switch deployment.upstream.kind {
        case .openai:
            body["model"] = .string(deployment.upstreamModelName)
        case .azure:
            body.removeValue(forKey: "model")
        }
        if let system = deployment.prompt?.system, case .array(let messages)? = body["messages"] {
            body["messages"] = .array([["role": "system", "content": .string(system)]] + messages)
        }
        for (key, value) in deployment.params {
            body[key] = value
        }
        if isStream {
            var options = body["stream_options"]?.objectValue ?? [:]
            options["include_usage"] = true
            body["stream_options"] = .object(options)
        }
        return JSONText.encode(.object(body))
    }
}

extension Deployment {
    /// The `model` sent to an OpenAI-kind upstream: the explicit name when the
    /// config gives one, else the provider's pinned-snapshot form `model-version`.
    public var upstreamModelName: String {
        upstream.modelName ?? "\(model)-\(version)"
    }
}
