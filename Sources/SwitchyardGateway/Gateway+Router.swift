import Foundation
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
    /// The data-plane router: the OpenAI and Azure OpenAI paths of chat
    /// completions, completions, embeddings and the Responses API (stored
    /// responses included), the model list, health, readiness and Prometheus metrics.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        for operation in OpenAIOperation.allCases {
            router.post(RouterPath("/v1" + operation.pathSuffix)) { request, _ in
                await self.serve(request, operation: operation, routeFromPath: nil)
            }
            router.post(RouterPath("/openai/v1" + operation.pathSuffix)) { request, _ in
                await self.serve(request, operation: operation, routeFromPath: nil)
            }
        }
        // Azure: the deployment (here, the route) in the path, `api-version` required.
        for operation in [OpenAIOperation.chatCompletions, .completions, .embeddings] {
            router.post(RouterPath("/openai/deployments/{route}" + operation.pathSuffix)) { request, context in
                if let refusal = Self.missingAPIVersion(request) { return refusal }
                return await self.serve(request, operation: operation, routeFromPath: context.parameters.get("route") ?? "")
            }
        }
        router.post("/openai/responses") { request, _ in
            if let refusal = Self.missingAPIVersion(request) { return refusal }
            return await self.serve(request, operation: .responses, routeFromPath: nil)
        }
        // A stored response lives on the deployment that created it.
        for prefix in ["/v1/responses", "/openai/v1/responses", "/openai/responses"] {
            router.get(RouterPath(prefix + "/{id}")) { request, context in
                await self.storedResponse(request, id: context.parameters.get("id") ?? "", action: .retrieve)
            }
            router.delete(RouterPath(prefix + "/{id}")) { request, context in
                await self.storedResponse(request, id: context.parameters.get("id") ?? "", action: .delete)
            }
            router.post(RouterPath(prefix + "/{id}/cancel")) { request, context in
                await self.storedResponse(request, id: context.parameters.get("id") ?? "", action: .cancel)
            }
            router.get(RouterPath(prefix + "/{id}/input_items")) { request, context in
                await self.storedResponse(request, id: context.parameters.get("id") ?? "", action: .inputItems)
            }
        }
        router.get("/openai/models") { request, _ in
            if let refusal = Self.missingAPIVersion(request) { return refusal }
            return self.modelList()
        }
        router.get("/openai/v1/models") { _, _ in
            self.modelList()
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
            self.emitRouteGauges(into: &buffer)
            self.emitOperationalGauges(into: &buffer)
            self.emitProcessMetrics(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        return router
    }

    /// Each route's weights and revision, written from the installed table at
    /// scrape time rather than kept as registry gauges: registering a series
    /// copies its family in swift-prometheus, which made installing 10,000
    /// routes quadratic.
    func emitRouteGauges(into buffer: inout [UInt8]) {
        let routes = table.withLock { $0 }.values.map(\.plan.route).sorted { $0.name < $1.name }
        let label = Self.prometheusLabel
        var text = "# HELP switchyard_route_weight_percent Current share of a route's traffic per deployment.\n# TYPE switchyard_route_weight_percent gauge\n"
        for route in routes {
            for deployment in route.deployments {
                text += "switchyard_route_weight_percent{route=\"\(label(route.name))\",deployment=\"\(label(deployment.name))\"} \(Self.number(deployment.weight.percent))\n"
            }
        }
        text += "# HELP switchyard_deployment_info The provider, model and version each deployment pins (always 1).\n# TYPE switchyard_deployment_info gauge\n"
        for route in routes {
            for deployment in route.deployments {
                text += "switchyard_deployment_info{route=\"\(label(route.name))\",deployment=\"\(label(deployment.name))\",provider=\"\(deployment.upstream.kind.rawValue)\",model=\"\(label(deployment.model))\",version=\"\(label(deployment.version))\"} 1\n"
            }
        }
        text += "# HELP switchyard_route_revision Current revision of each route.\n# TYPE switchyard_route_revision gauge\n"
        for route in routes {
            text += "switchyard_route_revision{route=\"\(label(route.name))\"} \(route.revision)\n"
        }
        buffer += Array(text.utf8)
    }

    /// A label value escaped for the Prometheus text format.
    static func prometheusLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `90`, or `12.5`: weights are percentages from 0 to 100.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Azure OpenAI paths carry `api-version`; without it Azure answers 400, and so does the gateway.
    static func missingAPIVersion(_ request: Request) -> Response? {
        guard request.uri.queryParameters["api-version"] == nil else { return nil }
        return APIError.badRequest(
            "the 'api-version' query parameter is required on Azure OpenAI paths, e.g. ?api-version=2024-10-21",
            code: "missing_api_version"
        ).response
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
            responder: JSONErrorResponder(ChatCompletionsFastPath(gateway: self, router: buildRouter().buildResponder()), hint: "the gateway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/models and their Azure OpenAI paths"),
            configuration: .init(host: host, port: port, serverName: "switchyard", maxBodyBytes: options.maxRequestBytes, limits: limits),
            logger: logger,
            onServerRunning: onServerRunning
        )
    }
}
