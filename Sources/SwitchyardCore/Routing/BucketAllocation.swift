/// Which deployment owns each of a route's 10 000 buckets.
///
/// A deployment with weight *w* basis points owns exactly *w* buckets. When the
/// weights change, only deployments that lost weight give buckets up, and only
/// deployments that gained weight take them: so raising a canary never moves a
/// user off it, and lowering it never moves anyone onto it. Because the
/// allocation depends on the path taken, it is part of a route's state and is
/// carried from revision to revision rather than recomputed from the weights.
public struct BucketAllocation: Hashable, Sendable {
    /// Deployment names; `owners` holds indices into this array.
    public let deployments: [String]
    /// `owners[bucket]` is the index of the owning deployment.
    @usableFromInline let owners: [UInt16]

    /// The allocation a route starts with: contiguous ranges in declaration order.
    public init(initial table: WeightTable) {
        var owners = [UInt16]()
        owners.reserveCapacity(StickyHash.bucketCount)
        for (index, entry) in table.entries.enumerated() {
            owners.append(contentsOf: repeatElement(UInt16(index), count: entry.weight.basisPoints))
        }
        self.deployments = table.deploymentNames
        self.owners = owners
    }

    /// Rebuilds an allocation from its ranges, e.g. as persisted with a revision.
    public init(ranges: [OwnedRange]) throws(AllocationError) {
        var names: [String] = []
        var owners = [UInt16?](repeating: nil, count: StickyHash.bucketCount)
        for range in ranges {
            guard range.lowerBound >= 0, range.upperBound <= StickyHash.bucketCount, range.lowerBound < range.upperBound else {
                throw .invalidRange(range.lowerBound, range.upperBound)
            }
            let index: Int
            if let existing = names.firstIndex(of: range.deployment) {
                index = existing
            } else {
                names.append(range.deployment)
                index = names.count - 1
            }
            for bucket in range.lowerBound..<range.upperBound {
                guard owners[bucket] == nil else { throw .overlap(bucket) }
                owners[bucket] = UInt16(index)
            }
        }
        guard let firstGap = owners.firstIndex(of: nil) else {
            self.deployments = names
            self.owners = owners.map { $0! }
            return
        }
        throw .gap(firstGap)
    }

    private init(deployments: [String], owners: [UInt16]) {
        self.deployments = deployments
        self.owners = owners
    }

    /// The index into `deployments` of the owner of `bucket`.
    @inlinable
    public func ownerIndex(ofBucket bucket: Int) -> Int {
        Int(owners[bucket])
    }

    /// The name of the deployment that owns `bucket`.
    public func owner(ofBucket bucket: Int) -> String {
        deployments[ownerIndex(ofBucket: bucket)]
    }

    /// How many buckets each deployment owns, by name.
    public var bucketCounts: [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: deployments.map { ($0, 0) })
        for owner in owners { counts[deployments[Int(owner)], default: 0] += 1 }
        return counts
    }

    /// The allocation for new weights, moving as few buckets as possible and only
    /// from deployments that lost weight to deployments that gained it.
    ///
    /// Deployments absent from `table` give up all their buckets; new ones start
    /// with none. A shrinking deployment gives up its highest-numbered buckets.
    public func rebalanced(to table: WeightTable) -> BucketAllocation {
        let newNames = table.deploymentNames
        var newIndexOfOld = [Int?](repeating: nil, count: deployments.count)
        for (oldIndex, name) in deployments.enumerated() {
            newIndexOfOld[oldIndex] = newNames.firstIndex(of: name)
        }
        var owners = [Int?](repeating: nil, count: StickyHash.bucketCount)
        var held = [Int](repeating: 0, count: newNames.count)
        for bucket in 0..<StickyHash.bucketCount {
            if let newIndex = newIndexOfOld[Int(self.owners[bucket])] {
                owners[bucket] = newIndex
                held[newIndex] += 1
            }
        }
        // Shrinking deployments release their highest buckets.
        for (index, entry) in table.entries.enumerated() where held[index] > entry.weight.basisPoints {
            var excess = held[index] - entry.weight.basisPoints
            var bucket = StickyHash.bucketCount - 1
            while excess > 0 {
                if owners[bucket] == index {
                    owners[bucket] = nil
                    excess -= 1
                }
                bucket -= 1
            }
            held[index] = entry.weight.basisPoints
        }
        // Growing deployments, in declaration order, take the lowest free buckets.
        var bucket = 0
        for (index, entry) in table.entries.enumerated() where held[index] < entry.weight.basisPoints {
            var missing = entry.weight.basisPoints - held[index]
            while missing > 0 {
                if owners[bucket] == nil {
                    owners[bucket] = index
                    missing -= 1
                }
                bucket += 1
            }
        }
        return BucketAllocation(deployments: newNames, owners: owners.map { UInt16($0!) })
    }

    /// A contiguous run of buckets owned by one deployment.
    public struct OwnedRange: Hashable, Sendable, Codable {
        public let deployment: String
        public let lowerBound: Int
        public let upperBound: Int

        public init(deployment: String, lowerBound: Int, upperBound: Int) {
            self.deployment = deployment
            self.lowerBound = lowerBound
            self.upperBound = upperBound
        }
    }

    /// The allocation as maximal runs, in bucket order.
    public var ranges: [OwnedRange] {
        var result: [OwnedRange] = []
        var start = 0
        for bucket in 1...StickyHash.bucketCount {
            if bucket == StickyHash.bucketCount || owners[bucket] != owners[start] {
                result.append(OwnedRange(deployment: deployments[Int(owners[start])], lowerBound: start, upperBound: bucket))
                start = bucket
            }
        }
        return result
    }
}

/// Why persisted bucket ranges could not be turned back into an allocation.
public enum AllocationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidRange(Int, Int)
    case overlap(Int)
    case gap(Int)

    public var description: String {
        switch self {
        case .invalidRange(let lower, let upper): "bucket range \(lower)..<\(upper) is not within 0..<10000"
        case .overlap(let bucket): "bucket \(bucket) is owned twice"
        case .gap(let bucket): "bucket \(bucket) has no owner"
        }
    }
}
