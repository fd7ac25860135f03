#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many client connections each server may hold, from the process's
/// limit on open files — raised at start to its hard limit, as nginx's
/// `worker_rlimit_nofile` does — so the servers refuse or recycle
/// connections before the kernel refuses `accept`, `open` or `connect`.
struct DescriptorBudget: Equatable {
    /// The soft limit on open files after raising it, and before.
    var limit: Int
    var previousLimit: Int
    /// Client connections the gateway and the management API may hold.
    var gatewayConnections: Int
    var adminConnections: Int
    /// Connections to upstreams: the other half of what client connections get.
    var upstreamConnections: Int

    /// Descriptors kept for everything that is not a client connection:
    /// listeners, the state store, log files, event loops, health checks.
    static let reserved = 64
    /// The most connections either server is given by default.
    static let defaultCeiling = 100_000

    /// Splits `limit`: the admin API gets an eighth (at most 256), the rest
    /// is shared evenly between client connections and the upstream
    /// connections that serve them.
    static func split(limit: Int, previousLimit: Int, requested: Int?) -> DescriptorBudget {
        let usable = max(16, limit - reserved)
        let admin = max(4, min(256, usable / 8))
        let gatewayCeiling = max(4, (usable - admin) / 2)
        let gateway = min(requested ?? defaultCeiling, gatewayCeiling)
        return DescriptorBudget(limit: limit, previousLimit: previousLimit, gatewayConnections: gateway, adminConnections: admin, upstreamConnections: gatewayCeiling)
    }

    /// Raises the soft limit to the hard one and splits it.
    static func raiseAndSplit(requested: Int?) -> DescriptorBudget {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else {
            return split(limit: 1024, previousLimit: 1024, requested: requested)
        }
        let previous = Int(clamping: limits.rlim_cur)
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            // Linux refuses more than fs.nr_open even when the hard limit says infinity.
            raised.rlim_cur = min(limits.rlim_max, 1 << 20)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        return split(limit: Int(clamping: limits.rlim_cur), previousLimit: previous, requested: requested)
    }
}
