// Storage encodings for the value types a persisted rollout holds.

extension Moment: Codable {
    public init(from decoder: any Decoder) throws {
        nanoseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(nanoseconds)
    }
}

extension Weight: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let points = try container.decode(Int.self)
        do {
            try self.init(basisPoints: points)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(basisPoints)
    }
}

extension WeightTable: Codable {
    private struct Pair: Codable {
        var deployment: String
        var weight: Weight
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let pairs = try container.decode([Pair].self)
        do {
            try self.init(pairs.map { Entry(deployment: $0.deployment, weight: $0.weight) })
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(entries.map { Pair(deployment: $0.deployment, weight: $0.weight) })
    }
}
