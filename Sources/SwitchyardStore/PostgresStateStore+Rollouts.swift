import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import SwitchyardCore

/// Rollouts, their evaluations, and the leases that give one replica the engine.
extension PostgresStateStore {
    public func saveRollout(_ rollout: StoredRollout) async throws {
        let logger = logger
        let progress = WriteProgress()
        try await run(progress) {
            try await self.client.withTransaction(logger: logger) { connection in
                progress.begin()
                try await Self.write(rollout, on: connection, logger: logger)
            }
        }
    }

    /// Writes one rollout if the stored one is at the revision before it, and announces it.
    static func write(_ rollout: StoredRollout, on connection: PostgresConnection, logger: Logger) async throws {
        var current: Int?
        for try await revision in try await connection.query("SELECT revision FROM rollouts WHERE id = \(rollout.id) FOR UPDATE", logger: logger).decode(Int.self) {
            current = revision
        }
        guard (current ?? 0) == rollout.revision - 1 else {
            throw StoreError.conflict(route: rollout.route, expected: rollout.revision - 1, actual: current)
        }
        try await connection.query(
            """
            INSERT INTO rollouts (id, route, active, started_ms, revision, document)
            VALUES (\(rollout.id), \(rollout.route), \(rollout.active), \(rollout.startedMilliseconds), \(rollout.revision), \(rollout.document))
            ON CONFLICT (id) DO UPDATE SET active = excluded.active, revision = excluded.revision, document = excluded.document
            """,
            logger: logger
        )
        try await connection.query("SELECT pg_notify(\(Self.channel), \("rollout:" + rollout.route))", logger: logger)
    }

    public func acquireLease(_ key: String, holder: String, nowMilliseconds: Int64, untilMilliseconds: Int64) async throws -> Bool {
        try await run {
            var granted = false
            let rows = try await self.client.query(
                """
                INSERT INTO leases (key, holder, expires_ms) VALUES (\(key), \(holder), \(untilMilliseconds))
                ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                WHERE leases.holder = excluded.holder OR leases.expires_ms < \(nowMilliseconds)
                RETURNING holder
                """,
                logger: self.logger
            )
            for try await _ in rows.decode(String.self) { granted = true }
            return granted
        }
    }

    public func rollouts(route: String?, activeOnly: Bool, limit: Int) async throws -> [StoredRollout] {
        try await run {
            let query: PostgresQuery = """
                SELECT id, route, active, started_ms, revision, document FROM rollouts
                WHERE (\(route)::TEXT IS NULL OR route = \(route)) AND (active OR NOT \(activeOnly))
                ORDER BY started_ms DESC, id DESC LIMIT \(limit)
                """
            var list: [StoredRollout] = []
            for try await (id, route, active, started, revision, document) in try await self.client.query(query, logger: self.logger)
                .decode((String, String, Bool, Int64, Int, String).self)
            {
                list.append(StoredRollout(id: id, route: route, active: active, startedMilliseconds: started, revision: revision, document: document))
            }
            return list
        }
    }

    public func appendEvaluation(rolloutID: String, atMilliseconds: Int64, document: String) async throws {
        _ = try await run {
            try await self.client.query(
                "INSERT INTO rollout_evaluations (rollout_id, at_ms, document) VALUES (\(rolloutID), \(atMilliseconds), \(document))",
                logger: self.logger
            )
        }
    }

    public func evaluations(rolloutID: String, limit: Int, beforeID: Int64?) async throws -> [StoredEvaluation] {
        try await run {
            let query: PostgresQuery = """
                SELECT id, at_ms, document FROM rollout_evaluations WHERE rollout_id = \(rolloutID) AND id < \(beforeID ?? Int64.max)
                ORDER BY id DESC LIMIT \(limit)
                """
            var list: [StoredEvaluation] = []
            for try await (id, at, document) in try await self.client.query(query, logger: self.logger).decode((Int64, Int64, String).self) {
                list.append(StoredEvaluation(id: id, atMilliseconds: at, document: document))
            }
            return list
        }
    }
}
