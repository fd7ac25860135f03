import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import SwitchyardCore

/// The upstream transports, one per origin and connect timeout, shared by
/// every deployment that uses them so connections are kept alive and reused:
/// a pooled HTTP/1.1 transport for `http` upstreams, AsyncHTTPClient (TLS,
/// HTTP/2) for `https` ones.
final class UpstreamClients: Sendable {
    private struct Key: Hashable {
        let origin: String
        let connectTimeout: Duration
    }

    private let pooled = Mutex<[Key: PooledHTTP1Transport]>([:])
    private let clients = Mutex<[Duration: HTTPClient]>([:])
    private let connectionsPerHost: Int

    init(connectionsPerHost: Int) {
        self.connectionsPerHost = connectionsPerHost
    }

    /// The transport for `url` and the request target (path and query) to send it.
    func transport(url: String, connectTimeout: Duration) -> (transport: any UpstreamTransport, target: String) {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            // Not a URL the pool can parse: AsyncHTTPClient reports the problem on each request.
            return (AsyncHTTPClientTransport(origin: url, client: client(connectTimeout: connectTimeout)), "")
        }
        let target = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        if components.scheme?.lowercased() == "http" {
            let port = components.port ?? 80
            let key = Key(origin: "\(host):\(port)", connectTimeout: connectTimeout)
            let transport = pooled.withLock { pooled in
                if let existing = pooled[key] { return existing }
                let created = PooledHTTP1Transport(
                    host: host,
                    port: port,
                    connectTimeout: .nanoseconds(connectTimeout.nanosecondsForNIO),
                    maxConnectionsPerLoop: connectionsPerHost,
                    maxIdlePerLoop: connectionsPerHost
                )
                pooled[key] = created
                return created
            }
            return (transport, target)
        }
        var origin = (components.scheme ?? "https") + "://" + (components.percentEncodedHost ?? host)
        if let port = components.port { origin += ":\(port)" }
        return (AsyncHTTPClientTransport(origin: origin, client: client(connectTimeout: connectTimeout)), target)
    }

    /// Connections open to plain-HTTP upstreams, and those among them idle in their pools.
    var pooledConnectionCounts: (open: Int, idle: Int) {
        pooled.withLock { pooled in
            pooled.values.reduce((0, 0)) { total, transport in
                let counts = transport.connectionCounts
                return (total.0 + counts.open, total.1 + counts.idle)
            }
        }
    }

    private func client(connectTimeout: Duration) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[connectTimeout] { return client }
            let client = HTTPClient(
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                configuration: Self.clientConfiguration(connectTimeout: connectTimeout, connectionsPerHost: connectionsPerHost)
            )
            clients[connectTimeout] = client
            return client
        }
    }

    /// How the gateway's AsyncHTTPClient is set up for HTTPS upstreams.
    static func clientConfiguration(connectTimeout: Duration, connectionsPerHost: Int) -> HTTPClient.Configuration {
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
        return configuration
    }

    /// Closes every pooled connection; call once, after the server has drained.
    func shutdown() async {
        let transports = pooled.withLock { pooled in
            defer { pooled.removeAll() }
            return Array(pooled.values)
        }
        for transport in transports {
            transport.shutdown()
        }
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
    /// Whole nanoseconds for a NIO timer: never negative and never past
    /// ``DurationText/maximum``, so `NIODeadline.now() + it` cannot overflow.
    var nanosecondsForNIO: Int64 {
        min(max(0, nanosecondsClamped), DurationText.maximum.nanosecondsClamped)
    }
}

extension NIODeadline {
    /// The deadline `duration` from now.
    static func after(_ duration: Duration) -> NIODeadline {
        .now() + .nanoseconds(duration.nanosecondsForNIO)
    }
}
