public import ArgumentParser
import Foundation
import SwitchyardConfig
import SwitchyardCore
import SwitchyardClock
import SwitchyardClient

/// `switchyard ctl …`: scripts and humans drive the management API.
/// Exit status: 0 ok, 1 refused by the server (or unreachable), 2 usage.
public struct Ctl: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Drive the management API from scripts: routes, weights, rollback, audit, routes as code.",
        subcommands: [
            CtlRoutes.self, CtlStatus.self, CtlWeights.self, CtlRollback.self, CtlPromote.self, CtlPause.self, CtlResume.self,
            CtlRollout.self, CtlAudit.self, CtlLifecycle.self, CtlApply.self, CtlExport.self,
        ]
    )
}

extension Ctl {
    /// ctl's options go before or after the subcommand, as kubectl's do:
    /// `ctl --api URL routes` is read as `ctl routes --api URL` (every ctl
    /// command takes them). Only options between `ctl` and the subcommand move.
    public static func globalOptionsLast(_ arguments: [String]) -> [String] {
        guard arguments.first == "ctl" else { return arguments }
        let names = ["--api", "--token", "--output"]
        var moved: [String] = []
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if names.contains(where: { argument.hasPrefix($0 + "=") }) {
                moved.append(argument)
                index += 1
            } else if names.contains(argument), index + 1 < arguments.count {
                moved += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !moved.isEmpty, index < arguments.count else { return arguments }
        return [arguments[0]] + arguments[index...] + moved
    }
}

/// `--api`, `--token` and `--output`, shared by every ctl command.
struct CtlOptions: ParsableArguments {
    @Option(name: .long, help: "Management API base URL.")
    var api = "http://127.0.0.1:8081"

    @Option(name: .long, help: "Bearer token (default: $SWITCHYARD_TOKEN).")
    var token: String?

    @Option(name: .long, help: "table or json.")
    var output: OutputFormat = .table

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table
        case json
    }

    var client: ManagementClient {
        ManagementClient(baseURL: api, token: token ?? ProcessInfo.processInfo.environment["SWITCHYARD_TOKEN"])
    }

    /// Prints the server's JSON as is, or the table.
    func emit(json bytes: [UInt8], table: @autoclosure () -> String) {
        switch output {
        case .json: print(String(decoding: bytes, as: UTF8.self))
        case .table: print(table(), terminator: "")
        }
    }
}

/// Runs a ctl body, turning server refusals into exit status 1 with the server's words.
func runCtl(_ body: () async throws(ManagementClientError) -> Void) async throws {
    do {
        try await body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

struct CtlRoutes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "routes", abstract: "List routes with their revision and split.")
    @OptionGroup var options: CtlOptions

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.routes()
            options.emit(json: reply.bytes, table: CtlFormat.routes(reply.body.routes))
        }
    }
}

struct CtlStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "One route: deployments, weights and the last 5 minutes of measurements.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Option(name: .long, help: "Measurement window, e.g. 5m, 15m, 1h.") var window = "5m"

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let detail = try await options.client.route(route)
            let metrics = try await options.client.metrics(route: route, window: window)
            switch options.output {
            case .json:
                print("{\"route\":\(String(decoding: detail.bytes, as: UTF8.self)),\"metrics\":\(String(decoding: metrics.bytes, as: UTF8.self))}")
            case .table:
                print(CtlFormat.status(detail.body.route, metrics: metrics.body), terminator: "")
            }
        }
    }
}

/// Prints a change's outcome: the new revision and the server's time.
func reportChange(_ reply: Reply<ChangeView>, options: CtlOptions) {
    let change = reply.body
    let summary = change.changed
        ? "\(change.route.name) r\(change.revision): \(change.route.splitSummary)  (server \(String(format: "%.1f", change.serverTimeMs)) ms)\n"
        : "\(change.route.name) r\(change.revision): already in effect, nothing changed\n"
    options.emit(json: reply.bytes, table: summary)
}

struct CtlWeights: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Set a route's split: ctl weights chat-prod stable=50 canary=50 (unnamed deployments get 0)."
    )
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Argument(help: "DEPLOYMENT=PERCENT, summing to 100.") var weights: [String]
    @Option(name: .long, help: "Refuse unless the route is still at this revision.") var ifMatch: Int?

    func parsed() throws -> [String: Double] {
        var result: [String: Double] = [:]
        for item in weights {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let percent = Double(parts[1]) else {
                throw ValidationError("'\(item)' is not DEPLOYMENT=PERCENT, e.g. canary=25")
            }
            result[String(parts[0])] = percent
        }
        return result
    }

    func validate() throws {
        guard !weights.isEmpty else { throw ValidationError("name at least one DEPLOYMENT=PERCENT") }
        _ = try parsed()
    }

    func run() async throws {
        let weights = try parsed()
        try await runCtl { () throws(ManagementClientError) in
            reportChange(try await options.client.setWeights(route: route, weights, ifMatch: ifMatch), options: options)
        }
    }
}

struct CtlRollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "All traffic to the route's stable deployment, now.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            reportChange(try await options.client.rollback(route: route), options: options)
        }
    }
}

struct CtlPromote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "promote", abstract: "The canary becomes the stable deployment at 100 %.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Option(name: .long, help: "The deployment to promote (default: the only canary with traffic).") var deployment: String?

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            reportChange(try await options.client.promote(route: route, deployment: deployment), options: options)
        }
    }
}

struct CtlPause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Hold the route's rollout: timed steps stop counting, gates keep watching.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws { try await operate(.pause, route: route, options: options) }
}

struct CtlResume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Continue the route's automated rollout.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws { try await operate(.resume, route: route, options: options) }
}

/// `pause`, `resume` and `abort`: one call, then where the rollout stands.
func operate(_ operation: RolloutOperation, route: String, options: CtlOptions, reason: String? = nil) async throws {
    try await runCtl { () throws(ManagementClientError) in
        let reply = try await options.client.operate(route: route, operation, reason: reason)
        options.emit(json: reply.bytes, table: CtlFormat.rollout(reply.body, nowMilliseconds: nowMilliseconds()))
    }
}

func nowMilliseconds() -> Int64 { SystemClock().now().nanoseconds / 1_000_000 }

struct CtlAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Who changed what, when, from which revision to which.")
    @OptionGroup var options: CtlOptions
    @Option(name: .long, help: "Only this route.") var route: String?
    @Option(name: .long, help: "How many entries, newest first.") var limit = 50

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1…1000") }
    }

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.audit(route: route, limit: limit)
            options.emit(json: reply.bytes, table: CtlFormat.audit(reply.body.events))
        }
    }
}

struct CtlApply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make a routes file the desired state (declarative: unchanged routes keep their revision, undeclared ones are deleted)."
    )
    @OptionGroup var options: CtlOptions
    @Option(name: .shortAndLong, help: "The routes file.") var file: String
    @Flag(name: .customLong("prune-all"), help: "Allow a file that declares no routes: every route is deleted.") var pruneAll = false

    func run() async throws {
        let text = try TextFile.read(file)
        // Refuse a bad file here, with its real name and line, before sending it.
        do {
            _ = try RoutesFile.parse(text, file: file, allowEmpty: pruneAll)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(error.declaresNoRoutes ? 1 : 2)
        }
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.apply(routesFile: text, allowEmpty: pruneAll)
            options.emit(json: reply.bytes, table: reply.body.summary + "\n")
        }
    }
}

struct CtlExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Print every route as a routes file (prompts and params included).")
    @OptionGroup var options: CtlOptions

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.routes()
            options.emit(json: reply.bytes, table: RoutesFile.render(reply.body.routes))
        }
    }
}

struct CtlRollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Start, watch, stop and report on rollouts.",
        subcommands: [
            CtlRolloutStart.self, CtlRolloutStatus.self, CtlRolloutVerdicts.self, CtlRolloutAbort.self, CtlRolloutReport.self, CtlRolloutHistory.self,
            CtlRolloutSamples.self,
        ]
    )
}

struct CtlRolloutStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a rollout from a plan file (JSON or YAML): ctl rollout start chat-prod -f canary.yaml"
    )
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Option(name: .shortAndLong, help: "The plan (strategy, canary, steps, gates, …).") var file: String?
    @Option(name: .long, help: "A plan declared under 'plans:' with the route, by name.") var plan: String?

    func validate() throws {
        guard (file == nil) != (plan == nil) else { throw ValidationError("give either -f FILE or --plan NAME") }
    }

    func run() async throws {
        let plan: JSONValue
        if let name = self.plan {
            plan = ["plan": .string(name)]
        } else {
            do {
                plan = try PlanFile.parse(try TextFile.read(file ?? ""), file: file ?? "")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.startRollout(route: route, plan: plan)
            options.emit(json: reply.bytes, table: CtlFormat.rollout(reply.body, nowMilliseconds: nowMilliseconds()))
        }
    }
}

struct CtlRolloutStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The route's latest rollout: step, next move, last gate verdicts, transitions.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.rollout(route: route)
            options.emit(json: reply.bytes, table: CtlFormat.rollout(reply.body, nowMilliseconds: nowMilliseconds()))
        }
    }
}

struct CtlRolloutVerdicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verdicts", abstract: "Every gate evaluation of the route's latest rollout, newest first.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Option(name: .long, help: "How many evaluations.") var limit = 20

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1…1000") }
    }

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.evaluations(route: route, limit: limit)
            let text = reply.body.evaluations.map { CtlFormat.verdicts($0.verdicts, at: $0.atMilliseconds, overall: $0.overall) }.joined(separator: "\n")
            options.emit(json: reply.bytes, table: text.isEmpty ? "no evaluations yet\n" : text)
        }
    }
}

struct CtlRolloutAbort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "abort", abstract: "Stop the route's rollout; its traffic goes back to stable.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Option(name: .long, help: "Why, for the audit log.") var reason: String?

    func run() async throws {
        try await operate(.abort, route: route, options: options, reason: reason)
    }
}

struct CtlRolloutReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Per-variant figures, intervals, p-values and a verdict (A/B, shadow, canary).")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.report(route: route)
            options.emit(json: reply.bytes, table: CtlFormat.report(reply.body))
        }
    }
}

struct CtlRolloutSamples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samples",
        abstract: "The request/reply pairs a shadow kept (its plan's capture: N), newest first: both replies, their similarity, latency and tokens."
    )
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.samples(route: route)
            options.emit(json: reply.bytes, table: CtlFormat.samples(reply.body))
        }
    }
}

struct CtlRolloutHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "The route's rollouts, newest first.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.rollouts(route: route)
            let rows = reply.body.rollouts.map { rollout in
                [CtlFormat.clockTime(rollout.startedAtMilliseconds), rollout.strategy, rollout.candidate ?? "-", rollout.state.rawValue, rollout.progress, rollout.actor, rollout.reason]
            }
            options.emit(json: reply.bytes, table: CtlFormat.table(["STARTED", "STRATEGY", "CANDIDATE", "STATE", "AT", "BY", "REASON"], rows))
        }
    }
}

struct CtlLifecycle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifecycle",
        abstract: "Model versions in use: phase, retirement countdown, what depends on them.",
        subcommands: [CtlLifecycleList.self, CtlLifecyclePlan.self],
        defaultSubcommand: CtlLifecycleList.self
    )
}

struct CtlLifecycleList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Model versions in use, soonest retirement first.")
    @OptionGroup var options: CtlOptions

    func run() async throws {
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.lifecycle()
            options.emit(json: reply.bytes, table: CtlFormat.lifecycle(reply.body))
        }
    }
}

struct CtlLifecyclePlan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Propose the replacement deployment (prompt and params copied for review) and a canary plan for a route."
    )
    @OptionGroup var options: CtlOptions
    @Argument(help: "Route name.") var route: String
    @Option(name: .long, help: "Write routes.yaml (all routes, with the new deployment) and rollout.yaml into this folder.")
    var out: String?

    func run() async throws {
        let out = self.out
        let route = self.route
        try await runCtl { () throws(ManagementClientError) in
            let reply = try await options.client.migration(route: route)
            let proposal = reply.body
            let routes = try await options.client.routes().body.routes.map { existing in
                var copy = existing
                if copy.name == proposal.route { copy.deployments.append(proposal.deployment) }
                return copy
            }
            let routesFile = RoutesFile.render(routes)
            let planFile = RoutesFile.renderPlan(proposal.plan)
            if options.output == .json {
                print(String(decoding: reply.bytes, as: UTF8.self))
                return
            }
            if let out {
                let routesPath = (out as NSString).appendingPathComponent("routes.yaml")
                let planPath = (out as NSString).appendingPathComponent("rollout.yaml")
                do {
                    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                    try routesFile.write(toFile: routesPath, atomically: true, encoding: .utf8)
                    try planFile.write(toFile: planPath, atomically: true, encoding: .utf8)
                } catch {
                    throw .unreachable("cannot write into \(out): \(error)")
                }
                print("""
                    \(proposal.reason)
                    wrote \(routesPath) (route '\(proposal.route)' gains deployment '\(proposal.deployment.name)' at 0 %)
                    wrote \(planPath) (a canary plan)
                    next: review both, then
                      switchyard ctl apply -f \(routesPath)
                      switchyard ctl rollout start \(proposal.route) -f \(planPath)
                    """)
            } else {
                print("# \(proposal.reason)\n# 1. review, then: switchyard ctl apply -f routes.yaml\n" + routesFile)
                print("---\n# 2. then: switchyard ctl rollout start \(proposal.route) -f rollout.yaml\n" + planFile)
            }
        }
    }
}
