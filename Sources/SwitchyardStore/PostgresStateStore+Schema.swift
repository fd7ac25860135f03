import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import SwitchyardCore

/// The schema, created or brought up to date when the store opens.
extension PostgresStateStore {
    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7270001)", logger: logger)
            for statement in Self.schema {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS routes (
          name TEXT PRIMARY KEY, revision BIGINT NOT NULL, document TEXT NOT NULL, allocation TEXT NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS route_revisions (
          route TEXT NOT NULL, revision BIGINT NOT NULL, document TEXT NOT NULL, allocation TEXT NOT NULL, created_ms BIGINT NOT NULL,
          PRIMARY KEY (route, revision))
        """,
        """
        CREATE TABLE IF NOT EXISTS audit (
          id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, route TEXT,
          from_revision BIGINT, to_revision BIGINT, detail TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS audit_by_route ON audit (route, id)",
        "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS feedback (
          id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, request_id TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,
          source TEXT NOT NULL, route TEXT, deployment TEXT, actor TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS feedback_by_request ON feedback (request_id)",
        "CREATE INDEX IF NOT EXISTS feedback_by_route_time ON feedback (route, at_ms)",
        """
        CREATE TABLE IF NOT EXISTS metric_rollups (
          route TEXT NOT NULL, deployment TEXT NOT NULL, minute BIGINT NOT NULL, requests BIGINT NOT NULL, outcomes TEXT NOT NULL,
          latency BYTEA NOT NULL, ttft BYTEA NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
          cost DOUBLE PRECISION NOT NULL, PRIMARY KEY (route, deployment, minute))
        """,
        "CREATE INDEX IF NOT EXISTS metric_rollups_by_minute ON metric_rollups (minute)",
        """
        CREATE TABLE IF NOT EXISTS rollouts (
          id TEXT PRIMARY KEY, route TEXT NOT NULL, active BOOLEAN NOT NULL, started_ms BIGINT NOT NULL, document TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS rollouts_by_route ON rollouts (route, started_ms)",
        """
        CREATE TABLE IF NOT EXISTS rollout_evaluations (
          id BIGSERIAL PRIMARY KEY, rollout_id TEXT NOT NULL, at_ms BIGINT NOT NULL, document TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS rollout_evaluations_by_rollout ON rollout_evaluations (rollout_id, id)",
        "ALTER TABLE rollouts ADD COLUMN IF NOT EXISTS revision BIGINT NOT NULL DEFAULT 1",
        "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ms BIGINT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS replica_rollups (
          replica TEXT NOT NULL, route TEXT NOT NULL, deployment TEXT NOT NULL, minute BIGINT NOT NULL, requests BIGINT NOT NULL,
          outcomes TEXT NOT NULL, latency BYTEA NOT NULL, ttft BYTEA NOT NULL, prompt_tokens BIGINT NOT NULL,
          completion_tokens BIGINT NOT NULL, cost DOUBLE PRECISION NOT NULL, PRIMARY KEY (replica, route, deployment, minute))
        """,
        "CREATE INDEX IF NOT EXISTS replica_rollups_by_minute ON replica_rollups (minute)",
        """
        CREATE TABLE IF NOT EXISTS client_usage (
          key TEXT NOT NULL, minute BIGINT NOT NULL, requests BIGINT NOT NULL, tokens BIGINT NOT NULL, PRIMARY KEY (key, minute))
        """,
        """
        CREATE TABLE IF NOT EXISTS response_owners (
          response_id TEXT PRIMARY KEY, route TEXT NOT NULL, deployment TEXT NOT NULL, expires_ms BIGINT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS response_owners_by_expiry ON response_owners (expires_ms)",
        "ALTER TABLE response_owners ADD COLUMN IF NOT EXISTS client_key TEXT",
        "ALTER TABLE client_usage ADD COLUMN IF NOT EXISTS last_grant BIGINT NOT NULL DEFAULT 0",
    ]
}
