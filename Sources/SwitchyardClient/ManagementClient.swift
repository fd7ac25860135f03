import AsyncHTTPClient
import Foundation
import NIOCore
public import NIOHTTP1
import SwitchyardCore

/// The management API's client, shared by `switchyard ctl` and the console.
/// Call the typed method of an endpoint (`ManagementClient+Endpoints`);
/// `send` is the one exchange they all go through.
public struct ManagementClient: Sendable {
    public let baseURL: String
    public let token: String?

    public init(baseURL: String, token: String?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// A request to `path` under `/api/v1`, with the caller's token and the product's User-Agent.
    func request(_ method: HTTPMethod, _ path: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + "/api/v1" + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: SwitchyardVersion.productToken)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    /// One exchange; a 4xx or 5xx becomes `.refused` with the server's message.
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        body: [UInt8]? = nil,
        contentType: String = "application/json",
        ifMatch: Int? = nil
    ) async throws(ManagementClientError) -> [UInt8] {
        var request = request(method, path)
        if let ifMatch { request.headers.add(name: "If-Match", value: "\"\(ifMatch)\"") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            bytes = Array(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch {
            throw .unreachable("cannot reach the management API at \(baseURL): \(error)")
        }
        guard (200..<300).contains(status) else {
            let message = (try? JSONText.decode(bytes))?["error"]?["message"]?.stringValue ?? String(decoding: bytes, as: UTF8.self)
            throw .refused(status: status, message: message)
        }
        return bytes
    }
}

/// Why a management API call failed.
public enum ManagementClientError: Error, CustomStringConvertible {
    /// The server answered 4xx or 5xx; its own message.
    case refused(status: Int, message: String)
    /// No answer: connection refused, timed out, cut.
    case unreachable(String)
    /// An answer that is not the endpoint's shape (another server, another version).
    case unexpectedReply(path: String, detail: String)

    public var description: String {
        switch self {
        case .refused(let status, let message): "refused (\(status)): \(message)"
        case .unreachable(let message): message
        case .unexpectedReply(let path, let detail): "the server's reply to \(path) is not what this client expects: \(detail)"
        }
    }
}
