import Foundation
public import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import SwitchyardCore

/// The fleet's state store: PostgreSQL through PostgresNIO, shared by every
/// replica. The same semantics as `SQLiteStateStore` — a commit is one
/// transaction, revisions are checked under row locks — and each commit
/// announces the routes it changed on the `switchyard_changes` channel so
/// other replicas reload at once (`changes()`).
public final class PostgresStateStore: StateStore, SharedStateStore, SharedRateLimits {
    /// The LISTEN/NOTIFY channel commits announce themselves on.
    public static let channel = "switchyard_changes"

    let client: PostgresClient
    let runner: Task<Void, Never>
    let configuration: PostgresClient.Configuration
    let logger: Logger
    /// TLS for the LISTEN connection, built once with the pool's.
    let listenTLS: PostgresConnection.Configuration.TLS
    /// Where the server is, without the password, for logs and errors.
    public let location: String

    /// Connects to `url` (`postgres://user:password@host:port/database`) and
    /// brings the schema up to date (under an advisory lock, so replicas that
    /// start together do not race).
    public init(url: String, logger: Logger = Logger(label: "switchyard.store")) async throws {
        let dsn = try PostgresDSN(url)
        var configuration = PostgresClient.Configuration(
            host: dsn.host, port: dsn.port, username: dsn.username, password: dsn.password, database: dsn.database, tls: try dsn.clientTLS()
        )
        configuration.options.maximumConnections = 8
        configuration.options.connectionIdleTimeout = .seconds(60)
        self.configuration = configuration
        self.logger = logger
        listenTLS = try dsn.connectionTLS()
        location = dsn.location
        // One direct connection first: a wrong password, a refused TLS handshake
        // or an unknown database fails here at once, with the server's reason,
        // instead of the pool retrying it quietly for a minute.
        do {
            let probe = try await PostgresConnection.connect(
                configuration: PostgresConnection.Configuration(
                    host: dsn.host, port: dsn.port, username: dsn.username, password: dsn.password, database: dsn.database, tls: listenTLS
                ),
                id: 0, logger: logger
            )
            try await probe.close()
        } catch {
            throw StoreError.unreachable("cannot connect to \(dsn.location) (sslmode \(dsn.sslMode.rawValue)): \(Self.describe(error))")
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await migrate()
        } catch {
            runner.cancel()
            throw StoreError.unreachable("cannot prepare the schema at \(location): \(Self.describe(error))")
        }
    }

    deinit {
        runner.cancel()
    }

    /// Closes the connection pool.
    public func shutdown() {
        runner.cancel()
    }

    // MARK: Helpers

    /// How long one store operation may take before it is reported as the
    /// database being unavailable (the pool otherwise waits for a connection
    /// that may never come, and a mutation must get its 503 promptly).
    public static let operationTimeout: Duration = .seconds(3)

    /// Runs a store operation under `operationTimeout`, keeping `StoreError`s
    /// and naming the server in any other failure.
    /// A write whose transaction had begun when the answer stopped coming may
    /// still land: that is reported as an unknown outcome, never as "not saved".
    func run<T: Sendable>(_ progress: WriteProgress? = nil, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: Self.operationTimeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    let silence = "PostgreSQL at \(self.location) did not answer within \(Self.operationTimeout)"
                    throw progress?.hasBegun == true ? StoreError.outcomeUnknown(silence + " after the write was sent; it may have landed") : StoreError.unreachable(silence)
                }
                return value
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? StoreError { throw inner }
            throw StoreError.unreachable("PostgreSQL at \(location): \(Self.describe(error.closureError ?? error.commitError ?? error.beginError ?? error))")
        } catch {
            throw StoreError.unreachable("PostgreSQL at \(location): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension StoredFigures {
    /// From a row of `requests, outcomes, latency, ttft, prompt_tokens, completion_tokens, cost`.
    init(_ row: (Int, String, ByteBuffer, ByteBuffer, Int, Int, Double)) {
        self.init(
            requests: row.0, outcomes: row.1, latency: Array(row.2.readableBytesView), ttft: Array(row.3.readableBytesView),
            promptTokens: row.4, completionTokens: row.5, cost: row.6
        )
    }
}

/// Whether a write's transaction had begun, to tell "not saved" from "unknown".
final class WriteProgress: Sendable {
    let begun = Atomic<Bool>(false)

    func begin() {
        begun.store(true, ordering: .relaxed)
    }

    var hasBegun: Bool { begun.load(ordering: .relaxed) }
}
