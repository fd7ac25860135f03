import Synchronization
import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardHTTP

extension Gateway {
    /// Serves one OpenAI call: authenticate, validate, choose a deployment by
    /// sticky weight (or the one that holds the response being continued),
    /// and proxy — failing over to the route's other deployments until the
    /// first byte has gone to the client.
    func serve(_ request: Request, operation: OpenAIOperation, routeFromPath: String?) async -> Response {
        await answer(request) { served throws(APIError) in
            try await proxy(request, operation: operation, routeFromPath: routeFromPath, served: &served)
        }
    }

    /// Runs one client call and counts its answer. Only names of configured
    /// routes become label values: clients choose the route name, and must
    /// not be able to grow the metric set at will. A refusal the gateway makes
    /// once it knows the route still says which revision refused it and how
    /// many attempts were made.
    ///
    /// With an access log or tracing on, the request's ``RequestTrail``
    /// is finished here — or, for a stream, by its relay once the last event
    /// has gone out.
    func answer(_ request: Request, _ body: (inout ServedRoute) async throws(APIError) -> Response) async -> Response {
        var served = ServedRoute()
        if observability.isOn {
            served.trail = RequestTrail(request: request, observability: observability, clock: clock)
        }
        var response: Response
        var refusal: String?
        do {
            response = try await body(&served)
        } catch {
            response = error.response
            refusal = error.code ?? error.type
            if let revision = served.revisionHeader {
                response.headers[.switchyardRouteRevision] = revision
                response.headers[.switchyardAttempts] = String(served.attempts)
            }
        }
        let status = Int(response.status.code)
        countResponse(route: served.label, status: status)
        if let trail = served.trail {
            response.headers[.switchyardRequestID] = trail.requestID
            let streaming = trail.update(route: served.label == "-" ? nil : served.label, revision: served.revisionHeader, attempts: served.attempts, status: status)
            if !streaming || refusal != nil { trail.finish(status: status, error: refusal) }
        }
        return response
    }

    private func proxy(_ request: Request, operation: OpenAIOperation, routeFromPath: String?, served: inout ServedRoute) async throws(APIError) -> Response {
        let clientKey = try await authenticate(request)
        served.trail?.update { $0.client = clientKey?.name; $0.operation = operation }
        let bytes = try await readBody(request)
        let chat = try ClientRequest(bytes: bytes.readableBytesView, operation: operation, requireModel: routeFromPath == nil)
        served.trail?.update { $0.requestModel = (routeFromPath ?? chat.model).map { String($0.prefix(256)) } }
        // A continued response lives on the deployment that created it.
        var owner: (route: String, deployment: String)?
        if let previous = chat.previousResponseID {
            switch await lookUpResponse(previous, for: clientKey?.name) {
            case .mine(let known):
                owner = (known.route, known.deployment)
            case .anotherKeys:
                // As the provider answers for an id it does not have: another
                // client's conversation is not continued with the gateway's key.
                throw .notFound("Previous response with id '\(previous.prefix(200))' not found.", code: "previous_response_not_found")
            case .unknown:
                break
            }
        }
        let routeName = routeFromPath ?? chat.model ?? owner?.route ?? ""
        guard let route = installedRoute(routeName) else {
            let known = routeNames
            throw .notFound(
                "unknown route '\(routeName)'" + (known.isEmpty ? "; no routes are configured" : "; this gateway serves: \(known.joined(separator: ", "))"),
                code: "model_not_found"
            )
        }
        served.label = routeName
        served.revisionHeader = route.revisionHeader
        let plan = route.plan
        if plan.route.logContent {
            served.trail?.update {
                $0.logContent = true
                // Re-encoded: compact (one line whatever the client's layout).
                $0.requestContent = JSONText.encode(.object(chat.body))
            }
        }
        var pinned: Int?
        if let owner, let previous = chat.previousResponseID {
            pinned = try ownerIndex(owner, of: route, responseID: previous)
        }
        if let name = request.headers[.switchyardDeployment], pinned == nil {
            guard plan.route.allowPinning else {
                throw .forbidden(
                    "route '\(routeName)' does not allow pinning with x-switchyard-deployment (set allowPinning: true on the route)",
                    code: "pinning_not_allowed"
                )
            }
            guard let index = plan.route.deployments.firstIndex(where: { $0.name == name }) else {
                throw .badRequest(
                    "route '\(routeName)' has no deployment '\(name)'; it has: \(plan.route.deployments.map(\.name).joined(separator: ", "))",
                    code: "unknown_deployment"
                )
            }
            if route.retired[index] {
                throw APIError(
                    status: 410,
                    message: "deployment '\(name)' runs \(plan.route.deployments[index].modelVersion), which is retired; pin another deployment",
                    type: "invalid_request_error",
                    code: "deployment_retired"
                )
            }
            pinned = index
        }
        return try await dispatch(request, chat: chat, route: route, pinned: pinned, clientKey: clientKey, served: &served)
    }

    /// The client key the request presents, checked and admitted; nil when the gateway is open.
    func authenticate(_ request: Request) async throws(APIError) -> ClientKey? {
        guard !access.isOpen else { return nil }
        let started = clock.now()
        let secret = request.headers[.authorization].flatMap(Self.bearerToken) ?? request.headers[.apiKey]
        guard let key = access.authenticate(secret) else {
            throw .unauthorized(
                secret == nil
                    ? "missing API key: send 'Authorization: Bearer KEY' (OpenAI) or 'api-key: KEY' (Azure)"
                    : "the API key is not one this gateway accepts"
            )
        }
        if case .limited(let retryAfter, let reason) = await access.admit(key, now: started) {
            throw .rateLimited("client key '\(key.name)' is over its \(reason) limit; retry after \(DurationText.format(retryAfter))", retryAfter: retryAfter)
        }
        return key
    }

    /// Chooses the deployment (sticky weight, unless pinned) and tries the
    /// route's deployments in failover order.
    private func dispatch(
        _ request: Request, chat: ClientRequest, route: InstalledRoute, pinned: Int?, clientKey: ClientKey?, served: inout ServedRoute
    ) async throws(APIError) -> Response {
        let routeName = route.plan.route.name
        let plan = route.plan
        let sticky = stickyKey(
            safetyIdentifier: chat.safetyIdentifier,
            user: chat.user,
            header: request.headers[.switchyardUser],
            clientKey: clientKey?.name
        )
        let bucket = sticky.map { StickyHash.bucket(route: routeName, key: $0.key) }
            ?? StickyHash.bucket(forRequestNumber: anonymousRequests.add(1, ordering: .relaxed).newValue)
        var primary = pinned ?? plan.primaryDeployment(forBucket: bucket)
        // A retired primary's traffic goes to its replacement; with none on the
        // route, to the other deployments — those at weight 0 too — rather than
        // to nowhere.
        var standby = false
        if route.retired[primary] {
            if let replacement = route.replacement[primary] {
                primary = replacement
            } else {
                standby = true
            }
        }
        let attemptLimit = pinned == nil ? plan.attemptLimit(primary: primary, standby: standby) : 1

        var failures: [AttemptFailure] = []
        for attempt in 0..<attemptLimit {
            guard let index = pinned ?? plan.candidate(attempt: attempt, primary: primary, standby: standby) else { break }
            if route.retired[index] {
                failures.append(AttemptFailure(deployment: route.targets[index].deployment.name, kind: .retired))
                continue
            }
            let runtime = route.runtimes[index]
            let permit = runtime.acquire(now: clock.now())
            if case .rejected(let retryAfter, let reason) = permit {
                failures.append(AttemptFailure(deployment: route.targets[index].deployment.name, kind: .unavailable(reason), retryAfter: retryAfter))
                continue
            }
            served.attempts += 1
            let context = AttemptContext(
                route: route,
                index: index,
                chat: chat,
                clientKey: clientKey,
                probe: permit == .probe,
                attempt: attempt + 1,
                forwarded: HeaderPassThrough.forwarded(from: request.headers, to: route.targets[index].deployment.upstream.kind),
                trail: served.trail
            )
            switch await attemptUpstream(context) {
            case .response(let response):
                if let requestID = request.headers[.requestID], !requestID.isEmpty, requestID.utf8.count <= 200 {
                    ledger.record(requestID, route: routeName, deployment: route.targets[index].deployment.name)
                }
                return response
            case .failed(let failure):
                failures.append(failure)
            }
        }
        throw Self.finalError(route: routeName, failures: failures)
    }

    private func readBody(_ request: Request) async throws(APIError) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > options.maxRequestBytes {
            throw .tooLarge(limit: options.maxRequestBytes)
        }
        do {
            return try await request.body.collect(upTo: options.maxRequestBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw .tooLarge(limit: options.maxRequestBytes)
        } catch {
            throw .badRequest("could not read the request body: \(error)", code: "invalid_body")
        }
    }

    static func bearerToken(_ header: String) -> String? {
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return String(header.dropFirst(7))
    }

    // MARK: Final answer when every attempt failed

    static func finalError(route: String, failures: [AttemptFailure]) -> APIError {
        let summary = failures.map { "\($0.deployment): \($0.kind.description)" }.joined(separator: "; ")
        let attempted = failures.filter {
            switch $0.kind {
            case .unavailable, .retired: false
            default: true
            }
        }
        if failures.isEmpty {
            return APIError(status: 503, message: "route '\(route)' has no deployment with traffic", type: "server_error", code: "no_healthy_deployment")
        }
        let throttledOnly = failures.allSatisfy { failure in
            switch failure.kind {
            case .throttled, .unavailable(.throttled): true
            default: false
            }
        }
        let soonest = failures.compactMap(\.retryAfter).min()
        if throttledOnly {
            return .rateLimited("every deployment of route '\(route)' is rate-limited upstream (\(summary))", retryAfter: soonest ?? .seconds(1))
        }
        if attempted.isEmpty {
            return APIError(
                status: 503,
                message: "no deployment of route '\(route)' is available right now (\(summary))",
                type: "server_error",
                code: "no_healthy_deployment",
                retryAfter: soonest
            )
        }
        if attempted.allSatisfy({ if case .saturated = $0.kind { true } else { false } }) {
            return APIError(
                status: 503,
                message: "the gateway cannot open another upstream connection for route '\(route)' (\(summary))",
                type: "server_error",
                code: "upstream_saturated",
                retryAfter: soonest ?? .seconds(1)
            )
        }
        if attempted.allSatisfy({ if case .timeout = $0.kind { true } else { false } }) {
            return APIError(status: 504, message: "upstream timed out for route '\(route)' (\(summary))", type: "server_error", code: "upstream_timeout")
        }
        return APIError(status: 502, message: "upstream failed for route '\(route)' (\(summary))", type: "server_error", code: "upstream_error")
    }
}

/// What a request has learned about its route, for the reply's headers and metrics.
struct ServedRoute {
    /// The route's name once it is known to be configured; `-` before.
    var label = "-"
    var revisionHeader: String?
    var attempts = 0
    /// Set when the access log or tracing is on.
    var trail: RequestTrail?
}

/// One failed or skipped attempt, kept to explain the final error.
struct AttemptFailure: Sendable {
    enum Kind: Sendable, CustomStringConvertible {
        case unavailable(CircuitBreaker.RejectionReason)
        case retired
        case throttled
        case timeout(TimeoutStage)
        /// The gateway's connection cap to the upstream is reached.
        case saturated(String)
        case failed(String)

        var description: String {
            switch self {
            case .unavailable(.open): "circuit breaker open"
            case .unavailable(.probing): "circuit breaker half-open, probe in flight"
            case .unavailable(.throttled): "holding off after upstream 429"
            case .retired: "model version retired"
            case .throttled: "upstream answered 429"
            case .timeout(let stage): "timed out (\(stage.rawValue))"
            case .saturated(let reason): reason
            case .failed(let reason): reason
            }
        }

        /// A fixed code for the attempt's span (`error.type`).
        var code: String {
            switch self {
            case .unavailable(.open): "circuit_open"
            case .unavailable(.probing): "circuit_half_open"
            case .unavailable(.throttled): "holding_after_429"
            case .retired: "model_retired"
            case .throttled: "upstream_429"
            case .timeout: "upstream_timeout"
            case .saturated: "upstream_saturated"
            case .failed: "upstream_error"
            }
        }
    }

    let deployment: String
    let kind: Kind
    var retryAfter: Duration? = nil
}

extension HTTPField.Name {
    static let apiKey = Self("api-key")!
    static let switchyardDeployment = Self("x-switchyard-deployment")!
    static let switchyardModelVersion = Self("x-switchyard-model-version")!
    static let switchyardRouteRevision = Self("x-switchyard-route-revision")!
    static let switchyardAttempts = Self("x-switchyard-attempts")!
    static let switchyardUser = Self("x-switchyard-user")!
    static let requestID = Self("x-request-id")!
    /// The id of the request's access-log line and span (the client's `x-request-id`, or one made up).
    static let switchyardRequestID = Self("x-switchyard-request-id")!
    static let switchyardEnforced = Self("x-switchyard-enforced")!
}
