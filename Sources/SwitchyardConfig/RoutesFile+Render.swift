public import SwitchyardCore
import Yams

extension RoutesFile {
    /// The routes as a config file (`ctl export`): what `parse` reads back to
    /// the same routes, prompts and parameters included. Defaults are left out.
    public static func render(_ routes: [Route]) -> String {
        let document: Node = ["routes": Node(routes.map(node(for:)))]
        // Serialising a tree of plain nodes cannot fail.
        return (try? Yams.serialize(node: document, width: -1, sortKeys: false)) ?? ""
    }

    private static func node(for route: Route) -> Node {
        var pairs: [(Node, Node)] = [
            ("name", Node(route.name)),
            ("environment", Node(route.environment.rawValue)),
            ("stable", Node(route.stable)),
        ]
        if route.allowPinning { pairs.append(("allowPinning", Node("true", .implicit))) }
        if route.allowMixedEmbeddings { pairs.append(("allowMixedEmbeddings", Node("true", .implicit))) }
        if route.logContent { pairs.append(("logContent", Node("true", .implicit))) }
        pairs.append(("deployments", Node(route.deployments.map(node(for:)))))
        if !route.plans.isEmpty { pairs.append(("plans", node(for: .object(route.plans)))) }
        return Node(pairs)
    }

    private static func node(for deployment: Deployment) -> Node {
        var pairs: [(Node, Node)] = [
            ("name", Node(deployment.name)),
            ("weight", Node(deployment.weight.description)),
            ("model", Node(deployment.model)),
            ("version", Node(deployment.version, .implicit, .doubleQuoted)),
        ]
        var upstream: [(Node, Node)] = [("kind", Node(deployment.upstream.kind.rawValue)), ("url", Node(deployment.upstream.url))]
        if let value = deployment.upstream.apiKeyEnv { upstream.append(("apiKeyEnv", Node(value))) }
        if let value = deployment.upstream.deployment { upstream.append(("deployment", Node(value))) }
        if let value = deployment.upstream.apiVersion { upstream.append(("apiVersion", Node(value, .implicit, .doubleQuoted))) }
        if let value = deployment.upstream.modelName { upstream.append(("model", Node(value))) }
        if deployment.upstream.deploymentType != .standard { upstream.append(("deploymentType", Node(deployment.upstream.deploymentType.rawValue))) }
        pairs.append(("upstream", Node(upstream)))
        if let prompt = deployment.prompt {
            var promptPairs: [(Node, Node)] = [("version", Node(prompt.version, .implicit, .doubleQuoted))]
            if let system = prompt.system { promptPairs.append(("system", Node(system, .implicit, .doubleQuoted))) }
            if prompt.placement != .prepend { promptPairs.append(("placement", Node(prompt.placement.rawValue))) }
            pairs.append(("prompt", Node(promptPairs)))
        }
        if !deployment.params.isEmpty {
            pairs.append(("params", node(for: .object(deployment.params))))
        }
        if !deployment.enforce.isEmpty {
            pairs.append(("enforce", node(for: .object(deployment.enforce))))
        }
        if deployment.price != Price() {
            pairs.append(
                ("price", mapping([("inputPer1k", Node(number(deployment.price.inputPer1k))), ("outputPer1k", Node(number(deployment.price.outputPer1k)))]))
            )
        }
        if deployment.priority != 1 { pairs.append(("priority", Node(String(deployment.priority)))) }
        if deployment.allowDeprecated { pairs.append(("allowDeprecated", Node("true"))) }
        if deployment.timeouts != UpstreamTimeouts() {
            let timeouts = deployment.timeouts
            pairs.append(
                (
                    "timeouts",
                    mapping([
                        ("connect", Node(DurationText.format(timeouts.connect))),
                        ("firstToken", Node(DurationText.format(timeouts.firstToken))),
                        ("idle", Node(DurationText.format(timeouts.idle))),
                        ("total", Node(DurationText.format(timeouts.total))),
                    ])
                )
            )
        }
        return Node(pairs)
    }

    /// A rollout plan as YAML, for `ctl lifecycle plan`.
    public static func renderPlan(_ plan: JSONValue) -> String {
        (try? Yams.serialize(node: node(for: plan), width: -1, sortKeys: false)) ?? ""
    }

    private static func node(for value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null")
        case .bool(let bool): return Node(bool ? "true" : "false")
        case .number(let value): return Node(number(value))
        case .string(let string): return Node(string, .implicit, .doubleQuoted)
        case .array(let elements): return Node(elements.map(node(for:)))
        case .object(let members): return Node(members.keys.sorted().map { (Node($0), node(for: members[$0]!)) })
        }
    }

    private static func mapping(_ pairs: [(String, Node)]) -> Node {
        Node(pairs.map { (Node($0.0), $0.1) })
    }

    private static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
