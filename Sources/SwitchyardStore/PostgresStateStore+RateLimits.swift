import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import SwitchyardCore

/// Client rate limits shared by the fleet: one row per client key and
/// minute, holding the requests the replicas reserved and the tokens they
/// reported.
extension PostgresStateStore {
    /// How long a reservation may wait on the counters before the replica decides alone.
    static let admissionTimeout: Duration = .milliseconds(250)

    public func reserve(key: String, _ reservation: QuotaLease.Reservation) async -> QuotaLease.Grant? {
        let minute = reservation.minute
        let wanted = Int64(max(0, reservation.requests))
        let limit = Int64(max(0, reservation.requestLimit))
        // Tokens come from upstream replies: a report is capped well inside a bigint sum.
        let tokens = Int64(min(max(0, reservation.tokens), 1 << 48))
        let client = client
        let logger = logger
        let outcome = try? await withThrowingTaskGroup(of: Reserved?.self) { group in
            group.addTask {
                // Every right-hand side reads the row as it was, so `last_grant`
                // is what this statement added; the row lock makes replicas queue.
                let rows = try await client.query(
                    """
                    INSERT INTO client_usage AS usage (key, minute, requests, tokens, last_grant)
                    VALUES (\(key), \(minute), LEAST(\(wanted), \(limit)), \(tokens), LEAST(\(wanted), \(limit)))
                    ON CONFLICT (key, minute) DO UPDATE SET
                      requests = usage.requests + LEAST(\(wanted), GREATEST(0, \(limit) - usage.requests)),
                      tokens = usage.tokens + \(tokens),
                      last_grant = LEAST(\(wanted), GREATEST(0, \(limit) - usage.requests))
                    RETURNING last_grant, tokens, (xmax = 0)
                    """,
                    logger: logger
                )
                for try await (granted, total, inserted) in rows.decode((Int64, Int64, Bool).self) {
                    return Reserved(grant: QuotaLease.Grant(requests: Int(clamping: granted), tokens: Int(clamping: total)), newMinute: inserted)
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: Self.admissionTimeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let reserved = outcome ?? nil else { return nil }
        if reserved.newMinute {
            // Once per key and minute across the fleet, off the admission's
            // path: rows older than an hour go.
            Task {
                _ = try? await self.run {
                    try await self.client.query("DELETE FROM client_usage WHERE minute < \(minute - 3600)", logger: self.logger)
                }
            }
        }
        return reserved.grant
    }

    private struct Reserved: Sendable {
        let grant: QuotaLease.Grant
        let newMinute: Bool
    }
}
