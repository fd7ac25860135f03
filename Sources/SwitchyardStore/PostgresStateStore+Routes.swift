import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import SwitchyardCore

/// Routes and the audit log: loading the state, committing a change in one transaction, reading the audit.
extension PostgresStateStore {
    public func load() async throws -> StoredState {
        try await run {
            var plans: [RoutePlan] = []
            var refused: [String: String] = [:]
            for try await (name, document, allocation) in try await self.client.query("SELECT name, document, allocation FROM routes ORDER BY name", logger: self.logger)
                .decode((String, String, String).self)
            {
                do {
                    plans.append(try StoredDocuments.plan(document: document, allocation: allocation, route: name))
                } catch {
                    refused[name] = "\(error)"
                }
            }
            var fingerprint: String?
            for try await value in try await self.client.query("SELECT value FROM settings WHERE key = 'config_fingerprint'", logger: self.logger).decode(String.self) {
                fingerprint = value
            }
            var deleted: [String: Int] = [:]
            let sql: PostgresQuery = "SELECT route, MAX(revision) FROM route_revisions WHERE route NOT IN (SELECT name FROM routes) GROUP BY route"
            for try await (route, revision) in try await self.client.query(sql, logger: self.logger).decode((String, Int).self) {
                deleted[route] = revision
            }
            return StoredState(plans: plans, configFingerprint: fingerprint, deletedRouteRevisions: deleted, refusedRoutes: refused)
        }
    }

    public func commit(_ commit: StoreCommit) async throws -> [AuditEvent] {
        let writes = try commit.writes.map { try StoredDocuments.encode($0) }
        let createdAt = commit.audit.first?.atMilliseconds ?? 0
        let changed = (commit.writes.map(\.plan.route.name) + commit.deletions.map(\.route)).sorted()
        let progress = WriteProgress()
        return try await run(progress) {
            try await self.client.withTransaction(logger: self.logger) { connection -> [AuditEvent] in
                progress.begin()
                for write in writes {
                    var current: Int?
                    for try await revision in try await connection.query("SELECT revision FROM routes WHERE name = \(write.name) FOR UPDATE", logger: self.logger).decode(Int.self) {
                        current = revision
                    }
                    guard current == write.expected else {
                        throw StoreError.conflict(route: write.name, expected: write.expected, actual: current)
                    }
                    if current == nil {
                        // Two replicas creating the same route: the second insert finds the first's row.
                        var inserted = false
                        let rows = try await connection.query(
                            """
                            INSERT INTO routes (name, revision, document, allocation) VALUES (\(write.name), \(write.revision), \(write.document), \(write.allocation))
                            ON CONFLICT (name) DO NOTHING RETURNING name
                            """,
                            logger: self.logger
                        )
                        for try await _ in rows.decode(String.self) { inserted = true }
                        guard inserted else { throw StoreError.conflict(route: write.name, expected: nil, actual: -1) }
                    } else {
                        try await connection.query(
                            "UPDATE routes SET revision = \(write.revision), document = \(write.document), allocation = \(write.allocation) WHERE name = \(write.name)",
                            logger: self.logger
                        )
                    }
                    try await connection.query(
                        """
                        INSERT INTO route_revisions (route, revision, document, allocation, created_ms)
                        VALUES (\(write.name), \(write.revision), \(write.document), \(write.allocation), \(createdAt))
                        """,
                        logger: self.logger
                    )
                }
                for deletion in commit.deletions {
                    var current: Int?
                    for try await revision in try await connection.query("SELECT revision FROM routes WHERE name = \(deletion.route) FOR UPDATE", logger: self.logger).decode(Int.self) {
                        current = revision
                    }
                    guard current == deletion.expectedRevision else {
                        throw StoreError.conflict(route: deletion.route, expected: deletion.expectedRevision, actual: current)
                    }
                    try await connection.query("DELETE FROM routes WHERE name = \(deletion.route)", logger: self.logger)
                }
                if let fingerprint = commit.configFingerprint {
                    try await connection.query(
                        """
                        INSERT INTO settings (key, value) VALUES ('config_fingerprint', \(fingerprint))
                        ON CONFLICT (key) DO UPDATE SET value = excluded.value
                        """,
                        logger: self.logger
                    )
                }
                for (key, value) in commit.settings {
                    if let value {
                        try await connection.query(
                            "INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            logger: self.logger
                        )
                    } else {
                        try await connection.query("DELETE FROM settings WHERE key = \(key)", logger: self.logger)
                    }
                }
                for rollout in commit.rollouts { try await Self.write(rollout, on: connection, logger: self.logger) }
                var stored: [AuditEvent] = []
                for var event in commit.audit {
                    let rows = try await connection.query(
                        """
                        INSERT INTO audit (at_ms, actor, action, route, from_revision, to_revision, detail)
                        VALUES (\(event.atMilliseconds), \(event.actor), \(event.action), \(event.route), \(event.fromRevision), \(event.toRevision), \(event.detail))
                        RETURNING id
                        """,
                        logger: self.logger
                    )
                    for try await id in rows.decode(Int64.self) { event.id = id }
                    stored.append(event)
                }
                // Settings are announced as `@key`, so replicas reload them at once too.
                let announced = changed + commit.settings.map { "@" + $0.key }
                if !announced.isEmpty {
                    // Delivered when the transaction commits, and only then.
                    try await connection.query("SELECT pg_notify(\(Self.channel), \(announced.joined(separator: ",")))", logger: self.logger)
                }
                return stored
            }
        }
    }

    public func auditEvents(route: String?, limit: Int, beforeID: Int64?) async throws -> [AuditEvent] {
        try await run {
            let query: PostgresQuery = """
                SELECT id, at_ms, actor, action, route, from_revision, to_revision, detail FROM audit
                WHERE (\(route)::TEXT IS NULL OR route = \(route)) AND id < \(beforeID ?? Int64.max)
                ORDER BY id DESC LIMIT \(limit)
                """
            var events: [AuditEvent] = []
            for try await (id, at, actor, action, route, from, to, detail) in try await self.client.query(query, logger: self.logger)
                .decode((Int64, Int64, String, String, String?, Int?, Int?, String).self)
            {
                events.append(AuditEvent(id: id, atMilliseconds: at, actor: actor, action: action, route: route, fromRevision: from, toRevision: to, detail: detail))
            }
            return events
        }
    }
}
