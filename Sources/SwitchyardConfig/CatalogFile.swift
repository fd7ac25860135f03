import Foundation
public import SwitchyardCore
import Yams

/// The lifecycle catalog file (the shipped `Resources/lifecycle.yaml`, `serve --catalog`,
/// `PUT /api/v1/lifecycle/catalog`): model versions with their dates per
/// deployment type, replacement, source and date history.
public enum CatalogFile {
    public static func parse(_ text: String, file: String, source: String? = nil) throws(ConfigError) -> LifecycleCatalog {
        let reader = YAMLReader(file: file)
        guard let root = try reader.compose(text) else { return LifecycleCatalog(source: source ?? file) }
        let top = try reader.mapping(root, at: "", allowed: ["entries"])
        var entries: [LifecycleCatalog.Entry] = []
        if let list = top["entries"] {
            for (index, node) in try reader.sequence(list, at: "entries").enumerated() {
                let entry = try parseEntry(node, at: "entries[\(index)]", reader: reader)
                if entries.contains(where: { $0.provider == entry.provider && $0.model == entry.model && $0.version == entry.version }) {
                    throw reader.fail(node, "entries[\(index)]", "\(entry.provider.rawValue) \(entry.model) \(entry.version) is listed twice")
                }
                entries.append(entry)
            }
        }
        return LifecycleCatalog(entries: entries, source: source ?? file)
    }

    private static func parseEntry(_ node: Node, at path: String, reader: YAMLReader) throws(ConfigError) -> LifecycleCatalog.Entry {
        let members = try reader.mapping(node, at: path, allowed: ["provider", "model", "version", "dates", "replacement", "source", "history"])
        let providerText = try members.requiredString("provider")
        guard let provider = Upstream.Kind(rawValue: providerText) else {
            throw reader.fail(members["provider"], members.path("provider"), "'\(providerText)' is not one of openai, azure")
        }
        guard let datesNode = members["dates"] else {
            throw reader.fail(node, members.path("dates"), "'dates' is required: at least the standard deployment type's")
        }
        let datesMembers = try reader.mapping(datesNode, at: members.path("dates"), allowed: Set(LifecycleCatalog.DeploymentType.allCases.map(\.rawValue)))
        var dates: [LifecycleCatalog.DeploymentType: LifecycleCatalog.Dates] = [:]
        for type in LifecycleCatalog.DeploymentType.allCases {
            guard let typeNode = datesMembers[type.rawValue] else { continue }
            dates[type] = try parseDates(typeNode, at: datesMembers.path(type.rawValue), reader: reader)
        }
        var replacement: (model: String, version: String)?
        if let replacementNode = members["replacement"] {
            let replacementMembers = try reader.mapping(replacementNode, at: members.path("replacement"), allowed: ["model", "version"])
            replacement = (try replacementMembers.requiredString("model"), try replacementMembers.requiredString("version"))
        }
        var history: [LifecycleCatalog.DateChange] = []
        if let historyNode = members["history"] {
            for (index, change) in try reader.sequence(historyNode, at: members.path("history")).enumerated() {
                let changePath = members.path("history") + "[\(index)]"
                let changeMembers = try reader.mapping(change, at: changePath, allowed: ["announced", "field", "from", "to", "note"])
                history.append(
                    LifecycleCatalog.DateChange(
                        announced: try day(changeMembers, "announced", reader: reader),
                        field: try changeMembers.requiredString("field"),
                        from: try changeMembers.string("from"),
                        to: try changeMembers.string("to"),
                        note: try changeMembers.string("note")
                    )
                )
            }
        }
        return LifecycleCatalog.Entry(
            provider: provider,
            model: try members.requiredString("model"),
            version: try members.requiredString("version"),
            dates: dates,
            replacement: replacement,
            source: try members.requiredString("source"),
            history: history
        )
    }

    private static func parseDates(_ node: Node, at path: String, reader: YAMLReader) throws(ConfigError) -> LifecycleCatalog.Dates {
        let members = try reader.mapping(node, at: path, allowed: ["deprecation", "legacy", "retirement", "retirementNoEarlierThan", "autoUpgrade"])
        let firm = try day(members, "retirement", reader: reader)
        let earliest = try day(members, "retirementNoEarlierThan", reader: reader)
        if firm != nil, earliest != nil {
            throw reader.fail(node, path, "give either 'retirement' (a firm date) or 'retirementNoEarlierThan', not both")
        }
        let dates = LifecycleCatalog.Dates(
            deprecation: try day(members, "deprecation", reader: reader),
            legacy: try day(members, "legacy", reader: reader),
            retirement: firm ?? earliest,
            retirementNoEarlierThan: earliest != nil,
            autoUpgrade: try day(members, "autoUpgrade", reader: reader)
        )
        if let deprecation = dates.deprecation, let retirement = dates.retirement, retirement < deprecation {
            throw reader.fail(node, path, "retirement \(retirement) comes before deprecation \(deprecation)")
        }
        return dates
    }

    private static func day(_ members: YAMLReader.Members, _ key: String, reader: YAMLReader) throws(ConfigError) -> CalendarDay? {
        guard let text = try members.string(key) else { return nil }
        guard let day = CalendarDay(text) else {
            throw reader.fail(members[key], members.path(key), "'\(text.prefix(40))' is not a date YYYY-MM-DD from 1970-01-01 to 9999-12-31")
        }
        return day
    }
}

extension CatalogFile {
    /// The catalog shipped with this build (`Resources/lifecycle.yaml`).
    public static func shipped() throws -> LifecycleCatalog {
        guard let url = Bundle.module.url(forResource: "lifecycle", withExtension: "yaml") else {
            throw ConfigError(file: "lifecycle.yaml", line: nil, key: "", reason: "the shipped catalog is not installed with this binary")
        }
        return try parse(try String(contentsOf: url, encoding: .utf8), file: "lifecycle.yaml (shipped)", source: "shipped")
    }
}
