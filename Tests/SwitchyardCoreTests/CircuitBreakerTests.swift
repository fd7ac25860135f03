import Testing
@testable import SwitchyardCore

@Suite("Circuit breaker state machine")
struct CircuitBreakerTests {
    let t0 = Moment(seconds: 1_800_000_000)
    let policy = CircuitBreaker.Policy(
        consecutiveFailures: 3, failureRate: 0.5, minimumRequests: 10, window: .seconds(30),
        openDuration: .seconds(10), maxOpenDuration: .seconds(40), probeTimeout: .seconds(60)
    )

    @Test func consecutiveFailuresOpenTheBreaker() {
        var breaker = CircuitBreaker(policy: policy)
        #expect(breaker.acquire(now: t0) == .allowed)
        breaker.record(.failure, now: t0)
        breaker.record(.failure, now: t0)
        #expect(breaker.state == .closed)
        #expect(breaker.record(.failure, now: t0) == .open(until: t0 + .seconds(10)))
        #expect(breaker.acquire(now: t0 + .seconds(4)) == .rejected(retryAfter: .seconds(6), reason: .open))
    }

    @Test func aSuccessResetsTheConsecutiveCount() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<5 {
            breaker.record(.failure, now: t0)
            breaker.record(.failure, now: t0)
            breaker.record(.success, now: t0)
        }
        // 10 failures out of 15 in the window: the failure rate trips it even without 3 in a row.
        #expect(breaker.state == .open(until: t0 + .seconds(10)))
    }

    @Test func failureRateNeedsTheMinimumSample() {
        var breaker = CircuitBreaker(policy: policy)
        for second in 0..<4 {
            breaker.record(.failure, now: t0 + .seconds(second))
            breaker.record(.success, now: t0 + .seconds(second))
        }
        #expect(breaker.state == .closed, "8 attempts is below the minimum of 10")
    }

    @Test func oldFailuresLeaveTheWindow() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<6 {
            breaker.record(.failure, now: t0)
            breaker.record(.success, now: t0)
        }
        #expect(breaker.state == .open(until: t0 + .seconds(10)))
        var fresh = CircuitBreaker(policy: policy)
        for _ in 0..<4 {
            fresh.record(.failure, now: t0)
            fresh.record(.success, now: t0)
        }
        // A minute later those 8 are out of the 30 s window; 2 more do not reach the minimum.
        fresh.record(.failure, now: t0 + .seconds(60))
        fresh.record(.success, now: t0 + .seconds(60))
        #expect(fresh.state == .closed)
    }

    @Test func halfOpenLetsExactlyOneProbeThrough() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<3 { breaker.record(.failure, now: t0) }
        let later = t0 + .seconds(10)
        #expect(breaker.acquire(now: later) == .probe)
        #expect(breaker.acquire(now: later) == .rejected(retryAfter: .seconds(10), reason: .probing))
        #expect(breaker.record(.success, probe: true, now: later) == .closed)
        #expect(breaker.acquire(now: later) == .allowed)
    }

    @Test func aFailedProbeReopensForTwiceAsLongUpToTheMaximum() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<3 { breaker.record(.failure, now: t0) }
        var now = t0 + .seconds(10)
        var expected: [Int64] = [20, 40, 40]
        while let seconds = expected.first {
            expected.removeFirst()
            #expect(breaker.acquire(now: now) == .probe)
            #expect(breaker.record(.failure, probe: true, now: now) == .open(until: now + .seconds(seconds)))
            now = now + .seconds(seconds)
        }
    }

    @Test func anAbandonedProbeDoesNotWedgeTheBreaker() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<3 { breaker.record(.failure, now: t0) }
        let later = t0 + .seconds(10)
        #expect(breaker.acquire(now: later) == .probe)
        breaker.record(.abandoned, probe: true, now: later)
        #expect(breaker.acquire(now: later) == .probe)
    }

    @Test func retryAfterHoldsTheDeploymentBackWithoutOpening() {
        var breaker = CircuitBreaker(policy: policy)
        breaker.record(.throttled(until: t0 + .seconds(2)), now: t0)
        #expect(breaker.state == .closed)
        #expect(breaker.acquire(now: t0 + .seconds(1)) == .rejected(retryAfter: .seconds(1), reason: .throttled))
        #expect(!breaker.isAvailable(now: t0 + .seconds(1)))
        #expect(breaker.acquire(now: t0 + .seconds(2)) == .allowed)
    }
}

@Suite("Client rate limiter")
struct RateLimiterTests {
    let t0 = Moment(seconds: 1_800_000_000)

    @Test func requestsPerMinuteRefillContinuously() {
        var limiter = RateLimiter(limits: .init(requestsPerMinute: 60), now: t0)
        for _ in 0..<60 { #expect(limiter.acquire(now: t0) == .allowed) }
        #expect(limiter.acquire(now: t0) == .limited(retryAfter: .seconds(1), reason: .requests))
        #expect(limiter.acquire(now: t0 + .milliseconds(500)) == .limited(retryAfter: .milliseconds(500), reason: .requests))
        #expect(limiter.acquire(now: t0 + .seconds(1)) == .allowed)
    }

    @Test func tokensAreChargedAfterTheReplyAndHoldTheKeyBack() {
        var limiter = RateLimiter(limits: .init(tokensPerMinute: 600), now: t0)
        #expect(limiter.acquire(now: t0) == .allowed)
        limiter.consume(tokens: 900, now: t0)  // one big reply: 300 in deficit
        guard case .limited(let retryAfter, .tokens) = limiter.acquire(now: t0) else {
            Issue.record("expected a token limit")
            return
        }
        #expect(retryAfter > .seconds(30) && retryAfter <= .seconds(31))
        #expect(limiter.acquire(now: t0 + .seconds(31)) == .allowed)
    }

    @Test func noLimitsAdmitEverything() {
        var limiter = RateLimiter(limits: .init(), now: t0)
        for _ in 0..<10_000 { #expect(limiter.acquire(now: t0) == .allowed) }
    }
}
