import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import SwitchyardCore

/// Client rate limits shared by the fleet.
extension PostgresStateStore {
    /// How long an admission may wait on the counters before the replica decides alone.
    static let admissionTimeout: Duration = .milliseconds(250)

    public func admit(key: String, limits: RateLimiter.Limits, now: Moment) async -> RateLimiter.Decision? {
        let second = now.nanoseconds / 1_000_000_000
        let minute = second - ((second % 60) + 60) % 60
        let retryAfter = Duration.seconds(minute + 60 - second)
        let requestLimit = Int64(limits.requestsPerMinute ?? Int.max)
        let tokenLimit = Int64(limits.tokensPerMinute ?? Int.max)
        let client = client
        let logger = logger
        // Admitted when this minute's count stays within the limit; the row is bumped and checked in one statement.
        let outcome = try? await withThrowingTaskGroup(of: Admission.self) { group in
            group.addTask {
                let rows = try await client.query(
                    """
                    INSERT INTO client_usage AS usage (key, minute, requests, tokens) VALUES (\(key), \(minute), 1, 0)
                    ON CONFLICT (key, minute) DO UPDATE SET requests = usage.requests + 1
                    WHERE usage.requests < \(requestLimit) AND usage.tokens < \(tokenLimit)
                    RETURNING requests, tokens
                    """,
                    logger: logger
                )
                for try await _ in rows.decode((Int64, Int64).self) { return .admitted }
                var tokens: Int64 = 0
                for try await used in try await client.query("SELECT tokens FROM client_usage WHERE key = \(key) AND minute = \(minute)", logger: logger).decode(Int64.self) {
                    tokens = used
                }
                return .refused(tokens: tokens)
            }
            group.addTask {
                try await Task.sleep(for: Self.admissionTimeout)
                return .timedOut
            }
            defer { group.cancelAll() }
            return try await group.next() ?? .timedOut
        }
        switch outcome {
        case .admitted?: return .allowed
        case .refused(let tokens)?: return .limited(retryAfter: retryAfter, reason: tokens >= tokenLimit ? .tokens : .requests)
        case .timedOut?, nil: return nil
        }
    }

    private enum Admission: Sendable {
        case admitted, refused(tokens: Int64), timedOut
    }

    public func charge(key: String, tokens: Int, now: Moment) async {
        let second = now.nanoseconds / 1_000_000_000
        let minute = second - ((second % 60) + 60) % 60
        _ = try? await run {
            try await self.client.query(
                """
                INSERT INTO client_usage AS usage (key, minute, requests, tokens) VALUES (\(key), \(minute), 0, \(Int64(tokens)))
                ON CONFLICT (key, minute) DO UPDATE SET tokens = usage.tokens + excluded.tokens
                """,
                logger: self.logger
            )
            try await self.client.query("DELETE FROM client_usage WHERE minute < \(minute - 3600)", logger: self.logger)
        }
    }
}
