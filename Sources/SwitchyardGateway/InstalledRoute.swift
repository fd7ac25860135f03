import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// A route as the gateway serves it: the core's plan plus, per deployment,
/// the resolved upstream target and the long-lived runtime state.
struct InstalledRoute: Sendable {
    let plan: RoutePlan
    let targets: [UpstreamTarget]
    let runtimes: [DeploymentRuntime]
    /// The response headers that name the route revision, rendered once.
    let revisionHeader: String
    /// Per deployment: its model version is retired (it gets no traffic).
    let retired: [Bool]
    /// Per deployment: the deployment that takes a retired one's traffic.
    let replacement: [Int?]
}

/// Everything needed to send a request to one deployment, computed when the
/// route is installed rather than on every request.
struct UpstreamTarget: Sendable {
    let deployment: Deployment
    let transport: any UpstreamTransport
    /// Path and query of the chat-completions endpoint.
    let path: String
    private let jsonHeaders: HTTPHeaders
    private let streamHeaders: HTTPHeaders

    init(deployment: Deployment, environment: [String: String], clients: UpstreamClients) {
        self.deployment = deployment
        let url = deployment.upstream.chatCompletionsURL(model: deployment.upstreamModelName)
        (transport, path) = clients.transport(url: url, connectTimeout: deployment.timeouts.connect)
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

    func makeRequest(body: [UInt8], stream: Bool, forwarding extra: [(String, String)] = []) -> UpstreamRequest {
        var headers = stream ? streamHeaders : jsonHeaders
        if !extra.isEmpty { headers.add(contentsOf: extra) }
        return UpstreamRequest(target: path, headers: headers, body: ByteBuffer(bytes: body))
    }
}

extension UpstreamTarget {
    /// One non-streamed chat request straight to this upstream, outside any
    /// route (no metrics, breaker or client limits): its status and body,
    /// all within `limit`. Health checks and shadow traffic use it.
    func exchange(_ chat: ClientRequest, within limit: Duration, maxBytes: Int) async throws(UpstreamError) -> (status: UInt, body: ByteBuffer) {
        let deadline = NIODeadline.after(limit)
        let reply = try await transport.send(makeRequest(body: chat.upstreamBody(for: deployment).bytes, stream: false), headDeadline: deadline)
        return (reply.status, try await reply.collect(upTo: maxBytes, deadline: deadline))
    }
}
