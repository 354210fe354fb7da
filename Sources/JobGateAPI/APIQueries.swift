/// Every SQL statement of the API module that is not job SQL (that lives in `JobStore`):
/// output signing keys (API tokens are `AuthQueries`).
enum APIQueries {
    /// Signing keys, newest first.
    static let signingKeys = "SELECT kid, secret, retired_at IS NOT NULL AS retired FROM jobgate.signing_keys ORDER BY created_at DESC, kid"
}
