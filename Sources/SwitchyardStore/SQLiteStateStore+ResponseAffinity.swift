import GRDB
public import SwitchyardCore

/// Which deployment created each stored response, kept across restarts.
extension SQLiteStateStore: ResponseAffinityStore {
    public func rememberResponse(_ id: String, owner: ResponseOwner, expiresAtMilliseconds: Int64) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO response_owners (response_id, route, deployment, client_key, expires_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(response_id) DO UPDATE SET route = excluded.route, deployment = excluded.deployment,
                      client_key = excluded.client_key, expires_ms = excluded.expires_ms
                    """,
                arguments: [id, owner.route, owner.deployment, owner.clientKey, expiresAtMilliseconds]
            )
            // Bounded: expired ids go a few at a time, with the writes that add new ones.
            try db.execute(
                sql: "DELETE FROM response_owners WHERE response_id IN (SELECT response_id FROM response_owners WHERE expires_ms < ? ORDER BY expires_ms LIMIT 16)",
                arguments: [expiresAtMilliseconds - ResponseAffinityPolicy.retention.nanosecondsClamped / 1_000_000]
            )
        }
    }

    public func responseOwner(_ id: String, nowMilliseconds: Int64) async throws -> ResponseOwner? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT route, deployment, client_key FROM response_owners WHERE response_id = ? AND expires_ms >= ?", arguments: [id, nowMilliseconds]
            ).map { row in
                ResponseOwner(route: try row.decode(forColumn: "route"), deployment: try row.decode(forColumn: "deployment"), clientKey: try row.decode(forColumn: "client_key"))
            }
        }
    }
}
