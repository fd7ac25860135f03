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
    /// About the API and the caller: the OpenAPI document and whoami.
    func addAboutEndpoints(to api: RouterGroup<BasicRequestContext>) {
        api.get("/whoami") { request, _ in
            await self.respond(request, role: .viewer) { caller in
                try .ok(IdentityView(name: caller.name, role: caller.role.rawValue))
            }
        }
        api.get("/openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let document = try? Data(contentsOf: url) else {
                return APIError(status: 404, message: "the OpenAPI document is not installed with this binary", type: "invalid_request_error", code: "not_found").response
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}
