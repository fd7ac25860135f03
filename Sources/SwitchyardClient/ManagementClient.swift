import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// A small client of the management API, for `switchyard ctl`.
public struct ManagementClient: Sendable {
    public let baseURL: String
    public let token: String?

    public init(baseURL: String, token: String?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// One exchange; a 4xx or 5xx becomes `CtlError.refused` with the server's message.
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        body: [UInt8]? = nil,
        contentType: String = "application/json",
        ifMatch: Int? = nil
    ) async throws(CtlError) -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + "/api/v1" + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: SwitchyardVersion.productToken)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
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

    /// A GET decoded as `T`.
    public func get<T: Decodable>(_ path: String, as type: T.Type) async throws(CtlError) -> (T, [UInt8]) {
        let bytes = try await send(.GET, path)
        do {
            return (try JSONDecoder().decode(T.self, from: Data(bytes)), bytes)
        } catch {
            throw .unreachable("the server's reply to \(path) is not what ctl expects: \(error)")
        }
    }
}

/// Why a ctl command failed: exit status 1 either way.
public enum CtlError: Error, CustomStringConvertible {
    case refused(status: Int, message: String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .refused(let status, let message): "refused (\(status)): \(message)"
        case .unreachable(let message): message
        }
    }
}
