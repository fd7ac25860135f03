public import SwitchyardCore
public import SwitchyardServer

/// Several `serve` replicas sharing one PostgreSQL database, each booted from
/// the same assembly as `serve`: a fleet for one test.
public enum TestFleet {
    /// Boots `replicas` servers on `postgresURL` (the first one applies
    /// `routes`), runs `body` with them in boot order, and shuts them down.
    public static func run(
        replicas: Int,
        routes: [Route]?,
        postgresURL: String,
        adjust: (inout ServerAssembly.Settings) -> Void = { _ in },
        body: ([TestServer]) async throws -> Void
    ) async throws {
        func boot(_ started: [TestServer]) async throws {
            guard started.count < replicas else {
                try await body(started)
                return
            }
            try await TestServer.run(routes: routes, state: .postgres(postgresURL), adjust: adjust) { server in
                try await boot(started + [server])
            }
        }
        try await boot([])
    }
}
