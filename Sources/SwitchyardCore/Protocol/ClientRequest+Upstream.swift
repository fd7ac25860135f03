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
        // The client's own cap: only under a name this call reads (a cap sent
        // under another name is not a cap here, and must not slip past `enforce`).
        let readNames = capNamesRead
        let clientCapName = readNames.first { sent($0) }
        for (key, value) in deployment.params.sorted(by: { $0.key < $1.key }) {
            if OpenAIOperation.outputCapKeys.contains(key) {
                guard clientCapName == nil, let name = capName(configured: key), edits[name] == nil else { continue }
                edits[name] = .value(value)
            } else if operation.accepts(parameter: key), !sent(key) {
                edits[key] = .value(value)
            }
        }
        for (key, value) in deployment.enforce.sorted(by: { $0.key < $1.key }) {
            if OpenAIOperation.outputCapKeys.contains(key) {
                guard let cap = value.doubleValue, let name = clientCapName ?? capName(configured: key) else { continue }
                let asks = readNames.filter { sent($0) }.compactMap { body[$0]?.doubleValue }
                let strays = OpenAIOperation.outputCapKeys.filter { $0 != name && sent($0) }
                // A smaller ask under the one name this call reads stands; anything else is imposed.
                if let asked = asks.min(), asked <= cap, asks.count == 1, strays.isEmpty { continue }
                edits[name] = .value(asks.min().map { $0 <= cap ? .number($0) : value } ?? value)
                for other in strays { edits[other] = .remove }
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

    /// The names of an output-token cap this call reads (chat: its preferred name first).
    private var capNamesRead: [String] {
        switch operation {
        case .chatCompletions: ["max_completion_tokens", "max_tokens"]
        case .completions: ["max_tokens"]
        case .responses: ["max_output_tokens"]
        case .embeddings: []
        }
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
            let items = body["input"]?.arrayValue ?? []
            let own = items.map { ["system", "developer"].contains($0["role"]?.stringValue ?? "") }
            switch placement {
            case .ifAbsent:
                guard existing == nil, !own.contains(true) else { return }
                edits["instructions"] = .value(.string(system))
            case .prepend:
                edits["instructions"] = .value(.string(existing.map { system + "\n\n" + $0 } ?? system))
            case .replace:
                edits["instructions"] = .value(.string(system))
                // The client's own system and developer items go too, as in chat.
                guard own.contains(true) else { return }
                if let member = members.last(where: { $0.key == "input" }),
                    let ranges = JSONSlices.elements(of: bytes, in: member.valueRange), ranges.count == items.count
                {
                    var array: [UInt8] = [UInt8(ascii: "[")]
                    for (range, isOwn) in zip(ranges, own) where !isOwn {
                        if array.count > 1 { array.append(UInt8(ascii: ",")) }
                        array += bytes[range]
                    }
                    array.append(UInt8(ascii: "]"))
                    edits["input"] = .set(array)
                } else {
                    edits["input"] = .value(.array(zip(items, own).filter { !$0.1 }.map(\.0)))
                }
            }
        case .completions, .embeddings:
            // A bare prompt has no place for a system message.
            return
        }
    }
}
