import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import SwitchyardCore

/// The fleet's state store: PostgreSQL through PostgresNIO, shared by every
/// replica. The same semantics as `SQLiteStateStore` — a commit is one
/// transaction, revisions are checked under row locks — and each commit
/// announces the routes it changed on the `switchyard_changes` channel so
/// other replicas reload at once (`changes()`).
public final class PostgresStateStore: StateStore, SharedStateStore, SharedRateLimits {
    /// The LISTEN/NOTIFY channel commits announce themselves on.
    public static let channel = "switchyard_changes"

    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let configuration: PostgresClient.Configuration
    private let logger: Logger
    /// TLS for the LISTEN connection, built once with the pool's.
    private let listenTLS: PostgresConnection.Configuration.TLS
    /// Where the server is, without the password, for logs and errors.
    public let location: String

    /// Connects to `url` (`postgres://user:password@host:port/database`) and
    /// brings the schema up to date (under an advisory lock, so replicas that
    /// start together do not race).
    public init(url: String, logger: Logger = Logger(label: "switchyard.store")) async throws {
        let dsn = try PostgresDSN(url)
        var configuration = PostgresClient.Configuration(
            host: dsn.host, port: dsn.port, username: dsn.username, password: dsn.password, database: dsn.database, tls: try dsn.clientTLS()
        )
        configuration.options.maximumConnections = 8
        configuration.options.connectionIdleTimeout = .seconds(60)
        self.configuration = configuration
        self.logger = logger
        listenTLS = try dsn.connectionTLS()
        location = dsn.location
        // One direct connection first: a wrong password, a refused TLS handshake
        // or an unknown database fails here at once, with the server's reason,
        // instead of the pool retrying it quietly for a minute.
        do {
            let probe = try await PostgresConnection.connect(
                configuration: PostgresConnection.Configuration(
                    host: dsn.host, port: dsn.port, username: dsn.username, password: dsn.password, database: dsn.database, tls: listenTLS
                ),
                id: 0, logger: logger
            )
            try await probe.close()
        } catch {
            throw StoreError.unreachable("cannot connect to \(dsn.location) (sslmode \(dsn.sslMode.rawValue)): \(Self.describe(error))")
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await migrate()
        } catch {
            runner.cancel()
            throw StoreError.unreachable("cannot prepare the schema at \(location): \(Self.describe(error))")
        }
    }

    deinit {
        runner.cancel()
    }

    /// Closes the connection pool.
    public func shutdown() {
        runner.cancel()
    }

    // MARK: Schema

    private func migrate() async throws {
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
    ]

    // MARK: Routes

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

    // MARK: Feedback, settings, roll-ups

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
    private static func upsert(
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

    // MARK: Rollouts

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
    private static func write(_ rollout: StoredRollout, on connection: PostgresConnection, logger: Logger) async throws {
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

    // MARK: Client rate limits across the fleet

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

    // MARK: Change notifications

    /// Route names as other replicas commit changes to them; the stream
    /// reconnects by itself and yields `"*"` after every (re)connection, since
    /// notifications sent while it was away are lost.
    public func changes() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let listenTLS = listenTLS
        let configuration = PostgresConnection.Configuration(
            host: configuration.host ?? "127.0.0.1", port: configuration.port ?? 5432, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: listenTLS
        )
        let logger = logger
        let task = Task {
            var attempt = 0
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                    attempt = 0
                    do {
                        try await connection.listen(on: Self.channel) { notifications in
                            continuation.yield("*")
                            for try await notification in notifications {
                                for route in notification.payload.split(separator: ",") { continuation.yield(String(route)) }
                            }
                        }
                    } catch {
                        logger.warning("lost the change feed from PostgreSQL: \(Self.describe(error))")
                    }
                    try? await connection.close()
                } catch {
                    attempt += 1
                    if attempt == 1 { logger.warning("cannot listen for changes on PostgreSQL: \(Self.describe(error))") }
                }
                try? await Task.sleep(for: .milliseconds(min(2000, 100 * (1 << min(attempt, 5)))))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    // MARK: Helpers

    /// How long one store operation may take before it is reported as the
    /// database being unavailable (the pool otherwise waits for a connection
    /// that may never come, and a mutation must get its 503 promptly).
    public static let operationTimeout: Duration = .seconds(3)

    /// Runs a store operation under `operationTimeout`, keeping `StoreError`s
    /// and naming the server in any other failure.
    /// A write whose transaction had begun when the answer stopped coming may
    /// still land: that is reported as an unknown outcome, never as "not saved".
    private func run<T: Sendable>(_ progress: WriteProgress? = nil, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: Self.operationTimeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    let silence = "PostgreSQL at \(self.location) did not answer within \(Self.operationTimeout)"
                    throw progress?.hasBegun == true ? StoreError.outcomeUnknown(silence + " after the write was sent; it may have landed") : StoreError.unreachable(silence)
                }
                return value
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? StoreError { throw inner }
            throw StoreError.unreachable("PostgreSQL at \(location): \(Self.describe(error.closureError ?? error.commitError ?? error.beginError ?? error))")
        } catch {
            throw StoreError.unreachable("PostgreSQL at \(location): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension StoredFigures {
    /// From a row of `requests, outcomes, latency, ttft, prompt_tokens, completion_tokens, cost`.
    init(_ row: (Int, String, ByteBuffer, ByteBuffer, Int, Int, Double)) {
        self.init(
            requests: row.0, outcomes: row.1, latency: Array(row.2.readableBytesView), ttft: Array(row.3.readableBytesView),
            promptTokens: row.4, completionTokens: row.5, cost: row.6
        )
    }
}

/// Whether a write's transaction had begun, to tell "not saved" from "unknown".
final class WriteProgress: Sendable {
    private let begun = Atomic<Bool>(false)

    func begin() {
        begun.store(true, ordering: .relaxed)
    }

    var hasBegun: Bool { begun.load(ordering: .relaxed) }
}
