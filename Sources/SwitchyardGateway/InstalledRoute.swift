import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// A route as the gateway serves it: the core's plan plus, per deployment,
/// the resolved upstream target and the long-lived runtime state.
///
/// A class, so a table of thousands is copied by reference when one route changes.
final class InstalledRoute: Sendable {
    let plan: RoutePlan
    let targets: [UpstreamTarget]
    let runtimes: [DeploymentRuntime]
    /// The response headers that name the route revision, rendered once.
    let revisionHeader: String
    /// Per deployment: its model version is retired (it gets no traffic).
    let retired: [Bool]
    /// Per deployment: the deployment that takes a retired one's traffic.
    let replacement: [Int?]

    init(plan: RoutePlan, targets: [UpstreamTarget], runtimes: [DeploymentRuntime], revisionHeader: String, retired: [Bool], replacement: [Int?]) {
        self.plan = plan
        self.targets = targets
        self.runtimes = runtimes
        self.revisionHeader = revisionHeader
        self.retired = retired
        self.replacement = replacement
    }
}

/// Everything needed to send a request to one deployment, computed when the
/// route is installed rather than on every request.
struct UpstreamTarget: Sendable {
    let deployment: Deployment
    let transport: any UpstreamTransport
    /// Path and query of each operation's endpoint on this upstream.
    let paths: [OpenAIOperation: String]
    private let jsonHeaders: HTTPHeaders
    private let streamHeaders: HTTPHeaders

    init(deployment: Deployment, environment: [String: String], clients: UpstreamClients) {
        self.deployment = deployment
        var paths: [OpenAIOperation: String] = [:]
        var transport: (any UpstreamTransport)?
        for operation in OpenAIOperation.allCases {
            let url = deployment.upstream.url(for: operation, model: deployment.upstreamModelName)
            let (chosen, path) = clients.transport(url: url, connectTimeout: deployment.timeouts.connect)
            transport = transport ?? chosen
            paths[operation] = path
        }
        self.paths = paths
        // Every operation's URL has the same origin, so one transport serves them all.
        self.transport = transport ?? clients.transport(url: deployment.upstream.url, connectTimeout: deployment.timeouts.connect).transport
        var headers = HTTPHeaders([("content-type", "application/json"), ("user-agent", SwitchyardVersion.productToken)])
        // Surrounding whitespace (a secret file's trailing newline) is dropped; a
        // key with control characters inside would break the request head, so it
        // is not sent, and the upstream's 401 says to check apiKeyEnv.
        if let variable = deployment.upstream.apiKeyEnv,
            let key = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty,
            key.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
        {
            switch deployment.upstream.kind {
            case .azure: headers.add(name: "api-key", value: key)
            case .openai: headers.add(name: "authorization", value: "Bearer " + key)
            }
        }
        var streamHeaders = headers
        streamHeaders.add(name: "accept", value: "text/event-stream")
        self.streamHeaders = streamHeaders
        headers.add(name: "accept", value: "application/json")
        jsonHeaders = headers
    }

    func makeRequest(_ operation: OpenAIOperation, body: [UInt8], stream: Bool, forwarding extra: [(String, String)] = []) -> UpstreamRequest {
        var headers = stream ? streamHeaders : jsonHeaders
        if !extra.isEmpty { headers.add(contentsOf: extra) }
        return UpstreamRequest(method: .POST, target: paths[operation] ?? "/", headers: headers, body: ByteBuffer(bytes: body))
    }

    /// The query parameters the stored-response calls document; others
    /// (an `api-version` of the client's own, say) are not passed on.
    static let storedResponseQuery: Set<String> = ["after", "before", "limit", "order", "include", "include[]", "stream", "starting_after"]

    /// A request about a stored response: `GET`/`DELETE …/responses/{id}`,
    /// `POST …/{id}/cancel`, `GET …/{id}/input_items`, with the client's
    /// documented query parameters.
    func storedResponseRequest(method: HTTPMethod, id: String, suffix: String, query: String, forwarding extra: [(String, String)]) -> UpstreamRequest {
        let base = paths[.responses] ?? "/responses"
        let (path, ownQuery) = base.firstIndex(of: "?").map { (String(base[..<$0]), String(base[base.index(after: $0)...])) } ?? (base, "")
        let clientQuery = query.split(separator: "&").filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return Self.storedResponseQuery.contains(name.removingPercentEncoding ?? name)
        }.joined(separator: "&")
        let queries = [ownQuery, clientQuery].filter { !$0.isEmpty }.joined(separator: "&")
        var headers = jsonHeaders
        if !extra.isEmpty { headers.add(contentsOf: extra) }
        return UpstreamRequest(
            method: method, target: path + "/" + id + suffix + (queries.isEmpty ? "" : "?" + queries), headers: headers,
            body: method == .POST ? ByteBuffer(string: "{}") : ByteBuffer()
        )
    }
}

extension UpstreamTarget {
    /// One non-streamed chat request straight to this upstream, outside any
    /// route (no metrics, breaker or client limits): its status and body,
    /// all within `limit`. Health checks and shadow traffic use it.
    func exchange(_ chat: ClientRequest, within limit: Duration, maxBytes: Int) async throws(UpstreamError) -> (status: UInt, body: ByteBuffer) {
        let deadline = NIODeadline.after(limit)
        let reply = try await transport.send(makeRequest(chat.operation, body: chat.upstreamBody(for: deployment).bytes, stream: false), headDeadline: deadline)
        return (reply.status, try await reply.collect(upTo: maxBytes, deadline: deadline))
    }
}
