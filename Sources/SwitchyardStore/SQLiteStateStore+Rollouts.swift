import Foundation
import GRDB
public import SwitchyardCore

/// Rollouts, their evaluations, and the leases that give one process the engine.
extension SQLiteStateStore {
    public func saveRollout(_ rollout: StoredRollout) async throws {
        try await write { db in try Self.write(rollout, in: db) }
    }

    public func acquireLease(_ key: String, holder: String, nowMilliseconds: Int64, untilMilliseconds: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO leases (key, holder, expires_ms) VALUES (?, ?, ?)
                    ON CONFLICT(key) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                    WHERE leases.holder = excluded.holder OR leases.expires_ms < ?
                    """,
                arguments: [key, holder, untilMilliseconds, nowMilliseconds]
            )
            return try String.fetchOne(db, sql: "SELECT holder FROM leases WHERE key = ?", arguments: [key]) == holder
        }
    }

    public func rollouts(route: String?, activeOnly: Bool, limit: Int) async throws -> [StoredRollout] {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let route {
                conditions.append("route = ?")
                _ = arguments.append(contentsOf: [route])
            }
            if activeOnly { conditions.append("active") }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [limit])
            return try Row.fetchAll(db, sql: "SELECT * FROM rollouts \(filter) ORDER BY started_ms DESC, id DESC LIMIT ?", arguments: arguments).map { row in
                StoredRollout(
                    id: try row.decode(forColumn: "id"), route: try row.decode(forColumn: "route"), active: try row.decode(forColumn: "active"), startedMilliseconds: try row.decode(forColumn: "started_ms"), revision: try row.decode(forColumn: "revision"),
                    document: try row.decode(forColumn: "document")
                )
            }
        }
    }

    public func appendEvaluation(rolloutID: String, atMilliseconds: Int64, document: String) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO rollout_evaluations (rollout_id, at_ms, document) VALUES (?, ?, ?)",
                arguments: [rolloutID, atMilliseconds, document]
            )
        }
    }

    public func evaluations(rolloutID: String, limit: Int, beforeID: Int64?) async throws -> [StoredEvaluation] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, at_ms, document FROM rollout_evaluations WHERE rollout_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                arguments: [rolloutID, beforeID ?? Int64.max, limit]
            ).map { StoredEvaluation(id: $0["id"], atMilliseconds: $0["at_ms"], document: $0["document"]) }
        }
    }
}
