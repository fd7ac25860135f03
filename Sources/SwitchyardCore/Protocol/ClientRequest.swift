/// A client's request body for one of the OpenAI calls, validated, with what
/// the gateway needs to know before choosing a deployment — and the bytes it
/// came in, which are what goes upstream apart from the few members the
/// gateway must change (`ClientRequest+Upstream`).
public struct ClientRequest: Sendable {
    public let operation: OpenAIOperation
    /// The request body as the client sent it, parsed.
    public let body: [String: JSONValue]
    /// The request body's bytes as the client sent them.
    public let bytes: [UInt8]
    /// Where each top-level member lies in `bytes`.
    let members: [JSONSlices.Member]

    /// Parses and validates a body. `requireModel` is true on the OpenAI
    /// paths, where `model` names the route; on Azure deployment paths the
    /// route is in the URL.
    public init(bytes: some Collection<UInt8>, operation: OpenAIOperation = .chatCompletions, requireModel: Bool) throws(APIError) {
        let bytes = Array(bytes)
        guard !bytes.isEmpty else {
            throw .badRequest("request body is empty; send a JSON object", code: "invalid_json")
        }
        guard case .object(let body) = try JSONText.decode(bytes) else {
            throw .badRequest("request body must be a JSON object", code: "invalid_json")
        }
        guard let members = JSONSlices.members(of: bytes) else {
            throw .badRequest("request body must be a JSON object", code: "invalid_json")
        }
        try Self.validate(body, operation: operation, requireModel: requireModel)
        self.operation = operation
        self.body = body
        self.bytes = bytes
        self.members = members
    }

    /// A body built by the gateway itself (health checks, shadows).
    public init(body: [String: JSONValue], operation: OpenAIOperation = .chatCompletions) throws(APIError) {
        try self.init(bytes: JSONText.encode(.object(body)), operation: operation, requireModel: false)
    }

    static func validate(_ body: [String: JSONValue], operation: OpenAIOperation, requireModel: Bool) throws(APIError) {
        switch operation {
        case .chatCompletions:
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
        case .completions:
            guard let prompt = body["prompt"] else {
                throw .badRequest("'prompt' is required", code: "missing_required_parameter")
            }
            guard prompt.stringValue != nil || prompt.arrayValue != nil else {
                throw .badRequest("'prompt' must be a string or an array, not \(prompt.typeName)", code: "invalid_type")
            }
        case .embeddings:
            guard let input = body["input"] else {
                throw .badRequest("'input' is required", code: "missing_required_parameter")
            }
            guard input.stringValue != nil || input.arrayValue.map({ !$0.isEmpty }) == true else {
                throw .badRequest("'input' must be a string or a non-empty array, not \(input.typeName)", code: "invalid_type")
            }
        case .responses:
            if let input = body["input"], input.stringValue == nil, input.arrayValue == nil {
                throw .badRequest("'input' must be a string or an array of input items, not \(input.typeName)", code: "invalid_type")
            }
            if let previous = body["previous_response_id"], previous != .null, previous.stringValue == nil {
                throw .badRequest("'previous_response_id' must be a string, not \(previous.typeName)", code: "invalid_type")
            }
            if let instructions = body["instructions"], instructions != .null, instructions.stringValue == nil {
                throw .badRequest("'instructions' must be a string, not \(instructions.typeName)", code: "invalid_type")
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
        for key in ["stream", "background", "store"] {
            if let value = body[key], value != .null, value.boolValue == nil {
                throw .badRequest("'\(key)' must be a boolean, not \(value.typeName)", code: "invalid_type")
            }
        }
        for key in ["user", "safety_identifier"] {
            if let value = body[key], value != .null, value.stringValue == nil {
                throw .badRequest("'\(key)' must be a string, not \(value.typeName)", code: "invalid_type")
            }
        }
    }

    /// The route named by `model`, if any.
    public var model: String? { body["model"]?.stringValue }
    public var isStream: Bool { body["stream"]?.boolValue ?? false }
    public var user: String? { body["user"]?.stringValue }
    public var safetyIdentifier: String? { body["safety_identifier"]?.stringValue }
    /// Responses API: the response this one continues.
    public var previousResponseID: String? { body["previous_response_id"]?.stringValue }

    /// Whether the client asked for the final usage chunk of a stream.
    public var clientWantsStreamUsage: Bool {
        body["stream_options"]?["include_usage"]?.boolValue ?? false
    }

    /// The same request, not streamed (for a shadow copy of a streamed one).
    public func unstreamed() -> ClientRequest {
        guard isStream else { return self }
        let edited = JSONSlices.rewrite(bytes, members: members, edits: ["stream": .remove, "stream_options": .remove])
        return (try? ClientRequest(bytes: edited, operation: operation, requireModel: false)) ?? self
    }
}

extension Deployment {
    /// The `model` sent to an OpenAI-kind upstream: the explicit name when the
    /// config gives one, else the provider's pinned-snapshot form `model-version`.
    public var upstreamModelName: String {
        upstream.modelName ?? "\(model)-\(version)"
    }
}
