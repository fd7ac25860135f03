import Foundation
import NIOSSL
import PostgresNIO
public import SwitchyardCore

/// A `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…&sslrootcert=FILE` URL,
/// parsed once: where the server is, who connects, and how TLS is used —
/// with the password kept out of every message.
///
/// `sslmode` follows libpq: `disable` (plain TCP), `prefer` (the default:
/// TLS when the server offers it, unverified), `require` (TLS, unverified),
/// `verify-ca` (TLS, the certificate chain checked against `sslrootcert` or
/// the system's roots; also `require` when `sslrootcert` is given, as in
/// libpq) and `verify-full` (also the host name).
public struct PostgresDSN: Sendable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var sslMode: SSLMode
    public var sslRootCertificate: String?

    /// Parses `url`; the error names the problem without the password. A
    /// URL without a password takes `PGPASSWORD` from `environment`, as libpq
    /// does, so the password need not appear on a command line.
    public init(_ url: String, environment: [String: String]? = nil) throws(StoreError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            throw .unreachable("'\(Self.redacted(url))' is not a postgres://user:password@host:port/database URL")
        }
        if let port = components.port, !(1...65_535).contains(port) {
            throw .unreachable("'\(Self.redacted(url))': port \(port) is outside 1…65535")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding } ?? (environment ?? ProcessInfo.processInfo.environment)["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        self.database = components.path.isEmpty ? nil : String(components.path.dropFirst())
        var sslMode = SSLMode.prefer
        var rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw .unreachable("sslmode '\(item.value ?? "")' must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                rootCertificate = item.value
            default:
                throw .unreachable("unknown parameter '\(item.name)' in the PostgreSQL URL; known: sslmode, sslrootcert")
            }
        }
        // As libpq does: `require` with a root certificate verifies the chain.
        self.sslMode = sslMode == .require && rootCertificate != nil ? .verifyCA : sslMode
        self.sslRootCertificate = rootCertificate
    }

    /// Where the server is, for logs and errors: no password, no query.
    public var location: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? "")"
    }

    /// `url` with any password replaced by `***`, for messages about a URL
    /// that may not even parse.
    public static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// The TLS settings for the connection pool.
    func clientTLS() throws(StoreError) -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(try tlsConfiguration())
        case .require, .verifyCA, .verifyFull: .require(try tlsConfiguration())
        }
    }

    /// The TLS settings for the single LISTEN connection.
    func connectionTLS() throws(StoreError) -> PostgresConnection.Configuration.TLS {
        do {
            switch sslMode {
            case .disable: return .disable
            case .prefer: return .prefer(try NIOSSLContext(configuration: try tlsConfiguration()))
            case .require, .verifyCA, .verifyFull: return .require(try NIOSSLContext(configuration: try tlsConfiguration()))
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unreachable("cannot set up TLS for \(location): \(error)")
        }
    }

    private func tlsConfiguration() throws(StoreError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable, .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let sslRootCertificate, sslMode == .verifyCA || sslMode == .verifyFull {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(sslRootCertificate))
            } catch {
                throw .unreachable("cannot read sslrootcert \(sslRootCertificate): \(error)")
            }
        }
        return tls
    }
}
