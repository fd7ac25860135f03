import Foundation
public import SwitchyardCore

/// The management API's paths (under `/api/v1`), built in one place so that
/// route names and query values are percent-encoded once, here, and never
/// hand-assembled at a call site.
public enum ManagementPath {
    /// A path segment: everything but unreserved characters is escaped, `/` included.
    static func segment(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    static func query(_ items: [(String, String?)]) -> String {
        let present = items.compactMap { name, value in value.map { "\(name)=\(segment($0))" } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }

    public static let routes = "/routes"
    public static let lifecycle = "/lifecycle"
    public static let whoami = "/whoami"
    public static let events = "/events"

    /// `PUT /routes`: a routes file as the desired state.
    public static func apply(allowEmpty: Bool) -> String { routes + (allowEmpty ? "?allowEmpty=true" : "") }
    public static func route(_ name: String) -> String { "/routes/" + segment(name) }
    public static func weights(_ route: String) -> String { self.route(route) + "/weights" }
    public static func rollback(_ route: String) -> String { self.route(route) + "/rollback" }
    public static func promote(_ route: String) -> String { self.route(route) + "/promote" }
    /// `pause`, `resume` or `abort` of the route's rollout.
    public static func operation(_ route: String, _ operation: RolloutOperation) -> String { self.route(route) + "/" + operation.rawValue }
    public static func metrics(_ route: String, window: String) -> String { self.route(route) + "/metrics" + query([("window", window)]) }
    public static func rollouts(_ route: String) -> String { self.route(route) + "/rollouts" }
    public static func rollout(_ route: String) -> String { self.route(route) + "/rollout" }
    public static func evaluations(_ route: String, limit: Int) -> String { rollout(route) + "/evaluations" + query([("limit", String(limit))]) }
    public static func report(_ route: String) -> String { self.route(route) + "/report" }
    public static func samples(_ route: String) -> String { self.route(route) + "/samples" }
    public static func migration(_ route: String) -> String { self.route(route) + "/migration" }
    public static func audit(route: String? = nil, limit: Int) -> String { "/audit" + query([("limit", String(limit)), ("route", route)]) }
}
