import Foundation
import Logging
import SwitchyardConfig
public import SwitchyardCore

extension ControlPlane {
    static let catalogSettingKey = "lifecycle_catalog"
    static let warningsSettingKey = "lifecycle_warnings_given"

    /// The catalog in force.
    public var lifecycleCatalog: LifecycleCatalog { catalog }

    /// The report for now.
    public func lifecycleReport() -> LifecycleReport {
        LifecycleReport(catalog: catalog, routes: currentPlans.map(\.route), now: clock.now())
    }

    /// Replaces the catalog with a YAML document sent through the API; it is
    /// kept in the store and outlives restarts.
    public func setCatalog(yaml: String, actor: String) async throws(ControlError) -> LifecycleCatalog {
        let parsed: LifecycleCatalog
        do {
            parsed = try CatalogFile.parse(yaml, file: "request body", source: "api (set by \(actor))")
        } catch {
            throw .invalidRoute("\(error)")
        }
        let event = AuditEvent(
            atMilliseconds: clock.now().nanoseconds / 1_000_000, actor: actor, action: "catalog", route: nil,
            fromRevision: nil, toRevision: nil, detail: "lifecycle catalog replaced: \(parsed.entries.count) entries"
        )
        // The catalog and its audit entry land together or not at all.
        let stored: [AuditEvent]
        do {
            stored = try await store.commit(StoreCommit(audit: [event], settings: [(Self.catalogSettingKey, yaml)]))
        } catch {
            throw .storing(error)
        }
        notify(nil, stored)
        catalog = parsed
        appliedCatalogText = yaml
        await evaluateLifecycle()
        return parsed
    }

    /// In a fleet: takes a catalog another replica stored, when it differs
    /// from the one in force here.
    func refreshCatalog() async {
        guard let yaml = try? await store.setting(Self.catalogSettingKey), yaml != appliedCatalogText else { return }
        do {
            catalog = try CatalogFile.parse(yaml, file: "stored catalog", source: "api (stored)")
            appliedCatalogText = yaml
            logger.notice("took the lifecycle catalog another replica stored (\(catalog.entries.count) entries)")
            await evaluateLifecycle()
        } catch {
            appliedCatalogText = yaml
            logger.warning("the lifecycle catalog another replica stored cannot be read (\(error)); keeping \(catalog.source)")
        }
    }

    /// Loads what the store keeps about lifecycles (at start): a catalog set
    /// through the API, and which warnings were already given.
    func loadLifecycleState() async throws {
        if let yaml = try await store.setting(Self.catalogSettingKey) {
            appliedCatalogText = yaml
            do {
                catalog = try CatalogFile.parse(yaml, file: "stored catalog", source: "api (stored)")
            } catch {
                logger.warning("the lifecycle catalog kept in the store cannot be read (\(error)); using \(catalog.source)")
            }
        }
        if let given = try await store.setting(Self.warningsSettingKey), let ids = try? JSONDecoder().decode([String].self, from: Data(given.utf8)) {
            warningsGiven = Set(ids)
        }
    }

    /// Re-reads the calendar: hands the data plane the retired deployments
    /// and countdowns, and gives each newly due warning once (audit + event).
    public func evaluateLifecycle() async {
        let now = clock.now()
        let routes = currentPlans.map(\.route)
        let report = LifecycleReport(catalog: catalog, routes: routes, now: now)
        var retired: [String: [String: String?]] = [:]
        for route in routes {
            for deployment in route.deployments where catalog.phase(of: deployment, at: now) == .retired {
                let replacement = catalog.entry(for: deployment)?.replacement.flatMap { target in
                    route.deployments.first {
                        $0.model == target.model && $0.version == target.version && catalog.phase(of: $0, at: now) != .retired
                    }?.name
                }
                retired[route.name, default: [:]][deployment.name] = replacement
            }
        }
        lifecycleSink(LifecycleState(retired: retired, report: report))

        let due = report.warnings(excluding: warningsGiven)
        guard !due.isEmpty else { return }
        let milliseconds = now.nanoseconds / 1_000_000
        let events = due.map { warning in
            AuditEvent(
                atMilliseconds: milliseconds, actor: "lifecycle", action: warning.days == 0 ? "retired" : "retirement-warning",
                route: nil, fromRevision: nil, toRevision: nil, detail: warning.message
            )
        }
        do {
            let stored = try await store.commit(StoreCommit(audit: events))
            warningsGiven.formUnion(due.map(\.id))
            let ids = String(decoding: try JSONEncoder().encode(warningsGiven.sorted()), as: UTF8.self)
            try await store.setSetting(Self.warningsSettingKey, ids)
            for warning in due {
                logger.warning("\(warning.message)")
                for observer in observers { observer(.lifecycleWarning(days: warning.days, key: warning.key, message: warning.message)) }
            }
            notify(nil, stored)
        } catch {
            logger.warning("could not record lifecycle warnings: \(error)")
        }
    }

    /// Refuses new deployments on deprecated, legacy or retired versions unless
    /// they say `allowDeprecated: true`; returns audit entries for the forced ones.
    func checkDeprecatedVersions(_ declared: Route, against current: Route?, actor: String, at now: Moment) throws(ControlError) -> [AuditEvent] {
        var forced: [AuditEvent] = []
        for deployment in declared.deployments {
            let existing = current?.deployment(named: deployment.name)
            let isNew = existing == nil || existing?.model != deployment.model || existing?.version != deployment.version
                || existing?.upstream.deploymentType != deployment.upstream.deploymentType
            guard isNew else { continue }
            let phase = catalog.phase(of: deployment, at: now)
            guard [.deprecated, .legacy, .retired].contains(phase) else { continue }
            let entry = catalog.entry(for: deployment)
            let dates = entry?.dates(for: deployment.upstream.deploymentType)
            var milestones: [String] = []
            if let deprecation = dates?.deprecation { milestones.append("deprecated \(deprecation)") }
            if let retirement = dates?.retirement { milestones.append(phase == .retired ? "retired \(retirement)" : "retires \(retirement)") }
            let facts = "\(deployment.model) \(deployment.version) is \(phase.rawValue)" + (milestones.isEmpty ? "" : " (\(milestones.joined(separator: ", ")))")
            guard deployment.allowDeprecated else {
                var message = "route '\(declared.name)': deployment '\(deployment.name)': \(facts); new deployments on it are refused"
                if let replacement = entry?.replacement { message += "; use \(replacement.model) \(replacement.version)" }
                message += ", or set allowDeprecated: true to create it anyway (audited)"
                throw .invalidRoute(message)
            }
            forced.append(
                AuditEvent(
                    atMilliseconds: now.nanoseconds / 1_000_000, actor: actor, action: "allow-deprecated", route: declared.name,
                    fromRevision: nil, toRevision: nil, detail: "deployment '\(deployment.name)' created on purpose although \(facts)"
                )
            )
        }
        return forced
    }
}
