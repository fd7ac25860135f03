import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import SwitchyardConfig
public import SwitchyardCore
import SwitchyardHTTP
public import Tracing
public import SwitchyardClock

/// The management API (`--admin-listen`, default 127.0.0.1:8081): routes,
/// weights, rollback, promote, audit and metrics, as JSON with bearer tokens.
public struct ManagementAPI: Sendable {
    let control: ControlPlane
    let auth: ManagementAuth
    let metrics: any MetricsSource
    let hub: EventHub
    let clock: any MomentClock
    /// Spans for every call that changes something, when `serve` traces.
    let tracer: (any Tracer)?
    /// Largest request body accepted.
    public let maxBodyBytes = 1 << 20

    public init(
        control: ControlPlane, auth: ManagementAuth, metrics: any MetricsSource, hub: EventHub = EventHub(), clock: any MomentClock = SystemClock(),
        tracer: (any Tracer)? = nil
    ) {
        self.tracer = tracer
        self.control = control
        self.auth = auth
        self.metrics = metrics
        self.hub = hub
        self.clock = clock
    }

    /// Forwards every committed change to the event stream. Call once.
    public func connectEvents() async {
        let hub = self.hub
        await control.observe { event in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            switch event {
            case .routeChanged(let route):
                if let data = try? encoder.encode(route) { hub.publish(.route, data: Array(data)) }
            case .routeDeleted(let name):
                if let data = try? encoder.encode(RouteDeletedNotice(route: name)) { hub.publish(.routeDeleted, data: Array(data)) }
            case .audit(let entry):
                if let data = try? encoder.encode(entry) { hub.publish(.audit, data: Array(data)) }
            case .lifecycleWarning(let days, let key, let message):
                if let data = try? encoder.encode(LifecycleNotice(days: days, key: key, message: message)) { hub.publish(.lifecycle, data: Array(data)) }
            case .rollout(let rollout):
                if let data = try? encoder.encode(RolloutView(rollout, full: false)) { hub.publish(.rollout, data: Array(data)) }
            }
        }
    }

    /// The router wrapped so unknown paths and methods get JSON errors too.
    public func buildResponder() -> some HTTPResponder<BasicRequestContext> {
        JSONErrorResponder(buildRouter().buildResponder(), hint: "the management API is described at GET /api/v1/openapi.yaml")
    }

    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let api = router.group("/api/v1")
        addRoutesEndpoints(to: api)
        addRolloutsEndpoints(to: api)
        addLifecycleEndpoints(to: api)
        addMeasurementsEndpoints(to: api)
        addChangesEndpoints(to: api)
        addAboutEndpoints(to: api)
        return router
    }

    // MARK: Mutations

    func change(_ name: String, _ change: RouteChange, request: Request, caller: TokenEntry) async throws -> Reply {
        let ifMatch = try Self.ifMatch(request.headers[.ifMatch])
        let outcome = try await control.change(name, change, ifMatch: ifMatch, actor: caller.name)
        return try .ok(
            ChangeView(route: outcome.route, changed: outcome.changed, serverTimeMs: outcome.serverTime.millisecondsDouble),
            etag: outcome.route.revision
        )
    }

    /// `{"weights": {"stable": 90, "canary": 10}}` → a weight table; deployments
    /// not named get 0.
    func weights(from body: [String: JSONValue], route name: String) async throws(APIError) -> WeightTable {
        for key in body.keys where key != "weights" {
            throw APIError(status: 400, message: "unknown field '\(key)'; send {\"weights\": {\"DEPLOYMENT\": PERCENT, …}}", type: "invalid_request_error", code: "unknown_field")
        }
        guard case .object(let members)? = body["weights"], !members.isEmpty else {
            throw APIError(status: 400, message: "'weights' must be an object of deployment names to percentages", type: "invalid_request_error", code: "invalid_type")
        }
        let known = try await routePlan(name).route.deployments.map(\.name)
        var entries: [WeightTable.Entry] = []
        for (deployment, value) in members {
            guard known.contains(deployment) else {
                throw APIError(
                    status: 422, message: "route '\(name)' has no deployment '\(deployment)'; it has \(known.joined(separator: ", "))",
                    type: "invalid_request_error", code: "unknown_deployment"
                )
            }
            guard case .number(let percent) = value else {
                throw APIError(status: 422, message: "weight of '\(deployment)' must be a number, not \(value.typeName)", type: "invalid_request_error", code: "invalid_weight")
            }
            do {
                entries.append(.init(deployment: deployment, weight: try Weight(percent: percent)))
            } catch {
                throw APIError(status: 422, message: "weight of '\(deployment)': \(error)", type: "invalid_request_error", code: "invalid_weight")
            }
        }
        for deployment in known where members[deployment] == nil {
            entries.append(.init(deployment: deployment, weight: .zero))
        }
        entries.sort { known.firstIndex(of: $0.deployment)! < known.firstIndex(of: $1.deployment)! }
        do {
            return try WeightTable(entries)
        } catch {
            throw APIError(status: 422, message: "\(error)", type: "invalid_request_error", code: "invalid_weights")
        }
    }

    // MARK: Plumbing

    /// The `{route}` of a request's path: one place reads it.
    static func routeName(_ context: BasicRequestContext) -> String {
        context.parameters.get("route") ?? ""
    }

    /// What a handler returns: a JSON value and, for single routes, its revision as ETag.
    struct Reply {
        var status: HTTPResponse.Status
        var body: Data
        var etag: Int?

        static func ok(_ value: some Encodable, etag: Int? = nil) throws(APIError) -> Reply {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            do {
                return Reply(status: .ok, body: try encoder.encode(value), etag: etag)
            } catch {
                throw APIError(status: 500, message: "could not encode the reply: \(error)", type: "server_error")
            }
        }
    }

    func respond(
        _ request: Request,
        role: Role,
        _ handler: (TokenEntry) async throws -> Reply
    ) async -> Response {
        guard let tracer, request.method != .get, request.method != .head else {
            return await respondUntraced(request, role: role, handler)
        }
        // A change is a span; what it sets off (a rollout's transitions) are its children.
        var parent = ServiceContext.topLevel
        tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let path = String((request.head.path ?? "").prefix(while: { $0 != "?" }).prefix(512))
        let span = tracer.startSpan("management \(request.method.rawValue)", context: parent, ofKind: .server)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.path"] = path
        }
        let response = await ServiceContext.withValue(span.context) {
            await respondUntraced(request, role: role) { caller in
                span.attributes["switchyard.actor"] = caller.name
                return try await handler(caller)
            }
        }
        let status = Int(response.status.code)
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        span.end()
        return response
    }

    private func respondUntraced(
        _ request: Request,
        role: Role,
        _ handler: (TokenEntry) async throws -> Reply
    ) async -> Response {
        do {
            let caller = try auth.authorize(request.headers[.authorization], role: role)
            let reply = try await handler(caller)
            var headers: HTTPFields = [.contentType: "application/json"]
            if let etag = reply.etag { headers[.eTag] = "\"\(etag)\"" }
            return Response(status: reply.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
        } catch let error as ControlError {
            return Self.apiError(error).response
        } catch let error as APIError {
            return error.response
        } catch {
            return APIError(status: 500, message: "unexpected error: \(error)", type: "server_error").response
        }
    }

    func readText(_ request: Request) async throws(APIError) -> String {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw APIError(status: 413, message: "request body is larger than \(maxBodyBytes) bytes", type: "invalid_request_error", code: "request_too_large")
        }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw APIError(status: 400, message: "request body is not UTF-8 text", type: "invalid_request_error", code: "invalid_encoding")
        }
        return text
    }

    /// A rollout plan as JSON, or as YAML when the content type says so.
    func readPlan(_ request: Request) async throws(APIError) -> JSONValue {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.contains("yaml") else { return .object(try await readObject(request)) }
        let text = try await readText(request)
        do {
            return try PlanFile.parse(text, file: "request body")
        } catch {
            // Malformed YAML is a bad request; a well-formed document over the size or depth bounds is refused like any invalid plan.
            throw APIError(
                status: error.exceedsLimits ? 422 : 400, message: "\(error)", type: "invalid_request_error", code: error.exceedsLimits ? "invalid_plan" : "invalid_yaml"
            )
        }
    }

    func readObject(_ request: Request, optional: Bool = false) async throws(APIError) -> [String: JSONValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw APIError(status: 413, message: "request body is larger than \(maxBodyBytes) bytes", type: "invalid_request_error", code: "request_too_large")
        }
        if buffer.readableBytes == 0 {
            if optional { return [:] }
            throw APIError(status: 400, message: "request body is empty; send a JSON object", type: "invalid_request_error", code: "invalid_json")
        }
        guard case .object(let members) = try JSONText.decode(buffer.readableBytesView) else {
            throw APIError(status: 400, message: "request body must be a JSON object", type: "invalid_request_error", code: "invalid_json")
        }
        return members
    }

    /// `If-Match: "7"`, `7` or `W/"7"`.
    static func ifMatch(_ header: String?) throws(APIError) -> Int? {
        guard var text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text != "*" else { return nil }
        if text.hasPrefix("W/") { text.removeFirst(2) }
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let revision = Int(text), revision > 0 else {
            throw APIError(status: 400, message: "If-Match must be a route revision such as \"7\", not \(header ?? "")", type: "invalid_request_error", code: "invalid_if_match")
        }
        return revision
    }

    static func integer(_ text: String?, name: String, range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            let shown = text.count <= 40 ? text : String(text.prefix(40)) + "…"
            throw APIError(
                status: 400, message: "'\(name)' is '\(shown)'; it must be a whole number from \(range.lowerBound) to \(range.upperBound)",
                type: "invalid_request_error", code: "invalid_parameter"
            )
        }
        return value
    }

    /// The route named `name`, or a 404 that lists the routes there are.
    func routePlan(_ name: String) async throws(APIError) -> RoutePlan {
        guard let plan = await control.plan(name) else { throw Self.notFound(name, known: await control.currentPlans.map(\.route.name)) }
        return plan
    }

    static func notFound(_ name: String, known: [String]) -> APIError {
        APIError(
            status: 404, message: "no route named '\(name)'" + (known.isEmpty ? "" : "; routes: \(known.joined(separator: ", "))"),
            type: "invalid_request_error", code: "route_not_found"
        )
    }

    static func apiError(_ error: ControlError) -> APIError {
        switch error {
        case .unknownRoute(let name, let known):
            return notFound(name, known: known)
        case .stale:
            return APIError(status: 412, message: "\(error)", type: "invalid_request_error", code: "stale_revision")
        case .invalid(.nothingToPromote), .invalid(.ambiguousCanary):
            return APIError(status: 409, message: "\(error)", type: "invalid_request_error", code: "nothing_to_promote")
        case .invalid, .invalidRoute:
            return APIError(status: 422, message: "\(error)", type: "invalid_request_error", code: "invalid_change")
        case .storage:
            return APIError(status: 503, message: "\(error)", type: "server_error", code: "state_store_unavailable")
        case .conflict:
            return APIError(status: 412, message: "\(error)", type: "invalid_request_error", code: "write_conflict")
        case .outcomeUnknown:
            return APIError(status: 503, message: "\(error)", type: "server_error", code: "outcome_unknown")
        case .invalidPlan:
            return APIError(status: 422, message: "\(error)", type: "invalid_request_error", code: "invalid_plan")
        case .rolloutConflict:
            return APIError(status: 409, message: "\(error)", type: "invalid_request_error", code: "rollout_conflict")
        case .noRollout:
            return APIError(status: 409, message: "\(error)", type: "invalid_request_error", code: "no_rollout")
        }
    }
}

extension HTTPField.Name {
    static let ifMatch = Self("If-Match")!
    static let eTag = Self("ETag")!
}
