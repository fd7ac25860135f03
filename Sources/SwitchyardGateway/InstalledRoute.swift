import AsyncHTTPClient
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
    let url: String
    /// The upstream credential header (`api-key` or `Authorization`), if configured.
    let credential: (name: String, value: String)?
    let client: HTTPClient

    init(deployment: Deployment, environment: [String: String], clients: UpstreamClients) {
        self.deployment = deployment
        self.url = deployment.upstream.chatCompletionsURL(model: deployment.upstreamModelName)
        if let variable = deployment.upstream.apiKeyEnv, let key = environment[variable], !key.isEmpty {
            switch deployment.upstream.kind {
            case .azure: credential = ("api-key", key)
            case .openai: credential = ("Authorization", "Bearer " + key)
            }
        } else {
            credential = nil
        }
        self.client = clients.client(connectTimeout: deployment.timeouts.connect)
    }

    func makeRequest(body: [UInt8], stream: Bool) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        if let credential { request.headers.add(name: credential.name, value: credential.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }
}

extension UpstreamTarget {
    /// One non-streamed chat request straight to this upstream, outside any
    /// route (no metrics, breaker or client limits): its status and body,
    /// all within `limit`. Health checks and shadow traffic use it.
    func exchange(_ chat: ChatCompletionRequest, within limit: Duration, maxBytes: Int) async throws -> (status: UInt, body: ByteBuffer) {
        let request = makeRequest(body: chat.upstreamBody(for: deployment), stream: false)
        let client = client
        return try await withTimeLimit(limit, stage: .total) {
            let response = try await client.execute(request, timeout: .nanoseconds(limit.nanosecondsForNIO))
            return (response.status.code, try await response.body.collect(upTo: maxBytes))
        }
    }
}
