import PostgresNIO
public import SwitchyardCore

/// Which deployment created each stored response, shared by every replica.
extension PostgresStateStore: ResponseAffinityStore {
    public func rememberResponse(_ id: String, owner: ResponseOwner, expiresAtMilliseconds: Int64) async throws {
        let prunedBefore = expiresAtMilliseconds - ResponseAffinityPolicy.retention.nanosecondsClamped / 1_000_000
        _ = try await run {
            try await self.client.query(
                """
                INSERT INTO response_owners (response_id, route, deployment, client_key, expires_ms)
                VALUES (\(id), \(owner.route), \(owner.deployment), \(owner.clientKey), \(expiresAtMilliseconds))
                ON CONFLICT (response_id) DO UPDATE SET route = excluded.route, deployment = excluded.deployment,
                  client_key = excluded.client_key, expires_ms = excluded.expires_ms
                """,
                logger: self.logger
            )
            // Bounded: expired ids go a few at a time, with the writes that add new ones.
            try await self.client.query(
                """
                DELETE FROM response_owners WHERE response_id IN
                  (SELECT response_id FROM response_owners WHERE expires_ms < \(prunedBefore) ORDER BY expires_ms LIMIT 16)
                """,
                logger: self.logger
            )
        }
    }

    public func responseOwner(_ id: String, nowMilliseconds: Int64) async throws -> ResponseOwner? {
        try await run {
            var owner: ResponseOwner?
            let rows = try await self.client.query(
                "SELECT route, deployment, client_key FROM response_owners WHERE response_id = \(id) AND expires_ms >= \(nowMilliseconds)", logger: self.logger
            )
            for try await (route, deployment, clientKey) in rows.decode((String, String, String?).self) {
                owner = ResponseOwner(route: route, deployment: deployment, clientKey: clientKey)
            }
            return owner
        }
    }
}
