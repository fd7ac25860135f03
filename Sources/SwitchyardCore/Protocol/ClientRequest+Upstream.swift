/// What goes upstream for one deployment, and what the deployment imposed.
public struct UpstreamBody: Sendable {
    public var bytes: [UInt8]
    /// The members the deployment's `enforce` changed, for `x-switchyard-enforced`.
    public var enforced: [String]
}

extension ClientRequest {
    /// The body to send to `deployment`: the client's own bytes, with
    ///
    /// - `model` set to the deployment's upstream model (removed for Azure
    ///   deployment paths, where the URL names it);
    /// - the deployment's system prompt placed as its `placement` says;
    /// - its `params` filled in where the client sent nothing — an output-token
    ///   cap under the one name this call uses, never beside the client's;
    /// - its `enforce` values imposed (a cap keeps a client's smaller value);
    /// - for streamed chat and completions, usage reporting on, so tokens are
    ///   counted whether or not the client asked for them.
    ///
    /// Every other member keeps the client's exact text.
    public func upstreamBody(for deployment: Deployment) -> UpstreamBody {
        var edits: [String: JSONSlices.Edit] = [:]
        var enforced: [String] = []
        switch deployment.upstream.kind {
        case .openai:
            edits["model"] = .value(.string(deployment.upstreamModelName))
        case .azure:
            edits["model"] = operation == .responses ? .value(.string(deployment.upstream.deployment ?? deployment.upstreamModelName)) : .remove
        }
        if let prompt = deployment.prompt, let system = prompt.system, operation.generates {
            placePrompt(system, placement: prompt.placement, into: &edits)
        }
        let clientCap = OpenAIOperation.outputCapKeys.sorted().first { sent($0) }
        for (key, value) in deployment.params.sorted(by: { $0.key < $1.key }) {
            if OpenAIOperation.outputCapKeys.contains(key) {
                guard clientCap == nil, let name = capName(configured: key), edits[name] == nil else { continue }
                edits[name] = .value(value)
            } else if operation.accepts(parameter: key), !sent(key) {
                edits[key] = .value(value)
            }
        }
        for (key, value) in deployment.enforce.sorted(by: { $0.key < $1.key }) {
            if OpenAIOperation.outputCapKeys.contains(key) {
                guard let cap = value.doubleValue, let name = clientCap ?? capName(configured: key) else { continue }
                if let asked = clientCap.flatMap({ body[$0]?.doubleValue }), asked <= cap { continue }
                edits[name] = .value(value)
                for other in OpenAIOperation.outputCapKeys where other != name && sent(other) { edits[other] = .remove }
                enforced.append(name)
            } else if operation.accepts(parameter: key), body[key] != value {
                edits[key] = .value(value)
                enforced.append(key)
            }
        }
        if isStream, operation == .chatCompletions || operation == .completions {
            var options = body["stream_options"]?.objectValue ?? [:]
            options["include_usage"] = true
            edits["stream_options"] = .value(.object(options))
        }
        return UpstreamBody(bytes: JSONSlices.rewrite(bytes, members: members, edits: edits), enforced: enforced)
    }

    /// The client set `key` to something (an explicit `null` asks for the default).
    private func sent(_ key: String) -> Bool {
        guard let value = body[key] else { return false }
        return value != .null
    }

    /// The name this call gives an output-token cap configured as `key`.
    private func capName(configured key: String) -> String? {
        switch operation {
        case .chatCompletions: key == "max_output_tokens" ? "max_completion_tokens" : key
        case .completions: "max_tokens"
        case .responses: "max_output_tokens"
        case .embeddings: nil
        }
    }

    private func placePrompt(_ system: String, placement: PromptPlacement, into edits: inout [String: JSONSlices.Edit]) {
        switch operation {
        case .chatCompletions:
            guard case .array(let messages)? = body["messages"] else { return }
            let own = messages.map { ["system", "developer"].contains($0["role"]?.stringValue ?? "") }
            if placement == .ifAbsent, own.contains(true) { return }
            let kept = placement == .replace ? own.map(!) : own.map { _ in true }
            let systemMessage = JSONText.encode(["role": "system", "content": .string(system)])
            guard let member = members.last(where: { $0.key == "messages" }),
                let ranges = JSONSlices.elements(of: bytes, in: member.valueRange), ranges.count == messages.count
            else {
                let rest = zip(messages, kept).filter(\.1).map(\.0)
                edits["messages"] = .value(.array([["role": "system", "content": .string(system)]] + rest))
                return
            }
            var array: [UInt8] = [UInt8(ascii: "[")] + systemMessage
            for (range, keep) in zip(ranges, kept) where keep {
                array.append(UInt8(ascii: ","))
                array += bytes[range]
            }
            array.append(UInt8(ascii: "]"))
            edits["messages"] = .set(array)
        case .responses:
            let existing = body["instructions"]?.stringValue
            let ownInInput = body["input"]?.arrayValue?.contains { ["system", "developer"].contains($0["role"]?.stringValue ?? "") } ?? false
            switch placement {
            case .ifAbsent:
                guard existing == nil, !ownInInput else { return }
                edits["instructions"] = .value(.string(system))
            case .prepend:
                edits["instructions"] = .value(.string(existing.map { system + "\n\n" + $0 } ?? system))
            case .replace:
                edits["instructions"] = .value(.string(system))
            }
        case .completions, .embeddings:
            // A bare prompt has no place for a system message.
            return
        }
    }
}
