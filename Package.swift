// swift-tools-version:6.1
import PackageDescription

/// Settings every Switchyard target shares: Swift 6 language mode (strict
/// concurrency) plus the upcoming features Hummingbird itself builds with, so
/// module boundaries stay honest.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP/protobuf only: the gRPC exporter's packages are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // The domain: routes, weights, sticky assignment, breakers, limiters,
        // metric windows. Foundation only — no sockets, files, clocks or randomness.
        .target(
            name: "SwitchyardCore",
            swiftSettings: strictSettings
        ),
        // The real clock, which the pure core never reads.
        .target(
            name: "SwitchyardClock",
            dependencies: ["SwitchyardCore"],
            swiftSettings: strictSettings
        ),
        // Secrets as the servers keep and compare them: SHA-256 digests.
        .target(
            name: "SwitchyardSecrets",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // The management API's client, shared by ctl and the console.
        .target(
            name: "SwitchyardClient",
            dependencies: [
                "SwitchyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Routes as code: the YAML config and tokens files, parsed into the core's types.
        .target(
            name: "SwitchyardConfig",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardSecrets",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/lifecycle.yaml")],
            swiftSettings: strictSettings
        ),
        // The data plane: OpenAI / Azure OpenAI front door, proxying, failover, metrics.
        .target(
            name: "SwitchyardGateway",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardHTTP",
                "SwitchyardClock",
                "SwitchyardSecrets",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The system ncursesw library, with a shim for what does not import.
        .systemLibrary(
            name: "CNCursesw",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]
        ),
        // Terminal rendering without a terminal: cells, buffers, rects, widgets.
        .target(
            name: "SwitchyardTUI",
            swiftSettings: strictSettings
        ),
        // The console's core: state, messages, update → effects, view → buffer.
        .target(
            name: "SwitchyardConsole",
            dependencies: ["SwitchyardCore", "SwitchyardTUI"],
            swiftSettings: strictSettings
        ),
        // The console on a real terminal: ncurses backend and the network effects.
        .target(
            name: "SwitchyardTerminal",
            dependencies: [
                "CNCursesw",
                "SwitchyardCore",
                "SwitchyardTUI",
                "SwitchyardConsole",
                "SwitchyardClient",
                "SwitchyardClock",
                "SwitchyardConfig",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Themes")],
            swiftSettings: strictSettings
        ),
        // What every HTTP front end shares: JSON error responses, and the
        // data plane's HTTP/1.1 server.
        .target(
            name: "SwitchyardHTTP",
            dependencies: [
                "SwitchyardCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Durable state: routes, every revision, audit, roll-ups, rollouts.
        // SQLite through GRDB for one process; PostgreSQL through PostgresNIO for a fleet.
        .target(
            name: "SwitchyardStore",
            dependencies: [
                "SwitchyardCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The control plane: mutations as revisions, and the management API.
        .target(
            name: "SwitchyardControl",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardHTTP",
                "SwitchyardConfig",
                "SwitchyardClock",
                "SwitchyardSecrets",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: strictSettings
        ),
        // `switchyard ctl`: its commands (a client of the management API) and readable tables, testable as a library.
        .target(
            name: "SwitchyardCtl",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardClient",
                "SwitchyardClock",
                "SwitchyardConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // An OpenAI-compatible upstream with controllable latency and failures.
        .target(
            name: "SwitchyardSimulator",
            dependencies: [
                "SwitchyardCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Everything `serve` runs, wired once: `serve`, `demo` and the tests boot this.
        .target(
            name: "SwitchyardServer",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardConfig",
                "SwitchyardGateway",
                "SwitchyardStore",
                "SwitchyardControl",
                "SwitchyardHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Test support: loopback listeners, clocks tests move, fresh stores,
        // and a whole server booted from the same assembly as `serve`.
        .target(
            name: "SwitchyardTesting",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardClock",
                "SwitchyardClient",
                "SwitchyardConfig",
                "SwitchyardControl",
                "SwitchyardGateway",
                "SwitchyardServer",
                "SwitchyardStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardConfig",
                "SwitchyardGateway",
                "SwitchyardSimulator",
                "SwitchyardStore",
                "SwitchyardControl",
                "SwitchyardCtl",
                "SwitchyardClock",
                "SwitchyardSecrets",
                "SwitchyardTerminal",
                "SwitchyardHTTP",
                "SwitchyardServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        // Micro-benchmarks: `swift run -c release switchyard-bench`.
        .executableTarget(
            name: "switchyard-bench",
            dependencies: ["SwitchyardCore", "SwitchyardTUI", "SwitchyardConsole"],
            swiftSettings: strictSettings
        ),
        // The scale benchmarks' load: streams held open and timed chunk by chunk.
        .executableTarget(
            name: "switchyard-loadgen",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The gates' measured error rates: simulated rollouts through the real
        // RolloutMachine, run on purpose with `switchyard-gatesim`.
        .target(
            name: "SwitchyardGateLab",
            dependencies: ["SwitchyardCore"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "switchyard-gatesim",
            dependencies: ["SwitchyardCore", "SwitchyardGateLab"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardServerTests",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                "SwitchyardClient",
                "SwitchyardCore",
                "SwitchyardSecrets",
                "SwitchyardServer",
                "SwitchyardStore",
                "SwitchyardSimulator",
                "SwitchyardTesting",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardStoreTests",
            dependencies: ["SwitchyardCore", "SwitchyardStore", "SwitchyardTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardHTTPTests",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardTUITests",
            dependencies: ["SwitchyardTUI"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardCoreTests",
            dependencies: ["SwitchyardCore", "SwitchyardGateLab"],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardConsoleTests",
            dependencies: ["SwitchyardCore", "SwitchyardTUI", "SwitchyardConsole"],
            exclude: ["Snapshots"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardCtlTests",
            dependencies: ["SwitchyardCtl", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardClientTests",
            dependencies: ["SwitchyardClient", "SwitchyardCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardTerminalTests",
            dependencies: ["SwitchyardTerminal", "SwitchyardTUI", "SwitchyardConfig"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardConfigTests",
            dependencies: ["SwitchyardConfig", "SwitchyardCore", "SwitchyardSecrets"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardControlTests",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardConfig",
                "SwitchyardStore",
                "SwitchyardControl",
                "SwitchyardGateway",
                "SwitchyardCtl",
                "SwitchyardClient",
                "SwitchyardClock",
                "SwitchyardSecrets",
                "SwitchyardHTTP",
                "SwitchyardSimulator",
                "SwitchyardServer",
                "SwitchyardTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Golden"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchyardGatewayTests",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardConfig",
                "SwitchyardGateway",
                "SwitchyardHTTP",
                "SwitchyardSimulator",
                "SwitchyardClock",
                "SwitchyardSecrets",
                "SwitchyardTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
