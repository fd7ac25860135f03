import Foundation
import SwitchyardCore

/// Writes a simulated reply in OpenAI's exact wire format, compact JSON as
/// the provider sends it.
struct ReplyWriter: Sendable {
    let id: String
    let model: String
    let words: [String]
    let usage: TokenUsage
    let created = Int(Date().timeIntervalSince1970)

    var text: String { words.joined(separator: " ") }

    private var usageJSON: String {
        "{\"prompt_tokens\":\(usage.promptTokens),\"completion_tokens\":\(usage.completionTokens),\"total_tokens\":\(usage.totalTokens)}"
    }

    func completion() -> String {
        "{\"id\":\"\(id)\",\"object\":\"chat.completion\",\"created\":\(created),\"model\":\"\(model)\",\"system_fingerprint\":\"fp_simulated\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(Self.quote(text)),\"refusal\":null},"
            + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":\(usageJSON)}"
    }

    /// Every server-sent event of the streamed reply: a role chunk, one chunk
    /// per word, the finish chunk, the usage chunk when asked for, `[DONE]`.
    func streamChunks(includeUsage: Bool) -> [String] {
        let usageField = includeUsage ? ",\"usage\":null" : ""
        func chunk(_ delta: String, finish: String?) -> String {
            let finishText = finish.map { "\"\($0)\"" } ?? "null"
            return "data: {\"id\":\"\(id)\",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":\"\(model)\","
                + "\"system_fingerprint\":\"fp_simulated\",\"choices\":[{\"index\":0,\"delta\":\(delta),\"logprobs\":null,"
                + "\"finish_reason\":\(finishText)}]\(usageField)}\n\n"
        }
        var chunks = [chunk("{\"role\":\"assistant\",\"content\":\"\"}", finish: nil)]
        for (index, word) in words.enumerated() {
            chunks.append(chunk("{\"content\":\(Self.quote(index == 0 ? word : " " + word))}", finish: nil))
        }
        chunks.append(chunk("{}", finish: "stop"))
        if includeUsage {
            chunks.append(
                "data: {\"id\":\"\(id)\",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":\"\(model)\","
                    + "\"system_fingerprint\":\"fp_simulated\",\"choices\":[],\"usage\":\(usageJSON)}\n\n"
            )
        }
        chunks.append("data: [DONE]\n\n")
        return chunks
    }

    static func quote(_ text: String) -> String {
        String(decoding: JSONText.encode(.string(text)), as: UTF8.self)
    }
}
