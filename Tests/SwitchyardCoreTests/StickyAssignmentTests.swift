import Testing
@testable import SwitchyardCore

@Suite("Sticky, monotone weighted assignment")
struct StickyAssignmentTests {
    /// A small deterministic generator so property tests are reproducible.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            return StickyHash.finalize(state)
        }
    }

    static func randomTable(_ names: [String], using rng: inout SplitMix) -> WeightTable {
        // Cut 0…10 000 at random points: every deployment gets a share, some zero.
        var cuts = (0..<(names.count - 1)).map { _ in Int.random(in: 0...10_000, using: &rng) }
        cuts.sort()
        let bounds = [0] + cuts + [10_000]
        return try! WeightTable(
            names.indices.map { WeightTable.Entry(deployment: names[$0], weight: try! Weight(basisPoints: bounds[$0 + 1] - bounds[$0])) }
        )
    }

    @Test func requestsWithoutAKeySpreadEvenlyOverTheBuckets() {
        // Counted requests land in each tenth of the buckets a tenth of the time,
        // so a 90/10 split holds for anonymous traffic too.
        var tenths = [Int](repeating: 0, count: 10)
        for number in 1...100_000 as ClosedRange<UInt64> {
            tenths[StickyHash.bucket(forRequestNumber: number) / 1_000] += 1
        }
        for count in tenths {
            #expect((9_700...10_300).contains(count), "\(tenths)")
        }
        // And consecutive requests are not in consecutive buckets.
        #expect(abs(StickyHash.bucket(forRequestNumber: 1) - StickyHash.bucket(forRequestNumber: 2)) > 1)
    }

    @Test func bucketsAreStableAcrossProcessesAndRoutes() {
        // Golden values: a change here would move every user of every route.
        #expect(StickyHash.bucket(route: "chat-prod", key: "alice") == 4010)
        #expect(StickyHash.bucket(route: "summarize", key: "alice") == 4256)
    }

    @Test func raisingACanaryNeverMovesAUserOffItAndLoweringNeverMovesOneOn() {
        var rng = SplitMix(state: 42)
        let names = ["stable", "canary", "third", "fourth"]
        let keys = (0..<3_000).map { "user-\($0)-\(UInt32.random(in: 0...UInt32.max, using: &rng))" }
        for deploymentCount in 2...4 {
            let active = Array(names.prefix(deploymentCount))
            var table = Self.randomTable(active, using: &rng)
            var allocation = BucketAllocation(initial: table)
            for _ in 0..<200 {
                let next = Self.randomTable(active, using: &rng)
                let nextAllocation = allocation.rebalanced(to: next)
                #expect(nextAllocation.bucketCounts == Dictionary(uniqueKeysWithValues: next.entries.map { ($0.deployment, $0.weight.basisPoints) }))
                for key in keys {
                    let bucket = StickyHash.bucket(route: "r", key: key)
                    let before = allocation.owner(ofBucket: bucket)
                    let after = nextAllocation.owner(ofBucket: bucket)
                    guard before != after else { continue }
                    // A user only moves from a deployment that lost weight to one that gained it.
                    #expect(next[before]! < table[before]!, "user moved off \(before), which did not shrink")
                    #expect(next[after]! > table[after]!, "user moved onto \(after), which did not grow")
                }
                table = next
                allocation = nextAllocation
            }
        }
    }

    @Test func canaryFrom10To50KeepsEveryCanaryUser() throws {
        let at10 = try WeightTable(percentages: [("stable", 90), ("canary", 10)])
        let at50 = try WeightTable(percentages: [("stable", 50), ("canary", 50)])
        let before = BucketAllocation(initial: at10)
        let after = before.rebalanced(to: at50)
        for bucket in 0..<StickyHash.bucketCount where before.owner(ofBucket: bucket) == "canary" {
            #expect(after.owner(ofBucket: bucket) == "canary")
        }
        // …and back to 10 %: nobody who was on stable at 50 % is moved to the canary.
        let back = after.rebalanced(to: at10)
        for bucket in 0..<StickyHash.bucketCount where after.owner(ofBucket: bucket) == "stable" {
            #expect(back.owner(ofBucket: bucket) == "stable")
        }
    }

    @Test(arguments: [[90.0, 10.0], [50, 50], [99, 1], [33.33, 33.33, 33.34], [70, 20, 7.5, 2.5]])
    func splitOver100000KeysIsWithinHalfAPointOfTheWeights(_ percents: [Double]) throws {
        let names = percents.indices.map { "d\($0)" }
        let table = try WeightTable(percentages: Array(zip(names, percents)))
        let allocation = BucketAllocation(initial: table)
        var counts: [String: Int] = [:]
        let n = 100_000
        for index in 0..<n {
            counts[allocation.owner(ofBucket: StickyHash.bucket(route: "chat-prod", key: "key-\(index)")), default: 0] += 1
        }
        for (name, percent) in zip(names, percents) {
            let observed = Double(counts[name, default: 0]) * 100 / Double(n)
            #expect(abs(observed - percent) <= 0.5, "\(name): \(observed) % observed for \(percent) %")
        }
    }

    @Test func rangesRoundTripThroughPersistence() throws {
        let start = BucketAllocation(initial: try WeightTable(percentages: [("a", 60), ("b", 30), ("c", 10)]))
        let moved = start.rebalanced(to: try WeightTable(percentages: [("a", 20), ("b", 30), ("c", 50)]))
        let restored = try BucketAllocation(ranges: moved.ranges)
        for bucket in stride(from: 0, to: StickyHash.bucketCount, by: 7) {
            #expect(restored.owner(ofBucket: bucket) == moved.owner(ofBucket: bucket))
        }
        #expect(throws: AllocationError.gap(100)) {
            try BucketAllocation(ranges: [.init(deployment: "a", lowerBound: 0, upperBound: 100)])
        }
    }

    @Test func stickyKeyPrefersSafetyIdentifierThenUserThenHeaderThenClientKey() {
        #expect(stickyKey(safetyIdentifier: "s", user: "u", header: "h", clientKey: "k")?.source == .safetyIdentifier)
        #expect(stickyKey(safetyIdentifier: nil, user: "u", header: "h", clientKey: "k")?.source == .user)
        #expect(stickyKey(safetyIdentifier: "", user: nil, header: "h", clientKey: "k")?.source == .header)
        #expect(stickyKey(safetyIdentifier: nil, user: nil, header: nil, clientKey: "k")?.source == .clientKey)
        #expect(stickyKey(safetyIdentifier: nil, user: nil, header: nil, clientKey: nil) == nil)
    }

    @Test func failoverTriesOtherDeploymentsWithTrafficByPriority() throws {
        var route = Fixtures.route(weights: [("a", 50), ("b", 30), ("c", 20)])
        route.deployments[1].priority = 3
        route.deployments[2].priority = 2
        let plan = try RoutePlan(route: route)
        #expect(plan.failoverOrder == [0, 2, 1])
        #expect(plan.candidate(attempt: 0, primary: 1) == 1)
        #expect(plan.candidate(attempt: 1, primary: 1) == 0)
        #expect(plan.candidate(attempt: 2, primary: 1) == 2)
        #expect(plan.candidate(attempt: 3, primary: 1) == nil)

        // After a rollback the canary has no weight: it is never a failover target.
        let rolledBack = try RoutePlan(route: Fixtures.route(weights: [("stable", 100), ("canary", 0)]))
        #expect(rolledBack.attemptLimit(primary: 0) == 1)
    }
}
