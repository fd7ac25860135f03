import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import Prometheus
public import ServiceLifecycle
import Synchronization
import SwitchyardCore
public import SwitchyardHTTP

extension Gateway {
    /// The data-plane router: the OpenAI and Azure OpenAI chat-completions
    /// paths, health, readiness and Prometheus metrics.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in
            await self.chatCompletions(request, routeFromPath: nil)
        }
        router.post("/openai/v1/chat/completions") { request, _ in
            await self.chatCompletions(request, routeFromPath: nil)
        }
        router.post("/openai/deployments/{route}/chat/completions") { request, context in
            let route = context.parameters.get("route") ?? ""
            guard request.uri.queryParameters["api-version"] != nil else {
                return APIError.badRequest(
                    "the 'api-version' query parameter is required on Azure OpenAI paths, e.g. ?api-version=2024-10-21",
                    code: "missing_api_version"
                ).response
            }
            return await self.chatCompletions(request, routeFromPath: route)
        }
        router.get("/v1/models") { _, _ in
            self.modelList()
        }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok \(SwitchyardVersion.productToken)\n")))
        }
        router.get("/readyz") { _, _ in
            let ready = self.isReady
            var body: JSONValue = ["ready": .bool(ready), "routes": .number(Double(self.routeNames.count))]
            // A replica that lost the shared store still serves its last routes: ready, but it says so.
            if let problem = self.stateStoreProblem.withLock({ $0 }) {
                body = ["ready": .bool(ready), "routes": .number(Double(self.routeNames.count)), "stateStore": .string("unreachable: \(problem)")]
            }
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.encode(body)))
            )
        }
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 << 10)
            self.registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        return router
    }

    /// The routes, listed the way OpenAI lists models, so `client.models.list()`
    /// shows what a client may send as `model`.
    func modelList() -> Response {
        let models: [JSONValue] = routes.map { route in
            ["id": .string(route.name), "object": "model", "created": 0, "owned_by": "switchyard"]
        }
        let body: JSONValue = ["object": "list", "data": .array(models)]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.encode(body))))
    }

    /// The data-plane server on `host:port` (port 0 picks a free port,
    /// reported to `onServerRunning`): the router behind a
    /// ``DirectHTTPServer``, which keeps Hummingbird's async channel off the
    /// hot path.
    public func buildApplication(
        host: String,
        port: Int,
        limits: ConnectionLimits = ConnectionLimits(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some Service {
        DirectHTTPServer(
            responder: JSONErrorResponder(buildRouter().buildResponder(), hint: "the gateway serves POST /v1/chat/completions and the Azure OpenAI chat-completions paths"),
            configuration: .init(host: host, port: port, serverName: "switchyard", maxBodyBytes: options.maxRequestBytes, limits: limits),
            logger: logger,
            onServerRunning: onServerRunning
        )
    }
}
