/// One deployment's figures for one whole minute, as the state store keeps
/// them for 24 hours. Histograms are kept whole so minutes — and, in a fleet,
/// replicas — merge exactly.
public struct MetricRollup: Sendable {
    public var route: String
    public var deployment: String
    /// The minute's start, in seconds since the epoch (a multiple of 60).
    public var minute: Int64
    public var figures: MetricsWindow.Bucket

    public init(route: String, deployment: String, minute: Int64, figures: MetricsWindow.Bucket) {
        self.route = route
        self.deployment = deployment
        self.minute = minute
        self.figures = figures
    }
}

extension LatencyHistogram {
    /// The bucket counts as little-endian 32-bit integers, for storage.
    public var packed: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(counts.count * 4)
        for count in counts {
            bytes.append(UInt8(truncatingIfNeeded: count))
            bytes.append(UInt8(truncatingIfNeeded: count >> 8))
            bytes.append(UInt8(truncatingIfNeeded: count >> 16))
            bytes.append(UInt8(truncatingIfNeeded: count >> 24))
        }
        return bytes
    }

    /// A histogram from `packed` bytes; `nil` when they are not one.
    public init?(packed bytes: [UInt8]) {
        guard bytes.count == Self.bucketCount * 4 else { return nil }
        var counts = [UInt32](repeating: 0, count: Self.bucketCount)
        for index in 0..<Self.bucketCount {
            let base = index * 4
            counts[index] = UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16 | UInt32(bytes[base + 3]) << 24
        }
        self.init(counts: counts)
    }
}

extension MetricsWindow.Bucket {
    /// Outcome counts by label, for storage and the API.
    public var outcomeCounts: [String: Int] {
        Dictionary(uniqueKeysWithValues: RequestOutcome.allCases.map { ($0.label, count($0)) })
    }

    /// Sets outcome counts from labels (unknown labels are ignored).
    public mutating func setOutcomes(_ counts: [String: Int]) {
        for outcome in RequestOutcome.allCases {
            outcomes[outcome.rawValue] = counts[outcome.label] ?? 0
        }
    }
}

extension MetricRollup {
    /// Roll-ups for the same route, deployment and minute merged into one, ordered by minute.
    public static func summed(_ rollups: [MetricRollup]) -> [MetricRollup] {
        var merged: [String: MetricRollup] = [:]
        var order: [String] = []
        for rollup in rollups {
            let key = "\(rollup.route)\u{0}\(rollup.deployment)\u{0}\(rollup.minute)"
            if var existing = merged[key] {
                existing.figures.merge(rollup.figures)
                merged[key] = existing
            } else {
                merged[key] = rollup
                order.append(key)
            }
        }
        return order.compactMap { merged[$0] }.sorted { ($0.minute, $0.route, $0.deployment) < ($1.minute, $1.route, $1.deployment) }
    }
}
