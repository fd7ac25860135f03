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
    /// What changed: the audit log and the live event stream.
    func addChangesEndpoints(to api: RouterGroup<BasicRequestContext>) {
        api.get("/events") { request, _ in
            do throws(APIError) {
                _ = try self.auth.authorize(request.headers[.authorization], role: .viewer)
            } catch {
                return error.response
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let snapshot = (try? encoder.encode(await self.routeList())) ?? Data()
            let stream = self.hub.subscribe(first: (ManagementEventKind.snapshot.rawValue, Array(snapshot)))
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    for await event in stream {
                        try await writer.write(event.wire)
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
    }
}
