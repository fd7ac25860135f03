import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardConfig
import SwitchyardCore
import SwitchyardHTTP
import SwitchyardClock

/// The management API (`--admin-listen`, default 127.0.0.1:8081): routes,
/// weights, rollback, promote, audit and metrics, as JSON with bearer tokens.
public struct ManagementAPI: Sendable {
    let control: ControlPlane
    let auth: ManagementAuth
    let metrics: any MetricsSource
    let hub: EventHub
    let clock: any MomentClock
    /// Largest request body accepted.
    public let maxBodyBytes = 1 << 20

    public init(control: ControlPlane, auth: ManagementAuth, metrics: any MetricsSource, hub: EventHub = EventHub(), clock: any MomentClock = SystemClock()) {
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
        api.get("/routes") { request, _ in
            await self.respond(request, role: .viewer) { _ in
                let routes = await self.control.currentPlans.map(\.route)
                return try .ok(RouteListView(routes: routes, rollouts: await self.control.latestRollouts.mapValues { RolloutView($0, full: false) }))
            }
        }
        api.get("/whoami") { request, _ in
            await self.respond(request, role: .viewer) { caller in
                try .ok(["name": caller.name, "role": caller.role.rawValue])
            }
        }
        api.get("/routes/{route}") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = context.parameters.get("route") ?? ""
                let plan = try await self.routePlan(name)
                return try .ok(RouteWithRolloutView(route: plan.route, rollout: await self.control.rollout(name).map { RolloutView($0, full: false) }), etag: plan.route.revision)
            }
        }
        api.put("/routes/{route}/weights") { request, context in
            await self.respond(request, role: .operator_) { caller in
                let name = context.parameters.get("route") ?? ""
                let body = try await self.readObject(request)
                let table = try await self.weights(from: body, route: name)
                return try await self.change(name, .setWeights(table), request: request, caller: caller)
            }
        }
        api.post("/routes/{route}/rollback") { request, context in
            await self.respond(request, role: .operator_) { caller in
                try await self.change(context.parameters.get("route") ?? "", .rollback, request: request, caller: caller)
            }
        }
        api.post("/routes/{route}/promote") { request, context in
            await self.respond(request, role: .operator_) { caller in
                let body = try await self.readObject(request, optional: true)
                var deployment: String?
                if let value = body["deployment"] {
                    guard let name = value.stringValue else {
                        throw APIError(status: 400, message: "'deployment' must be a string", type: "invalid_request_error", code: "invalid_type")
                    }
                    deployment = name
                }
                return try await self.change(context.parameters.get("route") ?? "", .promote(deployment: deployment), request: request, caller: caller)
            }
        }
        api.put("/routes") { request, _ in
            await self.respond(request, role: .admin) { caller in
                let allowEmpty: Bool
                switch request.uri.queryParameters["allowEmpty"].map(String.init) {
                case nil, "false": allowEmpty = false
                case "true": allowEmpty = true
                case let other?:
                    throw APIError.badRequest("allowEmpty '\(other.prefix(40))' must be true or false", code: "invalid_parameter")
                }
                let text = try await self.readText(request)
                let routes: [Route]
                do {
                    routes = try RoutesFile.parse(text, file: "request body", allowEmpty: allowEmpty)
                } catch {
                    throw APIError(
                        status: 422, message: "\(error)", type: "invalid_request_error",
                        code: (error as? ConfigError)?.declaresNoRoutes == true ? "no_routes_declared" : "invalid_config"
                    )
                }
                let outcome = try await self.control.apply(routes: routes, fingerprint: nil, actor: caller.name, source: "ctl apply")
                return try .ok(outcome)
            }
        }
        api.post("/routes/{route}/rollouts") { request, context in
            await self.respond(request, role: .operator_) { caller in
                let name = context.parameters.get("route") ?? ""
                _ = try await self.routePlan(name)
                let body = try await self.readPlan(request)
                let rollout = try await self.control.startRollout(name, plan: body, actor: caller.name)
                var reply = try Reply.ok(RolloutView(rollout, full: true))
                reply.status = .created
                return reply
            }
        }
        api.get("/routes/{route}/rollouts") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = context.parameters.get("route") ?? ""
                _ = try await self.routePlan(name)
                let limit = try Self.integer(request.uri.queryParameters["limit"].map(String.init), name: "limit", range: 1...500) ?? 20
                let history = try await self.control.rolloutHistory(route: name, limit: limit)
                return try .ok(RolloutListView(rollouts: history.map { RolloutView($0, full: false) }))
            }
        }
        api.get("/routes/{route}/rollout") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = context.parameters.get("route") ?? ""
                _ = try await self.routePlan(name)
                guard let rollout = await self.control.rollout(name) else {
                    throw APIError(status: 404, message: "route '\(name)' has had no rollout since this server started; start one with POST /routes/\(name)/rollouts", type: "invalid_request_error", code: "no_rollout")
                }
                return try .ok(RolloutView(rollout, full: true))
            }
        }
        api.get("/routes/{route}/rollout/evaluations") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let query = request.uri.queryParameters
                let limit = try Self.integer(query["limit"].map(String.init), name: "limit", range: 1...1000) ?? 100
                let before = try Self.integer(query["before"].map(String.init), name: "before", range: 1...Int.max).map(Int64.init)
                let (rollout, evaluations) = try await self.control.evaluationHistory(context.parameters.get("route") ?? "", limit: limit, beforeID: before)
                return try .ok(EvaluationListView(rolloutId: rollout.id, evaluations: evaluations.map { EvaluationListView.Entry(id: $0.id, $0.1) }))
            }
        }
        api.get("/routes/{route}/report") { request, context in
            await self.respond(request, role: .viewer) { _ in
                try .ok(try await self.control.experimentReport(context.parameters.get("route") ?? ""))
            }
        }
        api.get("/lifecycle") { request, _ in
            await self.respond(request, role: .viewer) { _ in
                try .ok(LifecycleListView(await self.control.lifecycleReport()))
            }
        }
        api.put("/lifecycle/catalog") { request, _ in
            await self.respond(request, role: .admin) { caller in
                let text = try await self.readText(request)
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw APIError(status: 400, message: "send the catalog as YAML, in the shape docs/lifecycle.md describes", type: "invalid_request_error", code: "empty_body")
                }
                _ = try await self.control.setCatalog(yaml: text, actor: caller.name)
                return try .ok(LifecycleListView(await self.control.lifecycleReport()))
            }
        }
        api.get("/routes/{route}/migration") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = context.parameters.get("route") ?? ""
                let plan = try await self.routePlan(name)
                do {
                    let proposal = try MigrationProposal(route: plan.route, catalog: await self.control.lifecycleCatalog, now: self.clock.now())
                    return try .ok(MigrationView(proposal))
                } catch {
                    throw APIError(status: 409, message: "\(error)", type: "invalid_request_error", code: "nothing_to_migrate")
                }
            }
        }
        api.post("/feedback") { request, _ in
            await self.respond(request, role: .operator_) { caller in
                let body = try await self.readObject(request)
                let feedback: Feedback
                do {
                    feedback = try Feedback(json: body, actor: caller.name, at: self.clock.now())
                } catch {
                    throw APIError(status: 422, message: "\(error)", type: "invalid_request_error", code: "invalid_feedback")
                }
                var attributed = feedback
                if attributed.deployment == nil, let place = self.metrics.attribution(requestId: feedback.requestId) {
                    if attributed.route == nil || attributed.route == place.route {
                        attributed.route = place.route
                        attributed.deployment = place.deployment
                    }
                }
                return try .ok(try await self.control.record(attributed))
            }
        }
        for action in ["pause", "resume", "abort"] {
            api.post("/routes/{route}/\(action)") { request, context in
                await self.respond(request, role: .operator_) { caller in
                    let name = context.parameters.get("route") ?? ""
                    let body = try await self.readObject(request, optional: true)
                    for key in body.keys where key != "reason" {
                        throw APIError(status: 400, message: "unknown field '\(key)'; the only field is 'reason'", type: "invalid_request_error", code: "unknown_field")
                    }
                    let event: RolloutEvent
                    switch action {
                    case "pause": event = .pause(actor: caller.name)
                    case "resume": event = .resume(actor: caller.name)
                    default:
                        let reason = body["reason"]?.stringValue.map { "aborted by \(caller.name): \($0)" } ?? ""
                        event = .abort(actor: caller.name, reason: reason)
                    }
                    let rollout = try await self.control.operate(name, event, actor: caller.name, action: action)
                    return try .ok(RolloutView(rollout, full: false))
                }
            }
        }
        api.get("/openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let document = try? Data(contentsOf: url) else {
                return APIError(status: 404, message: "the OpenAPI document is not installed with this binary", type: "invalid_request_error", code: "not_found").response
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
        }
        api.get("/events") { request, _ in
            do throws(APIError) {
                _ = try self.auth.authorize(request.headers[.authorization], role: .viewer)
            } catch {
                return error.response
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let snapshot = (try? encoder.encode(RouteListView(routes: await self.control.currentPlans.map(\.route), rollouts: await self.control.latestRollouts.mapValues { RolloutView($0, full: false) }))) ?? Data()
            let stream = self.hub.subscribe(first: (ManagementEventKind.snapshot.rawValue, Array(snapshot)))
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    for await event in stream {
                        try await writer.write(ByteBuffer(bytes: event.serverSentEvent))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        api.get("/audit") { request, _ in
            await self.respond(request, role: .viewer) { _ in
                let query = request.uri.queryParameters
                let limit = try Self.integer(query["limit"].map(String.init), name: "limit", range: 1...1000) ?? 100
                let before = try Self.integer(query["before"].map(String.init), name: "before", range: 1...Int.max).map(Int64.init)
                let events = try await self.control.auditEvents(route: query["route"].map(String.init), limit: limit, beforeID: before)
                return try .ok(AuditListView(events: events))
            }
        }
        api.get("/routes/{route}/metrics") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = context.parameters.get("route") ?? ""
                let plan = try await self.routePlan(name)
                let windowText = request.uri.queryParameters["window"].map(String.init) ?? "5m"
                guard let window = DurationText.parse(windowText), window >= .seconds(10), window <= .seconds(86_400) else {
                    throw APIError(
                        status: 400, message: "window '\(windowText.prefix(40))' must be a duration from 10s to 24h, e.g. 5m",
                        type: "invalid_request_error", code: "invalid_window"
                    )
                }
                let now = self.clock.now()
                guard window > .seconds(3600) else {
                    return try .ok(RouteMetricsView(plan: plan, window: window, metrics: self.metrics, now: now))
                }
                // Beyond the hour kept in memory: the per-minute roll-ups in the store.
                let seconds = now.nanoseconds / 1_000_000_000
                let since = seconds - seconds % 60 - Int64(window.secondsDouble)
                let rollups = try await self.control.rollups(route: name, sinceMinute: since)
                return try .ok(RouteMetricsView(plan: plan, window: window, rollups: rollups, metrics: self.metrics))
            }
        }
        return router
    }

    // MARK: Mutations

    private func change(_ name: String, _ change: RouteChange, request: Request, caller: TokenEntry) async throws -> Reply {
        let ifMatch = try Self.ifMatch(request.headers[.ifMatch])
        let outcome = try await control.change(name, change, ifMatch: ifMatch, actor: caller.name)
        return try .ok(
            ChangeView(route: outcome.route, changed: outcome.changed, serverTimeMs: outcome.serverTime.millisecondsDouble),
            etag: outcome.route.revision
        )
    }

    /// `{"weights": {"stable": 90, "canary": 10}}` → a weight table; deployments
    /// not named get 0.
    private func weights(from body: [String: JSONValue], route name: String) async throws(APIError) -> WeightTable {
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

    private func respond(
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

    private func readText(_ request: Request) async throws(APIError) -> String {
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
    private func readPlan(_ request: Request) async throws(APIError) -> JSONValue {
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

    private func readObject(_ request: Request, optional: Bool = false) async throws(APIError) -> [String: JSONValue] {
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
    private func routePlan(_ name: String) async throws(APIError) -> RoutePlan {
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
