import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import SwitchyardCore

/// The change feed: LISTEN/NOTIFY, so every replica reloads when one commits.
extension PostgresStateStore {
    /// Route names as other replicas commit changes to them; the stream
    /// reconnects by itself and yields `"*"` after every (re)connection, since
    /// notifications sent while it was away are lost.
    public func changes() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let listenTLS = listenTLS
        let configuration = PostgresConnection.Configuration(
            host: configuration.host ?? "127.0.0.1", port: configuration.port ?? 5432, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: listenTLS
        )
        let logger = logger
        let task = Task {
            var attempt = 0
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                    attempt = 0
                    do {
                        try await connection.listen(on: Self.channel) { notifications in
                            continuation.yield("*")
                            for try await notification in notifications {
                                for route in notification.payload.split(separator: ",") { continuation.yield(String(route)) }
                            }
                        }
                    } catch {
                        logger.warning("lost the change feed from PostgreSQL: \(Self.describe(error))")
                    }
                    try? await connection.close()
                } catch {
                    attempt += 1
                    if attempt == 1 { logger.warning("cannot listen for changes on PostgreSQL: \(Self.describe(error))") }
                }
                try? await Task.sleep(for: .milliseconds(min(2000, 100 * (1 << min(attempt, 5)))))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
