import Foundation
import SwitchyardCore
public import SwitchyardTUI

extension ConsoleState {
    /// The smallest terminal the console lays out for.
    public static let minimumSize = (width: 80, height: 24)

    /// Draws the whole screen. Pure: the same state gives the same cells.
    /// Also records where the slider's track went, for mouse hit-testing.
    public mutating func view() -> Buffer {
        var buffer = Buffer(width: width, height: height)
        guard width >= Self.minimumSize.width, height >= Self.minimumSize.height else {
            let message = "Terminal too small: \(width)×\(height). Switchyard needs at least \(Self.minimumSize.width)×\(Self.minimumSize.height)."
            buffer.write(message, x: 0, y: 0, style: StyleRole.warning.bold)
            buffer.write("Enlarge the window, or press q to quit.", x: 0, y: min(1, height - 1), style: Style(.dim))
            sliderTrack = nil
            return buffer
        }
        drawHeader(&buffer)
        let body = Rect(x: 0, y: 1, width: width, height: height - 2)
        sliderTrack = nil
        switch screen {
        case .routes: drawRoutesScreen(&buffer, area: body)
        case .audit: drawAudit(&buffer, area: body)
        case .lifecycle: drawLifecycle(&buffer, area: body)
        case .help: drawHelp(&buffer, area: body)
        case .compare: drawCompare(&buffer, area: body)
        }
        drawFooter(&buffer, area: Rect(x: 0, y: height - 1, width: width, height: 1))
        if let confirmation { drawDialog(&buffer, text: confirmation.question) }
        return buffer
    }

    // MARK: Header and footer

    private func drawHeader(_ buffer: inout Buffer) {
        // The clock takes the right edge; the rest is clipped to what is left,
        // most important first: the connection's state, then who, then where.
        let clock = Self.clockText(now)
        let clockX = width - CharacterWidth.of(clock) - 1
        buffer.write(clock, x: clockX, y: 0, style: Style(.dim))
        let left = Rect(x: 0, y: 0, width: max(0, clockX - 2), height: 1)
        let status: (String, Style)
        switch connection {
        case .connecting: status = ("\(glyphs.pending) connecting", Style(.warning))
        case .live where !isStale: status = ("\(glyphs.live) live", Style(.good, bold: true))
        case .live, .reconnecting:
            let age = lastUpdate.map { " · data \(Self.shortAge(now - $0)) old" } ?? " · no data yet"
            let word = if case .reconnecting = connection { "reconnecting" } else { "stale" }
            status = ("\(glyphs.stale) \(word)\(age)", Style(.stale, bold: true))
        }
        var parts: [(String, Style)] = [(" Switchyard ", Style(.title, bold: true)), ("▸ \(apiURL)", Style(.dim)), ("   " + status.0, status.1)]
        // Live routes do not make every panel live: the worst stale one is named.
        if case .live = connection, !isStale, let worst = stalePanels.first {
            parts.append(("  \(glyphs.stale) " + freshnessText(worst.panel), Style(.stale, bold: true)))
        }
        if let identity { parts.append(("   \(identity.name) · \(identity.role)", Style(.accent))) }
        if readOnly { parts.append(("   read-only", Style(.warning, bold: true))) }
        // Drop the URL when everything does not fit.
        if parts.reduce(0, { $0 + CharacterWidth.of($1.0) }) > left.width { parts.remove(at: 1) }
        var x = 0
        for (text, style) in parts {
            x = buffer.write(text, x: x, y: 0, style: style, clip: left)
        }
    }

    private func drawFooter(_ buffer: inout Buffer, area: Rect) {
        switch mode {
        case .filter:
            buffer.write(" /" + input + "▏", x: 0, y: area.y, style: Style(.accent, bold: true))
            return
        case .command:
            buffer.write(" :" + input + "▏", x: 0, y: area.y, style: Style(.accent, bold: true))
            return
        case .exactWeight:
            buffer.write(" canary weight (0–100): " + input + "▏", x: 0, y: area.y, style: Style(.accent, bold: true))
            return
        case .normal:
            break
        }
        if let flash {
            buffer.write(" " + CharacterWidth.truncate(flash.text, to: width - 2), x: 0, y: area.y, style: Style(flash.role, bold: true))
            return
        }
        HintBar(hints: KeyRegistry.hints(for: screen, readOnly: readOnly)).render(into: &buffer, area: area)
    }

    private func drawDialog(_ buffer: inout Buffer, text: String) {
        let boxWidth = min(width - 4, CharacterWidth.of(text) + 6)
        let rect = Rect(x: (width - boxWidth) / 2, y: height / 2 - 2, width: boxWidth, height: 3)
        buffer.fill(rect, style: Style(.dialog))
        let inner = buffer.box(rect, title: "confirm", glyphs: glyphs, style: Style(.dialog, bold: true))
        buffer.write(" " + text, x: inner.x, y: inner.y, style: Style(.dialog, bold: true), clip: inner)
    }

    // MARK: Routes screen

    private mutating func drawRoutesScreen(_ buffer: inout Buffer, area: Rect) {
        let retirementItems = (lifecycle?.entries ?? []).filter { $0.secondsLeft != nil && !$0.deployments.isEmpty }
        // Retirements: a few lines. The detail: slider, error rates, a chart of
        // 3–8 rows, latency. The routes table: everything else.
        // Retirements: a few lines. The routes table: its rows, as far as they
        // leave the detail (slider, error rates, a chart of at least 3 rows,
        // latency) room. The detail's chart takes what is left.
        let retirementRows = min(max(retirementItems.count, 1), area.height >= 34 ? 4 : 2)
        let (rest, retirementsArea) = area.splitBottom(retirementRows + 2)
        let routesHeight = min(max(visibleRoutes.count, 1) + 3, max(4, rest.height - 8))
        let (routesArea, detailArea) = rest.splitTop(routesHeight)
        drawRoutesTable(&buffer, area: routesArea)
        drawDetail(&buffer, area: detailArea)
        drawRetirements(&buffer, area: retirementsArea, items: retirementItems)
    }

    /// The routes table's columns, in display order, each with its priority
    /// (0 first): when the terminal is narrow the least important go first,
    /// and the model strings shrink to their versions before they go.
    enum RoutesColumn: CaseIterable {
        case route, stable, canary, split, errorDelta, p95, breaker, rollout, traffic

        var priority: Int {
            switch self {
            case .route: 0
            case .split: 1
            case .errorDelta: 2
            case .p95: 3
            case .rollout: 4
            case .breaker: 5
            case .canary: 6
            case .stable: 7
            case .traffic: 8
            }
        }

        func column(short: Bool, windowMinutes: Int = 5) -> TableWidget.Column {
            switch self {
            case .route: TableWidget.Column("ROUTE", width: 12)
            case .stable: TableWidget.Column("STABLE", width: short ? 10 : 17)
            case .canary: TableWidget.Column("CANARY", width: short ? 10 : 17)
            case .split: TableWidget.Column("SPLIT", width: 15)
            // The window the figure is measured over is in the header: ERRΔ5m.
            case .errorDelta: TableWidget.Column("ERRΔ\(windowMinutes)m", width: 7, rightAligned: true)
            case .p95: TableWidget.Column("P95", width: 6, rightAligned: true)
            case .breaker: TableWidget.Column("BREAKER", width: 8)
            case .rollout: TableWidget.Column("ROLLOUT", width: 12)
            case .traffic: TableWidget.Column("TRAFFIC", width: 10)
            }
        }

        var isModel: Bool { self == .stable || self == .canary }
    }

    /// The columns that fit `width`, most important first, shown in display order;
    /// model columns fall back to their short (version only) form before they are left out.
    static func routesColumns(fitting width: Int) -> [(RoutesColumn, short: Bool)] {
        var chosen: [RoutesColumn: Bool] = [:]
        var used = 1
        for candidate in RoutesColumn.allCases.sorted(by: { $0.priority < $1.priority }) {
            for short in candidate.isModel ? [false, true] : [false] {
                let needed = candidate.column(short: short).width + 1
                if used + needed <= width {
                    chosen[candidate] = short
                    used += needed
                    break
                }
            }
        }
        return RoutesColumn.allCases.compactMap { column in chosen[column].map { (column, $0) } }
    }

    private func drawRoutesTable(_ buffer: inout Buffer, area: Rect) {
        let title = filter.isEmpty ? "Routes" : "Routes /\(filter)"
        let inner = buffer.box(area, title: title, glyphs: glyphs)
        let layout = Self.routesColumns(fitting: inner.width)
        let stale = isStale
        // Only the rows that fit are built: with 1,000 routes the rest would be most of the frame.
        let selectedIndex = visibleRoutes.firstIndex { $0.name == selected?.name }
        let visibleRows = max(0, inner.height - 1)
        let offset = TableWidget.scrollOffset(selected: selectedIndex, rows: visibleRoutes.count, visible: visibleRows)
        let shown = visibleRoutes[offset..<min(visibleRoutes.count, offset + visibleRows)]
        let rows = shown.map { route -> [TableWidget.Item] in
            let canary = Self.canary(of: route)
            let stable = route.deployment(named: route.stable)
            let view = metrics[route.name]
            let text: StyleRole = stale ? .stale : .text
            return layout.map { column, short -> TableWidget.Item in
                func model(_ deployment: Deployment?) -> String {
                    guard let deployment else { return "—" }
                    return short ? deployment.version : "\(deployment.model)@\(deployment.version)"
                }
                switch column {
                case .route:
                    return TableWidget.Item(route.name, Style(text, bold: true))
                case .stable:
                    return TableWidget.Item(stable.map { model($0) } ?? "-", Style(stale ? .stale : .stable))
                case .canary:
                    return TableWidget.Item(canary.map { $0.weight > .zero ? model($0) : "—" } ?? "—", Style(stale ? .stale : .canary))
                case .split:
                    return TableWidget.Item(Self.splitText(canary?.weight.percent ?? 0, glyphs: glyphs), Style(stale ? .stale : .canary))
                case .errorDelta:
                    let delta = errorDelta(route: route, canary: canary, view: view)
                    let role: StyleRole = delta.map { errorRateMark(route: route.name, delta: $0).role == .bad ? .bad : .text } ?? .text
                    return TableWidget.Item(delta.map { String(format: "%+.1f", $0) } ?? "—", Style(stale ? .stale : role))
                case .p95:
                    let p95 = view?.deployments.compactMap { $0.latencyMs?.p95 }.max()
                    return TableWidget.Item(p95.map { String(format: "%.0fms", $0) } ?? "—", Style(text))
                case .breaker:
                    let breakers = view?.deployments.map(\.breaker) ?? []
                    let breaker = breakers.contains("open") ? "\(glyphs.fail) open" : breakers.contains("half-open") ? "\(glyphs.warn) half" : breakers.isEmpty ? "—" : "\(glyphs.ok) closed"
                    return TableWidget.Item(breaker, Style(stale ? .stale : breakers.contains("open") ? .bad : breakers.contains("half-open") ? .warning : .good))
                case .rollout:
                    return rolloutCell(route)
                case .traffic:
                    // Requests per 10 s across the route's deployments, oldest on the left.
                    let points = view?.deployments.compactMap(\.series) ?? []
                    let totals: [Double?] = (0..<(points.map(\.count).max() ?? 0)).map { index in
                        Double(points.reduce(0) { $0 + (index < $1.count ? $1[index].requests : 0) })
                    }
                    return TableWidget.Item(SparklineWidget.text(totals, width: 10, glyphs: glyphs), Style(stale ? .stale : .accent))
                }
            }
        }
        TableWidget(columns: layout.map { $0.0.column(short: $0.short, windowMinutes: windowMinutes) }, rows: rows, selected: selectedIndex.map { $0 - offset }).render(into: &buffer, area: inner, glyphs: glyphs)
        if visibleRoutes.isEmpty {
            buffer.write(routes.isEmpty ? "  no routes yet" : "  no route matches /\(filter)", x: inner.x, y: inner.y + 1, style: Style(.dim))
        }
    }

    static func splitText(_ canaryPercent: Double, glyphs: Glyphs) -> String {
        let filled = Int((canaryPercent / 10).rounded())
        return String(repeating: glyphs.barFull, count: filled) + String(repeating: glyphs.barEmpty, count: 10 - filled)
            + String(format: " %3.0f%%", canaryPercent)
    }

    private func errorRate(_ deployment: String?, in view: RouteMetricsView?) -> Double? {
        guard let deployment else { return nil }
        return view?.deployments.first { $0.name == deployment }?.errorRatePercent
    }

    private func errorDelta(route: Route, canary: Deployment?, view: RouteMetricsView?) -> Double? {
        guard let canaryRate = errorRate(canary?.name, in: view), let stableRate = errorRate(route.stable, in: view) else { return nil }
        return canaryRate - stableRate
    }

    private mutating func drawDetail(_ buffer: inout Buffer, area: Rect) {
        guard let route = selected else {
            buffer.box(area, title: "no route selected", glyphs: glyphs)
            return
        }
        let canary = slider.flatMap { route.deployment(named: $0.canary) } ?? Self.canary(of: route)
        let metricsStale = isStale(.metrics)
        let title = (canary.map { "\(route.name) r\(route.revision) ▸ canary \($0.name)" } ?? "\(route.name) r\(route.revision) ▸ \(route.stable) only")
            + (metricsStale ? " · \(glyphs.stale) " + freshnessText(.metrics) : "")
        let inner = buffer.box(area, title: title, glyphs: glyphs)
        guard inner.height >= 4 else { return }
        let view = metrics[route.name]
        // The slider.
        var row = inner.y
        if let canary {
            let value = slider?.route == route.name ? slider!.value : canary.weight.percent
            let pending = slider?.route == route.name && slider!.pending
            let moving = slider?.route == route.name && !pending
            buffer.write("canary", x: inner.x + 1, y: row, style: Style(.canary, bold: true))
            let hint = readOnly ? "read-only" : pending ? "pending…" : moving ? "⏎ apply  esc cancel" : "←/→ ±1  H/L ±10  drag"
            let hintWidth = CharacterWidth.of(hint)
            // A fixed slot for the hint, so the track never changes under a drag.
            let hintSlot = 22
            let sliderArea = Rect(x: inner.x + 8, y: row, width: inner.width - 8 - hintSlot - 2, height: 1)
            SliderWidget(value: value, pending: pending).render(into: &buffer, area: sliderArea, glyphs: glyphs)
            sliderTrack = SliderWidget.track(in: sliderArea)
            buffer.write(hint, x: inner.maxX - hintWidth - 1, y: row, style: Style(pending ? .warning : .dim))
        } else {
            buffer.write("single deployment: \(route.stable) takes all traffic", x: inner.x + 1, y: row, style: Style(.dim))
        }
        row += 1
        // Error rates, per deployment.
        let stableRate = errorRate(route.stable, in: view)
        let canaryRate = errorRate(canary?.name, in: view)
        var x = buffer.write("error rate", x: inner.x + 1, y: row, style: Style(.header, bold: true))
        x = buffer.write("  stable " + (stableRate.map { String(format: "%.1f %%", $0) } ?? "—"), x: x, y: row, style: Style(.stable))
        if canary != nil {
            x = buffer.write("  canary " + (canaryRate.map { String(format: "%.1f %%", $0) } ?? "—"), x: x, y: row, style: Style(.canary))
            if let stableRate, let canaryRate {
                let delta = canaryRate - stableRate
                let (mark, role) = errorRateMark(route: route.name, delta: delta)
                x = buffer.write("  Δ \(String(format: "%+.1f", delta)) pp \(mark)", x: x, y: row, style: Style(role, bold: role == .bad))
            }
        }
        let samples = view?.deployments.reduce(0) { $0 + $1.requests } ?? 0
        buffer.write("  n = \(samples)  (\(windowMinutes) min · w)", x: x, y: row, style: Style(.dim))
        row += 1
        // The rollout: where it is, when it moves, the last verdicts.
        if let rollout = rollouts[route.name], inner.maxY - row - 1 >= 4 {
            drawRollout(rollout, into: &buffer, x: inner.x + 1, y: row, width: inner.width - 2)
            row += 2
            // An experiment's or shadow's report, one line per variant, when there is room.
            if let report = reports[route.name], rollout.strategy == "ab" || rollout.strategy == "shadow", inner.maxY - row - 1 >= report.variants.count + 4 {
                row = drawReport(report, into: &buffer, x: inner.x + 1, y: row, width: inner.width - 2)
            }
        }
        // The error-rate chart and, when there is room, the p95 latency and TTFT charts.
        let chartHeight = inner.maxY - row - 1
        if chartHeight >= 4 {
            let latencyRows = chartHeight >= 14 ? chartHeight * 2 / 5 : 0
            let errorRows = chartHeight - latencyRows
            let errorRule = errorRateRule(route: route.name)
            let atMost = glyphs.unicode ? "Δ ≤" : "d <="
            let threshold = stableRate.map { (value: $0 + errorRule.limit, label: "\(errorRule.source) \(atMost) +\(Self.compact(errorRule.limit)) pp") }
            chart(for: route, canary: canary, view: view, title: "error rate", floor: 2, threshold: threshold, unit: "%") { point in
                point.requests > 0 ? Double(point.failures) * 100 / Double(point.requests) : nil
            }.render(into: &buffer, area: Rect(x: inner.x, y: row, width: inner.width, height: errorRows), glyphs: glyphs)
            if latencyRows >= 4 {
                // p95 latency on the left, p95 time to first token on the right, stable and canary in each.
                let half = inner.width / 2
                let picks: [(String, (RouteMetricsView.Deployment.Point) -> Double?)] = [("p95 ms", { $0.p95Ms }), ("TTFT p95 ms", { $0.ttftP95Ms })]
                for (index, (label, pick)) in picks.enumerated() {
                    let area = Rect(x: inner.x + index * half, y: row + errorRows, width: index == 0 ? half - 1 : inner.width - half, height: latencyRows)
                    chart(for: route, canary: canary, view: view, title: label, floor: 10, threshold: nil, unit: "", legend: false, value: pick)
                        .render(into: &buffer, area: area, glyphs: glyphs)
                }
            }
            row += chartHeight
        }
        // Latency, time to first token, cost.
        func pair(_ pick: (RouteMetricsView.Deployment) -> Double?, _ format: String) -> String {
            let s = view?.deployments.first { $0.name == route.stable }.flatMap(pick).map { String(format: format, $0) } ?? "—"
            guard let canary else { return s }
            let c = view?.deployments.first { $0.name == canary.name }.flatMap(pick).map { String(format: format, $0) } ?? "—"
            return "\(s) / \(c)"
        }
        // Stable / canary side by side; segments that do not fit are left out whole.
        let segments = [
            "p95 \(pair({ $0.latencyMs?.p95 }, "%.0f")) ms", "$/req \(pair({ $0.costPerRequest }, "%.4f"))",
            "TTFT p95 \(pair({ $0.timeToFirstTokenMs?.p95 }, "%.0f")) ms", "tok/req \(pair({ $0.tokensPerRequest }, "%.0f"))",
        ]
        var line = ""
        for segment in segments where CharacterWidth.of(line) + CharacterWidth.of(segment) + 3 <= inner.width - 1 {
            line += (line.isEmpty ? "" : "   ") + segment
        }
        buffer.write(line, x: inner.x + 1, y: inner.maxY - 1, style: Style(.text), clip: inner)
    }

    /// The error-rate rule the ✔/✖ and the chart's threshold use: the running
    /// rollout's own `errorRateDelta` gate (its limit, from its last verdict),
    /// or the console's default of 1 percentage point when no gate says.
    func errorRateRule(route: String) -> (limit: Double, source: String) {
        if let rollout = rollouts[route], rollout.state.isActive,
            let verdict = rollout.lastEvaluation?.verdicts.first(where: { $0.metric == .errorRateDelta }), let limit = verdict.limit
        {
            return (limit, "gate")
        }
        return (Self.defaultErrorRateLimit, "default")
    }

    /// The ✔/✖/? beside an error-rate difference: while a rollout runs, its
    /// own `errorRateDelta` gate's last verdict (the gate's metric, limit and
    /// sample — not this window's point figure), so the panel never calls
    /// worse what the gate still calls inconclusive; with no such gate, the
    /// default rule on the watched window.
    func errorRateMark(route: String, delta: Double) -> (mark: String, role: StyleRole) {
        if let rollout = rollouts[route], rollout.state.isActive,
            let verdict = rollout.lastEvaluation?.verdicts.first(where: { $0.metric == .errorRateDelta })
        {
            return switch verdict.result {
            case .pass: (glyphs.ok, .good)
            case .fail: (glyphs.fail, .bad)
            case .inconclusive: ("?", .warning)
            case .noData: ("–", .warning)
            }
        }
        return delta <= Self.defaultErrorRateLimit ? (glyphs.ok, .good) : (glyphs.fail, .bad)
    }

    /// The error-rate difference (canary − stable, percentage points) the
    /// console calls worse when no rollout gate sets one.
    public static let defaultErrorRateLimit = 1.0

    static func compact(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    /// A time chart of one figure for the route's stable and canary, over the
    /// watched window, with the route's revisions marked where they happened.
    func chart(
        for route: Route, canary: Deployment?, view: RouteMetricsView?, title: String, floor: Double, threshold: (value: Double, label: String)?, unit: String,
        legend: Bool = true, value: (RouteMetricsView.Deployment.Point) -> Double?
    ) -> LineChart {
        var lines: [LineChart.Series] = []
        var starts: [Int64] = []
        for (deployment, role) in [(route.deployment(named: route.stable), StyleRole.stable), (canary, .canary)] {
            guard let deployment, let points = view?.deployments.first(where: { $0.name == deployment.name })?.series else { continue }
            if starts.isEmpty { starts = points.map(\.start) }
            let label = legend ? "\(role == .stable ? "stable" : "canary") \(deployment.modelVersion)" : ""
            // Figures that are no longer current are drawn in the stale colour, never as live.
            lines.append(LineChart.Series(label: label, values: points.map(value), style: Style(isStale(.metrics) ? .stale : role)))
        }
        let windowSeconds = Int64(windowMinutes * 60)
        // Times come from the server: bounded and saturating, so a damaged
        // series or audit entry draws wrong, never traps the console.
        let step = starts.count >= 2 ? min(max(1, starts[1].saturatingSubtracting(starts[0])), 3600) : 10
        let count = max(2, Int(windowSeconds / step))
        let end = (starts.last ?? now.nanoseconds / 1_000_000_000).saturatingAdding(step)
        let first = end.saturatingSubtracting(Int64(count) * step)
        func point(atSeconds seconds: Int64) -> Int { Int(seconds.saturatingSubtracting(first) / step) }
        // Ticks every minute for a 5-minute window, every 5 for 15, every 15 for an hour.
        let tickMinutes = windowMinutes <= 5 ? 1 : windowMinutes <= 15 ? 5 : 15
        var ticks: [(point: Int, text: String)] = [(count - 1, "now")]
        for minutes in stride(from: tickMinutes, through: windowMinutes, by: tickMinutes) {
            ticks.append((max(0, count - 1 - minutes * 60 / Int(step)), "-\(minutes)m"))
        }
        let markers = audit.filter { $0.route == route.name && $0.toRevision != nil }
            .map { (point: point(atSeconds: $0.atMilliseconds / 1000), event: $0) }
            .filter { (0..<count).contains($0.point) }
            .map { LineChart.Marker(point: $0.point, label: "r\($0.event.toRevision ?? 0)\($0.event.action == "rollback" ? " rollback" : "")") }
        let collected = (lines.first?.values.filter { $0 != nil }.count ?? 0) * Int(step)
        let collecting = "collecting — \(collected) s of \(windowMinutes) min"
        return LineChart(
            series: lines, points: count, floor: floor, threshold: threshold, unit: unit, ticks: ticks, markers: Array(markers.prefix(8)),
            collecting: collecting, title: title
        )
    }

    private func drawRetirements(_ buffer: inout Buffer, area: Rect, items: [LifecycleListView.Entry]) {
        let inner = buffer.box(
            area, title: "Retirements" + (lifecycle.map { " · catalog \($0.catalog)" } ?? "") + (isStale(.lifecycle) ? " · \(glyphs.stale) " + freshnessText(.lifecycle) : ""),
            glyphs: glyphs
        )
        guard !items.isEmpty else {
            buffer.write(lifecycle == nil ? " loading…" : " no version in use has a retirement date", x: inner.x, y: inner.y, style: Style(.dim))
            return
        }
        for (index, item) in items.prefix(inner.height).enumerated() {
            drawRetirement(&buffer, item: item, x: inner.x + 1, y: inner.y + index, width: inner.width - 2)
        }
    }

    private func drawRetirement(_ buffer: inout Buffer, item: LifecycleListView.Entry, x: Int, y: Int, width: Int) {
        let (glyph, role) = Self.urgency(item, glyphs: glyphs)
        var column = buffer.write(glyph + " ", x: x, y: y, style: Style(role, bold: true))
        column = buffer.write("\(item.model) \(item.version)", x: column, y: y, style: Style(.text, bold: true))
        let left = item.secondsLeft.map { $0 > 0 ? "in " + Self.countdown($0) : "retired" } ?? ""
        let retires = item.retirement.map { (item.retirementNoEarlierThan ? "  retires ≥ " : "  retires ") + $0 } ?? ""
        column = buffer.write(retires + "  " + left, x: column, y: y, style: Style(role))
        let users = item.deployments.filter { $0.weight > 0 }.count
        buffer.write("  \(item.phase) · serving \(users) deployment\(users == 1 ? "" : "s")", x: column, y: y, style: Style(.dim), clip: Rect(x: x, y: y, width: width, height: 1))
    }

    static func urgency(_ item: LifecycleListView.Entry, glyphs: Glyphs) -> (String, StyleRole) {
        guard let seconds = item.secondsLeft, !item.retirementNoEarlierThan else { return (glyphs.ok, .good) }
        if seconds <= 0 { return (glyphs.fail, .critical) }
        if seconds <= 7 * 86_400 { return (glyphs.fail, .bad) }
        if seconds <= 30 * 86_400 { return (glyphs.warn, .warning) }
        if seconds <= 60 * 86_400 { return (glyphs.warn, .accent) }
        return (glyphs.ok, .good)
    }

    // MARK: Other screens

    private func drawAudit(_ buffer: inout Buffer, area: Rect) {
        let inner = buffer.box(area, title: "Audit log" + (isStale(.audit) ? " · \(glyphs.stale) " + freshnessText(.audit) : ""), glyphs: glyphs)
        let rows = audit.map { event -> [TableWidget.Item] in
            let revisions = [event.fromRevision.map { "r\($0)" }, event.toRevision.map { "r\($0)" }].compactMap { $0 }.joined(separator: "→")
            return [
                TableWidget.Item(Self.clockText(Moment(nanoseconds: event.atMilliseconds.saturatingMultiplied(by: 1_000_000))), Style(.dim)),
                TableWidget.Item(event.actor, Style(.accent)), TableWidget.Item(event.action, Style(.text, bold: true)),
                TableWidget.Item(event.route ?? "—"), TableWidget.Item(revisions.isEmpty ? "—" : revisions, Style(.dim)),
                TableWidget.Item(event.detail),
            ]
        }
        TableWidget(
            columns: [
                TableWidget.Column("TIME", width: 20), TableWidget.Column("ACTOR", width: 10), TableWidget.Column("ACTION", width: 18),
                TableWidget.Column("ROUTE", width: 12), TableWidget.Column("REVISION", width: 9), TableWidget.Column("DETAIL", width: max(10, inner.width - 76)),
            ],
            rows: rows, selected: nil
        ).render(into: &buffer, area: inner, glyphs: glyphs)
    }

    private func drawLifecycle(_ buffer: inout Buffer, area: Rect) {
        let inner = buffer.box(
            area, title: "Lifecycle" + (lifecycle.map { " · catalog \($0.catalog)" } ?? "") + (isStale(.lifecycle) ? " · \(glyphs.stale) " + freshnessText(.lifecycle) : ""),
            glyphs: glyphs
        )
        for (index, item) in (lifecycle?.entries ?? []).prefix(inner.height).enumerated() {
            drawRetirement(&buffer, item: item, x: inner.x + 1, y: inner.y + index, width: inner.width - 2)
        }
    }

    private func drawHelp(_ buffer: inout Buffer, area: Rect) {
        let inner = buffer.box(area, title: "Keys", glyphs: glyphs)
        for (index, binding) in KeyRegistry.all.enumerated() where index < inner.height {
            let y = inner.y + index
            let refused = readOnly && binding.mutating
            buffer.write(binding.display, x: inner.x + 2, y: y, style: Style(refused ? .dim : .hintKey, bold: !refused))
            buffer.write(binding.label + (refused ? "  (read-only)" : ""), x: inner.x + 12, y: y, style: Style(refused ? .dim : .text))
        }
        buffer.write("commands: :routes :audit :lifecycle :compare :theme NAME :help :q", x: inner.x + 2, y: inner.maxY - 1, style: Style(.dim))
    }

    // MARK: Formatting

    /// `23d 04h 12m 09s`.
    public static func countdown(_ seconds: Int64) -> String {
        let d = seconds / 86_400, h = (seconds % 86_400) / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return d > 0 ? "\(d)d \(two(h))h \(two(m))m \(two(s))s" : "\(two(h))h \(two(m))m \(two(s))s"
    }

    static func shortAge(_ duration: Duration) -> String {
        let seconds = Int(duration.secondsDouble)
        return seconds < 60 ? "\(seconds)s" : seconds < 3600 ? "\(seconds / 60)m" : "\(seconds / 3600)h"
    }

    static func clockText(_ moment: Moment) -> String {
        let day = CalendarDay(moment)
        let seconds = (moment.nanoseconds / 1_000_000_000) % 86_400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(day) \(two(seconds / 3600)):\(two(seconds % 3600 / 60)):\(two(seconds % 60))Z"
    }
}

extension StyleRole {
    var bold: Style { Style(self, bold: true) }
}
