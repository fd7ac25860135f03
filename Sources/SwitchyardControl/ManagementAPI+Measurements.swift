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
    /// Measurements: per-deployment metrics and quality feedback.
    func addMeasurementsEndpoints(to api: RouterGroup<BasicRequestContext>) {
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
        api.get("/routes/{route}/metrics") { request, context in
            await self.respond(request, role: .viewer) { _ in
                let name = Self.routeName(context)
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
    }
}
