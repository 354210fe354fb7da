/// The statements of tenant weights (DESIGN.md §14, docs/scheduling.md). The claim that reads
/// them is `JobQueries.claim`.
extension JobQueries {
    /// Tenants with a weight row, by name.
    static let tenantWeights = """
        SELECT name, weight, updated_by, updated_at FROM jobgate.tenants ORDER BY name
        """

    /// $1 tenant, $2 weight, $3 by. Upserts the tenant's row and returns it. Takes effect at the
    /// next claim of each queue; nothing else changes (the virtual times already spent stay).
    static let setTenantWeight = """
        INSERT INTO jobgate.tenants AS t (name, weight, updated_by) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE SET weight = $2, updated_by = $3, updated_at = now()
        RETURNING name, weight, updated_by, updated_at
        """
}
