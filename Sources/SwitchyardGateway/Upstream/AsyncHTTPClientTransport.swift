import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The transport for HTTPS upstreams (the providers' own endpoints):
/// AsyncHTTPClient, for its TLS and HTTP/2.
struct AsyncHTTPClientTransport: UpstreamTransport {
    /// Scheme, host and port, e.g. `https://api.openai.com`.
    let origin: String
    let client: HTTPClient

    func send(_ request: UpstreamRequest, headDeadline: NIODeadline) async throws(UpstreamError) -> any UpstreamReply {
        var outgoing = HTTPClientRequest(url: origin + request.target)
        outgoing.method = request.method
        outgoing.headers = request.headers
        outgoing.body = .bytes(request.body)
        do {
            let response = try await client.execute(outgoing, deadline: headDeadline)
            return ClientReply(response)
        } catch {
            throw Self.upstreamError(error)
        }
    }

    static func upstreamError(_ error: any Error) -> UpstreamError {
        if error is CancellationError { return .cancelled }
        switch error as? HTTPClientError {
        case .deadlineExceeded?, .readTimeout?: return .timedOut
        case .connectTimeout?: return .connectTimeout
        case .remoteConnectionClosed?: return .closedBeforeReply
        case .cancelled?: return .cancelled
        default: return .connectFailed("\(error)")
        }
    }
}

/// A reply from AsyncHTTPClient. Only one task reads the body at a time,
/// which is what makes the unchecked conformance sound.
private final class ClientReply: UpstreamReply, @unchecked Sendable {
    let status: UInt
    let headers: HTTPHeaders
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ response: HTTPClientResponse) {
        status = response.status.code
        headers = response.headers
        iterator = response.body.makeAsyncIterator()
    }

    func collect(upTo limit: Int, deadline: NIODeadline) async throws(UpstreamError) -> ByteBuffer {
        var body = ByteBuffer()
        while let chunk = try await next(deadline: deadline) {
            body.writeImmutableBuffer(chunk)
            if body.readableBytes > limit { throw .tooLarge(limit: limit) }
        }
        return body
    }

    func next(deadline: NIODeadline) async throws(UpstreamError) -> ByteBuffer? {
        let limit = Duration.nanoseconds((deadline - .now()).nanoseconds)
        do {
            return try await withTimeLimit(limit, stage: .total) { [self] in try await self.iterator.next() }
        } catch is DeadlineExceeded {
            throw .timedOut
        } catch {
            if Task.isCancelled { throw .cancelled }
            throw .broken("\(error)")
        }
    }
}
