import Foundation
import GRDB
public import SwitchyardCore

/// The embedded state store: one SQLite file in WAL mode, written with
/// `synchronous = FULL` so an acknowledged change survives a crash or power loss.
public final class SQLiteStateStore: StateStore {
    let pool: DatabasePool

    public let path: String

    /// Opens (creating if needed) the database at `path` and migrates its schema.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Runs `updates` in a write transaction; a full disk or a file that can no
    /// longer be written becomes a `StoreError` saying so (the API answers 503
    /// with it, and nothing of the change is applied).
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(updates)
        } catch let error as DatabaseError {
            throw Self.storeError(error, path: path) ?? error
        }
    }

    static func storeError(_ error: DatabaseError, path: String) -> StoreError? {
        switch error.resultCode {
        case .SQLITE_FULL:
            .unreachable("the disk holding \(path) is full; free space there and retry")
        case .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_CANTOPEN:
            .unreachable("\(path) cannot be written (\(error.message ?? "I/O error")); check that its file system is mounted read-write and has room")
        default:
            nil
        }
    }

    static func figures(_ row: Row) throws -> MetricsWindow.Bucket {
        let latency: Data = try row.decode(forColumn: "latency")
        let ttft: Data = try row.decode(forColumn: "ttft")
        return try StoredFigures(
            requests: try row.decode(forColumn: "requests"), outcomes: try row.decode(forColumn: "outcomes"), latency: Array(latency), ttft: Array(ttft), promptTokens: try row.decode(forColumn: "prompt_tokens"),
            completionTokens: try row.decode(forColumn: "completion_tokens"), cost: try row.decode(forColumn: "cost")
        ).bucket(minute: try row.decode(forColumn: "minute"))
    }

    /// Writes one rollout if the stored one is at the revision before it.
    static func write(_ rollout: StoredRollout, in db: Database) throws {
        let current = try Int.fetchOne(db, sql: "SELECT revision FROM rollouts WHERE id = ?", arguments: [rollout.id])
        guard (current ?? 0) == rollout.revision - 1 else {
            throw StoreError.conflict(route: rollout.route, expected: rollout.revision - 1, actual: current)
        }
        try db.execute(
            sql: """
                INSERT INTO rollouts (id, route, active, started_ms, revision, document) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET active = excluded.active, revision = excluded.revision, document = excluded.document
                """,
            arguments: [rollout.id, rollout.route, rollout.active, rollout.startedMilliseconds, rollout.revision, rollout.document]
        )
    }
}
