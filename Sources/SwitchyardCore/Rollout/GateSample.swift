/// Everything the gates have seen of each deployment since a rollout began,
/// kept with the rollout: one growing sample, which is what keeps the
/// anytime-valid intervals valid for as long as the rollout runs — longer
/// than the hour of buckets the data plane keeps, and across restarts.
///
/// Whole minutes are folded in once they are settled (no replica can still
/// add to them); the minutes since are read from the data plane at each look.
public struct GateSample: Hashable, Sendable, Codable {
    /// The first second counted: the start of the 10-second bucket the
    /// rollout began in (a fleet's roll-ups: of its minute). The few seconds
    /// before the start it takes in carry the weights from before, when a
    /// new canary had none.
    public private(set) var since: Int64
    /// Every minute before this second is folded into `folded`.
    public private(set) var foldedThrough: Int64
    public private(set) var folded: [String: MetricsWindow.Bucket]

    /// How long after a minute ends it is folded: roll-ups from every replica have arrived by then.
    public static let settleSeconds: Int64 = 120

    public init(startedAt: Moment) {
        let seconds = startedAt.nanoseconds / 1_000_000_000
        since = seconds - seconds.modulo(MetricsWindow.bucketSeconds)
        foldedThrough = since
        folded = [:]
    }

    static func minuteFloor(_ seconds: Int64) -> Int64 { seconds - seconds.modulo(60) }

    /// Folds the settled minutes of `deployments`, reading `[from, to)` seconds through `read`.
    public mutating func fold(_ deployments: [String], now: Moment, read: (String, Int64, Int64) -> MetricsWindow.Bucket) {
        let settled = Self.minuteFloor((now.nanoseconds / 1_000_000_000).saturatingSubtracting(Self.settleSeconds))
        guard settled > foldedThrough else { return }
        for deployment in deployments {
            var bucket = folded[deployment] ?? MetricsWindow.Bucket(start: since)
            bucket.merge(read(deployment, foldedThrough, settled))
            folded[deployment] = bucket
        }
        foldedThrough = settled
    }

    /// Everything `deployment` served since the start: the folded minutes and the ones since.
    public func figures(of deployment: String, now: Moment, read: (String, Int64, Int64) -> MetricsWindow.Bucket) -> MetricsWindow.Bucket {
        var total = folded[deployment] ?? MetricsWindow.Bucket(start: since)
        let end = (now.nanoseconds / 1_000_000_000).saturatingAdding(1)
        if end > foldedThrough { total.merge(read(deployment, foldedThrough, end)) }
        return total
    }
}
