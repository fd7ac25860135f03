import Foundation
import GRDB
import SwitchyardCore

/// The embedded state store: one SQLite file in WAL mode, written with
/// `synchronous = FULL` so an acknowledged change survives a crash or power loss.
public final class SQLiteStateStore: StateStore {
    private let pool: DatabasePool
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
    private func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
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

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: routes, revisions, audit, settings") { db in
            try db.create(table: "routes") { table in
                table.column("name", .text).primaryKey()
                table.column("revision", .integer).notNull()
                table.column("document", .text).notNull()
                table.column("allocation", .text).notNull()
            }
            try db.create(table: "route_revisions") { table in
                table.column("route", .text).notNull()
                table.column("revision", .integer).notNull()
                table.column("document", .text).notNull()
                table.column("allocation", .text).notNull()
                table.column("created_ms", .integer).notNull()
                table.primaryKey(["route", "revision"])
            }
            try db.create(table: "audit") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("at_ms", .integer).notNull()
                table.column("actor", .text).notNull()
                table.column("action", .text).notNull()
                table.column("route", .text)
                table.column("from_revision", .integer)
                table.column("to_revision", .integer)
                table.column("detail", .text).notNull()
            }
            try db.create(index: "audit_by_route", on: "audit", columns: ["route", "id"])
            try db.create(table: "settings") { table in
                table.column("key", .text).primaryKey()
                table.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v2: feedback") { db in
            try db.create(table: "feedback") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("at_ms", .integer).notNull()
                table.column("request_id", .text).notNull()
                table.column("score", .double).notNull()
                table.column("source", .text).notNull()
                table.column("route", .text)
                table.column("deployment", .text)
                table.column("actor", .text).notNull()
            }
            try db.create(index: "feedback_by_request", on: "feedback", columns: ["request_id"])
        }
        migrator.registerMigration("v3: per-minute metric roll-ups") { db in
            try db.create(table: "metric_rollups") { table in
                Self.figureColumns(table, key: [])
            }
            try db.create(index: "metric_rollups_by_minute", on: "metric_rollups", columns: ["minute"])
        }
        migrator.registerMigration("v4: rollouts") { db in
            try db.create(table: "rollouts") { table in
                table.column("id", .text).primaryKey()
                table.column("route", .text).notNull()
                table.column("active", .boolean).notNull()
                table.column("started_ms", .integer).notNull()
                table.column("document", .text).notNull()
            }
            try db.create(index: "rollouts_by_route", on: "rollouts", columns: ["route", "started_ms"])
            try db.create(index: "feedback_by_route_time", on: "feedback", columns: ["route", "at_ms"])
            try db.create(table: "rollout_evaluations") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("rollout_id", .text).notNull()
                table.column("at_ms", .integer).notNull()
                table.column("document", .text).notNull()
            }
            try db.create(index: "rollout_evaluations_by_rollout", on: "rollout_evaluations", columns: ["rollout_id", "id"])
        }
        migrator.registerMigration("v5: rollout revisions, leases") { db in
            try db.alter(table: "rollouts") { table in
                table.add(column: "revision", .integer).notNull().defaults(to: 1)
            }
            try db.create(table: "leases") { table in
                table.column("key", .text).primaryKey()
                table.column("holder", .text).notNull()
                table.column("expires_ms", .integer).notNull()
            }
        }
        migrator.registerMigration("v6: per-replica live roll-ups") { db in
            try db.create(table: "replica_rollups") { table in
                Self.figureColumns(table, key: ["replica"])
            }
            try db.create(index: "replica_rollups_by_minute", on: "replica_rollups", columns: ["minute"])
        }
        return migrator
    }

    /// A roll-up table: `key` columns (text) before route, deployment and
    /// minute, then one minute's figures; keyed by all of the former.
    private static func figureColumns(_ table: TableDefinition, key: [String]) {
        for name in key + ["route", "deployment"] { table.column(name, .text).notNull() }
        table.column("minute", .integer).notNull()
        table.column("requests", .integer).notNull()
        table.column("outcomes", .text).notNull()
        table.column("latency", .blob).notNull()
        table.column("ttft", .blob).notNull()
        table.column("prompt_tokens", .integer).notNull()
        table.column("completion_tokens", .integer).notNull()
        table.column("cost", .double).notNull()
        table.primaryKey(key + ["route", "deployment", "minute"])
    }

    /// Writes one minute's figures into a roll-up table, replacing the row its key names.
    private static func replace(_ figures: MetricsWindow.Bucket, of rollup: MetricRollup, in table: String, key: [String: String], db: Database) throws {
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

    private static func figures(_ row: Row) throws -> MetricsWindow.Bucket {
        let latency: Data = try row.decode(forColumn: "latency")
        let ttft: Data = try row.decode(forColumn: "ttft")
        return try StoredFigures(
            requests: try row.decode(forColumn: "requests"), outcomes: try row.decode(forColumn: "outcomes"), latency: Array(latency), ttft: Array(ttft), promptTokens: try row.decode(forColumn: "prompt_tokens"),
            completionTokens: try row.decode(forColumn: "completion_tokens"), cost: try row.decode(forColumn: "cost")
        ).bucket(minute: try row.decode(forColumn: "minute"))
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

    public func saveRollout(_ rollout: StoredRollout) async throws {
        try await write { db in try Self.write(rollout, in: db) }
    }

    /// Writes one rollout if the stored one is at the revision before it.
    private static func write(_ rollout: StoredRollout, in db: Database) throws {
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

    public func load() async throws -> StoredState {
        try await pool.read { db in
            var plans: [RoutePlan] = []
            var refused: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, document, allocation FROM routes ORDER BY name") {
                let name: String = (try? row.decode(forColumn: "name")) ?? "(unnamed row)"
                do {
                    plans.append(try StoredDocuments.plan(document: try row.decode(forColumn: "document"), allocation: try row.decode(forColumn: "allocation"), route: name))
                } catch {
                    refused[name] = "\(error)"
                }
            }
            let fingerprint = try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'config_fingerprint'")
            var deleted: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT route, MAX(revision) AS revision FROM route_revisions WHERE route NOT IN (SELECT name FROM routes) GROUP BY route"
            ) {
                deleted[try row.decode(forColumn: "route")] = try row.decode(forColumn: "revision")
            }
            return StoredState(plans: plans, configFingerprint: fingerprint, deletedRouteRevisions: deleted, refusedRoutes: refused)
        }
    }

    public func commit(_ commit: StoreCommit) async throws -> [AuditEvent] {
        let rows = try commit.writes.map(StoredDocuments.encode)
        let createdAt = commit.audit.first?.atMilliseconds ?? 0
        return try await write { db in
            for write in rows {
                let current = try Int.fetchOne(db, sql: "SELECT revision FROM routes WHERE name = ?", arguments: [write.name])
                guard current == write.expected else {
                    throw StoreError.conflict(route: write.name, expected: write.expected, actual: current)
                }
                try db.execute(
                    sql: """
                        INSERT INTO routes (name, revision, document, allocation) VALUES (?, ?, ?, ?)
                        ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, document = excluded.document, allocation = excluded.allocation
                        """,
                    arguments: [write.name, write.revision, write.document, write.allocation]
                )
                try db.execute(
                    sql: "INSERT INTO route_revisions (route, revision, document, allocation, created_ms) VALUES (?, ?, ?, ?, ?)",
                    arguments: [write.name, write.revision, write.document, write.allocation, createdAt]
                )
            }
            for deletion in commit.deletions {
                let current = try Int.fetchOne(db, sql: "SELECT revision FROM routes WHERE name = ?", arguments: [deletion.route])
                guard current == deletion.expectedRevision else {
                    throw StoreError.conflict(route: deletion.route, expected: deletion.expectedRevision, actual: current)
                }
                try db.execute(sql: "DELETE FROM routes WHERE name = ?", arguments: [deletion.route])
            }
            if let fingerprint = commit.configFingerprint {
                try db.execute(
                    sql: "INSERT INTO settings (key, value) VALUES ('config_fingerprint', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [fingerprint]
                )
            }
            for (key, value) in commit.settings {
                if let value {
                    try db.execute(
                        sql: "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [key, value]
                    )
                } else {
                    try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key])
                }
            }
            for rollout in commit.rollouts { try Self.write(rollout, in: db) }
            var stored: [AuditEvent] = []
            for var event in commit.audit {
                try db.execute(
                    sql: "INSERT INTO audit (at_ms, actor, action, route, from_revision, to_revision, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [event.atMilliseconds, event.actor, event.action, event.route, event.fromRevision, event.toRevision, event.detail]
                )
                event.id = db.lastInsertedRowID
                stored.append(event)
            }
            return stored
        }
    }

    public func auditEvents(route: String?, limit: Int, beforeID: Int64?) async throws -> [AuditEvent] {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let route {
                conditions.append("route = ?")
                _ = arguments.append(contentsOf: [route])
            }
            if let beforeID {
                conditions.append("id < ?")
                _ = arguments.append(contentsOf: [beforeID])
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [limit])
            return try Row.fetchAll(db, sql: "SELECT * FROM audit \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments).map { row in
                AuditEvent(
                    id: try row.decode(forColumn: "id"),
                    atMilliseconds: try row.decode(forColumn: "at_ms"),
                    actor: try row.decode(forColumn: "actor"),
                    action: try row.decode(forColumn: "action"),
                    route: try row.decode(forColumn: "route"),
                    fromRevision: try row.decode(forColumn: "from_revision"),
                    toRevision: try row.decode(forColumn: "to_revision"),
                    detail: try row.decode(forColumn: "detail")
                )
            }
        }
    }

    /// Every stored revision of one route, oldest first.
    public func revisions(of route: String) async throws -> [Route] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT document FROM route_revisions WHERE route = ? ORDER BY revision", arguments: [route]).map { document in
                try JSONDecoder().decode(Route.self, from: Data(document.utf8))
            }
        }
    }
}
