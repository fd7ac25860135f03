/// A share of a route's traffic, kept exactly in basis points (1/100 of a percent).
///
/// Percentages appear only at the edges (config files, API bodies, the console);
/// inside, 100 % is exactly 10 000 and arithmetic never rounds.
public struct Weight: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Basis points: 0 … 10 000.
    public let basisPoints: Int

    /// The whole route: 100 %.
    public static let full = Weight(unchecked: 10_000)
    /// No traffic.
    public static let zero = Weight(unchecked: 0)

    init(unchecked basisPoints: Int) {
        self.basisPoints = basisPoints
    }

    /// A weight from basis points, refusing values outside 0 … 10 000.
    public init(basisPoints: Int) throws(WeightError) {
        guard (0...10_000).contains(basisPoints) else {
            throw .outOfRange(Double(basisPoints) / 100)
        }
        self.basisPoints = basisPoints
    }

    /// A weight from a percentage with at most two decimals, e.g. `12.5`.
    public init(percent: Double) throws(WeightError) {
        guard percent.isFinite, percent >= 0, percent <= 100 else {
            throw .outOfRange(percent)
        }
        let scaled = (percent * 100).rounded()
        guard abs(scaled - percent * 100) < 1e-6 else {
            throw .tooPrecise(percent)
        }
        self.basisPoints = Int(scaled)
    }

    /// The weight as a percentage.
    public var percent: Double { Double(basisPoints) / 100 }

    public static func < (lhs: Weight, rhs: Weight) -> Bool { lhs.basisPoints < rhs.basisPoints }

    /// `"12.5"`, `"90"`: the shortest exact percentage.
    public var description: String { Weight.format(basisPoints) }

    /// `"12.5"` for 12.5: a percentage as ctl and logs print it.
    public static func format(percent: Double) -> String {
        // From a server or a file: anything outside ±100 % or not a number is shown as it is.
        guard percent.isFinite, abs(percent) <= 1_000_000 else { return "\(percent)" }
        return format(Int((percent * 100).rounded()))
    }

    static func format(_ basisPoints: Int) -> String {
        let whole = basisPoints / 100
        let fraction = basisPoints % 100
        if fraction == 0 { return "\(whole)" }
        if fraction % 10 == 0 { return "\(whole).\(fraction / 10)" }
        return fraction < 10 ? "\(whole).0\(fraction)" : "\(whole).\(fraction)"
    }
}

/// Why a weight or a set of weights was refused.
public enum WeightError: Error, Equatable, Sendable, CustomStringConvertible {
    case outOfRange(Double)
    case tooPrecise(Double)
    case sumIsNot100(actualBasisPoints: Int)
    case unknownDeployment(String)
    case missingDeployment(String)
    case duplicateDeployment(String)
    case empty

    public var description: String {
        switch self {
        case .outOfRange(let value):
            return "weight \(value) is outside 0…100"
        case .tooPrecise(let value):
            return "weight \(value) has more than two decimals"
        case .sumIsNot100(let actual):
            return "weights sum to \(Weight.format(actual)), not 100"
        case .unknownDeployment(let name):
            return "no deployment named '\(name)' on this route"
        case .missingDeployment(let name):
            return "deployment '\(name)' has no weight"
        case .duplicateDeployment(let name):
            return "deployment '\(name)' is named twice"
        case .empty:
            return "a route needs at least one deployment"
        }
    }
}

/// The weights of all deployments of a route, in the route's deployment order,
/// summing to exactly 100 %.
public struct WeightTable: Hashable, Sendable {
    /// Deployment names and their weights, in declaration order.
    public let entries: [Entry]

    public struct Entry: Hashable, Sendable {
        public let deployment: String
        public let weight: Weight

        public init(deployment: String, weight: Weight) {
            self.deployment = deployment
            self.weight = weight
        }
    }

    /// Validates that the names are distinct and the weights sum to exactly 100 %.
    public init(_ entries: [Entry]) throws(WeightError) {
        guard !entries.isEmpty else { throw .empty }
        var seen = Set<String>()
        var sum = 0
        for entry in entries {
            guard seen.insert(entry.deployment).inserted else { throw .duplicateDeployment(entry.deployment) }
            sum += entry.weight.basisPoints
        }
        guard sum == Weight.full.basisPoints else { throw .sumIsNot100(actualBasisPoints: sum) }
        self.entries = entries
    }

    /// Weights from `(name, percent)` pairs, e.g. `[("stable", 90), ("canary", 10)]`.
    public init(percentages: [(String, Double)]) throws(WeightError) {
        var entries: [Entry] = []
        for (name, percent) in percentages {
            entries.append(Entry(deployment: name, weight: try Weight(percent: percent)))
        }
        try self.init(entries)
    }

    /// The weight of one deployment, or `nil` when the route has no such deployment.
    public subscript(deployment: String) -> Weight? {
        entries.first { $0.deployment == deployment }?.weight
    }

    public var deploymentNames: [String] { entries.map(\.deployment) }
}
