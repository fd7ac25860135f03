import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
public import SwitchyardCore

/// The gateway's part in rollouts: blue-green health checks with real
/// requests, shadow mirroring, and attributing feedback to deployments.
extension Gateway: RolloutDataPlane {
    public func healthCheck(route: Route, deployment name: String, check: RolloutPlan.HealthCheck) async -> HealthCheckResult {
        guard let deployment = route.deployment(named: name) else {
            return HealthCheckResult(passed: false, detail: "route '\(route.name)' has no deployment '\(name)'")
        }
        let target = UpstreamTarget(deployment: deployment, environment: options.environment, clients: clients)
        let body: JSONValue = [
            "messages": [["role": "user", "content": .string(check.prompt)]],
            "max_tokens": 16,
        ]
        let chat: ClientRequest
        do {
            chat = try ClientRequest(bytes: JSONText.encode(body), requireModel: false)
        } catch {
            return HealthCheckResult(passed: false, detail: "could not build the check request: \(error)")
        }
        var slowest = Duration.zero
        for attempt in 1...max(1, check.requests) {
            let started = clock.now()
            do {
                let (status, bytes) = try await target.exchange(chat, within: check.timeout, maxBytes: 4 << 20)
                guard (200..<300).contains(status) else {
                    return HealthCheckResult(passed: false, detail: "request \(attempt) of \(check.requests): upstream answered \(status)")
                }
                guard let reply = try? JSONText.decode(bytes.readableBytesView), reply["choices"]?.arrayValue?.isEmpty == false else {
                    return HealthCheckResult(passed: false, detail: "request \(attempt) of \(check.requests): the reply is not a chat completion")
                }
            } catch {
                let reason = error == .timedOut ? "no reply within \(DurationText.format(check.timeout))" : "\(error)"
                return HealthCheckResult(passed: false, detail: "request \(attempt) of \(check.requests): \(reason)")
            }
            slowest = max(slowest, clock.now() - started)
        }
        return HealthCheckResult(passed: true, detail: "\(check.requests) of \(check.requests) requests succeeded, slowest \(Int(slowest.millisecondsDouble.rounded())) ms")
    }

    public func setShadow(route: String, _ settings: ShadowSettings?) {
        let previous = shadows.withLock { mirrors -> ShadowMirror? in
            let previous = mirrors.removeValue(forKey: route)
            guard let settings, let installed = table.withLock({ $0[route] })?.plan.route else { return previous }
            let names = settings.pairs.isEmpty ? [settings.deployment] : settings.pairs
            let deployments = names.compactMap { installed.deployment(named: $0) }
            guard !deployments.isEmpty, deployments.count == names.count else { return previous }
            mirrors[route] = ShadowMirror(
                settings: settings, deployments: deployments, environment: options.environment, clients: clients, clock: clock, logger: logger
            )
            return previous
        }
        if let previous {
            finishedShadows.withLock { $0[route] = previous.report }
            finishedSamples.withLock { $0[route] = previous.samples }
            previous.stop()
        }
    }

    /// The pairs the route's shadow kept (the running one's, else the last
    /// one's), newest first; pairs older than a day are not served — they
    /// hold user content and only help while the comparison is fresh.
    public func shadowSamples(route: String) -> [ShadowSample] {
        let samples = shadows.withLock({ $0[route] })?.samples ?? finishedSamples.withLock { $0[route] } ?? []
        let oldest = (clock.now() - ShadowSample.retention).nanoseconds / 1_000_000
        return samples.filter { $0.atMilliseconds >= oldest }
    }

    public func shadowReport(route: String) -> ShadowReport? {
        if let mirror = shadows.withLock({ $0[route] }) { return mirror.report }
        return finishedShadows.withLock { $0[route] }
    }

    public func attribution(requestId: String) -> (route: String, deployment: String)? {
        ledger.lookup(requestId)
    }

    func shadowMirror(route: String) -> ShadowMirror? {
        shadows.withLock { $0[route] }
    }
}

/// The last requests' ids and where they went, so feedback that names only
/// a request id can be credited to its deployment. Bounded and compact: an id
/// is kept as a 64-bit hash and its place as two small indices, about 20
/// bytes an entry; the oldest are forgotten.
final class RequestLedger: Sendable {
    private struct State {
        var entries: [UInt64: UInt32] = [:]
        var order: [UInt64] = []
        var head = 0
        /// Route and deployment names, each stored once.
        var names: [String] = []
        var indexOfName: [String: UInt16] = [:]

        mutating func index(of name: String) -> UInt16 {
            if let index = indexOfName[name] { return index }
            let index = UInt16(truncatingIfNeeded: names.count)
            names.append(name)
            indexOfName[name] = index
            return index
        }
    }

    private let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State())
    }

    /// FNV-1a over the id's bytes: stable, cheap, and wide enough that two of
    /// the last 100 000 ids colliding is vanishingly unlikely.
    static func key(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    func record(_ id: String, route: String, deployment: String) {
        let key = Self.key(id)
        state.withLock { state in
            guard state.names.count < Int(UInt16.max) - 2 else { return }
            let place = UInt32(state.index(of: route)) << 16 | UInt32(state.index(of: deployment))
            if state.entries.updateValue(place, forKey: key) != nil { return }
            if state.order.count < capacity {
                state.order.append(key)
            } else {
                state.entries.removeValue(forKey: state.order[state.head])
                state.order[state.head] = key
                state.head = (state.head + 1) % capacity
            }
        }
    }

    func lookup(_ id: String) -> (route: String, deployment: String)? {
        let key = Self.key(id)
        return state.withLock { state in
            guard let place = state.entries[key] else { return nil }
            return (state.names[Int(place >> 16)], state.names[Int(place & 0xFFFF)])
        }
    }
}
