import SwitchyardCore
import Synchronization

/// Fleet mode's client limits on this replica: a `QuotaLease` per client key,
/// filled from the shared store a block at a time, so admitting a request
/// costs a store round trip only once per block (a sixty-fourth of the limit).
///
/// One reservation per key is under way at a time; requests arriving
/// meanwhile wait for it rather than asking again.
final class FleetQuota: Sendable {
    private struct Entry {
        var lease: QuotaLease
        /// The reservation under way: true once the store has answered.
        var inFlight: Task<Bool, Never>?
        /// Which reservation `inFlight` is (numbered across every key), so a
        /// late answer meant for an entry since replaced — its key's limits
        /// changed — touches nothing.
        var generation = 0
    }

    /// Rounds of reservations one request may wait through. Each grants a
    /// block (a 64th of the limit), so after this many the minute's limit
    /// has been handed out to the requests that arrived together.
    static let rounds = 64

    private struct State {
        var entries: [String: Entry] = [:]
        /// After the store failed to answer, the replica decides alone until then.
        var unreachableUntil: Moment?
        /// Reservations started, which numbers each one.
        var reservations = 0
    }

    /// How long the replica keeps to its own limiter after the store failed to answer.
    static let backOff = Duration.seconds(1)

    private let store: any SharedRateLimits
    private let state = Mutex(State())

    init(store: any SharedRateLimits) {
        self.store = store
    }

    /// The fleet's decision, or `nil` when the store cannot be reached (the
    /// caller then applies its own limiter).
    func admit(_ key: ClientKey, now: Moment) async -> RateLimiter.Decision? {
        enum Next {
            case decided(RateLimiter.Decision?)
            case wait(Task<Bool, Never>)
        }
        // A grant is normally used at once; a burst larger than a block
        // takes several rounds, each admitting a block's worth.
        for _ in 0..<Self.rounds {
            let next = state.withLock { state -> Next in
                if let until = state.unreachableUntil, now < until { return .decided(nil) }
                var entry = state.entries[key.name].flatMap { $0.lease.limits == key.limits ? $0 : nil } ?? Entry(lease: QuotaLease(limits: key.limits))
                defer { state.entries[key.name] = entry }
                if let task = entry.inFlight { return .wait(task) }
                switch entry.lease.admit(now: now) {
                case .allowed:
                    return .decided(.allowed)
                case .limited(let retryAfter, let reason):
                    return .decided(.limited(retryAfter: retryAfter, reason: reason))
                case .reserve(let reservation):
                    state.reservations &+= 1
                    entry.generation = state.reservations
                    let generation = entry.generation
                    let task = Task { await self.reserve(key, reservation, generation: generation, now: now) }
                    entry.inFlight = task
                    return .wait(task)
                }
            }
            switch next {
            case .decided(let decision):
                return decision
            case .wait(let task):
                guard await task.value else { return nil }
            }
        }
        // Never the replica's own limiter here: the store answered, and the
        // burst has had the blocks it could get.
        return .limited(retryAfter: .seconds(1), reason: .requests)
    }

    /// Counts the tokens a reply used; reports them once a batch has gathered.
    func charge(_ key: ClientKey, tokens: Int, now: Moment) {
        state.withLock { state in
            guard var entry = state.entries[key.name], entry.lease.limits == key.limits else { return }
            defer { state.entries[key.name] = entry }
            if let report = entry.lease.charge(tokens: tokens, now: now), entry.inFlight == nil {
                state.reservations &+= 1
                entry.generation = state.reservations
                let generation = entry.generation
                entry.inFlight = Task { await self.reserve(key, report, generation: generation, now: now) }
            }
        }
    }

    private func reserve(_ key: ClientKey, _ reservation: QuotaLease.Reservation, generation: Int, now: Moment) async -> Bool {
        let grant = await store.reserve(key: key.name, reservation)
        return state.withLock { state in
            if grant == nil { state.unreachableUntil = now + Self.backOff }
            guard var entry = state.entries[key.name], entry.generation == generation else { return grant != nil }
            entry.inFlight = nil
            if let grant { entry.lease.apply(grant, for: reservation, now: now) }
            state.entries[key.name] = entry
            return grant != nil
        }
    }
}
