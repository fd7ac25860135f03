import Testing
import SwitchyardCore

/// The fleet's shared limits as one replica holds them, against a store
/// that does what the PostgreSQL statement does: grant at most what is left.
@Suite struct QuotaLeaseTests {
    /// The store's row for one key and minute.
    struct Counter {
        var minute: Int64 = 0
        var requests = 0
        var tokens = 0
        var roundTrips = 0

        mutating func answer(_ reservation: QuotaLease.Reservation) -> QuotaLease.Grant {
            roundTrips += 1
            if reservation.minute != minute { self = Counter(minute: reservation.minute, roundTrips: roundTrips) }
            let granted = min(reservation.requests, max(0, reservation.requestLimit - requests))
            requests += granted
            tokens += reservation.tokens
            return QuotaLease.Grant(requests: granted, tokens: tokens)
        }
    }

    /// Admits one request the way the gateway does: reserving until decided.
    static func admit(_ lease: inout QuotaLease, store: inout Counter, now: Moment) -> RateLimiter.Decision {
        for _ in 0..<4 {
            switch lease.admit(now: now) {
            case .allowed: return .allowed
            case .limited(let retryAfter, let reason): return .limited(retryAfter: retryAfter, reason: reason)
            case .reserve(let reservation): lease.apply(store.answer(reservation), for: reservation, now: now)
            }
        }
        Issue.record("no decision after four rounds")
        return .allowed
    }

    /// 10:00:00 on some day, and `milliseconds` after it.
    static func at(_ milliseconds: Int64) -> Moment {
        Moment(nanoseconds: (1_795_300_800 * 1000 + milliseconds) * 1_000_000)
    }

    @Test func aReplicaAsksTheStoreOncePerBlockNotPerRequest() {
        var lease = QuotaLease(limits: .init(requestsPerMinute: 6_400))
        var store = Counter()
        #expect(lease.block == 100)
        for index in 0..<1_000 {
            #expect(Self.admit(&lease, store: &store, now: Self.at(Int64(index))) == .allowed)
        }
        #expect(store.roundTrips == 10)
        #expect(store.requests == 1_000)
    }

    @Test func threeReplicasNeverAdmitMoreThanTheLimitAndLoseAtMostABlockEach() {
        let limit = 6_400
        var store = Counter()
        var replicas = Array(repeating: QuotaLease(limits: .init(requestsPerMinute: limit)), count: 3)
        var admitted = 0
        // Far more demand than the limit, spread over the minute, round robin.
        for index in 0..<30_000 {
            let now = Self.at(Int64(index) * 59_000 / 30_000)
            if Self.admit(&replicas[index % 3], store: &store, now: now) == .allowed { admitted += 1 }
        }
        #expect(admitted <= limit, "the fleet admitted \(admitted) of \(limit)")
        #expect(admitted >= limit - 3 * replicas[0].block, "reserved but unused: at most a block per replica")
        #expect(store.requests == limit)
    }

    @Test func aRefusalSaysWhenTheMinuteEndsAndTheNextMinuteStartsAfresh() {
        var lease = QuotaLease(limits: .init(requestsPerMinute: 2))
        var store = Counter()
        #expect(Self.admit(&lease, store: &store, now: Self.at(1_000)) == .allowed)
        #expect(Self.admit(&lease, store: &store, now: Self.at(2_000)) == .allowed)
        #expect(Self.admit(&lease, store: &store, now: Self.at(20_000)) == .limited(retryAfter: .seconds(40), reason: .requests))
        let tripsWhenRefused = store.roundTrips
        #expect(Self.admit(&lease, store: &store, now: Self.at(30_000)) == .limited(retryAfter: .seconds(30), reason: .requests))
        #expect(store.roundTrips == tripsWhenRefused, "a key the store has refused is not asked again within the minute")
        #expect(Self.admit(&lease, store: &store, now: Self.at(60_500)) == .allowed)
    }

    @Test func tokensAreReportedInBatchesAndTheFleetsTotalHoldsTheKeyBack() {
        let limits = RateLimiter.Limits(tokensPerMinute: 6_400)
        var store = Counter()
        var first = QuotaLease(limits: limits)
        var second = QuotaLease(limits: limits)
        #expect(first.tokenBatch == 100)
        #expect(Self.admit(&first, store: &store, now: Self.at(0)) == .allowed)
        // Under a batch: nothing to report yet.
        #expect(first.charge(tokens: 60, now: Self.at(10)) == nil)
        let report = first.charge(tokens: 60, now: Self.at(20))
        #expect(report?.tokens == 120)
        if let report { first.apply(store.answer(report), for: report, now: Self.at(30)) }
        #expect(store.tokens == 120)
        // The other replica spends the rest; the first hears of it within a second.
        #expect(Self.admit(&second, store: &store, now: Self.at(40)) == .allowed)
        if let spent = second.charge(tokens: 6_300, now: Self.at(50)) { second.apply(store.answer(spent), for: spent, now: Self.at(60)) }
        #expect(Self.admit(&second, store: &store, now: Self.at(70)) == .limited(retryAfter: .seconds(60), reason: .tokens))
        #expect(Self.admit(&first, store: &store, now: Self.at(500)) == .allowed, "not synced yet")
        #expect(Self.admit(&first, store: &store, now: Self.at(1_100)) == .limited(retryAfter: .seconds(59), reason: .tokens))
    }

    @Test func aGrantForAMinuteThatHasEndedIsDropped() {
        var lease = QuotaLease(limits: .init(requestsPerMinute: 640))
        guard case .reserve(let reservation) = lease.admit(now: Self.at(59_900)) else {
            Issue.record("a fresh lease reserves first")
            return
        }
        lease.apply(QuotaLease.Grant(requests: 10, tokens: 0), for: reservation, now: Self.at(60_100))
        guard case .reserve(let next) = lease.admit(now: Self.at(60_100)) else {
            Issue.record("the grant belonged to the minute that ended")
            return
        }
        #expect(next.minute == reservation.minute + 60)
    }

    @Test func minutesAreWholeUnixMinutes() {
        #expect(QuotaLease.minute(of: Self.at(59_999)) == 1_795_300_800)
        #expect(QuotaLease.minute(of: Self.at(60_000)) == 1_795_300_860)
        #expect(QuotaLease.minute(of: Moment(nanoseconds: -1)) == -60)
    }

    @Test func aLateAnswerOrAnEarlierClockDoesNotTakeTheLeaseBackAMinute() {
        var lease = QuotaLease(limits: .init(requestsPerMinute: 640, tokensPerMinute: 6_400))
        var store = Counter()
        guard case .reserve(let old) = lease.admit(now: Self.at(59_000)) else {
            Issue.record("a fresh lease reserves first")
            return
        }
        // The next minute's traffic moves the lease on before the old answer lands.
        #expect(Self.admit(&lease, store: &store, now: Self.at(61_000)) == .allowed)
        #expect(lease.charge(tokens: 50, now: Self.at(61_500)) == nil)
        lease.apply(QuotaLease.Grant(requests: 10, tokens: 0), for: old, now: Self.at(59_000))
        // A waiter whose clock read 59 s is in the current minute too, and the unreported tokens are kept.
        #expect(Self.admit(&lease, store: &store, now: Self.at(59_500)) == .allowed)
        #expect(lease.charge(tokens: 60, now: Self.at(62_000))?.tokens == 110)
    }

    @Test func tokenCountsFromHostileRepliesSaturateInsteadOfWrapping() {
        var lease = QuotaLease(limits: .init(tokensPerMinute: 1_000))
        var store = Counter()
        #expect(Self.admit(&lease, store: &store, now: Self.at(0)) == .allowed)
        _ = lease.charge(tokens: .max, now: Self.at(10))
        _ = lease.charge(tokens: .max, now: Self.at(20))
        #expect(Self.admit(&lease, store: &store, now: Self.at(30)) == .limited(retryAfter: .seconds(60), reason: .tokens))
    }
}
