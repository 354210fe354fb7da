/// Every SQL statement of the Auth module: API tokens.
enum AuthQueries {
    /// $1 id, $2 tenant, $3 name, $4 scopes, $5 token hash, $6 expires_at.
    static let createToken = """
        INSERT INTO jobgate.api_tokens (id, tenant, name, scopes, token_hash, expires_at)
        VALUES ($1, $2, $3, $4::text[], $5, $6)
        RETURNING created_at
        """

    /// The columns `TokenStore.decode` reads, in order.
    static let tokenColumns = "id, tenant, name, scopes, created_at, expires_at, revoked_at, last_used_at"

    /// $1 tenant (NULL = all).
    static let listTokens = """
        SELECT \(tokenColumns) FROM jobgate.api_tokens WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at, id
        """

    /// $1 id. Idempotent: an already revoked token keeps its first revocation time.
    static let revokeToken = """
        UPDATE jobgate.api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING revoked_at
        """

    /// $1 token hash.
    static let lookupToken = """
        SELECT \(tokenColumns) FROM jobgate.api_tokens WHERE token_hash = $1
        """

    /// $1 id (a dashboard session's token).
    static let lookupTokenByID = """
        SELECT \(tokenColumns) FROM jobgate.api_tokens WHERE id = $1
        """

    /// $1 id. At most once a minute per token, whichever API node gets there first.
    static let touchToken = """
        UPDATE jobgate.api_tokens SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
        """
}
