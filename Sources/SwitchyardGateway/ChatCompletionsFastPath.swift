import HTTPTypes
import Hummingbird
import SwitchyardCore

/// The gateway's responder: `POST /v1/chat/completions` — nearly all of
/// its traffic — goes straight to the gateway; every other request through
/// the router. Resolving the path in Hummingbird's trie was about 2.5 % of
/// the CPU of a proxied request (docs/performance.md).
struct ChatCompletionsFastPath<Router: HTTPResponder>: HTTPResponder where Router.Context == BasicRequestContext {
    typealias Context = BasicRequestContext
    let gateway: Gateway
    let router: Router

    func respond(to request: Request, context: Context) async throws -> Response {
        // The raw target, so a query string or an encoded path falls through to the router.
        if request.method == .post, request.head.path == "/v1/chat/completions" {
            return await gateway.serve(request, operation: .chatCompletions, routeFromPath: nil)
        }
        return try await router.respond(to: request, context: context)
    }
}
