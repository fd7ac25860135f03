import Foundation
import GRDB
public import SwitchyardCore

/// Quality feedback, settings (the lifecycle catalog among them) and per-minute metric roll-ups.
extension SQLiteStateStore {
    /// Writes one minute's figures into a roll-up table, replacing the row its key names.
    static func replace(_ figures: MetricsWindow.Bucket, of rollup: MetricRollup, in table: String, key: [String: String], db: Database) throws {
        let stored = try StoredFigures(figures)
        let keyColumns = key.keys.sorted()
        let columns = keyColumns + ["route", "deployment", "minute"] + StoredFigures.columns
        var arguments: StatementArguments = StatementArguments(keyColumns.map { key[$0] })
        _ = arguments.append(contentsOf: [
            rollup.route, rollup.deployment, rollup.minute, stored.requests, stored.outcomes, Data(stored.latency), Data(stored.ttft),
            stored.promptTokens, stored.completionTokens, stored.cost,
        ])
        try db.execute(
            sql: "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))",
            arguments: arguments
        )
    }

    public func writeRollups(_ rollups: [MetricRollup], pruneBefore: Int64) async throws {
        try await write { db in
            for rollup in rollups {
                var figures = rollup.figures
                if let existing = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM metric_rollups WHERE route = ? AND deployment = ? AND minute = ?",
                    arguments: [rollup.route, rollup.deployment, rollup.minute]
                ) {
                    figures.merge(try Self.figures(existing))
                }
                try Self.replace(figures, of: rollup, in: "metric_rollups", key: [:], db: db)
            }
            try db.execute(sql: "DELETE FROM metric_rollups WHERE minute < ?", arguments: [pruneBefore])
        }
    }

    public func writeReplicaRollups(replica: String, _ rollups: [MetricRollup], pruneBefore: Int64) async throws {
        try await write { db in
            for rollup in rollups {
                try Self.replace(rollup.figures, of: rollup, in: "replica_rollups", key: ["replica": replica], db: db)
            }
            try db.execute(sql: "DELETE FROM replica_rollups WHERE minute < ?", arguments: [pruneBefore])
        }
    }

    public func fleetRollups(sinceMinute: Int64) async throws -> [MetricRollup] {
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM replica_rollups WHERE minute >= ? ORDER BY minute", arguments: [sinceMinute]).map { row in
                MetricRollup(route: try row.decode(forColumn: "route"), deployment: try row.decode(forColumn: "deployment"), minute: try row.decode(forColumn: "minute"), figures: try Self.figures(row))
            }
        }
        return MetricRollup.summed(rows)
    }

    public func rollups(route: String, sinceMinute: Int64) async throws -> [MetricRollup] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM metric_rollups WHERE route = ? AND minute >= ? ORDER BY minute, deployment",
                arguments: [route, sinceMinute]
            ).map { row in
                MetricRollup(route: try row.decode(forColumn: "route"), deployment: try row.decode(forColumn: "deployment"), minute: try row.decode(forColumn: "minute"), figures: try Self.figures(row))
            }
        }
    }

    public func setting(_ key: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
        }
    }

    public func setSetting(_ key: String, _ value: String?) async throws {
        try await write { db in
            if let value {
                try db.execute(
                    sql: "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [key, value]
                )
            } else {
                try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key])
            }
        }
    }

    public func feedback(route: String, sinceMilliseconds: Int64) async throws -> [Feedback] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM feedback WHERE route = ? AND at_ms >= ? ORDER BY id LIMIT 100000",
                arguments: [route, sinceMilliseconds]
            ).map { row in
                Feedback(
                    id: try row.decode(forColumn: "id"), atMilliseconds: try row.decode(forColumn: "at_ms"), requestId: try row.decode(forColumn: "request_id"), score: try row.decode(forColumn: "score"), source: try row.decode(forColumn: "source"),
                    route: try row.decode(forColumn: "route"), deployment: try row.decode(forColumn: "deployment"), actor: try row.decode(forColumn: "actor")
                )
            }
        }
    }

    public func recordFeedback(_ feedback: Feedback) async throws -> Feedback {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO feedback (at_ms, request_id, score, source, route, deployment, actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [feedback.atMilliseconds, feedback.requestId, feedback.score, feedback.source, feedback.route, feedback.deployment, feedback.actor]
            )
            var stored = feedback
            stored.id = db.lastInsertedRowID
            return stored
        }
    }
}
