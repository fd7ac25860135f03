import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `switchyard-loadgen streams`: opens `--count` streaming requests at
/// `--rate` a second, holds them to their end, and prints one JSON summary:
/// time to first chunk, the gaps between chunks, errors and the most streams
/// open at once.
struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "streams", abstract: "Hold streaming requests open and time their chunks.")

    @Option(help: "Where to POST, e.g. http://127.0.0.1:8080/v1/chat/completions.")
    var url: String

    @Option(help: "Streams to open.")
    var count: Int = 1000

    @Option(help: "New connections a second while ramping up.")
    var rate: Int = 2000

    @Option(help: "The JSON request body.")
    var body: String = #"{"model":"chat-prod","stream":true,"messages":[{"role":"user","content":"hello"}]}"#

    @Option(name: .customLong("header"), help: "An extra request header, NAME:VALUE (repeatable).")
    var headers: [String] = []

    @Option(help: "Event loop threads.")
    var threads: Int = 1

    @Option(help: "Give up on streams still open after this many seconds.")
    var timeout: Int = 180

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count \(count) must be from 1 to 1000000") }
        guard (1...100_000).contains(rate) else { throw ValidationError("--rate \(rate) must be from 1 to 100000") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads \(threads) must be from 1 to 64") }
        guard (1...3600).contains(timeout) else { throw ValidationError("--timeout \(timeout) must be from 1 to 3600") }
        guard let components = URLComponents(string: url), components.scheme == "http", components.host != nil else {
            throw ValidationError("--url '\(url)' must be an http:// URL")
        }
        for header in headers where !header.contains(":") {
            throw ValidationError("--header '\(header)' must be NAME:VALUE")
        }
    }

    func run() async throws {
        guard let components = URLComponents(string: url), let host = components.host else { throw ValidationError("--url '\(url)' is not a URL") }
        let port = components.port ?? 80
        let target = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath) + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let extra = headers.map { header -> (String, String) in
            let name = header.prefix { $0 != ":" }
            return (String(name), String(header.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces))
        }
        let request = StreamRequest(host: host, port: port, target: target, headers: extra, body: body)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let tally = StreamTally()
        let started = ContinuousClock.now

        // Ramp up in slices of 10 ms so the servers' accept queues are not flooded.
        let perSlice = max(1, rate / 100)
        var opened = 0
        while opened < count {
            let slice = min(perSlice, count - opened)
            for _ in 0..<slice {
                StreamClient.open(request, on: group.next(), tally: tally)
            }
            opened += slice
            try await Task.sleep(for: .milliseconds(10))
        }
        let rampSeconds = (ContinuousClock.now - started).seconds

        let giveUp = started + .seconds(timeout)
        var lastReport = ContinuousClock.now
        while tally.finished < count, ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(100))
            if ContinuousClock.now - lastReport >= .seconds(5) {
                lastReport = .now
                FileHandle.standardError.write(Data("open \(tally.open), finished \(tally.finished) of \(count)\n".utf8))
            }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let summary = tally.summary(count: count, rampSeconds: rampSeconds, elapsedSeconds: elapsed)
        try await group.shutdownGracefully()
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        FileHandle.standardOutput.write(json)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
