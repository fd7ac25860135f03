/// One key binding: drives the hint bar, the help screen and read-only mode
/// from the same list.
public struct KeyBinding: Sendable {
    public var keys: String
    public var label: String
    public var screens: Set<ConsoleState.ScreenKind>
    /// Changes the server's state: hidden and refused in read-only mode.
    public var mutating: Bool
    /// Shown in the hint bar (everything is on the help screen).
    public var hinted: Bool
}

public enum KeyRegistry {
    public static let all: [KeyBinding] = [
        KeyBinding(keys: "R", label: "rollback", screens: [.routes], mutating: true, hinted: true),
        KeyBinding(keys: "P", label: "promote", screens: [.routes], mutating: true, hinted: true),
        KeyBinding(keys: "space", label: "pause/resume", screens: [.routes], mutating: true, hinted: true),
        KeyBinding(keys: "←/→", label: "weight", screens: [.routes], mutating: true, hinted: true),
        KeyBinding(keys: "H/L", label: "±10", screens: [.routes], mutating: true, hinted: false),
        KeyBinding(keys: "=", label: "exact weight", screens: [.routes], mutating: true, hinted: false),
        KeyBinding(keys: "⏎", label: "apply", screens: [.routes], mutating: true, hinted: false),
        KeyBinding(keys: "j/k", label: "select", screens: [.routes], mutating: false, hinted: false),
        KeyBinding(keys: "w", label: "window 5/15/60 min", screens: [.routes], mutating: false, hinted: false),
        KeyBinding(keys: "g/G", label: "first/last", screens: [.routes, .audit], mutating: false, hinted: false),
        KeyBinding(keys: "tab", label: "next screen", screens: [.routes, .audit, .lifecycle], mutating: false, hinted: false),
        KeyBinding(keys: "/", label: "filter", screens: [.routes], mutating: false, hinted: true),
        KeyBinding(keys: ":", label: "command", screens: [.routes, .audit, .lifecycle], mutating: false, hinted: true),
        KeyBinding(keys: "?", label: "help", screens: [.routes, .audit, .lifecycle], mutating: false, hinted: true),
        KeyBinding(keys: "esc", label: "back", screens: [.audit, .lifecycle, .help], mutating: false, hinted: true),
        KeyBinding(keys: "q", label: "quit", screens: [.routes, .audit, .lifecycle, .help], mutating: false, hinted: true),
    ]

    /// The hints for a screen, without mutating keys when read-only.
    public static func hints(for screen: ConsoleState.ScreenKind, readOnly: Bool) -> [(key: String, label: String)] {
        all.filter { $0.hinted && $0.screens.contains(screen) && !(readOnly && $0.mutating) }.map { ($0.keys, $0.label) }
    }
}
