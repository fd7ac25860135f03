/// A fixed-size histogram of durations on a logarithmic scale — 100 µs to about
/// half an hour in buckets 15 % wide, so quantiles are within about 7.5 % —
/// cheap to record into and to merge.
public struct LatencyHistogram: Hashable, Sendable, Codable {
    /// Bucket *i* (i ≥ 1) holds values in [unit·growth^(i-1), unit·growth^i).
    public static let bucketCount = 120
    static let growth = 1.15
    static let logGrowth = 0.13976194237515863  // ln(1.15)
    /// The smallest resolved value: 100 µs. Everything below lands in bucket 0.
    static let unitMicroseconds = 100.0

    /// The bucket counts, `bucketCount` of them.
    public var counts: [UInt32] { storage.isEmpty ? Self.zeros : storage }
    public internal(set) var total: Int
    /// Empty until the first sample: an hour of a deployment's 10-second
    /// windows holds 720 histograms, and most of them stay empty.
    private var storage: [UInt32]
    private static let zeros = [UInt32](repeating: 0, count: bucketCount)

    public init() {
        storage = []
        total = 0
    }

    private enum CodingKeys: String, CodingKey {
        case counts, total
    }

    /// Decodes a stored histogram, refusing one that is not ours: a wrong
    /// bucket count would trap `merge`, a wrong total would skew every quantile.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let counts = try container.decode([UInt32].self, forKey: .counts)
        guard counts.count == Self.bucketCount else {
            throw DecodingError.dataCorruptedError(forKey: .counts, in: container, debugDescription: "a latency histogram has \(Self.bucketCount) buckets, not \(counts.count)")
        }
        self.init(counts: counts)
    }

    /// A histogram with these `bucketCount` counts.
    init(counts: [UInt32]) {
        precondition(counts.count == Self.bucketCount)
        total = counts.reduce(0) { $0.saturatingAdding(Int($1)) }
        storage = total > 0 ? counts : []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(counts, forKey: .counts)
        try container.encode(total, forKey: .total)
    }

    // `storage` is empty exactly when `total` is 0, so it alone tells histograms apart.
    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.total == rhs.total && lhs.storage == rhs.storage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(total)
        hasher.combine(storage)
    }

    static func bucketIndex(microseconds: Double) -> Int {
        guard microseconds > unitMicroseconds else { return 0 }
        guard microseconds < 1e15 else { return bucketCount - 1 }  // and not infinite: Int() would trap
        let index = Int(log(microseconds / unitMicroseconds) / logGrowth) + 1
        return min(index, bucketCount - 1)
    }

    /// The upper edge of bucket `index`, in milliseconds.
    static func upperBoundMilliseconds(_ index: Int) -> Double {
        unitMicroseconds * pow(growth, Double(index)) / 1000
    }

    public mutating func record(_ duration: Duration) {
        record(milliseconds: duration.millisecondsDouble)
    }

    public mutating func record(milliseconds: Double) {
        if storage.isEmpty { storage = Self.zeros }
        storage[Self.bucketIndex(microseconds: milliseconds * 1000)] &+= 1
        total += 1
    }

    public mutating func merge(_ other: LatencyHistogram) {
        guard other.total > 0 else { return }
        if storage.isEmpty {
            storage = other.storage
        } else {
            for index in storage.indices { storage[index] &+= other.storage[index] }
        }
        total = total.saturatingAdding(other.total)
    }

    /// The value below which `quantile` (0…1) of the samples fall, in
    /// milliseconds, interpolated within its bucket; `nil` with no samples.
    public func quantileMilliseconds(_ quantile: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = max(1, (quantile * Double(total)).rounded(.up))
        var seen = 0.0
        for index in storage.indices where storage[index] > 0 {
            let count = Double(storage[index])
            if seen + count >= rank {
                let lower = index == 0 ? 0 : Self.upperBoundMilliseconds(index - 1)
                let upper = Self.upperBoundMilliseconds(index)
                let fraction = (rank - seen) / count
                return lower + (upper - lower) * fraction
            }
            seen += count
        }
        return Self.upperBoundMilliseconds(Self.bucketCount - 1)
    }

    /// Where the `rank`-th smallest sample (1-based) lies: its bucket, that
    /// bucket's edges in milliseconds (the upper one `nil` for the last,
    /// open-ended bucket), and the value interpolated within it as if the
    /// bucket's samples were spread evenly. `nil` when there is no such sample.
    public func sample(ofRank rank: Int) -> (bucket: Int, lower: Double, upper: Double?, interpolated: Double)? {
        guard rank >= 1, rank <= total else { return nil }
        var seen = 0
        for index in storage.indices where storage[index] > 0 {
            let count = Int(storage[index])
            if seen.saturatingAdding(count) >= rank {
                let lower = index == 0 ? 0 : Self.upperBoundMilliseconds(index - 1)
                let upper = Self.upperBoundMilliseconds(index)
                let interpolated = lower + (upper - lower) * Double(rank - seen) / Double(count)
                return (index, lower, index == Self.bucketCount - 1 ? nil : upper, interpolated)
            }
            seen = seen.saturatingAdding(count)
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
