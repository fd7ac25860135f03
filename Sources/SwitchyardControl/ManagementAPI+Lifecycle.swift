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
    /// Model lifecycle: the countdowns, the catalog, and migration proposals.
    func addLifecycleEndpoints(to api: RouterGroup<BasicRequestContext>) {
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
                let name = Self.routeName(context)
                let plan = try await self.routePlan(name)
                do {
                    let proposal = try MigrationProposal(route: plan.route, catalog: await self.control.lifecycleCatalog, now: self.clock.now())
                    return try .ok(MigrationView(proposal))
                } catch {
                    throw APIError(status: 409, message: "\(error)", type: "invalid_request_error", code: "nothing_to_migrate")
                }
            }
        }
    }
}
