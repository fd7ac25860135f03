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
    /// Rollouts: start, list, read, their evaluations and reports, and an operator's pause, resume and abort.
    func addRolloutsEndpoints(to api: RouterGroup<BasicRequestContext>) {
        api.post("/routes/{route}/rollouts") { request, context in
            await self.respond(request, role: .operator_) { caller in
                let name = Self.routeName(context)
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
                let name = Self.routeName(context)
                _ = try await self.routePlan(name)
                let limit = try Self.integer(request.uri.queryParameters["limit"].map(String.init), name: "limit", range: 1...500) ?? 20
                let history = try await self.control.rolloutHistory(route: name, limit: limit)
                return try .ok(RolloutListView(rollouts: history.map { RolloutView($0, full: false) }))
            }
        }
        api.get("/routes/{route}/rollout") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = Self.routeName(context)
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
                let (rollout, evaluations) = try await self.control.evaluationHistory(Self.routeName(context), limit: limit, beforeID: before)
                return try .ok(EvaluationListView(rolloutId: rollout.id, evaluations: evaluations.map { EvaluationListView.Entry(id: $0.id, $0.1) }))
            }
        }
        // The replies themselves: user content, so operators only.
        api.get("/routes/{route}/samples") { request, context in
            await self.respond(request, role: .operator_) { _ in
                try .ok(try await self.control.shadowSamples(Self.routeName(context)))
            }
        }
        api.get("/routes/{route}/report") { request, context in
            await self.respond(request, role: .viewer) { _ in
                try .ok(try await self.control.experimentReport(Self.routeName(context)))
            }
        }
        for action in ["pause", "resume", "abort"] {
            api.post("/routes/{route}/\(action)") { request, context in
                await self.respond(request, role: .operator_) { caller in
                    let name = Self.routeName(context)
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
    }
}
