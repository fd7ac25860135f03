import AsyncHTTPClient
import NIOCore
import NIOPosix
import Synchronization

/// One pooled HTTP/1.1 client per connect timeout, shared by every deployment
/// that uses it, so connections to an upstream are kept alive and reused.
final class UpstreamClients: Sendable {
    private let clients = Mutex<[Duration: HTTPClient]>([:])
    private let connectionsPerHost: Int

    init(connectionsPerHost: Int) {
        self.connectionsPerHost = connectionsPerHost
    }

    func client(connectTimeout: Duration) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[connectTimeout] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.timeout = .init(connect: .nanoseconds(connectTimeout.nanosecondsForNIO))
            configuration.connectionPool = .init(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost
            )
            // A refused connection should fail over at once, not be retried until the connect timeout.
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.httpVersion = .automatic
            configuration.decompression = .disabled
            configuration.redirectConfiguration = .disallow
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            clients[connectTimeout] = client
            return client
        }
    }

    /// Closes every pooled connection; call once, after the server has drained.
    func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all {
            try? await client.shutdown()
        }
    }
}

extension Duration {
    var nanosecondsForNIO: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
