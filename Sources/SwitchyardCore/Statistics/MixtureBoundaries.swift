#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Time-uniform boundaries from mixture martingales (Howard, Ramdas,
/// McAuliffe and Sekhon, "Time-uniform, nonparametric, nonasymptotic
/// confidence sequences", Annals of Statistics 2021).
///
/// A sum `S` of centred observations with intrinsic time (accumulated
/// variance) `v` stays inside `±bound(v)` at *every* `v` at once with
/// probability at least 1 − α. That is what lets a gate look at its data every
/// second, for as long as a rollout runs, without its error rate growing the
/// way a repeated fixed-sample test's does.
///
/// The names and parameters follow the `confseq` package so its values can be
/// checked against ours (`Tests/SwitchyardCoreTests/Fixtures/confseq-reference.json`).
public enum MixtureBoundaries {
    /// The mixture precision ρ that makes the two-sided normal-mixture
    /// boundary tightest at intrinsic time `v` for error `alpha`.
    public static func bestRho(intrinsicTime v: Double, alpha: Double) -> Double {
        let logInverse = log(1 / alpha)
        return v / (2 * logInverse + log(1 + 2 * logInverse))
    }

    /// The two-sided normal-mixture boundary (Robbins' mixture of
    /// exp(λS − λ²v/2) over λ ~ N(0, 1/ρ)): P(∃v: |S| ≥ bound) ≤ alpha.
    public static func normalMixtureBound(intrinsicTime v: Double, alpha: Double, rho: Double) -> Double {
        ((v + rho) * (log(1 + v / rho) + 2 * log(1 / alpha))).squareRoot()
    }

    /// The logarithm of the two-sided normal-mixture martingale at sum `s`:
    /// its reciprocal is an anytime-valid p-value for "the mean is what `s` was centred on".
    public static func normalMixtureLogMartingale(sum s: Double, intrinsicTime v: Double, rho: Double) -> Double {
        0.5 * log(rho / (v + rho)) + s * s / (2 * (v + rho))
    }

    /// The two-sided beta-binomial mixture for observations in `[-g, h]`
    /// (Howard et al. 2021, Proposition 7): exact for Bernoulli sums, where
    /// the normal mixture is only approximate. A fixed quantile's
    /// confidence sequence is built on it (Howard and Ramdas, "Sequential
    /// estimation of quantiles", Bernoulli 2022): whether an observation is
    /// below the true p-quantile is Bernoulli(p), so `g = p`, `h = 1 − p`.
    public struct BetaBinomialMixture: Sendable {
        public let g: Double
        public let h: Double
        let r: Double
        let normalizer: Double

        /// Tuned, as the normal mixture is, to be tightest at intrinsic time `optimizedFor`.
        public init(optimizedFor vOptimal: Double, alpha: Double, g: Double, h: Double) {
            self.g = g
            self.h = h
            let rho = MixtureBoundaries.bestRho(intrinsicTime: vOptimal, alpha: alpha)
            r = Swift.max(rho - g * h, 1e-3 * g * h)
            normalizer = Self.logBeta(r / (g * (g + h)), r / (h * (g + h)))
        }

        /// log M(s, v); M ≥ 1/α has probability at most α over all time.
        public func logMartingale(sum s: Double, intrinsicTime v: Double) -> Double {
            let sum = g + h
            let a = (r + v - g * s) / (g * sum)
            let b = (r + v + h * s) / (h * sum)
            guard a > 0, b > 0 else { return .infinity }  // outside the observations' range: impossible under the null
            return v / (g * h) * log(sum) - (v + h * s) / (h * sum) * log(g) - (v - g * s) / (g * sum) * log(h)
                + Self.logBeta(a, b) - normalizer
        }

        static func logBeta(_ a: Double, _ b: Double) -> Double {
            logGamma(a) + logGamma(b) - logGamma(a + b)
        }

        /// `lgamma_r`, not `lgamma`: the latter writes the global `signgam`.
        static func logGamma(_ x: Double) -> Double {
            var sign: Int32 = 0
            return lgamma_r(x, &sign)
        }
    }
}
