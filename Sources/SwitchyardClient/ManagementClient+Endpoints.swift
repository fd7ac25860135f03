import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import SwitchyardCore

/// A decoded reply and the bytes it came from (ctl's `--output json` prints
/// the server's own bytes, never a re-encoding).
public struct Reply<Body: Sendable>: Sendable {
    public let body: Body
    public let bytes: [UInt8]
}

/// One method per management API endpoint: the path, its encoding and the
/// reply's type live here, so ctl and the console never assemble a request.
extension ManagementClient {
    public func whoami() async throws(ManagementClientError) -> Reply<IdentityView> {
        try await get(ManagementPath.whoami)
    }

    public func routes() async throws(ManagementClientError) -> Reply<RouteListView> {
        try await get(ManagementPath.routes)
    }

    public func route(_ name: String) async throws(ManagementClientError) -> Reply<RouteWithRolloutView> {
        try await get(ManagementPath.route(name))
    }

    /// A route's measurements over `window` (`5m`, `1h`, …).
    public func metrics(route: String, window: String) async throws(ManagementClientError) -> Reply<RouteMetricsView> {
        try await get(ManagementPath.metrics(route, window: window))
    }

    /// Sets a route's split; with `ifMatch`, refused unless the route is still at that revision.
    public func setWeights(route: String, _ weights: [String: Double], ifMatch: Int? = nil) async throws(ManagementClientError) -> Reply<ChangeView> {
        try await exchange(.PUT, ManagementPath.weights(route), body: try encode(WeightsRequest(weights: weights)), ifMatch: ifMatch)
    }

    public func rollback(route: String) async throws(ManagementClientError) -> Reply<ChangeView> {
        try await exchange(.POST, ManagementPath.rollback(route))
    }

    public func promote(route: String, deployment: String? = nil) async throws(ManagementClientError) -> Reply<ChangeView> {
        let body = try deployment.map { name throws(ManagementClientError) in try encode(PromoteRequest(deployment: name)) }
        return try await exchange(.POST, ManagementPath.promote(route), body: body)
    }

    /// Pauses, resumes or aborts the route's rollout.
    public func operate(route: String, _ operation: RolloutOperation, reason: String? = nil) async throws(ManagementClientError) -> Reply<RolloutView> {
        let body = try reason.map { text throws(ManagementClientError) in try encode(RolloutOperationRequest(reason: text)) }
        return try await exchange(.POST, ManagementPath.operation(route, operation), body: body)
    }

    /// Makes a routes file (YAML text) the desired state.
    public func apply(routesFile text: String, allowEmpty: Bool) async throws(ManagementClientError) -> Reply<ApplyView> {
        try await exchange(.PUT, ManagementPath.apply(allowEmpty: allowEmpty), body: Array(text.utf8), contentType: "application/yaml")
    }

    public func audit(route: String? = nil, limit: Int) async throws(ManagementClientError) -> Reply<AuditListView> {
        try await get(ManagementPath.audit(route: route, limit: limit))
    }

    /// Starts a rollout from a plan (`{"plan": name}` or a whole plan object).
    public func startRollout(route: String, plan: JSONValue) async throws(ManagementClientError) -> Reply<RolloutView> {
        try await exchange(.POST, ManagementPath.rollouts(route), body: JSONText.encode(plan))
    }

    /// The route's latest rollout, with its verdicts and transitions.
    public func rollout(route: String) async throws(ManagementClientError) -> Reply<RolloutView> {
        try await get(ManagementPath.rollout(route))
    }

    public func rollouts(route: String) async throws(ManagementClientError) -> Reply<RolloutListView> {
        try await get(ManagementPath.rollouts(route))
    }

    public func evaluations(route: String, limit: Int) async throws(ManagementClientError) -> Reply<EvaluationListView> {
        try await get(ManagementPath.evaluations(route, limit: limit))
    }

    public func report(route: String) async throws(ManagementClientError) -> Reply<ExperimentReport> {
        try await get(ManagementPath.report(route))
    }

    /// The request/reply pairs the route's shadow kept (operators only).
    public func samples(route: String) async throws(ManagementClientError) -> Reply<ShadowSamplesView> {
        try await get(ManagementPath.samples(route))
    }

    public func lifecycle() async throws(ManagementClientError) -> Reply<LifecycleListView> {
        try await get(ManagementPath.lifecycle)
    }

    /// A proposed replacement deployment and canary plan for a route whose model retires.
    public func migration(route: String) async throws(ManagementClientError) -> Reply<MigrationView> {
        try await get(ManagementPath.migration(route))
    }

    // MARK: Decoding

    private func get<Body: Decodable & Sendable>(_ path: String) async throws(ManagementClientError) -> Reply<Body> {
        try await exchange(.GET, path)
    }

    private func exchange<Body: Decodable & Sendable>(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json", ifMatch: Int? = nil
    ) async throws(ManagementClientError) -> Reply<Body> {
        let bytes = try await send(method, path, body: body, contentType: contentType, ifMatch: ifMatch)
        do {
            return Reply(body: try JSONDecoder().decode(Body.self, from: Data(bytes)), bytes: bytes)
        } catch {
            throw .unexpectedReply(path: path, detail: "\(error)")
        }
    }

    private func encode(_ value: some Encodable) throws(ManagementClientError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw .unexpectedReply(path: "", detail: "cannot encode the request: \(error)")
        }
    }
}
