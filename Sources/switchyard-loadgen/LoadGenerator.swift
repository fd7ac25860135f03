import ArgumentParser

/// Load for the scale benchmarks, light enough to share a 2-core machine
/// with the gateway it measures (bench/streams.py drives it).
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-loadgen",
        abstract: "Hold many streaming requests open and time their chunks.",
        subcommands: [StreamsCommand.self]
    )
}
