/// One key binding: what the keys do, where, and whether they change the
/// server's state. The hint bar, the help screen, read-only refusal and key
/// dispatch all read this one table, so they cannot disagree.
public struct KeyBinding: Sendable {
    /// The keys that trigger it.
    public var keys: [Key]
    /// How the hint bar and help screen write the keys (`←/→`).
    public var display: String
    public var label: String
    /// Where the keys work.
    public var screens: Set<ConsoleState.ScreenKind>
    /// Where the hint bar shows it (everything is on the help screen).
    public var hintedOn: Set<ConsoleState.ScreenKind>
    /// Changes the server's state: refused, and hidden from hints, in read-only mode.
    public var mutating: Bool
    /// What the key does to the console; given the key, for bindings with several.
    let perform: @Sendable (inout ConsoleState, Key) -> [ConsoleEffect]
}

public enum KeyRegistry {
    static let everywhere: Set<ConsoleState.ScreenKind> = [.routes, .audit, .lifecycle, .help, .compare]
    static let browsing: Set<ConsoleState.ScreenKind> = [.routes, .audit, .lifecycle, .compare]

    public static let all: [KeyBinding] = [
        KeyBinding(keys: [.character("R")], display: "R", label: "rollback", screens: [.routes], hintedOn: [.routes], mutating: true) { state, _ in
            state.rollbackSelected()
        },
        KeyBinding(keys: [.character("P")], display: "P", label: "promote", screens: [.routes], hintedOn: [.routes], mutating: true) { state, _ in
            state.askToPromoteSelected()
        },
        KeyBinding(keys: [.character(" ")], display: "space", label: "pause/resume", screens: [.routes], hintedOn: [.routes], mutating: true) { state, _ in
            state.askToPauseOrResumeSelected()
        },
        KeyBinding(keys: [.left, .character("h"), .right, .character("l")], display: "←/→", label: "weight", screens: [.routes], hintedOn: [.routes], mutating: true) { state, key in
            state.nudge(by: key == .left || key == .character("h") ? -1 : 1)
        },
        KeyBinding(keys: [.shiftLeft, .character("H"), .shiftRight, .character("L")], display: "H/L", label: "±10", screens: [.routes], hintedOn: [], mutating: true) { state, key in
            state.nudge(by: key == .shiftLeft || key == .character("H") ? -10 : 10)
        },
        KeyBinding(keys: [.character("=")], display: "=", label: "exact weight", screens: [.routes], hintedOn: [], mutating: true) { state, _ in
            state.beginInput(.exactWeight)
        },
        KeyBinding(keys: [.enter], display: "⏎", label: "apply", screens: [.routes], hintedOn: [], mutating: true) { state, _ in
            state.commitSlider()
        },
        KeyBinding(keys: [.down, .character("j"), .up, .character("k")], display: "j/k", label: "select", screens: [.routes], hintedOn: [], mutating: false) { state, key in
            state.moveSelection(by: key == .down || key == .character("j") ? 1 : -1)
            return []
        },
        KeyBinding(keys: [.character("g"), .home, .character("G"), .end], display: "g/G", label: "first/last", screens: [.routes], hintedOn: [], mutating: false) { state, key in
            state.selectEnd(last: key == .character("G") || key == .end)
            return []
        },
        KeyBinding(keys: [.character("w")], display: "w", label: "window 5/15/60 min", screens: [.routes], hintedOn: [], mutating: false) { state, _ in
            state.cycleWindow()
        },
        KeyBinding(keys: [.character("c")], display: "c", label: "compare a shadow's replies", screens: [.routes], hintedOn: [.routes], mutating: false) { state, _ in
            state.openCompare()
        },
        KeyBinding(keys: [.down, .character("j"), .up, .character("k")], display: "j/k", label: "select a pair", screens: [.compare], hintedOn: [.compare], mutating: false) { state, key in
            state.moveSample(by: key == .down || key == .character("j") ? 1 : -1)
            return []
        },
        KeyBinding(keys: [.enter], display: "⏎", label: "side by side", screens: [.compare], hintedOn: [.compare], mutating: false) { state, _ in
            state.sampleOpen.toggle()
            return []
        },
        KeyBinding(keys: [.escape], display: "esc", label: "back", screens: [.compare], hintedOn: [.compare], mutating: false) { state, _ in
            state.closeCompare()
        },
        KeyBinding(keys: [.tab], display: "tab", label: "next screen", screens: everywhere, hintedOn: [], mutating: false) { state, _ in
            if state.screen == .compare {
                state.sampleOpen = false
                return state.closeCompare()
            }
            state.nextScreen()
            return []
        },
        KeyBinding(keys: [.character("/")], display: "/", label: "filter", screens: [.routes], hintedOn: [.routes], mutating: false) { state, _ in
            state.beginInput(.filter)
        },
        KeyBinding(keys: [.character(":")], display: ":", label: "command", screens: everywhere, hintedOn: browsing, mutating: false) { state, _ in
            state.beginInput(.command)
        },
        KeyBinding(keys: [.character("?")], display: "?", label: "help", screens: everywhere, hintedOn: browsing, mutating: false) { state, _ in
            state.screen = state.screen == .help ? .routes : .help
            return []
        },
        KeyBinding(keys: [.escape], display: "esc", label: "back", screens: [.routes, .audit, .lifecycle, .help], hintedOn: [.audit, .lifecycle, .help], mutating: false) { state, _ in
            state.back()
            return []
        },
        KeyBinding(keys: [.character("q")], display: "q", label: "quit", screens: everywhere, hintedOn: everywhere, mutating: false) { _, _ in
            [.quit]
        },
    ]

    /// The binding `key` triggers on `screen`, if any.
    public static func binding(for key: Key, on screen: ConsoleState.ScreenKind) -> KeyBinding? {
        all.first { $0.screens.contains(screen) && $0.keys.contains(key) }
    }

    /// The hints for a screen, without mutating keys when read-only.
    public static func hints(for screen: ConsoleState.ScreenKind, readOnly: Bool) -> [(key: String, label: String)] {
        all.filter { $0.hintedOn.contains(screen) && !(readOnly && $0.mutating) }.map { ($0.display, $0.label) }
    }
}
