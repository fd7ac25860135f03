import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
public import SwitchyardCore
import SwitchyardHTTP

/// What a request about a stored response asks for.
enum StoredResponseAction: Sendable {
    case retrieve, delete, cancel, inputItems

    var method: HTTPMethod {
        switch self {
        case .retrieve, .inputItems: .GET
        case .delete: .DELETE
        case .cancel: .POST
        }
    }

    var suffix: String {
        switch self {
        case .retrieve, .delete: ""
        case .cancel: "/cancel"
        case .inputItems: "/input_items"
        }
    }
}

/// Response ids this replica has seen, most recent first out of a bounded
/// map, in front of the state store that a fleet shares.
final class ResponseAffinityCache: Sendable {
    private struct State {
        var owners: [String: ResponseOwner] = [:]
        var order: [String] = []
        var head = 0
    }

    private let capacity: Int
    private let state = Mutex(State())
    let store = Mutex<(any ResponseAffinityStore)?>(nil)

    init(capacity: Int) {
        self.capacity = capacity
    }

    func remember(_ id: String, owner: ResponseOwner) {
        state.withLock { state in
            if state.owners[id] == nil {
                if state.order.count < capacity {
                    state.order.append(id)
                } else {
                    state.owners[state.order[state.head]] = nil
                    state.order[state.head] = id
                    state.head = (state.head + 1) % capacity
                }
            }
            state.owners[id] = owner
        }
    }

    func local(_ id: String) -> ResponseOwner? {
        state.withLock { $0.owners[id] }
    }
}

extension Gateway {
    /// Shares response ownership through the state store (every replica of a
    /// fleet, and across restarts).
    public func useResponseAffinityStore(_ store: any ResponseAffinityStore) {
        responseAffinity.store.withLock { $0 = store }
    }

    /// Remembers that `deployment` of `route` created response `id`.
    func rememberResponse(_ id: String, route: String, deployment: String, clientKey: String?) async {
        guard !id.isEmpty, id.utf8.count <= ResponseAffinityPolicy.maximumIDBytes else { return }
        let owner = ResponseOwner(route: route, deployment: deployment, clientKey: clientKey)
        responseAffinity.remember(id, owner: owner)
        guard let store = responseAffinity.store.withLock({ $0 }) else { return }
        let expires = (clock.now() + ResponseAffinityPolicy.retention).nanoseconds / 1_000_000
        do {
            try await store.rememberResponse(id, owner: owner, expiresAtMilliseconds: expires)
        } catch {
            logger.warning("could not store which deployment owns a response; follow-ups on other replicas will not find it", metadata: ["error": "\(error)"])
        }
    }

    /// Who created response `id`, if `clientKey` may use it: this replica's
    /// memory, else the shared store. Another key's response is not found —
    /// upstream, the gateway's own key would reach any of them.
    func responseOwner(_ id: String, for clientKey: String?) async -> ResponseOwner? {
        if case .mine(let owner) = await lookUpResponse(id, for: clientKey) { return owner }
        return nil
    }

    enum ResponseLookup {
        case unknown
        case mine(ResponseOwner)
        /// Created through this gateway by another client key.
        case anotherKeys
    }

    func lookUpResponse(_ id: String, for clientKey: String?) async -> ResponseLookup {
        guard let owner = await responseOwner(id) else { return .unknown }
        return owner.clientKey == nil || owner.clientKey == clientKey ? .mine(owner) : .anotherKeys
    }

    private func responseOwner(_ id: String) async -> ResponseOwner? {
        guard !id.isEmpty, id.utf8.count <= ResponseAffinityPolicy.maximumIDBytes else { return nil }
        if let owner = responseAffinity.local(id) { return owner }
        guard let store = responseAffinity.store.withLock({ $0 }) else { return nil }
        let owner = try? await store.responseOwner(id, nowMilliseconds: clock.now().nanoseconds / 1_000_000)
        if let owner { responseAffinity.remember(id, owner: owner) }
        return owner
    }

    /// The owning deployment's index on `route`, or why the response cannot be reached.
    func ownerIndex(_ owner: (route: String, deployment: String), of route: InstalledRoute, responseID: String) throws(APIError) -> Int {
        guard route.plan.route.name == owner.route else {
            throw APIError(
                status: 409,
                message: "response '\(responseID)' was created on route '\(owner.route)', not '\(route.plan.route.name)'; continue it on its own route",
                type: "invalid_request_error",
                code: "response_on_other_route"
            )
        }
        guard let index = route.plan.route.deployments.firstIndex(where: { $0.name == owner.deployment }) else {
            throw APIError(
                status: 410,
                message: "response '\(responseID)' was created by deployment '\(owner.deployment)' of route '\(owner.route)', which is no longer on the route; its stored state cannot be reached — start a new conversation",
                type: "invalid_request_error",
                code: "response_deployment_gone"
            )
        }
        return index
    }

    /// `GET`/`DELETE /v1/responses/{id}`, `POST …/{id}/cancel`, `GET …/{id}/input_items`:
    /// sent to the deployment that created the response.
    func storedResponse(_ request: Request, id: String, action: StoredResponseAction) async -> Response {
        await answer(request) { served throws(APIError) in
            try await forwardStoredResponse(request, id: id, action: action, served: &served)
        }
    }

    private func forwardStoredResponse(_ request: Request, id: String, action: StoredResponseAction, served: inout ServedRoute) async throws(APIError) -> Response {
        let clientKey = try await authenticate(request)
        served.trail?.update { $0.client = clientKey?.name; $0.operation = .responses }
        guard !id.isEmpty, id.utf8.count <= ResponseAffinityPolicy.maximumIDBytes,
            id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") })
        else {
            throw .badRequest("'\(id.prefix(60))' is not a response id", code: "invalid_response_id")
        }
        guard let owner = await responseOwner(id, for: clientKey?.name) else {
            throw .notFound(
                "no response '\(id)' was created through this gateway in the last 30 days, so it is not known which deployment holds it",
                code: "response_not_found"
            )
        }
        guard let route = installedRoute(owner.route) else {
            throw APIError(
                status: 410,
                message: "response '\(id)' was created on route '\(owner.route)', which no longer exists",
                type: "invalid_request_error",
                code: "response_deployment_gone"
            )
        }
        served.label = owner.route
        served.revisionHeader = route.revisionHeader
        let index = try ownerIndex((owner.route, owner.deployment), of: route, responseID: id)
        let target = route.targets[index]
        served.attempts = 1
        let query = request.uri.query ?? ""
        var forwarding = HeaderPassThrough.forwarded(from: request.headers, to: target.deployment.upstream.kind)
        served.trail?.startAttempt(deployment: target.deployment, operation: .responses, attempt: 1, headers: &forwarding)
        let upstreamRequest = target.storedResponseRequest(
            method: action.method, id: id, suffix: action.suffix,
            query: query.utf8.count <= 2048 ? query : "",
            forwarding: forwarding
        )
        let reply: any UpstreamReply
        do {
            reply = try await target.transport.send(upstreamRequest, headDeadline: .after(target.deployment.timeouts.firstToken))
        } catch {
            served.trail?.endAttempt(status: nil, failure: "upstream_error", detail: "\(error)")
            throw APIError(status: 502, message: "deployment '\(target.deployment.name)' holding response '\(id)' did not answer: \(error)", type: "server_error", code: "upstream_error")
        }
        served.trail?.noteUpstreamReply(reply.headers)
        let body: ByteBuffer
        do {
            body = try await reply.collect(upTo: options.maxReplyBytes, deadline: .after(target.deployment.timeouts.total))
        } catch {
            served.trail?.endAttempt(status: Int(reply.status), failure: "upstream_error", detail: "\(error)")
            throw APIError(status: 502, message: "deployment '\(target.deployment.name)' holding response '\(id)' broke off its reply: \(error)", type: "server_error", code: "upstream_error")
        }
        served.trail?.endAttempt(status: Int(reply.status), failure: nil)
        var headers = HTTPFields()
        headers[.switchyardDeployment] = target.deployment.name
        headers[.switchyardModelVersion] = target.deployment.modelVersion
        headers[.switchyardRouteRevision] = route.revisionHeader
        headers[.switchyardAttempts] = "1"
        HeaderPassThrough.returned(from: reply.headers, into: &headers)
        headers[.contentType] = reply.headers.first(name: "content-type") ?? "application/json"
        return Response(status: .init(code: Int(reply.status)), headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
