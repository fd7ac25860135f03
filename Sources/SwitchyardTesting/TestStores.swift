public import Foundation
public import Logging
import PostgresNIO
public import SwitchyardCore
public import SwitchyardStore

/// A fresh SQLite file in a temporary folder, removed afterwards.
public struct TemporaryStore: Sendable {
    public let directory: URL
    public let path: String

    public init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("state.sqlite").path
    }

    public func open() throws -> SQLiteStateStore { try SQLiteStateStore(path: path) }

    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// The stores a contract test runs against: SQLite always, PostgreSQL when
/// the test script started a server (`SWITCHYARD_TEST_POSTGRES`).
public enum StoreKind: String, CaseIterable, Sendable {
    case sqlite, postgres

    public static var available: [StoreKind] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// The test server's URL, from `SWITCHYARD_TEST_POSTGRES`.
    public static let postgresURL = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    /// The test server's CA certificate, from `SWITCHYARD_TEST_POSTGRES_CA`.
    public static let postgresCAFile = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES_CA"].flatMap { $0.isEmpty ? nil : $0 }

    public static let quiet: Logger = {
        var logger = Logger(label: "test.store")
        logger.logLevel = .critical
        return logger
    }()

    /// A fresh, empty store; `body` gets it and, for PostgreSQL, its URL.
    public func withStore(_ body: (any StateStore, String?) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let folder = TemporaryStore()
            defer { folder.remove() }
            try await body(try folder.open(), nil)
        case .postgres:
            let url = try await Self.freshDatabase()
            let store = try await PostgresStateStore(url: url, logger: Self.quiet)
            defer { store.shutdown() }
            try await body(store, url)
        }
    }

    /// A new database on the test server, so each test starts empty.
    public static func freshDatabase() async throws -> String {
        guard let base = postgresURL, var components = URLComponents(string: base) else { throw TestSetupError("SWITCHYARD_TEST_POSTGRES is not set") }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: "postgres", tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: quiet)
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quiet)
        try await connection.close()
        components.path = "/" + name
        guard let url = components.string else { throw TestSetupError("cannot build a URL from \(base) for \(name)") }
        return url
    }
}

/// The test's own environment is not what it needs.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
