import HTTPTypes
public import Hummingbird
import NIOCore
public import SwitchyardCore

extension APIError {
    /// The error as an HTTP response: its status, the OpenAI-shaped JSON body,
    /// `Retry-After` / `retry-after-ms` when it has one, and
    /// `WWW-Authenticate` on 401.
    public var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let seconds = retryAfterSeconds, let retryAfter {
            headers[.retryAfter] = String(seconds)
            headers[HTTPField.Name("retry-after-ms")!] = String(retryAfter.nanosecondsClamped / 1_000_000)
        }
        if status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
