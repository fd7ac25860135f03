public import SwitchyardCore
import Yams

/// The routes-as-code file (`serve --config`, `ctl apply -f`): parsed into
/// validated routes, or refused with the file, line, key and reason.
public enum RoutesFile {
    /// Parses the text of a config file. `file` is only used in error messages.
    ///
    /// Applying a file is declarative, so a document that declares no routes
    /// would delete every route. Every spelling of that — an empty or
    /// comment-only file, `{}`, `routes:`, `routes: []` — is refused the same
    /// way unless `allowEmpty` says the caller means it.
    public static func parse(_ text: String, file: String, allowEmpty: Bool = false) throws(ConfigError) -> [Route] {
        let reader = YAMLReader(file: file)
        let routesNode: Node?
        if let root = try reader.compose(text), !isNothing(root) {
            routesNode = try reader.mapping(root, at: "", allowed: ["routes"])["routes"].flatMap { isNothing($0) ? nil : $0 }
        } else {
            routesNode = nil
        }
        var routes: [Route] = []
        var names = Set<String>()
        let nodes = try routesNode.map { node throws(ConfigError) in try reader.sequence(node, at: "routes") } ?? []
        if nodes.isEmpty, !allowEmpty {
            var error = ConfigError(
                file: file, line: nil, key: "routes",
                reason: "the document declares no routes, and applying it would delete every route; "
                    + "to mean that, say so explicitly (PUT /api/v1/routes?allowEmpty=true, ctl apply --prune-all)"
            )
            error.declaresNoRoutes = true
            throw error
        }
        for (index, node) in nodes.enumerated() {
            let route = try parseRoute(node, at: "routes[\(index)]", reader: reader)
            guard names.insert(route.name).inserted else {
                throw reader.fail(node, "routes[\(index)].name", "route '\(route.name)' is declared twice")
            }
            routes.append(route)
        }
        return routes
    }

    /// An empty document or a key with no value (`routes:`).
    private static func isNothing(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static let routeKeys: Set<String> = ["name", "environment", "stable", "allowPinning", "allowMixedEmbeddings", "logContent", "deployments", "plans"]
    static let deploymentKeys: Set<String> = [
        "name", "weight", "model", "version", "upstream", "prompt", "params", "enforce", "price", "priority", "allowDeprecated", "timeouts",
    ]

    private static func parseRoute(_ node: Node, at path: String, reader: YAMLReader) throws(ConfigError) -> Route {
        let members = try reader.mapping(node, at: path, allowed: routeKeys)
        let name = try members.requiredString("name")
        try checkName(name, members["name"], members.path("name"), reader: reader)
        var environment = Route.Environment.production
        if let text = try members.string("environment") {
            guard let parsed = Route.Environment(rawValue: text) else {
                let known = Route.Environment.allCases.map(\.rawValue).joined(separator: ", ")
                throw reader.fail(members["environment"], members.path("environment"), "'\(text)' is not one of \(known)")
            }
            environment = parsed
        }
        guard let deploymentsNode = members["deployments"] else {
            throw reader.fail(node, members.path("deployments"), "'deployments' is required: a route needs at least one")
        }
        var deployments: [Deployment] = []
        var anyWeightGiven = false
        for (index, deploymentNode) in try reader.sequence(deploymentsNode, at: members.path("deployments")).enumerated() {
            let deploymentPath = members.path("deployments") + "[\(index)]"
            let (deployment, weightGiven) = try parseDeployment(deploymentNode, at: deploymentPath, reader: reader)
            anyWeightGiven = anyWeightGiven || weightGiven
            if deployments.contains(where: { $0.name == deployment.name }) {
                throw reader.fail(deploymentNode, deploymentPath + ".name", "deployment '\(deployment.name)' is declared twice on route '\(name)'")
            }
            deployments.append(deployment)
        }
        // A single deployment may leave out its weight: it gets everything.
        if deployments.count == 1, !anyWeightGiven {
            deployments[0].weight = .full
        }
        let stable = try members.string("stable") ?? deployments.max { $0.weight < $1.weight }?.name ?? ""
        var route = Route(
            name: name,
            environment: environment,
            stable: stable,
            allowPinning: try members.bool("allowPinning") ?? false,
            deployments: deployments
        )
        route.allowMixedEmbeddings = try members.bool("allowMixedEmbeddings") ?? false
        route.logContent = try members.bool("logContent") ?? false
        do {
            try route.validate()
        } catch {
            let key: String
            switch error {
            case .weights: key = members.path("deployments")
            case .invalid: key = members.path(route.deployment(named: stable) == nil ? "stable" : "deployments")
            }
            let line = (key.hasSuffix("stable") ? members["stable"] : members["deployments"])?.mark?.line
            throw ConfigError(file: reader.file, line: line, key: key, reason: Self.reason(error))
        }
        if let plansNode = members["plans"] {
            // Named plans are checked against the route now, not when someone starts one at 3 a.m.
            guard case .object(let plans) = try reader.json(plansNode, at: members.path("plans")) else {
                throw reader.fail(plansNode, members.path("plans"), "'plans' must map plan names to rollout plans")
            }
            for (planName, plan) in plans.sorted(by: { $0.key < $1.key }) {
                do {
                    _ = try RolloutPlan(json: plan, route: route)
                } catch {
                    throw ConfigError(file: reader.file, line: plansNode.mark?.line, key: members.path("plans") + ".\(planName)", reason: "\(error)")
                }
            }
            route.plans = plans
        }
        return route
    }

    private static func reason(_ error: RouteError) -> String {
        switch error {
        case .weights(_, let weightError): "\(weightError)"
        case .invalid(_, let reason): reason
        }
    }

    /// Request members the gateway owns: a deployment cannot set them.
    static let reservedParameters = ["model", "messages", "stream", "input", "prompt", "previous_response_id"]

    /// `params` or `enforce`: a mapping of request members.
    private static func parseParameters(_ node: Node?, at path: String, reader: YAMLReader) throws(ConfigError) -> [String: JSONValue] {
        guard let node else { return [:] }
        guard case .object(let values) = try reader.json(node, at: path) else {
            throw reader.fail(node, path, "expected a mapping of request parameters")
        }
        for forbidden in reservedParameters where values[forbidden] != nil {
            throw reader.fail(node, "\(path).\(forbidden)", "'\(forbidden)' cannot be set as a parameter")
        }
        return values
    }

    private static func parseDeployment(_ node: Node, at path: String, reader: YAMLReader) throws(ConfigError) -> (Deployment, weightGiven: Bool) {
        let members = try reader.mapping(node, at: path, allowed: deploymentKeys)
        let name = try members.requiredString("name")
        try checkName(name, members["name"], members.path("name"), reader: reader)
        var weight = Weight.zero
        if let percent = try members.double("weight") {
            do {
                weight = try Weight(percent: percent)
            } catch {
                throw reader.fail(members["weight"], members.path("weight"), "\(error)")
            }
        }
        guard let upstreamNode = members["upstream"] else {
            throw reader.fail(node, members.path("upstream"), "'upstream' is required: where this deployment's requests go")
        }
        var deployment = Deployment(
            name: name,
            weight: weight,
            model: try members.requiredString("model"),
            version: try members.requiredString("version"),
            upstream: try parseUpstream(upstreamNode, at: members.path("upstream"), reader: reader)
        )
        if let promptNode = members["prompt"] {
            let prompt = try reader.mapping(promptNode, at: members.path("prompt"), allowed: ["version", "system", "placement"])
            var placement = PromptPlacement.prepend
            if let text = try prompt.string("placement") {
                guard let value = PromptPlacement(rawValue: text) else {
                    throw reader.fail(
                        prompt["placement"], prompt.path("placement"),
                        "'\(text)' is not a placement; use \(PromptPlacement.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                placement = value
            }
            deployment.prompt = PromptVersion(version: try prompt.requiredString("version"), system: try prompt.string("system"), placement: placement)
        }
        deployment.params = try parseParameters(members["params"], at: members.path("params"), reader: reader)
        deployment.enforce = try parseParameters(members["enforce"], at: members.path("enforce"), reader: reader)
        for key in deployment.enforce.keys where OpenAIOperation.outputCapKeys.contains(key) {
            guard let cap = deployment.enforce[key]?.doubleValue, cap >= 1, cap <= 10_000_000, cap.rounded() == cap else {
                throw reader.fail(members["enforce"], members.path("enforce.\(key)"), "an output-token cap must be a whole number from 1 to 10000000")
            }
        }
        if let priceNode = members["price"] {
            let price = try reader.mapping(priceNode, at: members.path("price"), allowed: ["inputPer1k", "outputPer1k"])
            let input = try price.double("inputPer1k") ?? 0
            let output = try price.double("outputPer1k") ?? 0
            guard input >= 0, output >= 0 else {
                throw reader.fail(priceNode, members.path("price"), "prices cannot be negative")
            }
            deployment.price = Price(inputPer1k: input, outputPer1k: output)
        }
        deployment.priority = try members.int("priority") ?? 1
        deployment.allowDeprecated = try members.bool("allowDeprecated") ?? false
        if let timeoutsNode = members["timeouts"] {
            let timeouts = try reader.mapping(timeoutsNode, at: members.path("timeouts"), allowed: ["connect", "firstToken", "idle", "total"])
            var value = UpstreamTimeouts()
            value.connect = try timeouts.duration("connect") ?? value.connect
            value.firstToken = try timeouts.duration("firstToken") ?? value.firstToken
            value.idle = try timeouts.duration("idle") ?? value.idle
            value.total = try timeouts.duration("total") ?? value.total
            deployment.timeouts = value
        }
        return (deployment, members["weight"] != nil)
    }

    private static func parseUpstream(_ node: Node, at path: String, reader: YAMLReader) throws(ConfigError) -> Upstream {
        let members = try reader.mapping(node, at: path, allowed: ["kind", "url", "apiKeyEnv", "deployment", "apiVersion", "model", "deploymentType"])
        let kindText = try members.string("kind") ?? Upstream.Kind.openai.rawValue
        guard let kind = Upstream.Kind(rawValue: kindText) else {
            throw reader.fail(members["kind"], members.path("kind"), "'\(kindText)' is not one of openai, azure")
        }
        let url = try members.requiredString("url")
        if let problem = Upstream.urlProblem(url) {
            throw reader.fail(members["url"], members.path("url"), problem)
        }
        if kind == .openai {
            for azureOnly in ["deployment", "apiVersion"] where members[azureOnly] != nil {
                throw reader.fail(members[azureOnly], members.path(azureOnly), "'\(azureOnly)' only applies to kind: azure")
            }
        } else if members["model"] != nil {
            throw reader.fail(members["model"], members.path("model"), "'model' only applies to kind: openai; azure takes 'deployment'")
        }
        var upstream = Upstream(
            kind: kind,
            url: url,
            apiKeyEnv: try members.string("apiKeyEnv"),
            deployment: try members.string("deployment"),
            apiVersion: try members.string("apiVersion"),
            modelName: try members.string("model")
        )
        if let text = try members.string("deploymentType") {
            guard let type = LifecycleCatalog.DeploymentType(rawValue: text) else {
                let known = LifecycleCatalog.DeploymentType.allCases.map(\.rawValue).joined(separator: ", ")
                throw reader.fail(members["deploymentType"], members.path("deploymentType"), "'\(text)' is not one of \(known)")
            }
            upstream.deploymentType = type
        }
        return upstream
    }

    private static func checkName(_ name: String, _ node: Node?, _ path: String, reader: YAMLReader) throws(ConfigError) {
        guard Names.isValid(name) else {
            throw reader.fail(node, path, "'\(name)' is not a valid name: use letters, digits, '-', '_' and '.', at most 100 characters")
        }
    }
}

/// What a route or deployment may be called: it appears in URLs and headers.
public enum Names {
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 100 else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        }
    }
}
