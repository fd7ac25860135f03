import NIOCore
import NIOHTTP1

/// One request to an upstream, ready to write: everything but the body is
/// worked out when the route is installed.
struct UpstreamRequest: Sendable {
    var method: HTTPMethod = .POST
    /// Path and query, e.g. `/v1/chat/completions`.
    let target: String
    let headers: HTTPHeaders
    let body: ByteBuffer
}

/// Why an upstream exchange ended without a whole reply.
enum UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection within the deployment's connect timeout.
    case connectTimeout
    /// The upstream could not be reached at all (refused, unresolvable…).
    case connectFailed(String)
    /// The connection closed before a reply head arrived.
    case closedBeforeReply
    /// What arrived is not an HTTP reply (a broken head, conflicting lengths…).
    case malformedReply(String)
    /// A deadline the caller set passed (the head's, or the body's).
    case timedOut
    /// The body grew past the limit the caller set.
    case tooLarge(limit: Int)
    /// The connection failed or closed while the body was still arriving.
    case broken(String)
    /// The caller's task was cancelled (the client went away).
    case cancelled
    /// The gateway's own cap on connections to this origin is reached and
    /// the request could not wait for one: nothing was sent.
    case saturated(origin: String, connections: Int)

    var description: String {
        switch self {
        case .connectTimeout: "connect timed out"
        case .connectFailed(let reason): "cannot reach upstream: \(reason)"
        case .closedBeforeReply: "upstream closed the connection before replying"
        case .malformedReply(let reason): "upstream's reply is not valid HTTP: \(reason)"
        case .timedOut: "timed out"
        case .tooLarge(let limit): "reply larger than \(limit) bytes"
        case .broken(let reason): "reply broke off: \(reason)"
        case .cancelled: "cancelled"
        case .saturated(let origin, let connections):
            "all \(connections) of the gateway's connections to \(origin) are in use (serve --upstream-connections)"
        }
    }
}

/// Sends requests to one upstream origin over kept-alive connections.
protocol UpstreamTransport: Sendable {
    /// Sends `request` and waits for the reply's head, at most until `headDeadline`.
    func send(_ request: UpstreamRequest, headDeadline: NIODeadline) async throws(UpstreamError) -> any UpstreamReply
}

/// A reply whose head has arrived and whose body is read by one task, either
/// whole (`collect`) or chunk by chunk (`next`). Dropping a reply before its
/// end closes its connection rather than returning it to the pool.
protocol UpstreamReply: AnyObject, Sendable {
    var status: UInt { get }
    var headers: HTTPHeaders { get }
    /// The rest of the body, at most `limit` bytes, by `deadline`.
    func collect(upTo limit: Int, deadline: NIODeadline) async throws(UpstreamError) -> ByteBuffer
    /// The next chunk of the body, or nil at its end; waits at most until `deadline`.
    func next(deadline: NIODeadline) async throws(UpstreamError) -> ByteBuffer?
}

extension UpstreamReply {
    /// Reads (a bounded amount of) an unwanted body so the connection can be reused.
    func drain() async -> ByteBuffer? {
        try? await collect(upTo: 1 << 20, deadline: .now() + .seconds(5))
    }
}
