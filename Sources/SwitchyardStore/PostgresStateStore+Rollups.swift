import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import SwitchyardCore

/// Quality feedback, settings (the lifecycle catalog among them) and per-minute metric roll-ups.
extension PostgresStateStore {
    public func recordFeedback(_ feedback: Feedback) async throws -> Feedback {
        try await run {
            var stored = feedback
            let rows = try await self.client.query(
                """
                INSERT INTO feedback (at_ms, request_id, score, source, route, deployment, actor)
                VALUES (\(feedback.atMilliseconds), \(feedback.requestId), \(feedback.score), \(feedback.source), \(feedback.route), \(feedback.deployment), \(feedback.actor))
                RETURNING id
                """,
                logger: self.logger
            )
            for try await id in rows.decode(Int64.self) { stored.id = id }
            return stored
        }
    }

    public func unattributedFeedback(sinceMilliseconds: Int64, limit: Int) async throws -> [Feedback] {
        try await run {
            var list: [Feedback] = []
            let query: PostgresQuery = """
                SELECT id, at_ms, request_id, score, source, route, deployment, actor FROM feedback
                WHERE deployment IS NULL AND at_ms >= \(sinceMilliseconds) ORDER BY id DESC LIMIT \(limit)
                """
            for try await (id, at, requestId, score, source, route, deployment, actor) in try await self.client.query(query, logger: self.logger)
                .decode((Int64, Int64, String, Double, String, String?, String?, String).self)
            {
                list.append(Feedback(id: id, atMilliseconds: at, requestId: requestId, score: score, source: source, route: route, deployment: deployment, actor: actor))
            }
            return list
        }
    }

    public func attributeFeedback(_ attributions: [FeedbackAttribution]) async throws {
        guard !attributions.isEmpty else { return }
        try await run {
            try await self.client.withTransaction(logger: self.logger) { connection in
                for attribution in attributions {
                    try await connection.query(
                        """
                        UPDATE feedback SET route = \(attribution.route), deployment = \(attribution.deployment)
                        WHERE id = \(attribution.feedbackID) AND deployment IS NULL AND (route IS NULL OR route = \(attribution.route))
                        """,
                        logger: self.logger
                    )
                }
            }
        }
    }

    public func feedback(route: String, sinceMilliseconds: Int64) async throws -> [Feedback] {
        try await run {
            var list: [Feedback] = []
            let query: PostgresQuery = """
                SELECT id, at_ms, request_id, score, source, route, deployment, actor FROM feedback
                WHERE route = \(route) AND at_ms >= \(sinceMilliseconds) ORDER BY id LIMIT 100000
                """
            for try await (id, at, requestId, score, source, route, deployment, actor) in try await self.client.query(query, logger: self.logger)
                .decode((Int64, Int64, String, Double, String, String?, String?, String).self)
            {
                list.append(Feedback(id: id, atMilliseconds: at, requestId: requestId, score: score, source: source, route: route, deployment: deployment, actor: actor))
            }
            return list
        }
    }

    public func setting(_ key: String) async throws -> String? {
        try await run {
            var value: String?
            for try await text in try await self.client.query("SELECT value FROM settings WHERE key = \(key)", logger: self.logger).decode(String.self) {
                value = text
            }
            return value
        }
    }

    public func setSetting(_ key: String, _ value: String?) async throws {
        _ = try await run {
            if let value {
                try await self.client.query(
                    "INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    logger: self.logger
                )
            } else {
                try await self.client.query("DELETE FROM settings WHERE key = \(key)", logger: self.logger)
            }
        }
    }

    public func writeRollups(_ rollups: [MetricRollup], pruneBefore: Int64) async throws {
        let logger = logger
        try await run {
            try await self.client.withTransaction(logger: self.logger) { connection in
                for rollup in rollups {
                    // Several replicas add their own figures for the same minute: merge under the
                    // row lock. The row is made to exist first — `FOR UPDATE` locks nothing when it
                    // is missing, and two replicas would both insert and one overwrite the other.
                    // A second inserter waits on the key until the first commits, then reads its row.
                    try await Self.upsert(
                        StoredFigures(MetricsWindow.Bucket(start: rollup.minute)), of: rollup, into: "metric_rollups", replica: nil,
                        replace: false, on: connection, logger: logger
                    )
                    var figures = rollup.figures
                    let existing = try await connection.query(
                        """
                        SELECT requests, outcomes, latency, ttft, prompt_tokens, completion_tokens, cost FROM metric_rollups
                        WHERE route = \(rollup.route) AND deployment = \(rollup.deployment) AND minute = \(rollup.minute) FOR UPDATE
                        """,
                        logger: self.logger
                    )
                    for try await row in existing.decode((Int, String, ByteBuffer, ByteBuffer, Int, Int, Double).self) {
                        figures.merge(try StoredFigures(row).bucket(minute: rollup.minute))
                    }
                    try await Self.upsert(StoredFigures(figures), of: rollup, into: "metric_rollups", replica: nil, on: connection, logger: logger)
                }
                try await connection.query("DELETE FROM metric_rollups WHERE minute < \(pruneBefore)", logger: self.logger)
            }
        }
    }

    public func writeReplicaRollups(replica: String, _ rollups: [MetricRollup], pruneBefore: Int64) async throws {
        let logger = logger
        try await run {
            try await self.client.withTransaction(logger: logger) { connection in
                for rollup in rollups {
                    try await Self.upsert(StoredFigures(rollup.figures), of: rollup, into: "replica_rollups", replica: replica, on: connection, logger: logger)
                }
                try await connection.query("DELETE FROM replica_rollups WHERE minute < \(pruneBefore)", logger: logger)
            }
        }
    }

    /// Writes one minute's figures into a roll-up table, replacing the row it
    /// keys; `replica` is the row's owner in `replica_rollups`.
    static func upsert(
        _ stored: StoredFigures, of rollup: MetricRollup, into table: String, replica: String?, replace: Bool = true,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        var binds = PostgresBindings()
        var key = ["route", "deployment", "minute"]
        if let replica {
            key.insert("replica", at: 0)
            binds.append(replica)
        }
        binds.append(rollup.route)
        binds.append(rollup.deployment)
        binds.append(rollup.minute)
        binds.append(stored.requests)
        binds.append(stored.outcomes)
        binds.append(ByteBuffer(bytes: stored.latency))
        binds.append(ByteBuffer(bytes: stored.ttft))
        binds.append(stored.promptTokens)
        binds.append(stored.completionTokens)
        binds.append(stored.cost)
        let figures = StoredFigures.columns
        let columns = key + figures
        let sql = """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\((1...columns.count).map { "$\($0)" }.joined(separator: ", ")))
            ON CONFLICT (\(key.joined(separator: ", "))) \(replace ? "DO UPDATE SET " + figures.map { "\($0) = excluded.\($0)" }.joined(separator: ", ") : "DO NOTHING")
            """
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    public func fleetRollups(sinceMinute: Int64) async throws -> [MetricRollup] {
        try await run {
            var list: [MetricRollup] = []
            let query: PostgresQuery = """
                SELECT route, deployment, minute, requests, outcomes, latency, ttft, prompt_tokens, completion_tokens, cost FROM replica_rollups
                WHERE minute >= \(sinceMinute) ORDER BY minute
                """
            for try await (route, deployment, minute, requests, outcomes, latency, ttft, prompt, completion, cost) in try await self.client.query(query, logger: self.logger)
                .decode((String, String, Int64, Int, String, ByteBuffer, ByteBuffer, Int, Int, Double).self)
            {
                let figures = try StoredFigures((requests, outcomes, latency, ttft, prompt, completion, cost)).bucket(minute: minute)
                list.append(MetricRollup(route: route, deployment: deployment, minute: minute, figures: figures))
            }
            return MetricRollup.summed(list)
        }
    }

    public func rollups(route: String, sinceMinute: Int64) async throws -> [MetricRollup] {
        try await run {
            var list: [MetricRollup] = []
            let query: PostgresQuery = """
                SELECT deployment, minute, requests, outcomes, latency, ttft, prompt_tokens, completion_tokens, cost FROM metric_rollups
                WHERE route = \(route) AND minute >= \(sinceMinute) ORDER BY minute, deployment
                """
            for try await (deployment, minute, requests, outcomes, latency, ttft, prompt, completion, cost) in try await self.client.query(query, logger: self.logger)
                .decode((String, Int64, Int, String, ByteBuffer, ByteBuffer, Int, Int, Double).self)
            {
                let figures = try StoredFigures((requests, outcomes, latency, ttft, prompt, completion, cost)).bucket(minute: minute)
                list.append(MetricRollup(route: route, deployment: deployment, minute: minute, figures: figures))
            }
            return list
        }
    }
}
