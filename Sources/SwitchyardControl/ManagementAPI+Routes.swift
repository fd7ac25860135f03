import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardConfig
import SwitchyardCore
import SwitchyardHTTP
import SwitchyardClock

extension ManagementAPI {
    /// Every route with a summary of its latest rollout: `GET /routes`, and the first event of every stream.
    func routeList() async -> RouteListView {
        RouteListView(routes: await control.currentPlans.map(\.route), rollouts: await control.latestRollouts.mapValues { RolloutView($0, full: false) })
    }

    /// The routes: list, read, change weights, roll back, promote, and apply a routes file.
    func addRoutesEndpoints(to api: RouterGroup<BasicRequestContext>) {
        api.get("/routes") { request, _ in
            await self.respond(request, role: .viewer) { _ in
                try .ok(await self.routeList())
            }
        }
        api.get("/routes/{route}") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = Self.routeName(context)
                let plan = try await self.routePlan(name)
                return try .ok(RouteWithRolloutView(route: plan.route, rollout: await self.control.rollout(name).map { RolloutView($0, full: false) }), etag: plan.route.revision)
            }
        }
        api.put("/routes/{route}/weights") { request, context in
            await self.respond(request, role: .operator_) { caller in
                let name = Self.routeName(context)
                let body = try await self.readObject(request)
                let table = try await self.weights(from: body, route: name)
                return try await self.change(name, .setWeights(table), request: request, caller: caller)
            }
        }
        api.post("/routes/{route}/rollback") { request, context in
            await self.respond(request, role: .operator_) { caller in
                try await self.change(Self.routeName(context), .rollback, request: request, caller: caller)
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
                return try await self.change(Self.routeName(context), .promote(deployment: deployment), request: request, caller: caller)
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
    }
}
