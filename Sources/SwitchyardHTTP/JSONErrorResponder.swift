import HTTPTypes
public import Hummingbird
import SwitchyardCore

/// Wraps a router so that what it answers by itself — an unknown path, a
/// method the path does not take, any error without a body — gets a JSON
/// error body a person can act on, not an empty one.
public struct JSONErrorResponder<Base: HTTPResponder>: HTTPResponder {
    public typealias Context = Base.Context
    let base: Base
    let hint: String

    /// - Parameter hint: added to "no such path", e.g. where the API is documented.
    public init(_ base: Base, hint: String) {
        self.base = base
        self.hint = hint
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let response: Response
        do {
            response = try await base.respond(to: request, context: context)
        } catch let error as HTTPError {
            return explain(error.status, request: request, detail: error.body)
        }
        // The router turns its own errors into body-less responses; the
        // handlers never answer an error without a body.
        guard response.status.code >= 400, response.body.contentLength == 0 else { return response }
        return explain(response.status, request: request, detail: nil)
    }

    private func explain(_ status: HTTPResponse.Status, request: Request, detail: String?) -> Response {
        let path = request.uri.path
        switch status {
        case .notFound:
            return APIError(status: 404, message: "no such path: \(request.method) \(path); \(hint)", type: "invalid_request_error", code: "unknown_path").response
        case .methodNotAllowed:
            return APIError(status: 405, message: "\(path) does not take \(request.method)", type: "invalid_request_error", code: "method_not_allowed").response
        default:
            return APIError(status: Int(status.code), message: detail ?? status.reasonPhrase, type: "invalid_request_error").response
        }
    }
}
