import Foundation
import GRDB
public import SwitchyardCore

/// Routes and the audit log: loading the state, committing a change in one transaction, reading the audit.
extension SQLiteStateStore {
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
