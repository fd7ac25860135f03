import HTTPTypes
import NIOHTTP1
import SwitchyardCore

/// Which headers cross the gateway, in each direction. A client must not be
/// able to tell the gateway is there but by its `x-switchyard-*` headers, so
/// what clients and SDKs read from a provider's reply comes back, and the
/// tracing and attribution headers a client sends go on — each by allow-list,
/// with values that could break a message head left out.
enum HeaderPassThrough {
    /// Client headers sent on to every upstream.
    static let toEveryUpstream: [HTTPField.Name] = [
        HTTPField.Name("traceparent")!, HTTPField.Name("tracestate")!, HTTPField.Name("baggage")!,
        HTTPField.Name("x-client-request-id")!, HTTPField.Name("openai-beta")!,
    ]
    /// Client headers that only mean something to OpenAI itself.
    static let toOpenAIOnly: [HTTPField.Name] = [HTTPField.Name("openai-organization")!, HTTPField.Name("openai-project")!]

    /// Upstream reply headers clients rely on (request ids for support
    /// tickets, the provider's own timing and rate-limit budget, when to retry).
    static let fromUpstream: Set<String> = [
        "x-request-id", "openai-processing-ms", "openai-version", "retry-after", "retry-after-ms",
        "apim-request-id", "x-ms-region", "x-ms-client-request-id", "x-ms-deployment-name",
    ]
    static let fromUpstreamPrefixes = ["x-ratelimit-"]

    static let maximumValueBytes = 512
    static let maximumCount = 32

    /// A header value that is safe to put in another message head.
    static func isSafe(_ value: String) -> Bool {
        value.utf8.count <= maximumValueBytes && value.utf8.allSatisfy { $0 == 0x09 || (0x20...0x7E).contains($0) }
    }

    /// The client's headers to send to an upstream of `kind`.
    static func forwarded(from request: HTTPFields, to kind: Upstream.Kind) -> [(String, String)] {
        var result: [(String, String)] = []
        let names = kind == .openai ? toEveryUpstream + toOpenAIOnly : toEveryUpstream
        for name in names {
            if let value = request[name], isSafe(value) { result.append((name.canonicalName, value)) }
        }
        return result
    }

    /// The upstream's reply headers to pass back to the client.
    static func returned(from upstream: HTTPHeaders, into headers: inout HTTPFields) {
        var count = 0
        for (name, value) in upstream where count < maximumCount {
            let lower = name.lowercased()
            guard fromUpstream.contains(lower) || fromUpstreamPrefixes.contains(where: { lower.hasPrefix($0) }),
                isSafe(value), let field = HTTPField.Name(lower), headers[field] == nil
            else { continue }
            headers[field] = value
            count += 1
        }
    }
}
