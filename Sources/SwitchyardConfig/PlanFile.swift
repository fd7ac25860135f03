public import SwitchyardCore
import Yams

/// A rollout plan file for `ctl rollout start -f`: JSON or YAML, read into the
/// JSON the management API takes.
public enum PlanFile {
    public static func parse(_ text: String, file: String) throws(ConfigError) -> JSONValue {
        let reader = YAMLReader(file: file)
        guard let root = try reader.compose(text) else {
            throw ConfigError(file: file, line: nil, key: "", reason: "the plan is empty")
        }
        return try reader.json(root, at: "")
    }
}
