import Foundation
public import SwitchyardCore

/// What `ctl` prints by default: aligned tables a person reads at a glance.
public enum CtlFormat {
    /// Columns padded to their widest cell, two spaces apart.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    public static func routes(_ routes: [Route]) -> String {
        table(
            ["ROUTE", "REV", "ENV", "STABLE", "SPLIT"],
            routes.map { route in
                [route.name, "r\(route.revision)", route.environment.rawValue, route.stable, route.deployments.map { "\($0.name)=\($0.weight)%" }.joined(separator: " ")]
            }
        )
    }

    /// One route and its last window of measurements.
    public static func status(_ route: Route, metrics: RouteMetricsView?) -> String {
        var text = "\(route.name)  r\(route.revision)  \(route.environment.rawValue)  stable \(route.stable)"
        text += route.allowPinning ? "  pinning allowed\n" : "\n"
        let window = metrics.map { "\($0.windowSeconds / 60)m" } ?? "5m"
        let rows = route.deployments.map { deployment -> [String] in
            let measured = metrics?.deployments.first { $0.name == deployment.name }
            return [
                deployment.name,
                deployment.modelVersion,
                "\(deployment.weight)%",
                measured.map { String($0.requests) } ?? "-",
                measured?.errorRatePercent.map { String(format: "%.2f", $0) } ?? "-",
                measured?.latencyMs.map { String(format: "%.0f", $0.p95) } ?? "-",
                measured?.timeToFirstTokenMs.map { String(format: "%.0f", $0.p95) } ?? "-",
                measured?.costPerRequest.map { String(format: "%.5f", $0) } ?? "-",
                measured?.breaker ?? "-",
            ]
        }
        text += table(["DEPLOYMENT", "MODEL@VERSION", "WEIGHT", "REQ/\(window)", "ERR%", "P95MS", "TTFT95MS", "$/REQ", "BREAKER"], rows)
        return text
    }

    public static func audit(_ events: [AuditEvent]) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return table(
            ["ID", "TIME", "ACTOR", "ACTION", "ROUTE", "REVISION", "DETAIL"],
            events.map { event in
                let revisions: String
                switch (event.fromRevision, event.toRevision) {
                case (let from?, let to?): revisions = "r\(from)→r\(to)"
                case (nil, let to?): revisions = "→r\(to)"
                case (let from?, nil): revisions = "r\(from)→"
                case (nil, nil): revisions = "-"
                }
                return [
                    String(event.id),
                    formatter.string(from: Date(timeIntervalSince1970: Double(event.atMilliseconds) / 1000)),
                    event.actor, event.action, event.route ?? "-", revisions, event.detail,
                ]
            }
        )
    }
}

extension CtlFormat {
    /// `gpt-4o@2024-05-13  azure/standard  deprecated  2026-03-31  in 23d 04h  chat-prod/v0513 10%`
    public static func lifecycle(_ view: LifecycleListView) -> String {
        let rows = view.entries.map { entry -> [String] in
            let retirement = entry.retirement.map { entry.retirementNoEarlierThan ? "≥ \($0)" : $0 } ?? "-"
            return [
                "\(entry.model)@\(entry.version)", "\(entry.provider)/\(entry.deploymentType)", entry.phase, retirement,
                entry.secondsLeft.map(countdown) ?? "-", entry.replacement ?? "-",
                entry.deployments.map { "\($0.route)/\($0.deployment) \(Weight.format(percent: $0.weight))%" }.joined(separator: ", "),
            ]
        }
        return table(["MODEL@VERSION", "PROVIDER", "PHASE", "RETIRES", "LEFT", "REPLACEMENT", "USED BY"], rows) + "catalog: \(view.catalog)\n"
    }

    /// `23d 04h`, `5h 12m`, `retired 3d ago`.
    public static func countdown(_ seconds: Int64) -> String {
        if seconds <= 0 {
            let ago = seconds == .min ? .max : -seconds
            return ago >= 86_400 ? "retired \(ago / 86_400)d ago" : "retired"
        }
        let days = seconds / 86_400, hours = (seconds % 86_400) / 3600, minutes = (seconds % 3600) / 60
        if days > 0 { return "\(days)d " + (hours < 10 ? "0\(hours)h" : "\(hours)h") }
        return "\(hours)h " + (minutes < 10 ? "0\(minutes)m" : "\(minutes)m")
    }
}

