import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchyardCore

/// Mirrors a sampled share of one route's requests to a shadow deployment,
/// off the request path: the client's reply is sent before the mirror is
/// even queued for work, the queue is bounded, and a full queue or a spent
/// budget drops work and counts it. Shadow calls never touch the route's
/// metrics, breakers or client rate limits.
final class ShadowMirror: Sendable {
    struct Job: Sendable {
        let chat: ClientRequest
        /// The deployment that answered the client.
        var primaryDeployment = ""
        /// Where the copy goes: the shadow, or the A/B variant that did not answer.
        var shadowDeployment = ""
        /// The primary's reply: a whole completion, or a stream's events.
        let primaryBody: ByteBuffer
        let primaryStreamed: Bool
        let primaryLatency: Duration
    }

    /// The most of a primary stream kept for comparison; a longer one is not mirrored.
    static let maximumStreamBytes = 4 << 20

    /// Adds a streamed chunk to the copy kept for the shadow, in place (no
    /// copy per chunk); a stream longer than ``maximumStreamBytes`` is not
    /// mirrored, and its copy becomes nil.
    static func keep(_ chunk: ByteBuffer, in kept: inout ByteBuffer?) {
        guard let size = kept?.readableBytes else { return }
        guard size + chunk.readableBytes <= maximumStreamBytes else {
            kept = nil
            return
        }
        var chunk = chunk
        kept?.writeBuffer(&chunk)
    }

    struct State {
        var report: ShadowReport
        /// The newest `capture` compared pairs, oldest first.
        var samples: [ShadowSample] = []
        var spentTokens = 0
        var spentCost = 0.0
        var counter: UInt64 = 0
    }

    /// Shared between the request path and the worker.
    final class Shared: Sendable {
        let mutex: Mutex<State>

        init(_ state: State) {
            mutex = Mutex(state)
        }
    }

    let settings: ShadowSettings
    /// The shadow deployment, or an A/B experiment's two variants.
    private let targets: [String: UpstreamTarget]
    private let shared: Shared
    private let jobs: AsyncStream<Job>.Continuation
    private let worker: Task<Void, Never>
    private let clock: any MomentClock

    /// - Parameter deployments: the shadow, or (pair mode, `settings.pairs`) both variants.
    init(settings: ShadowSettings, deployments: [Deployment], environment: [String: String], clients: UpstreamClients, clock: any MomentClock, logger: Logger) {
        self.settings = settings
        self.clock = clock
        let targets = Dictionary(
            deployments.map { ($0.name, UpstreamTarget(deployment: $0, environment: environment, clients: clients)) }, uniquingKeysWith: { first, _ in first }
        )
        self.targets = targets
        let shared = Shared(State(report: ShadowReport(deployment: settings.pairs.isEmpty ? settings.deployment : settings.pairs.joined(separator: "↔"))))
        self.shared = shared
        let (stream, continuation) = AsyncStream<Job>.makeStream(bufferingPolicy: .bufferingOldest(settings.queueCapacity))
        self.jobs = continuation
        let concurrency = settings.concurrency
        worker = Task {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await job in stream {
                    if running >= concurrency {
                        await group.next()
                        running -= 1
                    }
                    running += 1
                    guard let target = targets[job.shadowDeployment] else { continue }
                    group.addTask {
                        let comparison = await Self.run(job, target: target, clock: clock)
                        let sample = settings.capture > 0
                            ? ShadowSample(
                                atMilliseconds: clock.now().nanoseconds / 1_000_000, request: Self.requestExcerpt(job.chat),
                                primaryDeployment: job.primaryDeployment, shadowDeployment: job.shadowDeployment, comparison: comparison
                            )
                            : nil
                        shared.mutex.withLock { state in
                            if let sample {
                                state.samples.append(sample)
                                if state.samples.count > settings.capture { state.samples.removeFirst(state.samples.count - settings.capture) }
                            }
                            state.report.record(comparison)
                            state.spentTokens = state.spentTokens.saturatingAdding(max(0, comparison.shadowTokens))
                            state.spentCost += comparison.shadowCost
                        }
                        if let error = comparison.shadowError {
                            logger.debug("shadow request failed", metadata: ["deployment": "\(job.shadowDeployment)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
    }

    /// Offers one finished exchange for mirroring; returns at once.
    func offer(_ chat: ClientRequest, primaryDeployment: String, primaryBody: ByteBuffer, primaryLatency: Duration) {
        guard let shadow = counterpart(of: primaryDeployment), admit() else { return }
        enqueue(Job(chat: chat, primaryDeployment: primaryDeployment, shadowDeployment: shadow, primaryBody: primaryBody, primaryStreamed: false, primaryLatency: primaryLatency))
    }

    /// Where a request `primary` answered is copied: the shadow (unless it
    /// answered itself), or in pair mode the other variant; nil for none.
    func counterpart(of primary: String) -> String? {
        guard !settings.pairs.isEmpty else { return settings.deployment == primary ? nil : settings.deployment }
        guard settings.pairs.contains(primary) else { return nil }
        return settings.pairs.first { $0 != primary }
    }

    /// Whether the next request is sampled and within budget. A stream asks
    /// at its start (so only sampled streams keep their events), and hands
    /// its job over with `enqueue` once it has ended well.
    func admit() -> Bool {
        shared.mutex.withLock { state -> Bool in
            state.counter &+= 1
            // Deterministic sampling by arrival: exactly `sample` of requests, evenly spread.
            let points = UInt64(settings.sample.basisPoints)
            guard (state.counter &* points) / 10_000 != ((state.counter &- 1) &* points) / 10_000 else { return false }
            if let tokens = settings.budget.tokens, state.spentTokens >= tokens {
                state.report.droppedBudget += 1
                return false
            }
            if let cost = settings.budget.cost, state.spentCost >= cost {
                state.report.droppedBudget += 1
                return false
            }
            return true
        }
    }

    /// Queues an admitted job; never waits (a full queue drops it, counted).
    func enqueue(_ job: Job) {
        switch jobs.yield(job) {
        case .enqueued:
            shared.mutex.withLock { $0.report.mirrored += 1 }
        case .dropped, .terminated:
            shared.mutex.withLock { $0.report.droppedQueueFull += 1 }
        @unknown default:
            shared.mutex.withLock { $0.report.droppedQueueFull += 1 }
        }
    }

    var report: ShadowReport { shared.mutex.withLock { $0.report } }

    /// The kept pairs, newest first.
    var samples: [ShadowSample] { shared.mutex.withLock { $0.samples.reversed() } }

    /// What the client asked, for a person to read: the last user message
    /// (its text parts), or a completion's prompt.
    static func requestExcerpt(_ chat: ClientRequest) -> String {
        if let messages = chat.body["messages"]?.arrayValue, let last = messages.last(where: { $0["role"]?.stringValue == "user" }) ?? messages.last {
            if let text = last["content"]?.stringValue { return text }
            let parts = last["content"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
            return parts.joined(separator: " ")
        }
        return chat.body["prompt"]?.stringValue ?? chat.body["input"]?.stringValue ?? ""
    }

    /// Stops taking work; requests in flight finish on their own.
    func stop() {
        jobs.finish()
    }

    private static func run(_ job: Job, target: UpstreamTarget, clock: any MomentClock) async -> ShadowComparison {
        let primary = job.primaryStreamed ? ReplySummary(streamed: Array(job.primaryBody.readableBytesView)) : ReplySummary(Array(job.primaryBody.readableBytesView))
        let chat = job.chat.unstreamed()
        let started = clock.now()
        do {
            let (status, bytes) = try await target.exchange(chat, within: target.deployment.timeouts.total, maxBytes: 16 << 20)
            let latency = clock.now() - started
            guard (200..<300).contains(status) else {
                return primary.comparison(latency: job.primaryLatency, shadowError: "shadow answered \(status)")
            }
            let shadow = ReplySummary(Array(bytes.readableBytesView))
            return ShadowComparison(
                primaryLatency: job.primaryLatency, shadowLatency: latency, primaryTokens: primary.tokens, shadowTokens: shadow.tokens,
                primaryFinishReason: primary.finishReason, shadowFinishReason: shadow.finishReason, primaryText: primary.text,
                shadowText: shadow.text,
                shadowCost: target.deployment.price.cost(promptTokens: shadow.promptTokens, completionTokens: shadow.tokens - shadow.promptTokens)
            )
        } catch {
            return primary.comparison(latency: job.primaryLatency, shadowError: error == .timedOut ? "shadow timed out" : "\(error)")
        }
    }
}

/// The parts of a chat completion a shadow comparison looks at.
struct ReplySummary {
    var text = ""
    var finishReason: String?
    var promptTokens = 0
    var tokens = 0

    init(_ bytes: [UInt8]) {
        guard let reply = try? JSONText.decode(bytes) else { return }
        let choice = reply["choices"]?.arrayValue?.first
        text = choice?["message"]?["content"]?.stringValue ?? ""
        finishReason = choice?["finish_reason"]?.stringValue
        let usage = TokenUsage(usage: reply["usage"])
        promptTokens = usage?.promptTokens ?? 0
        tokens = usage?.totalTokens ?? 0
    }

    /// The same from a streamed reply's events: the deltas' text joined, the
    /// last finish reason, the usage chunk's counts.
    init(streamed bytes: [UInt8]) {
        var splitter = ServerSentEventSplitter()
        guard let events = try? splitter.feed(bytes) else { return }
        for event in events {
            let lines = String(decoding: event.bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            guard let line = lines.first(where: { $0.hasPrefix("data:") }) else { continue }
            let payload = line.dropFirst(5).drop { $0 == " " }
            guard payload != "[DONE]", let chunk = try? JSONText.decode(Array(payload.utf8)) else { continue }
            let choice = chunk["choices"]?.arrayValue?.first
            text += choice?["delta"]?["content"]?.stringValue ?? ""
            if let reason = choice?["finish_reason"]?.stringValue { finishReason = reason }
            if let usage = TokenUsage(usage: chunk["usage"]) {
                promptTokens = usage.promptTokens
                tokens = usage.totalTokens
            }
        }
    }

    func comparison(latency: Duration, shadowError: String) -> ShadowComparison {
        ShadowComparison(
            primaryLatency: latency, shadowLatency: nil, primaryTokens: tokens, shadowTokens: 0, primaryFinishReason: finishReason,
            shadowFinishReason: nil, primaryText: text, shadowText: "", shadowError: shadowError
        )
    }
}
